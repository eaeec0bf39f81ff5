//! The HTTP API (`/api/v1/...`, DM OpenAPI-style paths), `/metrics` and `/status`, on one port.
//! Handled on a plain thread pool; long operations block on the daemon's runtime.

use std::io::Read;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{json, Value};
use tiny_http::{Header, Method, Request, Response, Server};
use tracing::{debug, warn};

use crate::registry::{ApiError, Registry};
use crate::wire::{EncryptRequest, FileUpload};

/// Largest request body accepted (YAML files are small).
const MAX_BODY: u64 = 4 * 1024 * 1024;

/// Serves requests until the server is unblocked.
pub fn serve(
    server: Arc<Server>,
    reg: Arc<Registry>,
    metrics: Arc<dyn Fn() -> String + Send + Sync>,
    threads: usize,
) {
    let started = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..threads.max(1) {
        let server = server.clone();
        let reg = reg.clone();
        let metrics = metrics.clone();
        handles.push(std::thread::spawn(move || {
            while let Ok(req) = server.recv() {
                handle(req, &reg, metrics.as_ref(), started);
            }
        }));
    }
    for h in handles {
        let _ = h.join();
    }
}

fn json_response(status: u16, v: &Value) -> Response<std::io::Cursor<Vec<u8>>> {
    let body = serde_json::to_vec_pretty(v).unwrap_or_default();
    Response::from_data(body)
        .with_status_code(status)
        .with_header(Header::from_bytes("Content-Type", "application/json").expect("static header"))
}

fn handle(
    mut req: Request,
    reg: &Registry,
    metrics: &(dyn Fn() -> String + Send + Sync),
    started: Instant,
) {
    let method = req.method().clone();
    let url = req.url().to_string();
    // Query strings are ignored.
    let path = url.split_once('?').map_or(url.as_str(), |(p, _)| p);
    let decoded: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let parts: Vec<&str> = decoded.iter().map(String::as_str).collect();
    debug!(%method, %path, "api request");
    let mut body = Vec::new();
    if let Err(e) = req.as_reader().take(MAX_BODY).read_to_end(&mut body) {
        let _ = req.respond(json_response(
            400,
            &json!({"result": false, "msg": format!("cannot read the request: {e}")}),
        ));
        return;
    }
    if path == "/metrics" {
        let resp = Response::from_string(metrics()).with_header(
            Header::from_bytes("Content-Type", "text/plain; version=0.0.4").expect("static header"),
        );
        let _ = req.respond(resp);
        return;
    }
    let result = route(&method, &parts, &body, reg, started);
    let resp = match result {
        Ok(v) => {
            let status = if v.get("result") == Some(&json!(false)) {
                422
            } else {
                200
            };
            json_response(status, &v)
        }
        Err(e) => {
            if e.status >= 500 {
                warn!(%path, error = %e.msg, "api error");
            }
            json_response(
                e.status,
                &json!({"result": false, "msg": e.msg, "error_msg": e.msg, "error_code": e.status}),
            )
        }
    };
    let _ = req.respond(resp);
}

/// Decodes `%XX` escapes of one path segment (ferryctl encodes task and source names).
fn percent_decode(seg: &str) -> String {
    fn hex(c: u8) -> Option<u8> {
        (c as char).to_digit(16).map(|d| d as u8)
    }
    let b = seg.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn upload(body: &[u8]) -> Result<FileUpload, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError {
        status: 400,
        msg: format!("request body is not a file upload: {e}"),
    })
}

fn route(
    method: &Method,
    parts: &[&str],
    body: &[u8],
    reg: &Registry,
    started: Instant,
) -> Result<Value, ApiError> {
    match (method, parts) {
        (Method::Get, ["status"]) => Ok(json!({
            "result": true, "msg": "", "version": env!("CARGO_PKG_VERSION"),
            "uptimeSeconds": started.elapsed().as_secs(),
        })),
        (Method::Post, ["api", "v1", "sources"]) => reg.create_source(&upload(body)?),
        (Method::Get, ["api", "v1", "sources"]) => Ok(reg.show_sources()),
        (Method::Delete, ["api", "v1", "sources", id]) => reg.stop_source(id),
        (Method::Post, ["api", "v1", "sources", id, "relay", "purge"]) => {
            let r: Value = serde_json::from_slice(body).map_err(|e| ApiError {
                status: 400,
                msg: format!("bad purge request: {e}"),
            })?;
            let file = r["relay_binlog_name"].as_str().unwrap_or_default();
            if file.is_empty() {
                return Err(ApiError {
                    status: 400,
                    msg: "purge-relay needs the file name (-f / relay_binlog_name)".into(),
                });
            }
            reg.purge_relay(id, file)
        }
        (Method::Post, ["api", "v1", "tasks"]) => reg.start_task(&upload(body)?),
        (Method::Post, ["api", "v1", "tasks", "check"]) => reg.check_task(&upload(body)?),
        (Method::Get, ["api", "v1", "tasks", "status"]) | (Method::Get, ["api", "v1", "tasks"]) => {
            Ok(reg.all_status())
        }
        (Method::Get, ["api", "v1", "tasks", name, "status"]) => reg.task_status(name),
        (Method::Post, ["api", "v1", "tasks", name, "pause"]) => reg.pause_task(name),
        (Method::Post, ["api", "v1", "tasks", name, "resume"]) => reg.resume_task(name),
        (Method::Post, ["api", "v1", "tasks", name, "binlog"]) => {
            let r: crate::wire::BinlogRequest =
                serde_json::from_slice(body).map_err(|e| ApiError {
                    status: 400,
                    msg: format!("bad binlog request: {e}"),
                })?;
            reg.binlog_op(name, &r)
        }
        (Method::Post, ["api", "v1", "tasks", name, "binlog-schema"]) => {
            let r: crate::wire::BinlogSchemaRequest =
                serde_json::from_slice(body).map_err(|e| ApiError {
                    status: 400,
                    msg: format!("bad binlog-schema request: {e}"),
                })?;
            reg.binlog_schema(name, &r)
        }
        (Method::Post, ["api", "v1", "tasks", name, "stop"])
        | (Method::Delete, ["api", "v1", "tasks", name]) => reg.stop_task(name),
        (Method::Post, ["api", "v1", "encrypt"]) => {
            let r: EncryptRequest = serde_json::from_slice(body).map_err(|e| ApiError {
                status: 400,
                msg: format!("bad encrypt request: {e}"),
            })?;
            reg.encrypt(&r.plaintext)
        }
        _ => Err(ApiError {
            status: 404,
            msg: format!("no such API: {method} /{}", parts.join("/")),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn decodes_escapes_and_keeps_the_rest() {
        assert_eq!(percent_decode("my%20task%2F1"), "my task/1");
        assert_eq!(percent_decode("t%zz%"), "t%zz%");
        assert_eq!(percent_decode("%C3%A9t%C3%A9"), "été");
        assert_eq!(percent_decode("é%"), "é%");
    }
}
