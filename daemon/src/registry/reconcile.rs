//! Applying the `source-dir` / `task-dir` folders ([`crate::folders`]) through the same
//! commands as the API: `stop-task`, `operate-source stop`, `operate-source create`,
//! `start-task` (with its prechecks). A source whose file changed is replaced after the tasks
//! that use it are stopped; those tasks start again from their checkpoints.

use std::collections::BTreeSet;

use serde_json::{json, Value};
use tracing::{info, warn};

use super::Registry;
use crate::folders::{fingerprints, plan, Applied, Change, Desired, FolderFile};
use crate::wire::FileUpload;

fn upload(f: &FolderFile) -> FileUpload {
    FileUpload {
        file: f.path.display().to_string(),
        text: f.text.clone(),
        env: Default::default(),
        remove_meta: false,
        start_time: None,
    }
}

/// `result: false` answers (a failed precheck) as errors.
fn answered(v: Value) -> Result<(), String> {
    if v["result"] == json!(false) {
        Err(v["msg"].to_string())
    } else {
        Ok(())
    }
}

impl Registry {
    fn source_ids(&self) -> BTreeSet<String> {
        self.sources
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect()
    }

    fn task_names(&self) -> BTreeSet<String> {
        self.tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect()
    }

    /// The tasks that replicate from source `id`.
    fn tasks_using(&self, id: &str) -> BTreeSet<String> {
        self.tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|(_, t)| t.config.mysql_instances.iter().any(|i| i.source_id == id))
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Makes the registered sources and tasks match `desired`, given what was `applied` from
    /// the folders before (updated as changes succeed). Returns the problems met; each failed
    /// change is retried at the next reload.
    pub async fn reconcile(&self, desired: &Desired, applied: &mut Applied) -> Vec<String> {
        let mut problems = Vec::new();
        let sources = plan(
            &fingerprints(&desired.sources),
            &applied.sources,
            &self.source_ids(),
        );
        let mut tasks = plan(
            &fingerprints(&desired.tasks),
            &applied.tasks,
            &self.task_names(),
        );
        // A replaced source's tasks stop first; those from the folder start again after it.
        let mut blocked: BTreeSet<String> = BTreeSet::new();
        for (id, change) in &sources {
            if *change != Change::Create {
                for name in self.tasks_using(id) {
                    let planned = tasks.iter().any(|(n, _)| *n == name);
                    match (planned, desired.tasks.contains_key(&name)) {
                        // Stopped by the plan already (and started again if still wanted).
                        (true, _) => {}
                        (false, true) => tasks.push((name, Change::Replace)),
                        (false, false) => {
                            problems.push(format!(
                                "source `{id}`: its file changed or was removed, but task `{name}` (not in task-dir) uses it: stop the task first"
                            ));
                            blocked.insert(id.clone());
                        }
                    }
                }
            }
        }
        for (name, change) in &tasks {
            if *change == Change::Create {
                continue;
            }
            match self.stop_task(name, &[]).await {
                Ok(_) => {
                    info!(task = %name, ?change, "task stopped (task-dir)");
                    applied.tasks.remove(name);
                }
                Err(e) => problems.push(format!("task `{name}`: stop-task: {}", e.msg)),
            }
        }
        for (id, change) in &sources {
            if blocked.contains(id) {
                continue;
            }
            if *change != Change::Create {
                match self.stop_source(id).await {
                    Ok(_) => {
                        info!(source = %id, ?change, "source stopped (source-dir)");
                        applied.sources.remove(id);
                    }
                    Err(e) => {
                        problems.push(format!("source `{id}`: operate-source stop: {}", e.msg));
                        continue;
                    }
                }
            }
            if let (Change::Create | Change::Replace, Some(f)) = (change, desired.sources.get(id)) {
                match self.create_source(&upload(f)).await {
                    Ok(_) => {
                        info!(source = %id, file = %f.path.display(), "source created (source-dir)");
                        applied.sources.insert(id.clone(), f.fingerprint.clone());
                    }
                    Err(e) => problems.push(format!(
                        "{}: operate-source create: {}",
                        f.path.display(),
                        e.msg
                    )),
                }
            }
        }
        for (name, change) in &tasks {
            let (Change::Create | Change::Replace, Some(f)) = (change, desired.tasks.get(name))
            else {
                continue;
            };
            match self.start_task(&upload(f)).await.map(answered) {
                Ok(Ok(())) => {
                    info!(task = %name, file = %f.path.display(), "task started (task-dir)");
                    applied.tasks.insert(name.clone(), f.fingerprint.clone());
                }
                Ok(Err(msg)) => problems.push(format!("{}: start-task: {msg}", f.path.display())),
                Err(e) => problems.push(format!("{}: start-task: {}", f.path.display(), e.msg)),
            }
        }
        for p in &problems {
            warn!(problem = %p, "source-dir / task-dir");
        }
        problems
    }
}

/// Where the folders are and where what was applied from them is kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Folders {
    /// `source-dir`.
    pub source_dir: Option<std::path::PathBuf>,
    /// `task-dir`.
    pub task_dir: Option<std::path::PathBuf>,
    /// `<data-dir>/folders.json`.
    pub applied: std::path::PathBuf,
}

impl Registry {
    /// Reads the folders and applies them; the outcome is logged and kept for `/status`. An
    /// invalid file refuses the whole reload (nothing changes).
    pub async fn apply_folders(&self, folders: &Folders) -> Result<(), String> {
        let outcome = self.apply_folders_once(folders).await;
        let status = match &outcome {
            Ok(()) => json!({"result": true, "msg": ""}),
            Err(e) => json!({"result": false, "msg": e}),
        };
        *self
            .folders_status
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = status;
        outcome
    }

    async fn apply_folders_once(&self, folders: &Folders) -> Result<(), String> {
        if folders.source_dir.is_none() && folders.task_dir.is_none() {
            return Ok(());
        }
        let desired = crate::folders::read(
            folders.source_dir.as_deref(),
            folders.task_dir.as_deref(),
            self.key.as_ref(),
        )
        .map_err(|errors| {
            format!(
                "source-dir / task-dir refused, nothing changed: {}",
                errors.join("; ")
            )
        })?;
        let mut applied = Applied::load(&folders.applied)?;
        let problems = self.reconcile(&desired, &mut applied).await;
        applied.save(&folders.applied)?;
        if problems.is_empty() {
            info!(
                sources = desired.sources.len(),
                tasks = desired.tasks.len(),
                "source-dir / task-dir applied"
            );
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    /// The outcome of the last application of the folders (`/status`).
    pub fn folders_status(&self) -> Value {
        self.folders_status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}
