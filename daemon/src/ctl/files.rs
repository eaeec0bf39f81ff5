//! Files named on the command line: uploads, task names from task files, offline validation.

use std::path::Path;

use serde_json::{json, Value};

use crate::wire::FileUpload;

/// A file to send to ferryd, with the `${NAME}` values set in this environment.
pub fn upload(path: &str) -> Result<FileUpload, String> {
    FileUpload::read(path, |n| std::env::var(n).ok())
        .map_err(|e| format!("cannot read {path}: {e}"))
}

/// A task argument: a name, or a task file whose `name:` is used.
pub fn task_name(arg: &str) -> Result<String, String> {
    if (arg.ends_with(".yaml") || arg.ends_with(".yml")) && Path::new(arg).exists() {
        let text = std::fs::read_to_string(arg).map_err(|e| format!("cannot read {arg}: {e}"))?;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("name:") {
                let n = rest
                    .split('#')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .trim_matches(['"', '\'']);
                if !n.is_empty() {
                    return Ok(n.to_string());
                }
            }
        }
        return Err(format!("{arg} has no top-level `name:`"));
    }
    Ok(arg.to_string())
}

/// The `source-id:` of a source file.
pub fn source_id_of(path: &str) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("source-id:") {
            return Ok(rest
                .split('#')
                .next()
                .unwrap_or("")
                .trim()
                .trim_matches(['"', '\''])
                .to_string());
        }
    }
    Err(format!("{path} has no top-level `source-id:`"))
}

/// `validate`: checks source, task and daemon files offline.
pub fn validate(files: &[String], key_path: Option<&str>) -> Result<Value, String> {
    if files.is_empty() {
        return Err("validate needs at least one file".into());
    }
    let key = match key_path {
        Some(p) => Some(ferry_config::SecretKey::load(Path::new(p)).map_err(|e| e.to_string())?),
        None => None,
    };
    let mut results = Vec::new();
    let mut all_ok = true;
    for f in files {
        let text = std::fs::read_to_string(f).map_err(|e| format!("cannot read {f}: {e}"))?;
        let env = |n: &str| std::env::var(n).ok();
        let (kind, outcome) = match ferry_config::detect_kind(&text) {
            ferry_config::FileKind::Source => (
                "source",
                ferry_config::parse_source_str(&text, f, &env, key.as_ref()).map(|l| l.warnings),
            ),
            ferry_config::FileKind::Task => (
                "task",
                ferry_config::parse_task_str(&text, f, &env, key.as_ref()).map(|l| l.warnings),
            ),
            ferry_config::FileKind::Daemon => (
                "daemon",
                ferry_config::parse_daemon_str(&text, f, &env).map(|l| l.warnings),
            ),
        };
        match outcome {
            Ok(warnings) => {
                for w in &warnings {
                    eprintln!("warning: {w}");
                }
                results.push(json!({"file": f, "kind": kind, "result": true, "warnings": warnings.iter().map(|w| w.to_string()).collect::<Vec<_>>()}));
            }
            Err(e) => {
                all_ok = false;
                eprintln!("{e}");
                results.push(json!({"file": f, "kind": kind, "result": false, "errors": e.errors().iter().map(|x| x.to_string()).collect::<Vec<_>>()}));
            }
        }
    }
    Ok(json!({"result": all_ok, "msg": "", "files": results}))
}
