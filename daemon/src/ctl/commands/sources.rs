//! `operate-source create|show|stop`, `start-relay`, `stop-relay`.

use std::path::Path;

use serde_json::{json, Value};

use crate::ctl::args::RelayArgs;
use crate::ctl::client::{enc, Api};
use crate::ctl::files::{source_id_of, upload};

/// Answers of several calls as one: `result` is their conjunction, `sources` their entries.
pub(super) fn merge(answers: Vec<Value>) -> Value {
    if answers.len() == 1 {
        return answers.into_iter().next().unwrap_or_default();
    }
    let ok = answers.iter().all(|v| v["result"] != json!(false));
    let msg: Vec<&str> = answers
        .iter()
        .filter_map(|v| v["msg"].as_str())
        .filter(|m| !m.is_empty())
        .collect();
    let sources: Vec<Value> = answers
        .iter()
        .flat_map(|v| v["sources"].as_array().cloned().unwrap_or_default())
        .collect();
    json!({"result": ok, "msg": msg.join("; "), "sources": sources})
}

/// `operate-source create|show|stop`.
pub(super) fn operate_source(
    api: &Api,
    op: &str,
    files: &[String],
    sources: &[String],
) -> Result<Value, String> {
    match op {
        "create" => {
            if files.is_empty() {
                return Err("operate-source create needs at least one source.yaml".into());
            }
            let mut answers = Vec::new();
            for f in files {
                answers.push(api.post(
                    "/api/v1/sources",
                    &serde_json::to_value(upload(f)?).unwrap_or_default(),
                )?);
            }
            Ok(merge(answers))
        }
        "show" => {
            let mut ids: Vec<String> = sources.to_vec();
            ids.extend(files.iter().cloned());
            if ids.is_empty() {
                return api.get("/api/v1/sources");
            }
            let answers = ids
                .iter()
                .map(|id| api.get(&format!("/api/v1/sources/{}", enc(id))))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(merge(answers))
        }
        "stop" => {
            let mut ids: Vec<String> = sources.to_vec();
            for f in files {
                ids.push(if Path::new(f).exists() {
                    source_id_of(f)?
                } else {
                    f.clone()
                });
            }
            if ids.is_empty() {
                return Err("operate-source stop needs source.yaml files or source ids".into());
            }
            let answers = ids
                .iter()
                .map(|id| api.delete(&format!("/api/v1/sources/{}", enc(id))))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(merge(answers))
        }
        other => Err(format!(
            "unknown operate-source operation `{other}` (create, show, stop)"
        )),
    }
}

/// `start-relay -s SOURCE` / `stop-relay -s SOURCE`.
pub(super) fn relay(api: &Api, op: &str, a: &RelayArgs) -> Result<Value, String> {
    let answers = a
        .sources
        .iter()
        .map(|id| {
            api.post(
                &format!("/api/v1/sources/{}/relay/{op}", enc(id)),
                &json!({}),
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(merge(answers))
}
