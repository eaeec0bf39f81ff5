//! End-to-end tests of DDL under the full phase's copy: a table rebuilt before the copy
//! reaches it (its snapshot read fails with `Table definition has changed`), two tables
//! swapped (the names now stand for other tables), a column renamed (`Unknown column`), a
//! column added to the table being copied (the `ALTER` waits for the copy's metadata lock),
//! and rows changed all along. The full phase copies the changed tables again in a later
//! round, from its own position, and replication skips their changes before it: the
//! downstream ends equal to the upstream, without a pause.

use std::time::Duration;

use ferry_tests::data::{exec, ledger, seq};
use ferry_tests::ferry::path_str;
use ferry_tests::schema_diff::compare_schema;
use ferry_tests::workload::wait_caught_up;
use ferry_tests::*;

const TIMEOUT: Duration = Duration::from_secs(240);

/// An `all` task copying `db` with one dumper in chunks of 500 rows, each row read with a
/// 1 ms pause (`--where "SLEEP(0.001) = 0"`): the copy takes seconds, in a known order (the
/// table with the most chunks left first).
fn slow_task(name: &str, down: &TestServer, db: &str) -> String {
    format!(
        "name: \"{name}\"\ntask-mode: all\n\
         target-database:\n  host: \"127.0.0.1\"\n  port: {}\n  user: \"root\"\n  password: \"\"\n\
         block-allow-list:\n  bal:\n    do-dbs: [\"{db}\"]\n\
         mydumpers:\n  d:\n    threads: 1\n    rows: 500\n    extra-args: \"--where 'SLEEP(0.001) = 0'\"\n\
         mysql-instances:\n  - source-id: \"up\"\n    block-allow-list: \"bal\"\n    mydumper-config-name: \"d\"\n",
        down.port()
    )
}

async fn ddl_under_the_copy(kind: DbKind) {
    let up = shared(kind, Role::Upstream);
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let db = unique_db_name(&format!("rounds_{kind}"));
    let task = format!("rd{}", &db[db.len() - 6..]);
    let q = quote_ident(&db);
    let mut c = up.conn().await;
    create_database(&mut c, &db).await;
    for (t, rows) in [
        ("a_first", 3000),
        ("b_rebuilt", 400),
        ("c_swap1", 300),
        ("d_swap2", 200),
        ("e_colren", 400),
        ("f_plain", 400),
    ] {
        exec(
            &mut c,
            &format!("CREATE TABLE {q}.{t} (id INT PRIMARY KEY, a INT, b VARCHAR(40))"),
        )
        .await;
        exec(
            &mut c,
            &format!(
                "INSERT INTO {q}.{t} SELECT n, n % 7, CONCAT('{t}', n) FROM {}",
                seq(rows)
            ),
        )
        .await;
    }
    let mut ferry = Ferry::start_temp("rounds");
    ferry.add_source("up", up).await;
    let f = ferry.write_file("task.yaml", &slow_task(&task, down, &db));
    ferry.ctl_ok(&["start-task", path_str(&f)]).await;

    // Once the copy is inside a_first (its first chunk committed, five to go: 2.5 s).
    let mut d = down.conn().await;
    let deadline = std::time::Instant::now() + TIMEOUT;
    loop {
        let l = ledger(&mut d, &task).await;
        assert!(
            l.iter().all(|r| r.table == "a_first"),
            "the copy went past a_first before the DDL could run: {l:?}"
        );
        if !l.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no chunk of a_first committed:\n{}",
            ferry.log_tail(40)
        );
        // Polling interval.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Waits for the copy's metadata lock on a_first: it runs when the round ends.
    let mut c2 = up.conn().await;
    let add = {
        let q = q.clone();
        tokio::spawn(async move {
            exec(
                &mut c2,
                &format!("ALTER TABLE {q}.a_first ADD COLUMN z INT NOT NULL DEFAULT 5"),
            )
            .await;
            exec(
                &mut c2,
                &format!("UPDATE {q}.a_first SET z = 6 WHERE id <= 10"),
            )
            .await;
        })
    };
    for sql in [
        format!("UPDATE {q}.b_rebuilt SET a = a + 100 WHERE id <= 50"),
        format!("ALTER TABLE {q}.b_rebuilt MODIFY COLUMN a BIGINT"),
        format!("INSERT INTO {q}.b_rebuilt VALUES (100000, 5000000000, 'big')"),
        format!("DELETE FROM {q}.c_swap1 WHERE id <= 20"),
        format!(
            "RENAME TABLE {q}.c_swap1 TO {q}.swap_tmp, {q}.d_swap2 TO {q}.c_swap1, \
             {q}.swap_tmp TO {q}.d_swap2"
        ),
        format!("INSERT INTO {q}.c_swap1 VALUES (5000, 1, 'after the swap')"),
        format!("UPDATE {q}.d_swap2 SET b = 'after the swap' WHERE id <= 30"),
        format!("ALTER TABLE {q}.e_colren RENAME COLUMN b TO b2"),
        format!("UPDATE {q}.e_colren SET b2 = 'renamed' WHERE id % 9 = 0"),
        format!("DELETE FROM {q}.f_plain WHERE id % 5 = 0"),
    ] {
        exec(&mut c, &sql).await;
    }
    tokio::time::timeout(TIMEOUT, add)
        .await
        .expect("the ALTER of a_first ran once the round ended")
        .expect("ALTER of a_first");

    wait_caught_up(&ferry, &task, up, TIMEOUT).await;
    let (problems, rows) = compare_schema(up, down, &db, "after the copy rounds").await;
    assert!(
        problems.is_empty(),
        "the downstream differs from the upstream:\n{}\n{}",
        problems.join("\n"),
        ferry.log_tail(60)
    );
    assert!(rows > 4000, "only {rows} rows compared");
    let log = std::fs::read_to_string(ferry.log_path()).expect("ferryd log");
    assert!(
        log.contains("opening another round"),
        "the DDL did not land under the copy (no second round):\n{}",
        ferry.log_tail(60)
    );
    for t in ["b_rebuilt", "c_swap1", "d_swap2", "e_colren"] {
        assert!(
            log.lines()
                .any(|l| l.contains("copying the table again") && l.contains(t)),
            "{t} was not copied again:\n{}",
            ferry.log_tail(80)
        );
    }
    ferry.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ddl_under_the_copy_mysql() {
    ddl_under_the_copy(DbKind::Mysql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ddl_under_the_copy_mariadb() {
    ddl_under_the_copy(DbKind::Mariadb).await;
}
