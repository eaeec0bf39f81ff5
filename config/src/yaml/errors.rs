//! Parse errors as [`ConfigError`]s: serde-saphyr's errors and soft issues reworded, each
//! given its key path and its line and column in the original text.

use std::borrow::Cow;

use serde_saphyr::{Localizer, MessageFormatter, SnippetMode, UserMessageFormatter};

use super::index::{KeyIndex, Pos};
use super::path::join;
use crate::env::ColumnMap;
use crate::error::{ConfigError, ErrorKind};
use crate::soft::SoftIssue;

/// Serde-saphyr's message without its `at line X, column Y` suffix (we print our own).
struct NoLocation;

impl Localizer for NoLocation {
    fn attach_location<'a>(
        &self,
        base: Cow<'a, str>,
        _loc: serde_saphyr::Location,
    ) -> Cow<'a, str> {
        base
    }
}

pub(super) struct PlainFormatter;

impl MessageFormatter for PlainFormatter {
    fn localizer(&self) -> &dyn Localizer {
        &NoLocation
    }

    fn format_message<'a>(&self, err: &'a serde_saphyr::Error) -> Cow<'a, str> {
        UserMessageFormatter.format_message(err)
    }
}

/// The error for pair `pair`, a duplicate key, worded as serde-saphyr's.
pub(super) fn duplicate_error(
    index: &KeyIndex,
    pair: usize,
    origin: &str,
    columns: &ColumnMap,
) -> ConfigError {
    let p = &index.pairs[pair];
    let err = serde_saphyr::Error::DuplicateMappingKey {
        key: Some(p.name.clone()),
        location: serde_saphyr::Location::UNKNOWN,
    };
    let mut error = convert_error(&err, Some(p.path.clone()), origin, index, columns);
    error.line = Some(p.key.line);
    error.column = Some(columns.original_column(p.key.line, p.key.column));
    error
}

pub(super) fn convert_error(
    err: &serde_saphyr::Error,
    failed_path: Option<String>,
    origin: &str,
    index: &KeyIndex,
    columns: &ColumnMap,
) -> ConfigError {
    use serde_saphyr::Error as E;
    let inner = err.without_snippet();
    let message = match inner {
        E::InvalidScalar { ty, .. } => format!("invalid value: expected {}", describe_type(ty)),
        _ => err.render_with_options(serde_saphyr::render_options! {
            formatter: &PlainFormatter,
            snippets: SnippetMode::Off,
        }),
    };
    // A missing field is placed at the key of its struct, not where the parser stopped.
    let location = err
        .location()
        .filter(|l| l.line() > 0 && !matches!(inner, E::SerdeMissingField { .. }));

    // serde_path_to_error prints the root as "." and an unknown map key as "?".
    let mut path = failed_path.unwrap_or_default();
    if path == "." {
        path.clear();
    }
    let kind = match inner {
        E::DuplicateMappingKey { key, .. } => {
            let name = key.clone().unwrap_or_else(|| "?".to_string());
            if let Some(stripped) = path.strip_suffix('?') {
                path = format!("{stripped}{name}");
            } else if !path.ends_with(&name) {
                path = join(&path, &name);
            }
            ErrorKind::DuplicateKey
        }
        E::ExternalMessage { .. } | E::Eof { .. } | E::MultipleDocuments { .. } => {
            ErrorKind::Syntax
        }
        E::SerdeUnknownField { .. } => ErrorKind::UnknownKey,
        E::SerdeMissingField { .. } => ErrorKind::Missing,
        E::SerdeInvalidType { .. }
        | E::InvalidScalar { .. }
        | E::NullIntoString { .. }
        | E::Unexpected { .. }
        | E::InvalidBooleanStrict { .. } => ErrorKind::InvalidType,
        _ if message.starts_with("unknown field") => ErrorKind::UnknownKey,
        _ if message.starts_with("missing field") => ErrorKind::Missing,
        _ => ErrorKind::InvalidValue,
    };
    if kind == ErrorKind::Syntax {
        // A syntax error has no reliable key path; name the last key before it.
        path = location
            .and_then(|l| {
                index.path_at(Pos {
                    line: l.line(),
                    column: l.column(),
                })
            })
            .map(str::to_string)
            .unwrap_or_default();
    }
    let (line, column) = match location {
        Some(l) => (
            Some(l.line()),
            Some(columns.original_column(l.line(), l.column())),
        ),
        None => match index.nearest_position(&path) {
            Some(p) => (
                Some(p.line),
                Some(columns.original_column(p.line, p.column)),
            ),
            None => (None, None),
        },
    };
    ConfigError {
        origin: origin.to_string(),
        line,
        column,
        path,
        kind,
        message,
    }
}

/// A scalar type in words, for "expected …" messages.
fn describe_type(ty: &str) -> String {
    match ty {
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => {
            format!("a non-negative integer ({ty})")
        }
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => format!("an integer ({ty})"),
        "f32" | "f64" => "a number".to_string(),
        "bool" => "true or false".to_string(),
        "char" => "a single character".to_string(),
        other => other.to_string(),
    }
}

/// Turns a soft issue into an error, finding its key path from its position.
pub(crate) fn soft_error(
    issue: SoftIssue,
    origin: &str,
    index: &KeyIndex,
    columns: &ColumnMap,
) -> ConfigError {
    let pos = Pos {
        line: issue.line,
        column: issue.column,
    };
    ConfigError {
        origin: origin.to_string(),
        line: Some(issue.line),
        column: Some(columns.original_column(issue.line, issue.column)),
        path: index.path_at(pos).unwrap_or_default().to_string(),
        kind: ErrorKind::InvalidValue,
        message: issue.message,
    }
}
