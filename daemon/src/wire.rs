//! Request bodies exchanged between `ferryctl` and `ferryd`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A YAML file sent to the daemon: its name (for error locations), its text, and the values
/// of the `${NAME}` placeholders it uses, taken from `ferryctl`'s environment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileUpload {
    /// File name as given on the command line.
    pub file: String,
    /// File content, unchanged.
    pub text: String,
    /// Values of the placeholders found in `text` that are set in the caller's environment.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// `start-task --remove-meta`.
    #[serde(default)]
    pub remove_meta: bool,
    /// `start-task --start-time` / `check-task --start-time` (`2021-10-21 00:01:00`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
}

impl FileUpload {
    /// Reads a file and collects the placeholder values from `lookup`.
    pub fn read(path: &str, lookup: impl Fn(&str) -> Option<String>) -> std::io::Result<Self> {
        let text = std::fs::read_to_string(path)?;
        let mut env = BTreeMap::new();
        let re = regex_lite_placeholders(&text);
        for name in re {
            if let Some(v) = lookup(&name) {
                env.insert(name, v);
            }
        }
        Ok(Self {
            file: path.to_string(),
            text,
            env,
            remove_meta: false,
            start_time: None,
        })
    }
}

/// Names used as `${NAME}` in `text`.
fn regex_lite_placeholders(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        rest = &rest[i + 2..];
        if let Some(end) = rest.find('}') {
            let name = &rest[..end];
            if !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                out.push(name.to_string());
            }
            rest = &rest[end + 1..];
        }
    }
    out
}

/// `encrypt` request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EncryptRequest {
    /// Text to encrypt.
    pub plaintext: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_placeholders() {
        assert_eq!(
            regex_lite_placeholders("host: \"${host}\"\npw: ${password} ${} $x"),
            vec!["host".to_string(), "password".to_string()]
        );
    }
}

/// Body of `POST /api/v1/tasks/{name}/binlog-schema` (`ferryctl binlog-schema`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BinlogSchemaRequest {
    /// `list`, `update` or `delete`.
    pub op: String,
    /// Upstream database.
    pub database: String,
    /// Upstream table.
    pub table: String,
    /// Only this source (needed when the task has several).
    #[serde(default)]
    pub source: Option<String>,
    /// `update`: the new `CREATE TABLE` statement.
    #[serde(default)]
    pub sql: Option<String>,
    /// `update --from-source`: the upstream's definition now.
    #[serde(default)]
    pub from_source: bool,
    /// `update --from-target`: the target table's definition.
    #[serde(default)]
    pub from_target: bool,
}

/// Body of `POST /api/v1/tasks/{name}/binlog` (`ferryctl binlog skip|replace`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BinlogRequest {
    /// `skip` or `replace`.
    pub op: String,
    /// `file:pos` of the statement (default: the one the task is blocked on).
    #[serde(default)]
    pub binlog_pos: Option<String>,
    /// Only this source.
    #[serde(default)]
    pub source: Option<String>,
    /// Statements for `replace` (separated by `;`).
    #[serde(default)]
    pub sqls: Vec<String>,
}

/// Body of `POST /api/v1/tasks/{name}/pause|resume|stop` (`{}`: the whole task).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TaskOpRequest {
    /// Only the subtasks of these sources (`-s`); empty: every subtask.
    #[serde(default)]
    pub sources: Vec<String>,
}

/// Body of `POST /api/v1/query-status` (`query-status [-s source ...] [task] --more`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct QueryStatusRequest {
    /// One task (default: every task).
    #[serde(default)]
    pub task: Option<String>,
    /// Only these sources (default: every source).
    #[serde(default)]
    pub sources: Vec<String>,
}
