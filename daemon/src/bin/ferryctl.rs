//! `ferryctl`: dmctl-compatible control CLI of `ferryd`.

use std::path::Path;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ferry_daemon::wire::{EncryptRequest, FileUpload};
use serde_json::{json, Value};

/// Control a running ferryd (DM's dmctl commands).
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    /// ferryd's API address (host:port).
    #[arg(
        long,
        env = "DM_MASTER_ADDR",
        default_value = "127.0.0.1:8261",
        global = true
    )]
    master_addr: String,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Create, show or stop upstream sources.
    OperateSource {
        /// create | show | stop
        op: String,
        /// source.yaml files (create, stop) or source ids (stop).
        files: Vec<String>,
    },
    /// Run the prechecks of a task file.
    CheckTask {
        /// task.yaml
        file: String,
    },
    /// Precheck and start a task.
    StartTask {
        /// task.yaml
        file: String,
        /// Drop the task's checkpoints first and copy from scratch.
        #[arg(long)]
        remove_meta: bool,
    },
    /// Show the status of one task or of all tasks.
    QueryStatus {
        /// Task name or task file.
        task: Option<String>,
        /// Show every detail (accepted for dmctl compatibility).
        #[arg(long)]
        more: bool,
        /// Print a human view with progress bars instead of JSON.
        #[arg(long)]
        human: bool,
    },
    /// Pause a task.
    PauseTask {
        /// Task name or task file.
        task: String,
    },
    /// Resume a paused task from its checkpoint.
    ResumeTask {
        /// Task name or task file.
        task: String,
    },
    /// Skip or replace the statement (DDL) a task is blocked on, as dmctl's `binlog`.
    Binlog {
        /// skip | replace
        op: String,
        /// Task name or task file.
        task: String,
        /// Position of the statement, `file:pos` (default: the one the task is blocked on).
        #[arg(short = 'b', long = "binlog-pos")]
        binlog_pos: Option<String>,
        /// Only the subtask of this source.
        #[arg(short = 's', long = "source")]
        source: Option<String>,
        /// For replace: the statement(s) to run instead.
        sqls: Vec<String>,
    },
    /// Show, set or remove an upstream table's definition in a task's schema history, as
    /// dmctl's `binlog-schema` (changes need the task paused).
    BinlogSchema {
        /// list | update | delete
        op: String,
        /// Task name or task file.
        task: String,
        /// Upstream database.
        database: String,
        /// Upstream table.
        table: String,
        /// update: a file holding the table's `CREATE TABLE` statement.
        schema_file: Option<String>,
        /// The task's source (needed when it has several).
        #[arg(short = 's', long = "source")]
        source: Option<String>,
        /// update: take the upstream's definition as it is now.
        #[arg(long = "from-source")]
        from_source: bool,
        /// update: take the target table's definition.
        #[arg(long = "from-target")]
        from_target: bool,
        /// Accepted for dmctl compatibility (Ferry writes the history durably at once).
        #[arg(long = "flush", num_args = 0..=1, default_missing_value = "true")]
        flush: Option<String>,
        /// Accepted for dmctl compatibility.
        #[arg(long = "sync", num_args = 0..=1, default_missing_value = "true")]
        sync: Option<String>,
    },
    /// Purge a source's relay log before a binlog file (never what a task still needs).
    PurgeRelay {
        /// Source id.
        #[arg(short = 's', long = "source")]
        source: String,
        /// Purge the relay log before this binlog file.
        #[arg(short = 'f', long = "filename")]
        filename: String,
        /// Accepted for dmctl compatibility (one relay directory per source).
        #[arg(long = "sub-dir")]
        sub_dir: Option<String>,
    },
    /// Stop a task (its checkpoints are kept).
    StopTask {
        /// Task name or task file.
        task: String,
    },
    /// Encrypt a password with ferryd's secret key (or --secret-key-path offline).
    Encrypt {
        /// The plaintext.
        plaintext: String,
        /// Key file (64 hex characters); encrypts locally without ferryd.
        #[arg(long)]
        secret_key_path: Option<String>,
    },
    /// Check source, task and daemon files offline.
    Validate {
        /// Files to check.
        files: Vec<String>,
        /// Key file to check encrypted passwords with.
        #[arg(long)]
        secret_key_path: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let human = matches!(cli.cmd, Cmd::QueryStatus { human: true, .. });
    match run(&cli) {
        Ok(v) if human => {
            print!("{}", human_status(&v));
            if v.get("result") == Some(&json!(false)) {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Ok(v) => print_result(&v),
        Err(msg) => {
            eprintln!("ferryctl: {msg}");
            ExitCode::from(1)
        }
    }
}

/// A text progress bar of `width` cells for `pct` (0–100).
fn bar(pct: f64, width: usize) -> String {
    let filled = ((pct.clamp(0.0, 100.0) / 100.0) * width as f64).round() as usize;
    format!("[{}{}]", "#".repeat(filled), ".".repeat(width - filled))
}

fn pct_of(v: &Value) -> f64 {
    v.as_str()
        .and_then(|s| s.trim_end_matches('%').trim().parse().ok())
        .unwrap_or(0.0)
}

fn human_bytes(n: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut x = n as f64;
    let mut u = 0;
    while x >= 1024.0 && u + 1 < units.len() {
        x /= 1024.0;
        u += 1;
    }
    format!("{x:.1} {}", units[u])
}

/// `query-status --human`: one block per subtask with Dump/Load progress bars.
fn human_status(v: &Value) -> String {
    let mut out = String::new();
    if let Some(tasks) = v.get("tasks").and_then(Value::as_array) {
        for t in tasks {
            out.push_str(&format!(
                "{:<24} {}\n",
                t["taskName"].as_str().unwrap_or(""),
                t["taskStatus"].as_str().unwrap_or("")
            ));
        }
        return out;
    }
    if let Some(msg) = v
        .get("msg")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
    {
        out.push_str(&format!("{msg}\n"));
    }
    for src in v
        .get("sources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for sub in src["subTaskStatus"].as_array().into_iter().flatten() {
            let load = &sub["load"];
            let dump = &sub["dump"];
            out.push_str(&format!(
                "task {}  source {}  stage {}  unit {}\n",
                sub["name"].as_str().unwrap_or(""),
                src["sourceStatus"]["source"].as_str().unwrap_or(""),
                sub["stage"].as_str().unwrap_or(""),
                sub["unit"].as_str().unwrap_or("")
            ));
            out.push_str(&format!(
                "  dump {} {:>7}  tables {}/{}  rows {}/{} (est.)  {}/s\n",
                bar(pct_of(&dump["progress"]), 30),
                dump["progress"].as_str().unwrap_or(""),
                dump["completedTables"],
                dump["totalTables"],
                dump["finishedRows"],
                dump["estimateTotalRows"],
                human_bytes(dump["bps"].as_u64().unwrap_or(0))
            ));
            out.push_str(&format!(
                "  load {} {:>7}  chunks {}/{}  rows {}  {}  {}/s  {} rows/s\n",
                bar(pct_of(&load["progress"]), 30),
                load["progress"].as_str().unwrap_or(""),
                load["finishedChunks"],
                load["totalChunks"],
                load["finishedRows"],
                human_bytes(load["finishedBytes"].as_u64().unwrap_or(0)),
                human_bytes(load["bps"].as_u64().unwrap_or(0)),
                load["rps"]
            ));
            if let Some(m) = load["metaBinlog"].as_str().filter(|m| !m.is_empty()) {
                out.push_str(&format!(
                    "  start position {m} {}\n",
                    load["metaBinlogGTID"].as_str().unwrap_or("")
                ));
            }
            for e in sub["result"]["errors"].as_array().into_iter().flatten() {
                out.push_str(&format!(
                    "  error: {}\n",
                    e["Message"].as_str().unwrap_or("")
                ));
            }
        }
    }
    out
}

fn print_result(v: &Value) -> ExitCode {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
    if v.get("result") == Some(&json!(false)) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn upload(path: &str) -> Result<FileUpload, String> {
    FileUpload::read(path, |n| std::env::var(n).ok())
        .map_err(|e| format!("cannot read {path}: {e}"))
}

/// A task argument: a name, or a task file whose `name:` is used.
fn task_name(arg: &str) -> Result<String, String> {
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

fn run(cli: &Cli) -> Result<Value, String> {
    let api = Api {
        base: format!("http://{}", cli.master_addr),
    };
    match &cli.cmd {
        Cmd::OperateSource { op, files } => match op.as_str() {
            "create" => {
                if files.is_empty() {
                    return Err("operate-source create needs at least one source.yaml".into());
                }
                let mut results = Vec::new();
                let mut ok = true;
                for f in files {
                    let v = api.post(
                        "/api/v1/sources",
                        &serde_json::to_value(upload(f)?).unwrap_or_default(),
                    )?;
                    ok &= v.get("result") != Some(&json!(false));
                    results.push(v);
                }
                Ok(if results.len() == 1 {
                    results.remove(0)
                } else {
                    json!({"result": ok, "msg": "", "sources": results})
                })
            }
            "show" => api.get("/api/v1/sources"),
            "stop" => {
                let mut last = json!({"result": true, "msg": ""});
                for f in files {
                    let id = if Path::new(f).exists() {
                        source_id_of(f)?
                    } else {
                        f.clone()
                    };
                    last = api.delete(&format!("/api/v1/sources/{}", enc(&id)))?;
                }
                Ok(last)
            }
            other => Err(format!(
                "unknown operate-source operation `{other}` (create, show, stop)"
            )),
        },
        Cmd::CheckTask { file } => api.post(
            "/api/v1/tasks/check",
            &serde_json::to_value(upload(file)?).unwrap_or_default(),
        ),
        Cmd::StartTask { file, remove_meta } => {
            let mut up = upload(file)?;
            up.remove_meta = *remove_meta;
            api.post(
                "/api/v1/tasks",
                &serde_json::to_value(up).unwrap_or_default(),
            )
        }
        Cmd::QueryStatus { task, .. } => match task {
            Some(t) => api.get(&format!("/api/v1/tasks/{}/status", enc(&task_name(t)?))),
            None => api.get("/api/v1/tasks/status"),
        },
        Cmd::PauseTask { task } => api.post(
            &format!("/api/v1/tasks/{}/pause", enc(&task_name(task)?)),
            &json!({}),
        ),
        Cmd::ResumeTask { task } => api.post(
            &format!("/api/v1/tasks/{}/resume", enc(&task_name(task)?)),
            &json!({}),
        ),
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
        Cmd::PurgeRelay {
            source, filename, ..
        } => api.post(
            &format!("/api/v1/sources/{}/relay/purge", enc(source)),
            &json!({"relay_binlog_name": filename}),
        ),
        Cmd::StopTask { task } => api.post(
            &format!("/api/v1/tasks/{}/stop", enc(&task_name(task)?)),
            &json!({}),
        ),
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

fn source_id_of(path: &str) -> Result<String, String> {
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

fn validate(files: &[String], key_path: Option<&str>) -> Result<Value, String> {
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

fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

struct Api {
    base: String,
}

impl Api {
    fn call(&self, r: Result<ureq::Response, ureq::Error>) -> Result<Value, String> {
        match r {
            Ok(resp) => resp
                .into_json()
                .map_err(|e| format!("bad answer from ferryd: {e}")),
            Err(ureq::Error::Status(_, resp)) => resp
                .into_json()
                .map_err(|e| format!("bad answer from ferryd: {e}")),
            Err(e) => Err(format!("cannot reach ferryd at {}: {e}", self.base)),
        }
    }
    fn agent() -> ureq::Agent {
        ureq::AgentBuilder::new()
            .timeout(std::time::Duration::from_secs(600))
            .build()
    }
    fn get(&self, path: &str) -> Result<Value, String> {
        self.call(Self::agent().get(&format!("{}{path}", self.base)).call())
    }
    fn delete(&self, path: &str) -> Result<Value, String> {
        self.call(Self::agent().delete(&format!("{}{path}", self.base)).call())
    }
    fn post(&self, path: &str, body: &Value) -> Result<Value, String> {
        self.call(
            Self::agent()
                .post(&format!("{}{path}", self.base))
                .send_json(body.clone()),
        )
    }
}
