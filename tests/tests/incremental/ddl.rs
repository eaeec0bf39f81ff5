//! DDL mid-stream, and DDL the downstream rejects (`binlog replace` / `binlog skip`).

use super::*;

async fn incremental_with_ddl(up_kind: DbKind, down_kind: DbKind) {
    let up = shared(up_kind, Role::Upstream);
    let down = shared(down_kind, Role::Downstream);
    let db = unique_db_name("inc");
    let seed: u64 = rand::thread_rng().gen();
    eprintln!("workload seed {seed}");
    let (file, pos) = binlog_position(up).await;
    let mut c = up.conn().await;
    // Everything from here on reaches the downstream through the binlog, DDL included.
    create_database(&mut c, &db).await;
    create_tables(&mut c, &db).await;

    let ferry = Ferry::start_temp("inc");
    ferry.add_source("up", up).await;
    let task = format!("inc_{}", &db[db.len() - 4..]);
    let yaml = task_file(&task, "incremental", down, "up", &db, &meta_at(&file, pos));
    let f = ferry.write_file("task.yaml", &yaml);
    ferry.ctl_ok(&["start-task", path_str(&f)]).await;

    let mut w = Workload::new(&db, seed);
    w.run(&mut c, 300).await;
    let q = quote_ident(&db);
    exec(
        &mut c,
        &format!("ALTER TABLE {q}.t_pk ADD COLUMN z INT NOT NULL DEFAULT 7 AFTER a"),
    )
    .await;
    w.run(&mut c, 200).await;
    exec(
        &mut c,
        &format!("ALTER TABLE {q}.t_pk ADD INDEX ia (a), DROP COLUMN e"),
    )
    .await;
    exec(
        &mut c,
        &format!("RENAME TABLE {q}.t_nokey TO {q}.t_nokey_old"),
    )
    .await;
    exec(
        &mut c,
        &format!("CREATE TABLE {q}.t_nokey LIKE {q}.t_nokey_old"),
    )
    .await;
    exec(
        &mut c,
        &format!("ALTER TABLE {q}.t_uk MODIFY v VARCHAR(200) NOT NULL"),
    )
    .await;
    w.run(&mut c, 300).await;
    exec(&mut c, &format!("TRUNCATE TABLE {q}.t_nokey_old")).await;
    w.run(&mut c, 100).await;

    let st = wait_caught_up(&ferry, &task, up, CATCH_UP).await;
    let sub = &ferry_tests::ferry::subtasks(&st)[0];
    assert_eq!(sub["unit"], "Sync", "{sub}");
    compare_all(up, down, &db).await;
    let mut d = down.conn().await;
    let tables = list_tables(&mut d, &db).await;
    for t in TABLES.iter().chain(&["t_nokey_old"]) {
        assert!(
            tables.iter().any(|x| x == t),
            "{t} missing downstream: {tables:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_mysql_to_mariadb_with_ddl() {
    incremental_with_ddl(DbKind::Mysql, DbKind::Mariadb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_mariadb_to_mysql_with_ddl() {
    incremental_with_ddl(DbKind::Mariadb, DbKind::Mysql).await;
}

/// A DDL the downstream rejects pauses the task with the position and the statement;
/// `binlog replace` runs another statement instead and replication goes on; `binlog skip`
/// drops a statement.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_ddl_pauses_and_binlog_replace_or_skip_resolves_it() {
    let up = shared(DbKind::Mysql, Role::Upstream);
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let db = unique_db_name("ddlop");
    let (file, pos) = binlog_position(up).await;
    let mut c = up.conn().await;
    let q = quote_ident(&db);
    create_database(&mut c, &db).await;
    exec(
        &mut c,
        &format!("CREATE TABLE {q}.t (id INT PRIMARY KEY, a INT)"),
    )
    .await;
    exec(&mut c, &format!("INSERT INTO {q}.t VALUES (1, 1), (2, 2)")).await;
    // MariaDB 10.11 has no VECTOR type: the downstream rejects this.
    exec(&mut c, &format!("ALTER TABLE {q}.t ADD COLUMN v VECTOR(2)")).await;
    exec(
        &mut c,
        &format!("INSERT INTO {q}.t VALUES (3, 3, STRING_TO_VECTOR('[1.5, 2]'))"),
    )
    .await;

    let ferry = Ferry::start_temp("ddlop");
    ferry.add_source("up", up).await;
    let task = format!("ddlop_{}", &db[db.len() - 4..]);
    let f = ferry.write_file(
        "task.yaml",
        &task_file(&task, "incremental", down, "up", &db, &meta_at(&file, pos)),
    );
    ferry.ctl_ok(&["start-task", path_str(&f)]).await;
    let msg = ferry.wait_paused_error(&task).await;
    assert!(
        msg.contains("VECTOR") && msg.contains("binlog skip"),
        "{msg}"
    );
    assert!(msg.contains(&file), "the error names the position: {msg}");

    ferry
        .ctl_ok(&[
            "binlog",
            "replace",
            &task,
            &format!("ALTER TABLE {q}.t ADD COLUMN v VARBINARY(8)"),
        ])
        .await;
    // A statement to skip: the downstream already has the index.
    exec(
        &mut down.conn().await,
        &format!("CREATE INDEX ia ON {q}.t (a)"),
    )
    .await;
    exec(&mut c, &format!("CREATE INDEX ia ON {q}.t (a)")).await;
    let msg = ferry.wait_paused_error(&task).await;
    assert!(msg.contains("ia"), "{msg}");
    ferry.ctl_ok(&["binlog", "skip", &task]).await;
    exec(&mut c, &format!("UPDATE {q}.t SET a = a * 10")).await;
    wait_caught_up(&ferry, &task, up, CATCH_UP).await;
    let mut d = down.conn().await;
    let rows: Vec<(i32, i32, Option<Vec<u8>>)> = mysql_async::prelude::Queryable::query(
        &mut d,
        format!("SELECT id, a, v FROM {q}.t ORDER BY id"),
    )
    .await
    .unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        vec![10, 20, 30]
    );
    let mut vec_bytes = 1.5f32.to_le_bytes().to_vec();
    vec_bytes.extend(2f32.to_le_bytes());
    assert_eq!(rows[2].2.as_deref(), Some(&vec_bytes[..]));
}
