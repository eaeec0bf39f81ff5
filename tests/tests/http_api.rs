//! The HTTP API of a real `ferryd` (no database needed): status codes and error shapes, the
//! body limit, and that a slow request does not hold the others (the API runs on the daemon's
//! async runtime, not on a few blocking threads).

use std::time::{Duration, Instant};

use ferry_tests::ferry::Ferry;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One HTTP/1.1 request; returns the status code and the body.
async fn request(addr: &str, method: &str, path: &str, body: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("connecting to {addr}: {e}"));
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.expect("request head");
    // The server may answer (413) before reading a large body: a failed write is fine.
    let _ = s.write_all(body).await;
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw).await;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_codes_error_shapes_and_the_body_limit() {
    let ferry = Ferry::start_temp("api");
    let addr = ferry.addr();

    let (code, body) = request(&addr, "GET", "/status", b"").await;
    assert_eq!(code, 200, "{body}");
    let v = json(&body);
    assert_eq!(v["result"], true);
    assert!(v["version"].as_str().is_some_and(|s| !s.is_empty()), "{v}");

    let (code, body) = request(&addr, "GET", "/api/v1/nothing-here", b"").await;
    assert_eq!(code, 404, "{body}");
    let v = json(&body);
    assert_eq!(v["result"], false);
    assert_eq!(v["error_code"], 404);
    assert_eq!(v["msg"], "no such API: GET /api/v1/nothing-here");

    let (code, body) = request(&addr, "POST", "/api/v1/tasks", b"{not json").await;
    assert_eq!(code, 400, "{body}");
    assert!(
        json(&body)["msg"]
            .as_str()
            .is_some_and(|m| m.starts_with("request body is not a file upload")),
        "{body}"
    );

    let (code, body) = request(&addr, "GET", "/api/v1/tasks/no%20such/status", b"").await;
    assert_eq!(code, 404, "{body}");
    assert!(body.contains("task `no such` does not exist"), "{body}");

    let big = vec![b' '; 5 * 1024 * 1024];
    let (code, _) = request(&addr, "POST", "/api/v1/tasks", &big).await;
    assert_eq!(code, 413, "a body over 4 MiB is refused");

    let (code, body) = request(&addr, "GET", "/metrics", b"").await;
    assert_eq!(code, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_request_does_not_hold_the_others() {
    // A "source" that accepts connections and never answers: `operate-source create` waits
    // on it (the MySQL handshake never comes).
    let silent = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let silent_port = silent.local_addr().expect("addr").port();
    let held = tokio::spawn(async move {
        let mut conns = Vec::new();
        while let Ok((c, _)) = silent.accept().await {
            conns.push(c);
        }
    });
    let ferry = Ferry::start_temp("api-slow");
    let addr = ferry.addr();
    let source = format!(
        "source-id: silent\nfrom:\n  host: 127.0.0.1\n  port: {silent_port}\n  user: root\n  password: ''\n"
    );
    let upload = serde_json::json!({"file": "silent.yaml", "text": source}).to_string();
    let slow = {
        let addr = addr.clone();
        tokio::spawn(
            async move { request(&addr, "POST", "/api/v1/sources", upload.as_bytes()).await },
        )
    };
    // Many quick requests while the slow one waits: each answers promptly.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut answered = 0;
    while answered < 20 {
        assert!(Instant::now() < deadline, "quick requests were held");
        let began = Instant::now();
        let (code, body) = request(&addr, "GET", "/api/v1/sources", b"").await;
        assert_eq!(code, 200, "{body}");
        assert!(
            began.elapsed() < Duration::from_secs(5),
            "a quick request took {:?} while another waited",
            began.elapsed()
        );
        let (code, _) = request(&addr, "GET", "/api/v1/tasks", b"").await;
        assert_eq!(code, 200);
        answered += 1;
    }
    assert!(
        !slow.is_finished(),
        "the slow request was expected to still wait"
    );
    // It ends with a clear error once the connect timeout passes.
    let (code, body) = tokio::time::timeout(Duration::from_secs(120), slow)
        .await
        .expect("the connect timeout ends the slow request")
        .expect("request task");
    assert_eq!(code, 400, "{body}");
    let msg = json(&body)["msg"].as_str().unwrap_or_default().to_string();
    assert!(
        msg.contains("source `silent`") && msg.contains("no answer within 30 s"),
        "{msg}"
    );
    held.abort();
}
