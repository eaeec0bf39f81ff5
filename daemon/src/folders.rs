//! `source-dir` and `task-dir`: folders of DM `source.yaml` / `task.yaml` files that ferryd
//! applies at start-up and at each SIGHUP. The folders are the desired state of what they
//! name: a file added is created (source) or started (task), a file removed is stopped, a file
//! changed is stopped and started again (a task resumes from its checkpoint), an unchanged file
//! is left alone. Sources and tasks registered through the API and named by no file are left
//! alone too. A file that fails validation refuses the whole reload: what runs keeps running
//! and the error (file, line, key) is logged and shown by `/status`.
//!
//! What was applied from the folders (a fingerprint per id) is kept in
//! `<data-dir>/folders.json`, so a file removed while ferryd was down is stopped at start-up.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use ferry_config::SecretKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One file of a folder.
#[derive(Debug, Clone)]
pub struct FolderFile {
    /// Where it is.
    pub path: PathBuf,
    /// Its text.
    pub text: String,
    /// SHA-256 of its text.
    pub fingerprint: String,
}

/// What the folders ask for: files by source id and by task name.
#[derive(Debug, Default)]
pub struct Desired {
    /// By source id.
    pub sources: BTreeMap<String, FolderFile>,
    /// By task name.
    pub tasks: BTreeMap<String, FolderFile>,
}

/// The YAML files of `dir`, by name.
fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut files = Vec::new();
    for e in entries {
        let path = e
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .path();
        let yaml = path
            .extension()
            .and_then(|x| x.to_str())
            .is_some_and(|x| x == "yaml" || x == "yml");
        if yaml && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Reads and checks every file of `dir` with `parse` (which names the id); every problem,
/// with its file, line and key, is added to `errors`.
fn read_folder(
    dir: &Path,
    what: &str,
    errors: &mut Vec<String>,
    parse: impl Fn(&str, &str) -> Result<String, String>,
) -> BTreeMap<String, FolderFile> {
    let mut out: BTreeMap<String, FolderFile> = BTreeMap::new();
    let files = match yaml_files(dir) {
        Ok(f) => f,
        Err(e) => {
            errors.push(e);
            return out;
        }
    };
    for path in files {
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                errors.push(format!("{}: cannot read the file: {e}", path.display()));
                continue;
            }
        };
        let id = match parse(&text, &path.display().to_string()) {
            Ok(id) => id,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        if let Some(other) = out.get(&id) {
            errors.push(format!(
                "{}: {what} `{id}` is also defined by {}",
                path.display(),
                other.path.display()
            ));
            continue;
        }
        let fingerprint = hex::encode(Sha256::digest(text.as_bytes()));
        out.insert(
            id,
            FolderFile {
                path,
                text,
                fingerprint,
            },
        );
    }
    out
}

/// Reads the folders; every problem of every file when any file is not valid.
pub fn read(
    source_dir: Option<&Path>,
    task_dir: Option<&Path>,
    key: Option<&SecretKey>,
) -> Result<Desired, Vec<String>> {
    let env = |name: &str| std::env::var(name).ok();
    let mut errors = Vec::new();
    let sources = match source_dir {
        Some(dir) => read_folder(dir, "source", &mut errors, |text, origin| {
            ferry_config::parse_source_str(text, origin, &env, key)
                .map(|l| l.config.source_id)
                .map_err(|e| e.to_string())
        }),
        None => BTreeMap::new(),
    };
    let tasks = match task_dir {
        Some(dir) => read_folder(dir, "task", &mut errors, |text, origin| {
            ferry_config::parse_task_str(text, origin, &env, key)
                .map(|l| l.config.name)
                .map_err(|e| e.to_string())
        }),
        None => BTreeMap::new(),
    };
    if errors.is_empty() {
        Ok(Desired { sources, tasks })
    } else {
        Err(errors)
    }
}

/// What was applied from the folders: a fingerprint per source id and per task name.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// By source id.
    pub sources: BTreeMap<String, String>,
    /// By task name.
    pub tasks: BTreeMap<String, String>,
}

impl Applied {
    /// Reads `path` (nothing applied yet when it does not exist).
    pub fn load(path: &Path) -> Result<Self, String> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                format!(
                    "{}: {e} (remove it to apply the folders afresh)",
                    path.display()
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// Writes `path` atomically (a temporary file renamed over it).
    pub fn save(&self, path: &Path) -> Result<(), String> {
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_vec_pretty(self).map_err(|e| e.to_string())?;
        std::fs::write(&tmp, text).map_err(|e| format!("{}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// What happens to one id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Not registered: create (start) it.
    Create,
    /// Registered, and its file changed (or it was registered through the API and a file now
    /// names it): stop it and create (start) it again from the file.
    Replace,
    /// Applied from a file that is gone: stop it.
    Remove,
}

/// The changes that make `registered` match `desired` (fingerprints by id), given what was
/// `applied` from the folders before. Ids neither desired nor applied are left alone.
pub fn plan(
    desired: &BTreeMap<String, String>,
    applied: &BTreeMap<String, String>,
    registered: &BTreeSet<String>,
) -> Vec<(String, Change)> {
    let mut out = Vec::new();
    for (id, fp) in desired {
        match (registered.contains(id), applied.get(id)) {
            (false, _) => out.push((id.clone(), Change::Create)),
            (true, Some(done)) if done == fp => {}
            (true, _) => out.push((id.clone(), Change::Replace)),
        }
    }
    for id in applied.keys() {
        if !desired.contains_key(id) && registered.contains(id) {
            out.push((id.clone(), Change::Remove));
        }
    }
    out
}

/// The fingerprints of `files`.
pub fn fingerprints(files: &BTreeMap<String, FolderFile>) -> BTreeMap<String, String> {
    files
        .iter()
        .map(|(id, f)| (id.clone(), f.fingerprint.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn set(ids: &[&str]) -> BTreeSet<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn added_changed_removed_and_unchanged_files() {
        let desired = map(&[("new", "1"), ("same", "2"), ("edited", "3b"), ("api", "4")]);
        let applied = map(&[
            ("same", "2"),
            ("edited", "3a"),
            ("gone", "5"),
            ("stopped", "6"),
        ]);
        // `stopped` was applied, then stopped through the API: nothing to remove.
        let registered = set(&["same", "edited", "gone", "api", "manual"]);
        let p = plan(&desired, &applied, &registered);
        assert_eq!(
            p,
            vec![
                ("api".to_string(), Change::Replace),
                ("edited".to_string(), Change::Replace),
                ("new".to_string(), Change::Create),
                ("gone".to_string(), Change::Remove),
            ]
        );
    }

    #[test]
    fn nothing_changes_twice() {
        let desired = map(&[("a", "1")]);
        assert!(plan(&desired, &desired, &set(&["a", "manual"])).is_empty());
    }

    #[test]
    fn an_invalid_file_refuses_the_folder_with_its_file_and_key() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("a.yaml"),
            "source-id: \"a\"\nfrom:\n  host: \"127.0.0.1\"\n  port: 3306\n  user: \"root\"\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("b.yaml"),
            "source-id: \"b\"\nfrom:\n  host: \"127.0.0.1\"\n  port: 3306\n  user: \"root\"\n  colour: blue\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a source").unwrap();
        let errors = read(Some(dir.path()), None, None).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].contains("b.yaml") && errors[0].contains("colour"),
            "{errors:?}"
        );

        std::fs::remove_file(dir.path().join("b.yaml")).unwrap();
        std::fs::write(
            dir.path().join("c.yml"),
            "source-id: \"a\"\nfrom:\n  host: \"127.0.0.1\"\n  port: 3307\n  user: \"root\"\n",
        )
        .unwrap();
        let errors = read(Some(dir.path()), None, None).unwrap_err();
        assert!(errors[0].contains("also defined by"), "{errors:?}");

        std::fs::remove_file(dir.path().join("c.yml")).unwrap();
        let desired = read(Some(dir.path()), None, None).unwrap();
        assert_eq!(desired.sources.keys().collect::<Vec<_>>(), vec!["a"]);
        assert_eq!(desired.sources["a"].fingerprint.len(), 64);
    }

    #[test]
    fn applied_state_survives_a_save_and_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("folders.json");
        assert_eq!(Applied::load(&path).unwrap(), Applied::default());
        let a = Applied {
            sources: map(&[("up", "f1")]),
            tasks: map(&[("t", "f2")]),
        };
        a.save(&path).unwrap();
        assert_eq!(Applied::load(&path).unwrap(), a);
    }
}
