//! The storm's client: the tables it knows and the changes, rows and kills it makes.

use ferry_tests::data::{exec, seq};
use rand::SeedableRng;

use super::*;

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
pub(crate) struct Table {
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
pub(crate) struct Storm {
    q: String,
    pub(crate) rng: rand::rngs::StdRng,
    pub(crate) step: usize,
    pub(crate) live: Vec<Table>,
    /// What ran, by kind (printed at the end).
    pub(crate) done: std::collections::BTreeMap<String, usize>,
    /// Every statement run and every kill, in order (kept with the daemon's data dir).
    pub(crate) log: Option<std::fs::File>,
}

impl Storm {
    pub(crate) fn new(db: &str, seed: u64) -> Self {
        Self {
            q: quote_ident(db),
            rng: rand::rngs::StdRng::seed_from_u64(seed),
            step: 0,
            live: Vec::new(),
            done: Default::default(),
            log: None,
        }
    }

    pub(crate) fn note(&mut self, line: &str) {
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
    pub(crate) async fn create(&mut self, c: &mut mysql_async::Conn, name: String, rows: u64) {
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
    pub(crate) async fn step(&mut self, c: &mut mysql_async::Conn) {
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
    pub(crate) async fn kill_and_restart(
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
