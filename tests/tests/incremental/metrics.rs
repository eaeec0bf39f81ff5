//! DM's metric names on `/metrics` for a replicating task: `dm_worker_task_state`,
//! `dm_syncer_binlog_file` / `dm_syncer_binlog_pos` for the master and the syncer,
//! `dm_syncer_replication_lag_gauge`, with DM's labels.

use super::*;

fn scrape(ferry: &Ferry) -> String {
    ferry.http_get("/metrics")
}

/// The values of the series `name` whose labels include every one of `labels`, in the
/// scrape's order.
pub(crate) fn samples<'a>(
    text: &'a str,
    name: &'a str,
    labels: &'a [(&str, &str)],
) -> impl Iterator<Item = f64> + 'a {
    let prefix = format!("{name}{{");
    text.lines()
        .filter(move |l| l.starts_with(&prefix))
        .filter(move |l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
}

/// The value of the first series `name` whose labels include every one of `labels`.
fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples(text, name, labels).next()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dm_series_follow_a_replicating_task() {
    let up = shared(DbKind::Mysql, Role::Upstream);
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let db = unique_db_name("metrics");
    let q = quote_ident(&db);
    let mut c = up.conn().await;
    create_database(&mut c, &db).await;
    exec(&mut c, &format!("CREATE TABLE {q}.t (id INT PRIMARY KEY)")).await;
    let ferry = Ferry::start_temp("metrics");
    ferry.add_source("up", up).await;
    let task = format!("metrics_{}", &db[db.len() - 4..]);
    let f = ferry.write_file("task.yaml", &task_file(&task, "all", down, "up", &db, ""));
    ferry.ctl_ok(&["start-task", path_str(&f)]).await;
    exec(&mut c, &format!("INSERT INTO {q}.t VALUES (1)")).await;
    wait_caught_up(&ferry, &task, up, CATCH_UP).await;
    let (file, _) = binlog_position(up).await;
    let index = file.rsplit('.').next().unwrap().parse::<f64>().unwrap();

    let text = scrape(&ferry);
    let me = [("task", task.as_str()), ("source_id", "up")];
    assert_eq!(
        value(
            &text,
            "dm_worker_task_state",
            &[me[0], me[1], ("worker", "ferryd")]
        ),
        Some(2.0),
        "{text}"
    );
    for node in ["master", "syncer"] {
        let labels = [("node", node), me[0], me[1]];
        assert_eq!(
            value(&text, "dm_syncer_binlog_file", &labels),
            Some(index),
            "{node}: {text}"
        );
        assert!(
            value(&text, "dm_syncer_binlog_pos", &labels).is_some_and(|p| p > 4.0),
            "{node}: {text}"
        );
    }
    assert!(
        value(&text, "dm_syncer_replication_lag_gauge", &me).is_some(),
        "{text}"
    );
    assert!(text.contains("# HELP dm_syncer_binlog_pos"), "{text}");

    ferry.ctl_ok(&["pause-task", &task]).await;
    wait_until(
        Duration::from_secs(30),
        "dm_worker_task_state = 3",
        || async { value(&scrape(&ferry), "dm_worker_task_state", &me) == Some(3.0) },
    )
    .await;
}
