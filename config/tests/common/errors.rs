//! Helpers of the error tests: a task or source text that must be rejected, and the
//! error at a key path with its kind, line and column.

use ferry_config::{parse_source_str, parse_task_str, ConfigError, ConfigErrors, ErrorKind};

use super::no_env;

pub fn task_errors(text: &str) -> ConfigErrors {
    parse_task_str(text, "task.yaml", &no_env, None).expect_err("the task must be rejected")
}

pub fn source_errors(text: &str) -> ConfigErrors {
    parse_source_str(text, "source.yaml", &no_env, None).expect_err("the source must be rejected")
}

pub fn at<'a>(errs: &'a ConfigErrors, path: &str) -> &'a ConfigError {
    errs.errors()
        .iter()
        .find(|e| e.path == path)
        .unwrap_or_else(|| panic!("no error at {path}:\n{errs}"))
}

pub fn assert_at(errs: &ConfigErrors, path: &str, kind: ErrorKind, line: u64, column: u64) {
    let e = at(errs, path);
    assert_eq!(e.kind, kind, "{e}");
    assert_eq!((e.line, e.column), (Some(line), Some(column)), "{e}");
    assert_eq!(e.origin, "task.yaml");
    assert!(
        e.to_string()
            .starts_with(&format!("task.yaml:{line}:{column}: {path}: ")),
        "{e}"
    );
}

/// The keys of a task before its `mysql-instances` (lines 1 to 4).
pub const HEAD: &str = "name: t\ntask-mode: full\ntarget-database:\n  host: 127.0.0.1\n";
