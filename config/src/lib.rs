//! Ferry's configuration: the daemon's `ferryd.yaml`, and DM's `source.yaml` and `task.yaml`
//! accepted verbatim (same keys, same defaults, same strictness).
//!
//! Loading a file goes through three steps, and reports every problem of the file at once:
//!
//! 1. `${NAME}` placeholders are replaced from the environment ([`mod@env`]);
//! 2. the YAML is parsed strictly by the one parsing function ([`yaml`]): unknown keys, wrong
//!    types and duplicate keys are errors naming file, line, column and key path;
//! 3. semantic checks collect all remaining errors (missing
//!    keys, bad values, undefined or unused rules, …) and warnings (deprecated keys, values
//!    DM accepts with a logged error and ignores, such as a binlog event filter rule with an
//!    unknown event type: the rule is dropped, as DM drops it).
//!
//! DM's zero values (`''`, `[]`, `0`, `null`) are read as DM's Go loader reads them: as
//! "unset, use the default or detect it" (`flavor: ''`, `timezone: ""`,
//! `on-duplicate-logical: ""`, `ssl-ca-bytes: []`, `pool-size: 0`, …). The effective values
//! are those of [`TaskConfig::instance_mydumper`] and its siblings.
//!
//! Passwords may be plaintext or encrypted by `ferryctl encrypt` ([`secret`]); they are
//! decrypted at load time and held in a [`Password`] that never prints.
//!
//! # Serialization
//!
//! All configurations serialize to JSON with DM's key names and `******` for passwords.
//! To store a configuration with its secret, use [`SourceConfig::to_stored_json`] /
//! [`TaskConfig::to_stored_json`]: the password is written sealed (encrypted with the key
//! when one is given, else plaintext), and `from_stored_json` reads it back.

pub mod daemon;
pub mod db;
pub mod defaults;
pub mod enums;
pub mod env;
pub mod error;
pub mod extra_args;
pub mod pattern;
pub mod quantity;
pub mod rules;
pub mod secret;
mod soft;
pub mod source;
pub mod task;
pub mod unit;
mod validate;
pub mod yaml;

use std::path::Path;

use serde::de::DeserializeOwned;

pub use daemon::DaemonConfig;
pub use db::{DbConfig, Security};
pub use enums::{
    BinlogBackend, CollationCompatible, FilterAction, Flavor, ImportMode, LogFormat, LogLevel,
    OnDuplicateLogical, OnDuplicatePhysical, PostOpLevel, ShardMode, TaskMode, ValidationMode,
};
pub use env::{process_env, EnvLookup};
pub use error::{ConfigError, ConfigErrors, ErrorKind, Warning};
pub use extra_args::{parse_extra_args, Consistency, DumpExtraArgs};
pub use rules::{BaListRule, BinlogEventRule, ExpressionFilter, RouteRule, TableRef};
pub use secret::{decrypt_or_plaintext, encrypt, Password, SecretError, SecretKey, StoredSecret};
pub use source::{CheckerConfig, PurgeConfig, SourceConfig};
pub use task::{Meta, MysqlInstance, TaskConfig};
pub use unit::{LoaderConfig, MydumperConfig, SyncerConfig, ValidatorConfig};
pub use yaml::parse_yaml;

use validate::Report;

/// A loaded configuration and the warnings about its file (deprecated keys, ignored values).
#[derive(Debug, Clone)]
pub struct Loaded<T> {
    /// The configuration, validated, defaults applied, passwords decrypted.
    pub config: T,
    /// Warnings, in file order. The caller logs them (see [`Loaded::log_warnings`]).
    pub warnings: Vec<Warning>,
}

impl<T> Loaded<T> {
    /// Logs each warning with `tracing::warn!`.
    pub fn log_warnings(&self) {
        for w in &self.warnings {
            tracing::warn!(file = %w.origin, key = %w.path, "{w}");
        }
    }
}

/// What a YAML file configures, guessed from its top-level keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// `source.yaml` (has `source-id`).
    Source,
    /// `task.yaml` (has `task-mode`, `mysql-instances`, `target-database` or `name`).
    Task,
    /// `ferryd.yaml` (anything else).
    Daemon,
}

/// Guesses the kind of a configuration file from its top-level keys (for
/// `ferryctl validate FILE...`). Works on broken YAML too.
pub fn detect_kind(text: &str) -> FileKind {
    let mut kind = FileKind::Daemon;
    for line in text.lines() {
        let Some(first) = line.chars().next() else {
            continue;
        };
        if first.is_whitespace() || matches!(first, '#' | '-' | '.' | '%') {
            continue;
        }
        let Some((key, _)) = line.split_once(':') else {
            continue;
        };
        let key = key.trim().trim_matches(['"', '\'']);
        match key {
            "source-id" => return FileKind::Source,
            "task-mode" | "mysql-instances" | "target-database" | "name" => kind = FileKind::Task,
            _ => {}
        }
    }
    kind
}

/// The pipeline shared by every file kind: substitute, parse, check. Every error found on
/// the way is reported; an error that stops a step does not hide those of the steps before.
fn load<T: DeserializeOwned>(
    text: &str,
    origin: &str,
    env: EnvLookup<'_>,
    check: impl FnOnce(&mut T, &mut Report),
) -> Result<Loaded<T>, ConfigErrors> {
    let substituted = env::substitute(text, origin, env);
    let index = yaml::KeyIndex::build(&substituted.text);
    let columns = &substituted.columns;
    let mut errors = Vec::new();
    // Values emptied because of a placeholder: their errors are the placeholder's.
    let mut emptied = Vec::new();
    for issue in substituted.issues {
        let mut error = issue.error;
        error.path = index
            .path_containing(yaml::Pos {
                line: issue.line,
                column: issue.column,
            })
            .unwrap_or_default()
            .to_string();
        if !error.path.is_empty() {
            emptied.push(error.path.clone());
        }
        errors.push(error);
    }
    let parsed = yaml::parse_document::<T>(&substituted.text, origin, columns, &index, &emptied);
    errors.extend(parsed.errors);
    let mut soft_warnings = Vec::new();
    for issue in parsed.soft {
        let warning = issue.warning;
        let error = yaml::soft_error(issue, origin, &index, columns);
        if emptied.iter().any(|e| yaml::is_under(&error.path, e)) {
            continue;
        }
        if warning {
            soft_warnings.push(Warning {
                origin: error.origin,
                line: error.line,
                column: error.column,
                path: error.path,
                message: error.message,
            });
        } else {
            errors.push(error);
        }
    }
    let Some(mut config) = parsed.value else {
        let mut errors = ConfigErrors(errors);
        errors.sort();
        return Err(errors);
    };
    let mut report = Report::new(origin, &index, columns);
    report.warnings.extend(soft_warnings);
    check(&mut config, &mut report);
    let damaged: Vec<&str> = parsed
        .dropped
        .iter()
        .chain(&emptied)
        .map(String::as_str)
        .collect();
    report
        .errors
        .retain(|e| !validate::caused_by_damage(e, &damaged));
    report.errors.extend(errors);
    let warnings = report.finish()?;
    Ok(Loaded { config, warnings })
}

fn read(path: &Path) -> Result<(String, String), ConfigErrors> {
    let origin = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => Ok((text, origin)),
        Err(e) => Err(ConfigErrors::one(ConfigError::whole_file(
            &origin,
            ErrorKind::Io,
            format!("cannot read the file: {e}"),
        ))),
    }
}

/// Parses and checks a `source.yaml` text. `origin` names it in messages; `env` resolves
/// `${NAME}`; `key` decrypts `ferryctl encrypt` passwords.
pub fn parse_source_str(
    text: &str,
    origin: &str,
    env: EnvLookup<'_>,
    key: Option<&SecretKey>,
) -> Result<Loaded<SourceConfig>, ConfigErrors> {
    load(text, origin, env, |cfg: &mut SourceConfig, r| {
        validate::source(cfg, r, key)
    })
}

/// Parses and checks a `task.yaml` text.
pub fn parse_task_str(
    text: &str,
    origin: &str,
    env: EnvLookup<'_>,
    key: Option<&SecretKey>,
) -> Result<Loaded<TaskConfig>, ConfigErrors> {
    load(text, origin, env, |cfg: &mut TaskConfig, r| {
        validate::task(cfg, r, key)
    })
}

/// Parses and checks a daemon configuration text.
pub fn parse_daemon_str(
    text: &str,
    origin: &str,
    env: EnvLookup<'_>,
) -> Result<Loaded<DaemonConfig>, ConfigErrors> {
    load(text, origin, env, |cfg: &mut DaemonConfig, r| {
        validate::daemon(cfg, r)
    })
}

/// Reads, parses and checks a `source.yaml` file (placeholders from the process environment).
pub fn load_source_file(
    path: &Path,
    key: Option<&SecretKey>,
) -> Result<Loaded<SourceConfig>, ConfigErrors> {
    let (text, origin) = read(path)?;
    parse_source_str(&text, &origin, &process_env, key)
}

/// Reads, parses and checks a `task.yaml` file.
pub fn load_task_file(
    path: &Path,
    key: Option<&SecretKey>,
) -> Result<Loaded<TaskConfig>, ConfigErrors> {
    let (text, origin) = read(path)?;
    parse_task_str(&text, &origin, &process_env, key)
}

/// Reads, parses and checks a daemon configuration file.
pub fn load_daemon_file(path: &Path) -> Result<Loaded<DaemonConfig>, ConfigErrors> {
    let (text, origin) = read(path)?;
    parse_daemon_str(&text, &origin, &process_env)
}

/// Serializes `value` and replaces the masked password at `pointer` by its sealed form.
fn stored_json<T: serde::Serialize>(
    value: &T,
    pointer: &str,
    password: Option<&Password>,
    key: Option<&SecretKey>,
) -> Result<serde_json::Value, SecretError> {
    // Serializing these types cannot fail: every map has string keys.
    let mut json = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
    if let (Some(p), Some(slot)) = (password, json.pointer_mut(pointer)) {
        *slot = serde_json::Value::String(p.seal(key)?);
    }
    Ok(json)
}

fn from_stored<T: DeserializeOwned>(
    json: serde_json::Value,
    what: &str,
) -> Result<T, ConfigErrors> {
    serde_json::from_value(json).map_err(|e| {
        ConfigErrors::one(ConfigError::whole_file(
            what,
            ErrorKind::InvalidValue,
            e.to_string(),
        ))
    })
}

fn open_password(
    db: &mut DbConfig,
    what: &str,
    path: &str,
    key: Option<&SecretKey>,
) -> Result<(), ConfigErrors> {
    let plain = decrypt_or_plaintext(key, db.password.expose()).map_err(|e| {
        let mut err = ConfigError::whole_file(what, ErrorKind::Secret, e.to_string());
        err.path = path.to_string();
        ConfigErrors::one(err)
    })?;
    db.password = Password::new(plain);
    Ok(())
}

impl SourceConfig {
    /// JSON for storage, with `from.password` sealed (see [`Password::seal`]).
    pub fn to_stored_json(
        &self,
        key: Option<&SecretKey>,
    ) -> Result<serde_json::Value, SecretError> {
        stored_json(self, "/from/password", Some(&self.from.password), key)
    }

    /// Reads back what [`SourceConfig::to_stored_json`] wrote.
    pub fn from_stored_json(
        json: serde_json::Value,
        key: Option<&SecretKey>,
    ) -> Result<SourceConfig, ConfigErrors> {
        let mut cfg: SourceConfig = from_stored(json, "stored source")?;
        open_password(&mut cfg.from, "stored source", "from.password", key)?;
        Ok(cfg)
    }
}

impl TaskConfig {
    /// JSON for storage, with `target-database.password` sealed.
    pub fn to_stored_json(
        &self,
        key: Option<&SecretKey>,
    ) -> Result<serde_json::Value, SecretError> {
        stored_json(
            self,
            "/target-database/password",
            self.target_database.as_ref().map(|t| &t.password),
            key,
        )
    }

    /// Reads back what [`TaskConfig::to_stored_json`] wrote.
    pub fn from_stored_json(
        json: serde_json::Value,
        key: Option<&SecretKey>,
    ) -> Result<TaskConfig, ConfigErrors> {
        let mut cfg: TaskConfig = from_stored(json, "stored task")?;
        if let Some(t) = cfg.target_database.as_mut() {
            open_password(t, "stored task", "target-database.password", key)?;
        }
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_kinds() {
        assert_eq!(detect_kind("source-id: a\nfrom: {}\n"), FileKind::Source);
        assert_eq!(
            detect_kind("# c\nname: t\ntask-mode: all\n"),
            FileKind::Task
        );
        assert_eq!(detect_kind("\"mysql-instances\":\n  - x\n"), FileKind::Task);
        assert_eq!(detect_kind("master-addr: 1.2.3.4:8261\n"), FileKind::Daemon);
        assert_eq!(detect_kind(""), FileKind::Daemon);
    }
}
