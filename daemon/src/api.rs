//! The HTTP API (`/api/v1/...`, DM OpenAPI-style paths), `/metrics` and `/status`, on one port.
//!
//! Served by `axum` on the daemon's one tokio runtime; handlers talk to the registry (and
//! through it to the task and relay supervisors) by awaiting messages, never by blocking.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};
use tracing::{debug, warn};

use crate::api_token::ApiToken;
use crate::registry::{ApiError, Registry};
use crate::wire::{EncryptRequest, FileUpload};

/// Largest request body accepted (YAML files are small).
const MAX_BODY: usize = 4 * 1024 * 1024;

/// Renders the Prometheus exposition text.
pub type MetricsFn = Arc<dyn Fn() -> String + Send + Sync>;

#[derive(Clone)]
struct Api {
    reg: Arc<Registry>,
    metrics: MetricsFn,
    started: Instant,
    /// When set, every request must carry it as a bearer token.
    token: Option<ApiToken>,
}

/// Serves requests on `listener` (plain TCP, or [`crate::api_tls::TlsListener`]) until
/// `shutdown` completes; requests in progress finish. With a `token`, a request without it
/// is refused (401) before anything else is looked at.
pub async fn serve<L>(
    listener: L,
    reg: Arc<Registry>,
    metrics: MetricsFn,
    token: Option<ApiToken>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    let api = Api {
        reg,
        metrics,
        started: Instant::now(),
        token,
    };
    let app = Router::new()
        .fallback(handle)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(api);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

fn json_response(status: u16, v: &Value) -> Response {
    let body = serde_json::to_vec_pretty(v).unwrap_or_default();
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn handle(
    State(api): State<Api>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Query strings are ignored.
    let path = uri.path();
    if let Some(token) = &api.token {
        let given = headers.get(header::AUTHORIZATION).map(|v| v.as_bytes());
        if !token.admits(given) {
            debug!(%method, %path, "api request without the bearer token");
            let msg = "this API needs `Authorization: Bearer <token>` (the token of ferryd's \
                       api-token-path; ferryctl --api-token-file or FERRY_API_TOKEN)";
            let mut r = json_response(
                401,
                &json!({"result": false, "msg": msg, "error_msg": msg, "error_code": 401}),
            );
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
            return r;
        }
    }
    let decoded: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let parts: Vec<&str> = decoded.iter().map(String::as_str).collect();
    debug!(%method, %path, "api request");
    if path == "/metrics" {
        api.reg.publish_metrics().await;
        return (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            (api.metrics)(),
        )
            .into_response();
    }
    match route(&method, &parts, &body, &api).await {
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
    }
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

/// The body of pause/resume/stop: `{}` or empty for the whole task.
fn task_op(body: &[u8]) -> Result<crate::wire::TaskOpRequest, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Default::default());
    }
    body_json(body, "task operation")
}

pub(crate) fn body_json<T: serde::de::DeserializeOwned>(
    body: &[u8],
    what: &str,
) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError {
        status: 400,
        msg: format!("bad {what} request: {e}"),
    })
}

async fn route(method: &Method, parts: &[&str], body: &[u8], api: &Api) -> Result<Value, ApiError> {
    let reg = api.reg.as_ref();
    match (method, parts) {
        (&Method::GET, ["status"]) => Ok(json!({
            "result": true, "msg": "", "version": env!("CARGO_PKG_VERSION"),
            "uptimeSeconds": api.started.elapsed().as_secs(),
            "folders": reg.folders_status(),
        })),
        (&Method::POST, ["api", "v1", "sources"]) => reg.create_source(&upload(body)?).await,
        (&Method::GET, ["api", "v1", "sources"]) => Ok(reg.show_sources()),
        (&Method::DELETE, ["api", "v1", "sources", id]) => reg.stop_source(id).await,
        (&Method::POST, ["api", "v1", "sources", id, "relay", "purge"]) => {
            let r: Value = body_json(body, "purge")?;
            let file = r["relay_binlog_name"].as_str().unwrap_or_default();
            if file.is_empty() {
                return Err(ApiError {
                    status: 400,
                    msg: "purge-relay needs the file name (-f / relay_binlog_name)".into(),
                });
            }
            reg.purge_relay(id, file).await
        }
        (&Method::POST, ["api", "v1", "tasks"]) => reg.start_task(&upload(body)?).await,
        (&Method::POST, ["api", "v1", "tasks", "check"]) => reg.check_task(&upload(body)?).await,
        (&Method::GET, ["api", "v1", "tasks", "status"])
        | (&Method::GET, ["api", "v1", "tasks"]) => Ok(reg.all_status().await),
        (&Method::GET, ["api", "v1", "tasks", name, "status"]) => reg.task_status(name).await,
        (&Method::POST, ["api", "v1", "tasks", name, "pause"]) => {
            reg.pause_task(name, &task_op(body)?.sources).await
        }
        (&Method::POST, ["api", "v1", "tasks", name, "resume"]) => {
            reg.resume_task(name, &task_op(body)?.sources).await
        }
        (&Method::POST, ["api", "v1", "tasks", name, "binlog"]) => {
            let r: crate::wire::BinlogRequest = body_json(body, "binlog")?;
            reg.binlog_op(name, &r).await
        }
        (&Method::POST, ["api", "v1", "tasks", name, "binlog-schema"]) => {
            let r: crate::wire::BinlogSchemaRequest = body_json(body, "binlog-schema")?;
            reg.binlog_schema(name, &r).await
        }
        (&Method::POST, ["api", "v1", "tasks", name, "stop"])
        | (&Method::DELETE, ["api", "v1", "tasks", name]) => {
            reg.stop_task(name, &task_op(body)?.sources).await
        }
        (&Method::POST, ["api", "v1", "encrypt"]) => {
            let r: EncryptRequest = body_json(body, "encrypt")?;
            reg.encrypt(&r.plaintext)
        }
        // The commands added with `config`, `start-relay`/`stop-relay`, `query-status -s`.
        _ => crate::api_ops::route(method, parts, body, reg).await,
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
