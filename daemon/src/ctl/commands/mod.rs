//! The commands: each turns its arguments into API calls and returns the JSON to print.

mod config;
mod sources;
mod tasks;

use std::path::Path;

use serde_json::{json, Value};

use super::args::{Cli, Cmd};
use super::client::{enc, Api};
use super::files::{task_name, upload, validate};
use crate::wire::EncryptRequest;

/// Runs the command of `cli`.
pub fn run(cli: &Cli) -> Result<Value, String> {
    let api = Api::from_cli(cli)?;
    match &cli.cmd {
        Cmd::OperateSource { op, files, sources } => {
            sources::operate_source(&api, op, files, sources)
        }
        Cmd::CheckTask { file, start_time } => {
            let mut up = upload(file)?;
            up.start_time = start_time.clone();
            api.post(
                "/api/v1/tasks/check",
                &serde_json::to_value(up).unwrap_or_default(),
            )
        }
        Cmd::StartTask {
            file,
            remove_meta,
            start_time,
        } => {
            let mut up = upload(file)?;
            up.remove_meta = *remove_meta;
            up.start_time = start_time.clone();
            api.post(
                "/api/v1/tasks",
                &serde_json::to_value(up).unwrap_or_default(),
            )
        }
        Cmd::QueryStatus {
            task,
            sources,
            more,
            ..
        } => tasks::query_status(&api, task.as_deref(), sources, *more),
        Cmd::PauseTask(a) => tasks::operate(&api, "pause", a),
        Cmd::ResumeTask(a) => tasks::operate(&api, "resume", a),
        Cmd::StopTask(a) => tasks::operate(&api, "stop", a),
        Cmd::Binlog {
            op,
            task,
            binlog_pos,
            source,
            sqls,
        } => api.post(
            &format!("/api/v1/tasks/{}/binlog", enc(&task_name(task)?)),
            &json!({"op": op, "binlog_pos": binlog_pos, "source": source, "sqls": sqls}),
        ),
        Cmd::BinlogSchema {
            op,
            task,
            database,
            table,
            schema_file,
            source,
            from_source,
            from_target,
            ..
        } => {
            let sql = match schema_file {
                Some(f) => {
                    Some(std::fs::read_to_string(f).map_err(|e| format!("reading {f}: {e}"))?)
                }
                None => None,
            };
            api.post(
                &format!("/api/v1/tasks/{}/binlog-schema", enc(&task_name(task)?)),
                &json!({"op": op, "database": database, "table": table, "source": source,
                        "sql": sql, "from_source": from_source, "from_target": from_target}),
            )
        }
        Cmd::StartRelay(a) => sources::relay(&api, "start", a),
        Cmd::StopRelay(a) => sources::relay(&api, "stop", a),
        Cmd::PurgeRelay {
            source, filename, ..
        } => api.post(
            &format!("/api/v1/sources/{}/relay/purge", enc(source)),
            &json!({"relay_binlog_name": filename}),
        ),
        Cmd::Config { cmd } => config::run(&api, cmd),
        Cmd::GetConfig { kind, name, file } => config::get(&api, kind, name, file.as_deref()),
        Cmd::Encrypt {
            plaintext,
            secret_key_path,
        } => match secret_key_path {
            Some(p) => {
                let key = ferry_config::SecretKey::load(Path::new(p)).map_err(|e| e.to_string())?;
                let c = ferry_config::encrypt(&key, plaintext).map_err(|e| e.to_string())?;
                Ok(json!({"result": true, "msg": "", "ciphertext": c}))
            }
            None => api.post(
                "/api/v1/encrypt",
                &serde_json::to_value(EncryptRequest {
                    plaintext: plaintext.clone(),
                })
                .unwrap_or_default(),
            ),
        },
        Cmd::Validate {
            files,
            secret_key_path,
        } => validate(files, secret_key_path.as_deref()),
    }
}
