//! `config task|source <name>`, `get-config`, `config export`, `config import`.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::ctl::args::ConfigCmd;
use crate::ctl::client::{enc, Api};
use crate::ctl::files::{task_name, upload};

const DEFAULT_DIR: &str = "configs";

/// `config ...`.
pub(super) fn run(api: &Api, cmd: &ConfigCmd) -> Result<Value, String> {
    match cmd {
        ConfigCmd::Task { name, path } => get(api, "task", name, path.as_deref()),
        ConfigCmd::Source { name, path } => get(api, "source", name, path.as_deref()),
        ConfigCmd::Export { dir, path } => export(
            api,
            path.as_deref().or(dir.as_deref()).unwrap_or(DEFAULT_DIR),
        ),
        ConfigCmd::Import { dir, path } => import(
            api,
            path.as_deref().or(dir.as_deref()).unwrap_or(DEFAULT_DIR),
        ),
    }
}

/// `get-config task|source <name> [-f file]`: DM's `GetCfgResponse` (`cfg` is the YAML).
pub(super) fn get(api: &Api, kind: &str, name: &str, file: Option<&str>) -> Result<Value, String> {
    let path = match kind {
        "task" => format!("/api/v1/tasks/{}/config", enc(&task_name(name)?)),
        "source" => format!("/api/v1/sources/{}/config", enc(name)),
        other => {
            return Err(format!(
                "invalid config type '{other}' (task, source; ferryd has no master/worker configs)"
            ))
        }
    };
    let mut v = api.get(&path)?;
    if let (Some(file), true) = (file, v["result"] == json!(true)) {
        write_private(Path::new(file), v["cfg"].as_str().unwrap_or_default())?;
        v["msg"] = json!(format!("write config to file {file} succeed"));
        v["cfg"] = json!("");
    }
    Ok(v)
}

/// Writes `text` to `path`, readable by its owner only (the passwords in it are sealed, but
/// the rest of the configuration is not for everyone either).
fn write_private(path: &Path, text: &str) -> Result<(), String> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    f.write_all(text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn mkdir(path: &Path) -> Result<(), String> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(|e| format!("cannot create directory {}: {e}", path.display()))
}

/// `config export [-d dir]`: `<dir>/sources/<source-id>.yaml` and `<dir>/tasks/<name>.yaml`.
fn export(api: &Api, dir: &str) -> Result<Value, String> {
    let v = api.get("/api/v1/config/export")?;
    if v["result"] != json!(true) {
        return Ok(v);
    }
    let root = PathBuf::from(dir);
    let mut written = json!({"sources": [], "tasks": []});
    for (kind, key, sub) in [("sources", "source", "sources"), ("tasks", "task", "tasks")] {
        let folder = root.join(sub);
        mkdir(&folder)?;
        for item in v[kind].as_array().into_iter().flatten() {
            let name = item[key].as_str().unwrap_or_default();
            if name.is_empty() || name.contains('/') || name.starts_with('.') {
                return Err(format!(
                    "ferryd exported a {key} with an unusable name `{name}`"
                ));
            }
            let file = folder.join(format!("{name}.yaml"));
            write_private(&file, item["cfg"].as_str().unwrap_or_default())?;
            if let Some(list) = written[kind].as_array_mut() {
                list.push(json!(file.display().to_string()));
            }
        }
    }
    Ok(
        json!({"result": true, "msg": format!("export configs to directory `{dir}` succeed"),
              "sources": written["sources"], "tasks": written["tasks"]}),
    )
}

/// The `*.yaml` / `*.yml` files of `dir` (none when it does not exist), sorted.
fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    Ok(files)
}

/// A source or task that exists already counts as imported (as in DM, so that an import
/// can be run again).
fn already_exists(v: &Value) -> bool {
    v["msg"]
        .as_str()
        .is_some_and(|m| m.contains("already exists"))
}

/// `config import [-d dir]`: creates the sources, then starts the tasks.
fn import(api: &Api, dir: &str) -> Result<Value, String> {
    let root = Path::new(dir);
    if !root.is_dir() {
        return Err(format!("config directory `{dir}` does not exist"));
    }
    let mut done = json!({"sources": [], "tasks": []});
    for (kind, route) in [("sources", "/api/v1/sources"), ("tasks", "/api/v1/tasks")] {
        for file in yaml_files(&root.join(kind))? {
            let name = file.display().to_string();
            let v = api.post(
                route,
                &serde_json::to_value(upload(&name)?).unwrap_or_default(),
            )?;
            if v["result"] != json!(true) && !already_exists(&v) {
                return Ok(json!({"result": false,
                    "msg": format!("fail to create {kind}: {name}: {}", v["msg"].as_str().unwrap_or_default()),
                    "failed": v, "sources": done["sources"], "tasks": done["tasks"]}));
            }
            if let Some(list) = done[kind].as_array_mut() {
                list.push(json!({"file": name, "existed": v["result"] != json!(true)}));
            }
        }
    }
    Ok(
        json!({"result": true, "msg": format!("import configs from directory `{dir}` succeed"),
              "sources": done["sources"], "tasks": done["tasks"]}),
    )
}
