//! TLS with a client certificate: an upstream user that `REQUIRE X509` is reached with the
//! source's `security.ssl-cert` / `ssl-key` (files, or the inline `-base64` form), for the
//! prechecks, the copy and the binlog; without the certificate the server refuses it.

use super::*;
use ferry_tests::data::count_rows;

fn source_file(id: &str, up: &TestServer, user: &str, security: &str) -> String {
    format!(
        "source-id: \"{id}\"\nfrom:\n  host: \"127.0.0.1\"\n  port: {}\n  user: \"{user}\"\n  password: \"x509-pw\"\n{security}",
        up.port()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_that_requires_x509_replicates_with_the_client_certificate() {
    use base64::Engine as _;
    let up = shared(DbKind::Mysql, Role::Upstream);
    let down = shared(DbKind::Mariadb, Role::Downstream);
    let dir = up.datadir();
    let (cert, key) = (dir.join("client-cert.pem"), dir.join("client-key.pem"));
    assert!(
        cert.exists(),
        "MySQL generates client certificates in its datadir"
    );
    let db = unique_db_name("x509");
    let user = format!("x509_{}", &db[db.len() - 4..]);
    let q = quote_ident(&db);
    let mut c = up.conn().await;
    ferry_tests::data::create_user(&mut c, &user, "x509-pw", "REQUIRE X509").await;
    create_database(&mut c, &db).await;
    exec(&mut c, &format!("CREATE TABLE {q}.t (id INT PRIMARY KEY)")).await;
    exec(&mut c, &format!("INSERT INTO {q}.t VALUES (1), (2)")).await;

    let ferry = Ferry::start_temp("x509");
    // Without a client certificate this user is refused.
    let no_cert = ferry.write_file("no-cert.yaml", &source_file("nocert", up, &user, ""));
    let out = ferry
        .ctl(&["operate-source", "create", path_str(&no_cert)])
        .await;
    assert!(
        !out.ok || out.json["result"] != serde_json::json!(true),
        "refused without a client certificate: {out}"
    );
    assert!(out.to_string().contains("Access denied"), "{out}");

    // Files for the certificate, the inline base64 form for the key. No ssl-ca: MySQL's
    // generated server certificate does not name 127.0.0.1, so it could not be verified.
    let key_b64 = base64::engine::general_purpose::STANDARD.encode(std::fs::read(&key).unwrap());
    let with_cert = ferry.write_file(
        "x509.yaml",
        &source_file(
            "up",
            up,
            &user,
            &format!(
                "  security:\n    ssl-cert: \"{}\"\n    ssl-key-base64: \"{key_b64}\"\n",
                cert.display()
            ),
        ),
    );
    ferry
        .ctl_ok(&["operate-source", "create", path_str(&with_cert)])
        .await;
    let task = format!("x509_{}", &db[db.len() - 4..]);
    let f = ferry.write_file("task.yaml", &task_file(&task, "all", down, "up", &db, ""));
    ferry.ctl_ok(&["start-task", path_str(&f)]).await;
    exec(&mut c, &format!("INSERT INTO {q}.t VALUES (3)")).await;
    wait_caught_up(&ferry, &task, up, CATCH_UP).await;
    let mut d = down.conn().await;
    assert_eq!(
        count_rows(&mut d, &db, "t").await,
        3,
        "copied and replicated"
    );
    // The server accepts this user only over TLS with a client certificate (REQUIRE X509),
    // so every connection above (prechecks, copy, binlog) presented it.
    ferry.ctl_ok(&["stop-task", &task]).await;
    exec(&mut c, &format!("DROP USER '{user}'@'%'")).await;
}
