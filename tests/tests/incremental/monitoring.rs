//! The shipped monitoring (docs/grafana/*.json, docs/prometheus/ferry.rules.yml) against what
//! ferryd exports during an `all` task on a source with its relay log: every series their
//! expressions use is in the scrape, `promtool` accepts the scrape and the rules, and the
//! values follow the task (jobs counted, relay and syncer positions, mailbox bounds).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use super::*;

/// The repository's root (the tests crate is one level below).
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// `promtool`, from `PATH` or where scripts/install-deps.sh puts it. Missing: fails under CI
/// (`CI=true`), else `None` (the caller skips, saying so).
fn promtool() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("promtool"))
            .find(|f| f.is_file())
    });
    let found = on_path.or_else(|| {
        let f = PathBuf::from("/usr/local/bin/promtool");
        f.is_file().then_some(f)
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "promtool is not installed: run scripts/install-deps.sh"
        );
        eprintln!("promtool is not installed (scripts/install-deps.sh): skipping its checks");
    }
    found
}

/// Runs `promtool args` with `stdin`; (exit code, stdout + stderr).
fn run_promtool(tool: &Path, args: &[&str], stdin: &str) -> (i32, String) {
    let mut child = Command::new(tool)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running {}: {e}", tool.display()));
    if let Some(mut i) = child.stdin.take() {
        i.write_all(stdin.as_bytes()).expect("promtool's stdin");
    }
    let out = child.wait_with_output().expect("promtool's output");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// DM's counters whose names break Prometheus' naming lints (no `_total`, a `_count`
/// suffix): their names are DM's and kept, so promtool's lint about them is expected.
const DM_COUNTER_NAMES: &[&str] = &[
    "dm_syncer_exit_with_error_count",
    "dm_loader_exit_with_error_count",
    "dm_dumpling_exit_with_error_count",
    "dm_relay_exit_with_error_count",
    "dm_relay_read_error_count",
    "dm_relay_write_error_count",
    "dm_relay_data_corruption",
    "dm_worker_operate_error",
];

/// True for a lint of promtool about a name DM chose (and ferryd keeps): DM's counters above,
/// `dm_syncer_replication_lag_gauge`, and DM's `queueNo` label (camelCase) on `dm_syncer_*`.
fn dm_naming_lint(line: &str) -> bool {
    let name = line.split_whitespace().next().unwrap_or("");
    (DM_COUNTER_NAMES.contains(&name)
        && (line.contains("should have \"_total\" suffix")
            || line.contains("should not have \"_count\" suffix")))
        || (name == "dm_syncer_replication_lag_gauge"
            && line.contains("should not include type 'gauge'"))
        || (name.starts_with("dm_syncer_")
            && line.contains("label names should be written in 'snake_case' not 'camelCase'"))
}

/// The lint problems of `promtool check metrics` other than those about DM's own names
/// (empty: promtool accepts the scrape).
fn lint_problems(report: &str) -> Vec<String> {
    report
        .lines()
        .filter(|l| !l.trim().is_empty() && !dm_naming_lint(l))
        .map(str::to_string)
        .collect()
}

/// The body of an HTTP/1.0 response.
fn body(resp: &str) -> &str {
    resp.split_once("\r\n\r\n").map_or(resp, |(_, b)| b)
}

/// Names of the series in a scrape.
fn series_names(scrape: &str) -> BTreeSet<String> {
    scrape
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_string)
        .collect()
}

/// Identifiers of the series ferryd exports (`dm_*`, `ferry_*`, `process_*`) in a PromQL
/// expression.
fn series_in(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = expr.char_indices().peekable();
    let mut in_string = false;
    while let Some((i, c)) = chars.next() {
        if c == '"' {
            in_string = !in_string;
            continue;
        }
        if in_string || !(c.is_ascii_alphabetic() || c == '_') {
            continue;
        }
        let mut end = i + c.len_utf8();
        while let Some(&(j, d)) = chars.peek() {
            if d.is_ascii_alphanumeric() || d == '_' || d == ':' {
                end = j + d.len_utf8();
                chars.next();
            } else {
                break;
            }
        }
        let word = &expr[i..end];
        if ["dm_", "ferry_", "process_"]
            .iter()
            .any(|p| word.starts_with(p))
        {
            out.push(word.to_string());
        }
    }
    out
}

/// Every `expr` of a Grafana dashboard (panels, nested rows) and the queries of its template
/// variables.
fn dashboard_exprs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("expr" | "definition", Value::String(s)) => out.push(s.clone()),
                    _ => dashboard_exprs(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| dashboard_exprs(x, out)),
        _ => {}
    }
}

/// Every `expr:` of a rules file.
fn rule_exprs(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("expr:"))
        .map(|e| e.trim().to_string())
        .collect()
}

/// (file, series) of every series the shipped dashboards and rules use.
fn shipped_series() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for name in ["ferry-task.json", "ferry-instance.json"] {
        let path = repo().join("docs/grafana").join(name);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let v: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut exprs = Vec::new();
        dashboard_exprs(&v, &mut exprs);
        assert!(exprs.len() > 10, "{name}: {exprs:?}");
        for e in exprs {
            out.extend(series_in(&e).into_iter().map(|s| (name.to_string(), s)));
        }
    }
    let rules = repo().join("docs/prometheus/ferry.rules.yml");
    let text = std::fs::read_to_string(&rules).expect("docs/prometheus/ferry.rules.yml");
    let exprs = rule_exprs(&text);
    assert!(exprs.len() >= 10, "{exprs:?}");
    for e in exprs {
        out.extend(
            series_in(&e)
                .into_iter()
                .map(|s| ("ferry.rules.yml".to_string(), s)),
        );
    }
    out
}

/// Sum of the values of the series `name` whose labels include all of `labels`.
fn sum(scrape: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    super::metrics::samples(scrape, name, labels).reduce(|a, b| a + b)
}

#[test]
fn series_names_are_read_from_exprs() {
    assert_eq!(
        series_in(
            r#"histogram_quantile(0.9, sum(rate(dm_syncer_txn_duration_time_bucket{task=~"$task",x="dm_no"}[1m])) by (le)) - on(source_id) ferry_full_chunks"#
        ),
        vec!["dm_syncer_txn_duration_time_bucket", "ferry_full_chunks"]
    );
    assert_eq!(
        rule_exprs("  - alert: A\n    expr: dm_x > 1\n    labels:\n      expr: y\n"),
        vec!["dm_x > 1", "y"]
    );
    let report = "dm_relay_read_error_count counter metrics should have \"_total\" suffix\n\
                  ferry_x counter metrics should have \"_total\" suffix\n";
    assert_eq!(
        lint_problems(report),
        vec!["ferry_x counter metrics should have \"_total\" suffix"]
    );
}

/// `promtool check rules` accepts the shipped alert rules.
#[test]
fn promtool_accepts_the_alert_rules() {
    let Some(tool) = promtool() else {
        return;
    };
    let rules = repo().join("docs/prometheus/ferry.rules.yml");
    let path = rules.to_string_lossy().to_string();
    let (code, out) = run_promtool(&tool, &["check", "rules", &path], "");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("SUCCESS"), "{out}");
}

/// An `all` task on a source with its relay log: the shipped dashboards and rules find every
/// series they use, promtool accepts the scrape, and the values follow the task.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboards_and_rules_find_their_series_during_an_all_task_with_relay() {
    let up = shared(DbKind::Mysql, Role::Upstream);
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let db = unique_db_name("monitor");
    let q = quote_ident(&db);
    let mut c = up.conn().await;
    create_database(&mut c, &db).await;
    exec(
        &mut c,
        &format!("CREATE TABLE {q}.t (id INT PRIMARY KEY, v VARCHAR(20))"),
    )
    .await;
    let values: Vec<String> = (1..=200).map(|i| format!("({i}, 'full')")).collect();
    exec(
        &mut c,
        &format!("INSERT INTO {q}.t VALUES {}", values.join(",")),
    )
    .await;
    let ferry = Ferry::start_temp("monitor");
    let source = ferry.write_file(
        "relay.yaml",
        &format!(
            "{}enable-relay: true\n",
            ferry_tests::ferry::source_yaml("relayed", up)
        ),
    );
    ferry
        .ctl_ok(&["operate-source", "create", path_str(&source)])
        .await;
    let task = format!("monitor_{}", &db[db.len() - 4..]);
    let f = ferry.write_file(
        "task.yaml",
        &task_file(&task, "all", down, "relayed", &db, ""),
    );
    ferry.ctl_ok(&["start-task", path_str(&f)]).await;
    // The full phase is over (its rows are the copy's), then the incremental phase: inserts,
    // updates, deletes and a DDL.
    let st = wait_caught_up(&ferry, &task, up, CATCH_UP).await;
    assert_eq!(
        ferry_tests::ferry::subtasks(&st)[0]["sync"]["binlogType"],
        "local",
        "the task reads the relay log: {st}"
    );
    const ROWS: u64 = 300;
    for chunk in (1..=ROWS).collect::<Vec<_>>().chunks(50) {
        let rows: Vec<String> = chunk
            .iter()
            .map(|i| format!("({}, 'sync')", 1000 + i))
            .collect();
        exec(
            &mut c,
            &format!("INSERT INTO {q}.t VALUES {}", rows.join(",")),
        )
        .await;
    }
    exec(
        &mut c,
        &format!("UPDATE {q}.t SET v = 'upd' WHERE id <= 10"),
    )
    .await;
    exec(
        &mut c,
        &format!("DELETE FROM {q}.t WHERE id > 190 AND id <= 200"),
    )
    .await;
    exec(&mut c, &format!("ALTER TABLE {q}.t ADD COLUMN w INT NULL")).await;
    exec(
        &mut c,
        &format!("INSERT INTO {q}.t VALUES (5000, 'last', 1)"),
    )
    .await;
    // Changes of a database the block-allow-list leaves out: the filter stage drops them.
    let other = unique_db_name("monitorx");
    create_database(&mut c, &other).await;
    let qo = quote_ident(&other);
    exec(&mut c, &format!("CREATE TABLE {qo}.t (id INT PRIMARY KEY)")).await;
    exec(&mut c, &format!("INSERT INTO {qo}.t VALUES (1), (2), (3)")).await;
    wait_caught_up(&ferry, &task, up, CATCH_UP).await;
    // An operation the task refuses (a source it has no subtask on) counts as an operate
    // error of the worker.
    let refused = ferry
        .ctl(&["pause-task", "-s", "no-such-source", &task])
        .await;
    assert!(
        !refused.ok || refused.json.get("result") != Some(&Value::Bool(true)),
        "{refused}"
    );
    let (file, _) = binlog_position(up).await;
    let index: f64 = file
        .rsplit('.')
        .next()
        .and_then(|s| s.parse().ok())
        .expect("a binlog file index");

    let me = [("task", task.as_str()), ("source_id", "relayed")];
    let relay = [("source_id", "relayed"), ("node", "relay")];
    let wanted = shipped_series();
    // Polled until everything is there (histograms and gauges appear as the stages record).
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let scrape = loop {
        let scrape = body(&ferry.http_get("/metrics")).to_string();
        let names = series_names(&scrape);
        let missing: Vec<&(String, String)> =
            wanted.iter().filter(|(_, s)| !names.contains(s)).collect();
        let inserts = sum(
            &scrape,
            "dm_syncer_finished_jobs_total",
            &[me[0], me[1], ("type", "insert"), ("target_table", "t")],
        );
        let relay_file = sum(&scrape, "dm_relay_binlog_file", &relay);
        let syncer_file = sum(
            &scrape,
            "dm_syncer_binlog_file",
            &[me[0], me[1], ("node", "syncer")],
        );
        // Set by the relay's status loop (every 5 s) once it knows the server's UUID.
        let sub_dir = sum(
            &scrape,
            "dm_relay_sub_dir_index",
            &[("source_id", "relayed")],
        );
        if missing.is_empty()
            && inserts.is_some_and(|n| n >= (ROWS + 1) as f64)
            && relay_file == Some(index)
            && syncer_file == Some(index)
            && sub_dir.is_some()
        {
            break scrape;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "after 60 s: missing {missing:?}; inserts {inserts:?} (want >= {}); relay file \
             {relay_file:?}, syncer file {syncer_file:?} (want {index}); sub dir \
             {sub_dir:?}\n{scrape}",
            ROWS + 1
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    // Real values.
    let jobs = |kind: &str| {
        sum(
            &scrape,
            "dm_syncer_finished_jobs_total",
            &[me[0], ("type", kind)],
        )
        .unwrap_or(0.0)
    };
    assert!(jobs("update") >= 10.0 && jobs("delete") >= 10.0, "{scrape}");
    assert!(
        sum(&scrape, "dm_syncer_finished_transaction_total", &me).is_some_and(|n| n >= 6.0),
        "{scrape}"
    );
    assert!(
        sum(&scrape, "dm_syncer_replication_lag_gauge", &me).is_some(),
        "{scrape}"
    );
    assert!(
        sum(&scrape, "dm_syncer_query_duration_time_count", &me).is_some_and(|n| n >= 1.0),
        "the DDL is timed: {scrape}"
    );
    for mailbox in ["binlog-items", "writer-shares"] {
        let l = [me[0], me[1], ("mailbox", mailbox)];
        assert!(
            sum(&scrape, "ferry_mailbox_capacity_messages", &l).is_some_and(|n| n > 0.0),
            "{mailbox}: {scrape}"
        );
        assert!(
            sum(&scrape, "ferry_mailbox_capacity_bytes", &l).is_some_and(|n| n > 0.0),
            "{mailbox}: {scrape}"
        );
    }
    assert!(
        sum(
            &scrape,
            "ferry_mailbox_capacity_bytes",
            &[("mailbox", "relay-events"), ("source_id", "relayed")]
        )
        .is_some_and(|n| n > 0.0),
        "{scrape}"
    );
    assert!(
        sum(
            &scrape,
            "ferry_full_chunks",
            &[me[0], ("state", "finished")]
        )
        .is_some_and(|n| n >= 1.0),
        "{scrape}"
    );
    assert!(
        sum(&scrape, "ferry_load_rows_total", &me).is_some_and(|n| n >= 200.0),
        "{scrape}"
    );
    assert!(
        sum(&scrape, "ferry_schema_history_versions", &me).is_some_and(|n| n >= 1.0),
        "{scrape}"
    );
    assert!(
        sum(
            &scrape,
            "dm_relay_space",
            &[("source_id", "relayed"), ("type", "available")]
        )
        .is_some_and(|n| n > 0.0),
        "{scrape}"
    );
    stage_series_follow_the_task(&scrape, &me);
    // Histograms, not summaries (DM's dashboards read `_bucket`).
    assert!(
        scrape.contains("# TYPE dm_syncer_txn_duration_time histogram"),
        "{scrape}"
    );
    assert!(
        scrape.contains("# HELP dm_syncer_finished_jobs_total"),
        "{scrape}"
    );

    if let Some(tool) = promtool() {
        let (code, report) = run_promtool(&tool, &["check", "metrics"], &scrape);
        let problems = lint_problems(&report);
        assert!(
            (code == 0 || code == 3) && problems.is_empty(),
            "promtool check metrics (exit {code}):\n{report}"
        );
    }
    ferry.ctl_ok(&["stop-task", &task]).await;
}

/// DM's per-event stage series, kept per message or batch: every stage of the task timed at
/// least once, the ideal QPS of its batches, no shard lock, the relay's transform and
/// sub-directory, and the operation the task refused.
fn stage_series_follow_the_task(scrape: &str, me: &[(&str, &str); 2]) {
    let count = |name: &str, label: (&str, &str)| sum(scrape, name, &[me[0], me[1], label]);
    for stage in [
        "gen-write-rows",
        "gen-update-rows",
        "gen-delete-rows",
        "gen-query",
        "dml-exec",
        "ddl-exec",
    ] {
        assert!(
            count("dm_syncer_binlog_transform_cost_count", ("stage", stage))
                .is_some_and(|n| n >= 1.0),
            "{stage}: {scrape}"
        );
    }
    for kind in ["insert", "update", "delete"] {
        assert!(
            count("dm_syncer_dispatch_binlog_duration_count", ("type", kind))
                .is_some_and(|n| n >= 1.0),
            "{kind}: {scrape}"
        );
    }
    assert!(
        count("dm_syncer_skip_binlog_duration_count", ("type", "rows")).is_some_and(|n| n >= 1.0),
        "{scrape}"
    );
    let cost = count(
        "dm_syncer_binlog_transform_cost_sum",
        ("stage", "gen-write-rows"),
    );
    assert!(cost.is_some_and(|s| s > 0.0 && s < 60.0), "{scrape}");
    assert!(
        count("dm_syncer_ideal_qps", ("worker", "ferryd")).is_some_and(|q| q > 0.0),
        "{scrape}"
    );
    assert_eq!(
        sum(scrape, "dm_syncer_shard_lock_resolving", me),
        Some(0.0),
        "{scrape}"
    );
    let relayed = [("source_id", "relayed")];
    assert!(
        sum(scrape, "dm_relay_read_transform_duration_count", &relayed).is_some_and(|n| n >= 1.0),
        "{scrape}"
    );
    let sub_dir = scrape
        .lines()
        .find(|l| l.starts_with("dm_relay_sub_dir_index{") && l.contains("source_id=\"relayed\""))
        .unwrap_or_else(|| panic!("no dm_relay_sub_dir_index: {scrape}"));
    assert!(
        sub_dir.contains(".000001\"") && sub_dir.ends_with(" 1"),
        "{sub_dir}"
    );
    assert_eq!(
        sum(scrape, "dm_worker_operate_error", &[("type", "Pause")]),
        Some(1.0),
        "{scrape}"
    );
}
