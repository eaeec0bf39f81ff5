//! End-to-end tests of a schema that moves under a migration: a DDL storm racing an `all`
//! task's start, copy, hand-off and replication, with and without `kill -9` of `ferryd` at
//! random points; upstreams whose statements are written under non-default `sql_mode`s.
//! Every scenario ends by comparing each table of the schema with the upstream (the same
//! set of tables, each row equal).
//!
//! The storms run once each by default; `FERRY_STORM_ITERATIONS=N` runs each N times, from
//! N seeds (scripts/storm.sh); `FERRY_STORM_SEED` fixes the seed. Every iteration prints
//! its seed; a failing one prints every difference and keeps the daemon's data dir under
//! /var/tmp/ferry-tests, with the statements the storm ran (and where the kills fell) in
//! `storm.sql`.

use std::time::Duration;

use ferry_tests::data::{exec, seq};
use ferry_tests::ferry::{path_str, subtasks};
use ferry_tests::schema_diff::compare_schema;
use ferry_tests::workload::wait_caught_up;
use ferry_tests::*;
use mysql_async::prelude::Queryable;
use rand::{Rng, SeedableRng};

const CATCH_UP: Duration = Duration::from_secs(240);

/// An `all` task on tables of `db`, copied in many small chunks by two dumpers.
fn all_task(name: &str, down: &TestServer, src: &str, db: &str) -> String {
    format!(
        "name: \"{name}\"\ntask-mode: all\n\
         target-database:\n  host: \"127.0.0.1\"\n  port: {}\n  user: \"root\"\n  password: \"\"\n\
         block-allow-list:\n  bal:\n    do-dbs: [\"{db}\"]\n\
         mydumpers:\n  d:\n    threads: 2\n    rows: 500\n    extra-args: \"--consistency none\"\n\
         mysql-instances:\n  - source-id: \"{src}\"\n    block-allow-list: \"bal\"\n    mydumper-config-name: \"d\"\n",
        down.port()
    )
}

async fn unit_of(ferry: &Ferry, task: &str) -> String {
    unit_and_error(ferry, task).await.0
}

/// The unit of the first subtask of `task`, and the error that paused it, if any (empty
/// and `None` while the daemon does not answer).
async fn unit_and_error(ferry: &Ferry, task: &str) -> (String, Option<String>) {
    let Some(st) = ferry.query_status(task).await else {
        return (String::new(), None);
    };
    let Some(s) = subtasks(&st).into_iter().next() else {
        return (String::new(), None);
    };
    let unit = s["unit"].as_str().unwrap_or_default().to_string();
    let error = (s["stage"] == "Paused" && !s["result"].is_null()).then(|| {
        s["result"]["errors"][0]["Message"]
            .as_str()
            .map_or_else(|| s["result"].to_string(), str::to_string)
    });
    (unit, error)
}

/// How many times each storm runs: `FERRY_STORM_ITERATIONS` (default 1; scripts/storm.sh
/// loops them by the dozen).
fn storm_iterations() -> usize {
    std::env::var("FERRY_STORM_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

/// The type of an extra column `cN` of a storm table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ColType {
    Int,
    BigInt,
    Varchar(u32),
}

/// An extra column of a storm table (added, modified, renamed and dropped while the task
/// replicates; `id`, `a` and `b` never change).
#[derive(Debug, Clone)]
struct Col {
    name: String,
    ty: ColType,
    nullable: bool,
}

impl Col {
    /// Its definition, for `ADD`, `MODIFY` and `CHANGE COLUMN`.
    fn def(&self) -> String {
        let ty = match self.ty {
            ColType::Int => "INT".to_string(),
            ColType::BigInt => "BIGINT".to_string(),
            ColType::Varchar(n) => format!("VARCHAR({n})"),
        };
        match (self.nullable, self.ty) {
            (true, _) => format!("{ty} NULL"),
            (false, ColType::Varchar(_)) => format!("{ty} NOT NULL DEFAULT 'dflt'"),
            (false, _) => format!("{ty} NOT NULL DEFAULT 7"),
        }
    }

    /// A value for an insert (at most 7 characters: every VARCHAR is at least 8 long).
    fn value(&self, step: usize) -> String {
        match self.ty {
            ColType::Varchar(_) => format!("'v{}'", step % 100_000),
            _ => format!("{}", step * 3),
        }
    }

    /// An assignment for an update.
    fn update(&self, step: usize) -> String {
        let c = &self.name;
        match self.ty {
            ColType::Varchar(_) => format!("{c} = 'u{}'", step % 100_000),
            _ => format!("{c} = IFNULL({c}, 0) + 1"),
        }
    }
}

/// A secondary index `ixN` of a storm table and its columns.
#[derive(Debug, Clone)]
struct Index {
    name: String,
    cols: Vec<String>,
}

/// A table of the storm as the client knows it.
#[derive(Debug, Clone)]
struct Table {
    name: String,
    cols: Vec<Col>,
    indexes: Vec<Index>,
}

impl Table {
    fn new(name: String) -> Self {
        Self {
            name,
            cols: Vec::new(),
            indexes: Vec::new(),
        }
    }
}

/// A client that creates, fills, renames, swaps and drops tables of one schema, adds,
/// drops, modifies and renames their columns and adds and drops their indexes while a task
/// copies and replicates them. Rows name their columns, so they survive the column changes.
struct Storm {
    q: String,
    rng: rand::rngs::StdRng,
    step: usize,
    live: Vec<Table>,
    /// What ran, by kind (printed at the end).
    done: std::collections::BTreeMap<String, usize>,
    /// Every statement run and every kill, in order (kept with the daemon's data dir).
    log: Option<std::fs::File>,
}

impl Storm {
    fn new(db: &str, seed: u64) -> Self {
        Self {
            q: quote_ident(db),
            rng: rand::rngs::StdRng::seed_from_u64(seed),
            step: 0,
            live: Vec::new(),
            done: Default::default(),
            log: None,
        }
    }

    fn note(&mut self, line: &str) {
        use std::io::Write;
        if let Some(f) = self.log.as_mut() {
            let _ = writeln!(f, "{line}");
        }
    }

    async fn run(&mut self, c: &mut mysql_async::Conn, sql: &str) {
        let line = format!("-- step {}\n{sql};", self.step);
        self.note(&line);
        exec(c, sql).await;
    }

    fn count(&mut self, what: &str) {
        *self.done.entry(what.to_string()).or_default() += 1;
    }

    fn pick(&mut self) -> usize {
        self.rng.gen_range(0..self.live.len())
    }

    /// A table with `rows` rows (ids 1..=rows).
    async fn create(&mut self, c: &mut mysql_async::Conn, name: String, rows: u64) {
        let q = self.q.clone();
        self.run(
            c,
            &format!("CREATE TABLE {q}.{name} (id INT PRIMARY KEY, a INT, b VARCHAR(40))"),
        )
        .await;
        self.run(
            c,
            &format!(
                "INSERT INTO {q}.{name} (id, a, b) SELECT n, n % 13, CONCAT('n', n) FROM {}",
                seq(rows)
            ),
        )
        .await;
        self.live.push(Table::new(name));
    }

    /// One step: a table created, renamed, dropped or swapped with another, a column or
    /// index change, or rows.
    async fn step(&mut self, c: &mut mysql_async::Conn) {
        let step = self.step;
        let q = self.q.clone();
        match self.rng.gen_range(0..11) {
            0 => {
                self.create(c, format!("new_{step}"), 200).await;
                self.count("create table");
            }
            1 if self.live.len() > 2 => {
                let i = self.pick();
                let to = format!("ren_{step}");
                let from = std::mem::replace(&mut self.live[i].name, to.clone());
                self.run(c, &format!("RENAME TABLE {q}.{from} TO {q}.{to}"))
                    .await;
                self.count("rename table");
            }
            2 if self.live.len() > 3 => {
                let i = self.pick();
                let t = self.live.remove(i);
                self.run(c, &format!("DROP TABLE {q}.{}", t.name)).await;
                self.count("drop table");
            }
            3 if self.live.len() > 2 => {
                // The swap online-schema-change tools do at cut-over.
                let (i, j) = (self.pick(), self.pick());
                if i != j {
                    let (a, b) = (self.live[i].name.clone(), self.live[j].name.clone());
                    self.run(
                        c,
                        &format!(
                            "RENAME TABLE {q}.{a} TO {q}.swap_tmp, {q}.{b} TO {q}.{a}, \
                             {q}.swap_tmp TO {q}.{b}"
                        ),
                    )
                    .await;
                    self.live[i].name = b;
                    self.live[j].name = a;
                    self.count("swap tables");
                }
            }
            4..=7 => self.alter(c).await,
            _ => self.rows(c).await,
        }
        self.step += 1;
    }

    /// A column or index change of one table.
    async fn alter(&mut self, c: &mut mysql_async::Conn) {
        let step = self.step;
        let q = self.q.clone();
        let r = &mut self.rng;
        let mut op = r.gen_range(0..7);
        // A table the change applies to: one with extra columns to drop, modify or rename,
        // one with an index to drop; else a column or an index is added.
        let fits = |t: &Table, op: usize| match op {
            1..=4 => !t.cols.is_empty(),
            6 => !t.indexes.is_empty(),
            _ => true,
        };
        if !self.live.iter().any(|t| fits(t, op)) {
            op = if op == 6 { 5 } else { 0 };
        }
        let fitting: Vec<usize> = (0..self.live.len())
            .filter(|&i| fits(&self.live[i], op))
            .collect();
        let t = &mut self.live[fitting[r.gen_range(0..fitting.len())]];
        let name = format!("{q}.{}", t.name);
        let (what, sql) = match op {
            0 => {
                let ty = match r.gen_range(0..3) {
                    0 => ColType::Int,
                    1 => ColType::BigInt,
                    _ => ColType::Varchar([8, 16, 24][r.gen_range(0..3)]),
                };
                let col = Col {
                    name: format!("c{step}"),
                    ty,
                    nullable: r.gen_bool(0.3),
                };
                let place = ["", "", " AFTER a", " AFTER b"][r.gen_range(0..4)];
                let mut sql = format!(
                    "ALTER TABLE {name} ADD COLUMN {} {}{place}",
                    col.name,
                    col.def()
                );
                if r.gen_bool(0.25) {
                    // Several changes in one statement.
                    let ix = format!("ix{step}");
                    sql.push_str(&format!(", ADD INDEX {ix} ({})", col.name));
                    t.indexes.push(Index {
                        name: ix,
                        cols: vec![col.name.clone()],
                    });
                }
                t.cols.push(col);
                ("add column", sql)
            }
            1 => {
                let col = t.cols.remove(r.gen_range(0..t.cols.len()));
                // An index loses the column; one left without columns is dropped.
                for ix in &mut t.indexes {
                    ix.cols.retain(|c| *c != col.name);
                }
                t.indexes.retain(|ix| !ix.cols.is_empty());
                (
                    "drop column",
                    format!("ALTER TABLE {name} DROP COLUMN {}", col.name),
                )
            }
            2 => {
                // Widen: INT to BIGINT, a VARCHAR longer; or allow NULL.
                let k = r.gen_range(0..t.cols.len());
                let col = &mut t.cols[k];
                match col.ty {
                    ColType::Int => col.ty = ColType::BigInt,
                    ColType::Varchar(n) => col.ty = ColType::Varchar(n + 8),
                    ColType::BigInt => col.nullable = true,
                }
                (
                    "modify column",
                    format!(
                        "ALTER TABLE {name} MODIFY COLUMN {} {}",
                        col.name,
                        col.def()
                    ),
                )
            }
            3 | 4 => {
                let k = r.gen_range(0..t.cols.len());
                let old = t.cols[k].name.clone();
                let new = format!("c{step}");
                t.cols[k].name = new.clone();
                for ix in &mut t.indexes {
                    for c in &mut ix.cols {
                        if *c == old {
                            *c = new.clone();
                        }
                    }
                }
                if op == 3 {
                    let def = t.cols[k].def();
                    (
                        "change column",
                        format!("ALTER TABLE {name} CHANGE COLUMN {old} {new} {def}"),
                    )
                } else {
                    (
                        "rename column",
                        format!("ALTER TABLE {name} RENAME COLUMN {old} TO {new}"),
                    )
                }
            }
            5 => {
                let ix = format!("ix{step}");
                let extra =
                    (!t.cols.is_empty()).then(|| t.cols[r.gen_range(0..t.cols.len())].name.clone());
                let cols: Vec<String> = match (extra, r.gen_range(0..3)) {
                    (Some(e), 0) => vec![e],
                    (Some(e), 1) => vec!["a".into(), e],
                    (Some(e), _) => vec![e, "b".into()],
                    (None, _) => vec!["b".into(), "a".into()],
                };
                let list = cols.join(", ");
                t.indexes.push(Index {
                    name: ix.clone(),
                    cols,
                });
                let sql = if r.gen_bool(0.5) {
                    format!("ALTER TABLE {name} ADD INDEX {ix} ({list})")
                } else {
                    format!("CREATE INDEX {ix} ON {name} ({list})")
                };
                ("add index", sql)
            }
            _ => {
                let ix = t.indexes.remove(r.gen_range(0..t.indexes.len())).name;
                let sql = if r.gen_bool(0.5) {
                    format!("ALTER TABLE {name} DROP INDEX {ix}")
                } else {
                    format!("DROP INDEX {ix} ON {name}")
                };
                ("drop index", sql)
            }
        };
        self.run(c, &sql).await;
        self.count(what);
    }

    /// Rows: an upsert, an update, sometimes a delete, each naming its columns (some of the
    /// extra ones too); sometimes in one transaction with the rows of a second table.
    async fn rows(&mut self, c: &mut mysql_async::Conn) {
        let i = self.pick();
        let mut sqls = self.rows_of(i);
        if self.live.len() > 1 && self.rng.gen_bool(0.4) {
            let j = self.pick();
            let more = self.rows_of(j);
            sqls.insert(0, "START TRANSACTION".to_string());
            sqls.extend(more);
            sqls.push("COMMIT".to_string());
            self.count("transaction");
        }
        for sql in sqls {
            self.run(c, &sql).await;
        }
        self.count("rows");
    }

    fn rows_of(&mut self, i: usize) -> Vec<String> {
        let step = self.step;
        let r = &mut self.rng;
        let t = &self.live[i];
        let name = format!("{}.{}", self.q, t.name);
        let some: Vec<&Col> = t.cols.iter().filter(|_| r.gen_bool(0.5)).collect();
        let id: u32 = r.gen_range(1..100_000);
        let mut names = String::from("id, a, b");
        let mut values = format!("{id}, {step}, 'w{step}'");
        let mut upd = String::from("a = a + 1, b = CONCAT(LEFT(b, 30), '+')");
        for col in &some {
            names.push_str(&format!(", {}", col.name));
            values.push_str(&format!(", {}", col.value(step)));
            upd.push_str(&format!(", {}", col.update(step)));
        }
        let mut sqls = vec![
            format!("INSERT INTO {name} ({names}) VALUES ({values}) ON DUPLICATE KEY UPDATE {upd}"),
            format!("UPDATE {name} SET {upd} WHERE id % 17 = {}", step % 17),
        ];
        if r.gen_bool(0.3) {
            sqls.push(format!(
                "DELETE FROM {name} WHERE id % 23 = {} AND a % 3 = 0",
                step % 23
            ));
        }
        sqls
    }

    /// `kill -9` of the daemon at a random moment; the storm goes on while it is down, then
    /// it starts again on the same data dir.
    async fn kill_and_restart(
        &mut self,
        c: &mut mysql_async::Conn,
        ferry: &mut Ferry,
        task: &str,
        replicating: bool,
    ) {
        // Not only right after a statement (a random moment, not a synchronisation).
        let delay = Duration::from_millis(self.rng.gen_range(0..300));
        tokio::time::sleep(delay).await;
        let unit = unit_of(ferry, task).await;
        ferry.kill9();
        let line = format!(
            "-- kill -9 after step {} (+{delay:?}), unit {unit:?}",
            self.step
        );
        eprintln!("{task}: {line}");
        self.note(&line);
        let phase = if replicating {
            "replicating"
        } else {
            "copy/hand-off"
        };
        self.count(&format!("kill -9 {phase} ({unit})"));
        for _ in 0..self.rng.gen_range(0..3) {
            self.step(c).await;
        }
        ferry.restart();
        self.note("-- restarted");
    }
}

/// Tables created, renamed, dropped and swapped, their columns added, dropped, modified and
/// renamed and their indexes added and dropped, from before the start position until well
/// into replication; with `kills`, `ferryd` is killed
/// (`kill -9`) a few times during the copy and the hand-off and a few times while it
/// replicates, and restarted while the storm goes on. The downstream ends with exactly the
/// upstream's tables, columns, indexes and rows.
///
/// Every kind of change runs at every moment: while the task takes its start position,
/// copies (a table rebuilt, swapped or with a column renamed under the copy is copied again
/// by a later round, see docs/full-phase.md), hands off and replicates.
async fn ddl_storm(up_kind: DbKind, kills: bool, seed: u64) {
    let up = shared(up_kind, Role::Upstream);
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let prefix = format!("storm_{up_kind}");
    let db = unique_db_name(&prefix);
    // Unique among the tasks of this process (their ledgers share the downstream).
    let task = format!("st{}", &db[prefix.len()..]);
    eprintln!("storm {db}: seed {seed}, kill -9: {kills}");
    let mut s = Storm::new(&db, seed);
    let mut c = up.conn().await;
    create_database(&mut c, &db).await;
    let mut ferry = Ferry::start_temp(if kills { "storm-kill" } else { "storm" });
    s.log = Some(
        std::fs::File::create(ferry.data_dir().join("storm.sql"))
            .unwrap_or_else(|e| panic!("storm.sql: {e}")),
    );
    s.note(&format!("-- seed {seed}, db {db}, task {task}"));
    // With kills, enough rows for the copy to take a few seconds (kills land in it).
    let rows = if kills { 25_000 } else { 6000 };
    for i in 0..6 {
        s.create(&mut c, format!("t{i}"), rows).await;
    }
    ferry.add_source("up", up).await;
    let f = ferry.write_file("task.yaml", &all_task(&task, down, "up", &db));
    // DDL from before the start until well into replication.
    for _ in 0..3 {
        s.step(&mut c).await;
    }
    ferry.ctl_ok(&["start-task", path_str(&f)]).await;
    s.note("-- start-task");
    let copy_kills = if kills { s.rng.gen_range(2..=3) } else { 0 };
    // The first kill soon after the start, the next ones a few steps later: in the copy,
    // the hand-off or the catch-up.
    let (mut killed, mut until_kill) = (0, s.rng.gen_range(0..3));
    let mut after_sync = 0;
    while after_sync < 15 || killed < copy_kills {
        if killed < copy_kills && until_kill == 0 {
            s.kill_and_restart(&mut c, &mut ferry, &task, false).await;
            killed += 1;
            until_kill = s.rng.gen_range(1..5);
            continue;
        }
        until_kill -= 1;
        s.step(&mut c).await;
        // A busy application's pace of schema changes, not a synchronisation.
        tokio::time::sleep(Duration::from_millis(150)).await;
        match unit_and_error(&ferry, &task).await {
            (_, Some(error)) => panic!(
                "task {task} paused by an error during the copy:\n{error}\n{}",
                ferry.log_tail(40)
            ),
            (unit, None) if unit == "Sync" => after_sync += 1,
            _ => {}
        }
        assert!(s.step < 1500, "the task never reached the Sync unit");
    }
    eprintln!("{} DDL steps during the copy and the hand-off", s.step);
    wait_caught_up(&ferry, &task, up, CATCH_UP).await;
    s.note("-- caught up (first)");
    // A difference here is reported at the end, with those of the end: the storm goes on
    // (what replication makes of it tells more than stopping here).
    let (mut problems, _) = compare_schema(up, down, &db, "after the copy and the hand-off").await;
    for p in &problems {
        eprintln!("storm {db} (seed {seed}): {p}");
    }
    let steps = if kills { 50 } else { 30 };
    let sync_kills = if kills { s.rng.gen_range(2..=4) } else { 0 };
    let kill_at: std::collections::BTreeSet<usize> =
        (0..sync_kills).map(|_| s.rng.gen_range(0..steps)).collect();
    for i in 0..steps {
        if kill_at.contains(&i) {
            s.kill_and_restart(&mut c, &mut ferry, &task, true).await;
        }
        s.step(&mut c).await;
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    wait_caught_up(&ferry, &task, up, CATCH_UP).await;
    s.note("-- caught up (last)");
    let (end, rows) = compare_schema(up, down, &db, "at the end").await;
    problems.extend(end);
    assert!(
        problems.is_empty(),
        "storm {db} (seed {seed}): the downstream differs from the upstream:\n{}",
        problems.join("\n")
    );
    eprintln!(
        "storm {db} (seed {seed}) ends equal: {} tables, {rows} rows, after {} steps: {:?}",
        s.live.len(),
        s.step,
        s.done
    );
}

/// Runs the storm [`storm_iterations`] times, each from its own seed, and reports which
/// seeds failed (each failure prints its differences and keeps the daemon's data dir, with
/// the statements it ran in `storm.sql`, under /var/tmp/ferry-tests).
async fn storms(up_kind: DbKind, kills: bool) {
    let n = storm_iterations();
    let mut failed = Vec::new();
    for i in 0..n {
        // `FERRY_STORM_SEED` replays a failure's statements (the moments of the kills and of
        // the hand-off still depend on timing).
        let seed: u64 = std::env::var("FERRY_STORM_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| rand::thread_rng().gen());
        eprintln!(
            "storm iteration {}/{n} ({up_kind}, kill -9: {kills}): seed {seed}",
            i + 1
        );
        // A panic fails the iteration, not the loop.
        if tokio::spawn(ddl_storm(up_kind, kills, seed)).await.is_err() {
            eprintln!("storm iteration {}/{n}: FAILED (seed {seed})", i + 1);
            failed.push(seed);
        }
    }
    eprintln!(
        "storms ({up_kind}, kill -9: {kills}): {} passed, {} failed {failed:?}",
        n - failed.len(),
        failed.len()
    );
    assert!(failed.is_empty(), "storm seeds that failed: {failed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ddl_storm_during_all_task_mysql() {
    storms(DbKind::Mysql, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ddl_storm_during_all_task_mariadb() {
    storms(DbKind::Mariadb, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ddl_storm_with_kill9_mysql() {
    storms(DbKind::Mysql, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ddl_storm_with_kill9_mariadb() {
    storms(DbKind::Mariadb, true).await;
}

/// An upstream whose global `sql_mode` has `ANSI_QUOTES` (its `SHOW CREATE TABLE` quotes
/// names with `"`), and sessions that write DDL and rows under `ANSI_QUOTES`,
/// `NO_BACKSLASH_ESCAPES`, `PIPES_AS_CONCAT` and `HIGH_NOT_PRECEDENCE`, with quotes and
/// backslashes in names, defaults and comments: each statement means downstream what it
/// meant upstream.
async fn sql_modes(up_kind: DbKind) {
    let up = TestServer::builder(up_kind, Role::Upstream)
        .extra_cnf("sql_mode=ANSI_QUOTES,STRICT_TRANS_TABLES")
        .start();
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let db = unique_db_name(&format!("modes_{up_kind}"));
    let mut c = up.conn().await;
    c.query_drop(format!("CREATE DATABASE \"{db}\""))
        .await
        .unwrap();
    // Copied by the full phase (SHOW CREATE TABLE under the global ANSI_QUOTES).
    c.query_drop(format!(
        r#"CREATE TABLE "{db}"."ful""l" ("id" INT PRIMARY KEY, "we`ird" VARCHAR(20) DEFAULT 'a''b' COMMENT 'it''s "x"')"#
    ))
    .await
    .unwrap();
    c.query_drop(format!(
        r#"INSERT INTO "{db}"."ful""l" VALUES (1, 'x''y'), (2, NULL)"#
    ))
    .await
    .unwrap();

    let ferry = Ferry::start_temp("modes");
    ferry.add_source("up", &up).await;
    let task = format!("md_{}", &db[db.len() - 4..]);
    let f = ferry.write_file("task.yaml", &all_task(&task, down, "up", &db));
    ferry.ctl_ok(&["start-task", path_str(&f)]).await;
    // The statements below must reach the downstream through the binlog.
    wait_until(Duration::from_secs(60), "the task replicates", || async {
        unit_of(&ferry, &task).await == "Sync"
    })
    .await;

    // Replicated statements, each written under its own session sql_mode.
    let cases: &[(&str, &[&str])] = &[
        (
            "ANSI_QUOTES",
            &[
                r#"CREATE TABLE "q""t" ("id" INT PRIMARY KEY, "c" VARCHAR(20) DEFAULT 'd"q' COMMENT 'a "quoted" word')"#,
                r#"ALTER TABLE "q""t" ADD COLUMN "n""x" INT DEFAULT 5"#,
                r#"INSERT INTO "q""t" ("id", "c") VALUES (1, 'one'), (2, DEFAULT)"#,
            ],
        ),
        (
            "NO_BACKSLASH_ESCAPES",
            &[
                r"CREATE TABLE `bs` (`id` INT PRIMARY KEY, `p` VARCHAR(30) DEFAULT 'C:\dir\' COMMENT 'ends in \')",
                r"INSERT INTO `bs` (`id`) VALUES (1)",
                r"INSERT INTO `bs` VALUES (2, 'x\ny')",
            ],
        ),
        (
            "PIPES_AS_CONCAT",
            &[
                r"CREATE TABLE `pc` (`id` INT PRIMARY KEY, `a` VARCHAR(10), `g` VARCHAR(30) AS (`a` || '-' || `id`) STORED)",
                r"INSERT INTO `pc` (`id`, `a`) VALUES (1, 'x'), (2, 'y')",
            ],
        ),
        (
            "HIGH_NOT_PRECEDENCE",
            &[
                r"CREATE TABLE `hn` (`id` INT PRIMARY KEY, `g` INT AS (NOT `id` BETWEEN -5 AND 5) STORED)",
                r"INSERT INTO `hn` (`id`) VALUES (0), (1), (7)",
            ],
        ),
    ];
    for (mode, stmts) in cases {
        let mut s = up.conn().await;
        s.query_drop(format!("SET SESSION sql_mode = '{mode}'"))
            .await
            .unwrap();
        s.query_drop(format!("USE `{db}`")).await.unwrap();
        for stmt in stmts.iter() {
            if let Err(e) = s.query_drop(*stmt).await {
                panic!("{mode}: {stmt}: {e}");
            }
        }
    }
    wait_caught_up(&ferry, &task, &up, CATCH_UP).await;
    let (mut u, mut d) = (up.conn().await, down.conn().await);
    let rows = assert_schemas_equal(&mut u, &mut d, &db, &db).await;
    assert_eq!(rows, 2 + 2 + 2 + 2 + 3, "rows in all tables");
    // The generated columns hold what the mode meant: concatenation, and NOT over BETWEEN.
    let g: Vec<String> = d
        .query(format!("SELECT `g` FROM `{db}`.`pc` ORDER BY `id`"))
        .await
        .unwrap();
    assert_eq!(g, ["x-1", "y-2"]);
    let hn: Vec<i64> = d
        .query(format!("SELECT `g` FROM `{db}`.`hn` ORDER BY `id`"))
        .await
        .unwrap();
    // (NOT id) BETWEEN -5 AND 5: 1 for every row; without the mode it would be 0, 0, 1.
    assert_eq!(hn, [1, 1, 1]);
    let p: Vec<String> = d
        .query(format!("SELECT `p` FROM `{db}`.`bs` ORDER BY `id`"))
        .await
        .unwrap();
    assert_eq!(p, [r"C:\dir\", r"x\ny"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_modes_mysql() {
    sql_modes(DbKind::Mysql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_modes_mariadb() {
    sql_modes(DbKind::Mariadb).await;
}
