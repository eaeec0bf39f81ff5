//! Sources that cannot be reached, wrong passwords, unregistered sources.

use super::*;

// ---------------------------------------------------------------------------------------
// 6. Sources that cannot be reached, wrong passwords, unregistered sources.
// ---------------------------------------------------------------------------------------

/// `operate-source show` lists no source.
async fn assert_no_source(ferry: &Ferry) {
    let shown = ferry.ctl_ok(&["operate-source", "show"]).await;
    assert_eq!(
        shown["sources"].as_array().map(Vec::len),
        Some(0),
        "no source may be registered: {shown:#}"
    );
}

#[tokio::test]
async fn unreachable_upstream_registers_nothing() {
    let ferry = Ferry::start_temp("unreach");
    // A port nothing listens on (checked free, and kept reserved meanwhile).
    let port = reserve_port().expect("a free port");
    let file = ferry.write_file(
        "source.yaml",
        &format!(
            "source-id: \"gone\"\nfrom:\n  host: \"127.0.0.1\"\n  port: {port}\n  user: \"root\"\n  password: \"\"\n"
        ),
    );
    let out = ferry
        .ctl(&["operate-source", "create", path_str(&file)])
        .await;
    release_port(port);
    assert!(!out.ok, "{out}");
    assert!(
        out.text().contains(&format!("127.0.0.1:{port}")),
        "the error must name host:port: {out}"
    );
    assert_no_source(&ferry).await;
}

#[tokio::test]
async fn wrong_password_registers_nothing() {
    let ferry = Ferry::start_temp("passwd");
    for kind in [DbKind::Mysql, DbKind::Mariadb] {
        let up = shared(kind, Role::Upstream);
        let user = unique_db_name("u");
        let mut u = up.conn().await;
        ferry_tests::data::create_user(&mut u, &user, &format!("pw-{user}"), "").await;
        let source = |id: &str, password: &str| {
            format!(
                "source-id: \"{id}\"\nfrom:\n  host: \"127.0.0.1\"\n  port: {}\n  user: \"{user}\"\n  password: \"{password}\"\n",
                up.port()
            )
        };
        let bad = ferry.write_file("bad.yaml", &source("bad", "wrong"));
        let out = ferry
            .ctl(&["operate-source", "create", path_str(&bad)])
            .await;
        assert!(!out.ok, "{kind}: {out}");
        let text = out.text();
        assert!(
            text.contains(&format!("127.0.0.1:{}", up.port())),
            "{kind}: the error must name host:port: {out}"
        );
        assert!(
            text.contains("Access denied") && text.contains(&user),
            "{kind}: the error must say why: {out}"
        );
        assert_no_source(&ferry).await;

        // The right password works (MySQL 9.7: caching_sha2_password, first login).
        let good = ferry.write_file("good.yaml", &source("good", &format!("pw-{user}")));
        let out = ferry
            .ctl(&["operate-source", "create", path_str(&good)])
            .await;
        assert!(out.ok, "{kind}: {out}");
        let shown = ferry.ctl_ok(&["operate-source", "show"]).await;
        assert_eq!(shown["sources"][0]["source"], "good", "{shown:#}");
        ferry.ctl_ok(&["operate-source", "stop", "good"]).await;
        assert_no_source(&ferry).await;
    }
}

#[tokio::test]
async fn task_of_an_unregistered_source_is_refused() {
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let ferry = Ferry::start_temp("ghost");
    let task = task_name("ghost");
    let yaml = task_yaml(
        &task,
        down,
        "mysql-instances:\n  - source-id: \"ghost-source\"\n",
    );
    let file = ferry.write_file("task.yaml", &yaml);
    let out = ferry.ctl(&["start-task", path_str(&file)]).await;
    assert!(!out.ok, "{out}");
    let text = out.text();
    assert!(
        text.contains("ghost-source") && text.contains("not a registered source"),
        "the error must name the source and the cause: {out}"
    );
    let status = ferry.ctl(&["query-status", &task]).await;
    assert!(!status.ok, "no task may exist: {status}");
    assert!(status.text().contains("does not exist"), "{status}");
    let all = ferry.ctl_ok(&["query-status"]).await;
    assert_eq!(all["tasks"].as_array().map(Vec::len), Some(0), "{all:#}");
}
