//! Chunking when the table statistics are stale.

use super::*;

// ---------------------------------------------------------------------------------------
// Chunking when the table statistics are stale.
// ---------------------------------------------------------------------------------------

/// Ferry sizes chunks from `information_schema.TABLES.TABLE_ROWS`. When InnoDB's
/// persisted statistics are stale (here: they say 0 rows, as for a table analysed while
/// empty, loaded, and then reopened, e.g. after FLUSH TABLES WITH READ LOCK), TABLE_ROWS
/// is 1 and Ferry copies a 20 000-row table as ONE chunk despite `rows: 1000`: a crash
/// then restarts the whole table. The planner must not trust a tiny estimate (the
/// integer key's MIN/MAX, or the index walk, give a real split).
#[tokio::test]
async fn stale_statistics_still_split_big_tables() {
    let up = shared(DbKind::Mysql, Role::Upstream);
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let db = unique_db_name("stale");
    let mut u = up.conn().await;
    create_database(&mut u, &db).await;
    let t = format!("{}.big", quote_ident(&db));
    for sql in [
        format!(
            "CREATE TABLE {t} (id INT NOT NULL PRIMARY KEY, v VARCHAR(20)) \
             STATS_PERSISTENT=1 STATS_AUTO_RECALC=0"
        ),
        format!(
            "INSERT INTO {t} SELECT n, CONCAT('v', n) FROM {}",
            seq(20_000)
        ),
        format!("ANALYZE TABLE {t}"),
        format!(
            "UPDATE mysql.innodb_table_stats SET n_rows = 0 \
             WHERE database_name = '{db}' AND table_name = 'big'"
        ),
        format!("FLUSH TABLES {t}"),
    ] {
        exec(&mut u, &sql).await;
    }

    let ferry = Ferry::start_temp("stale");
    ferry.add_source("up", up).await;
    let task = task_name("stale");
    let yaml = simple_task(
        &task,
        down,
        &[&db],
        "    rows: 1000\n    extra-args: \"--consistency none\"\n",
    );
    let status = ferry.run_full_task(&task, &yaml, FINISH).await;
    let mut d = down.conn().await;
    assert_schema_copied(&mut u, &mut d, &db, &db).await;
    let total = load_status(&status)["totalChunks"].as_u64().unwrap_or(0);
    assert!(
        total >= 10,
        "20 000 rows with rows: 1000 were planned as {total} chunk(s)"
    );
}
