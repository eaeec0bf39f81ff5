//! The one YAML parsing function of Ferry, and the positions of keys in a document.
//!
//! [`parse_yaml`] (and the crate-internal `parse_document` behind it) is strict: unknown
//! keys (every model is `deny_unknown_fields`), wrong types and duplicate keys are errors
//! that name the file, the line, the column and the key path, e.g.
//! `task1.yaml:12:22: mysql-instances[0].mydumper-thread: invalid value: expected a
//! non-negative integer (u32)`.
//!
//! The key path comes from `serde_path_to_error` wrapped around serde-saphyr's deserializer;
//! the line and column from serde-saphyr's error. For checks done after parsing, a
//! `KeyIndex` built from the parser's events maps each key path to its position.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use serde::de::{Deserialize, DeserializeOwned, Deserializer};
use serde_saphyr::granit_parser::{Event, Parser};
use serde_saphyr::{Localizer, MessageFormatter, SnippetMode, UserMessageFormatter};

use crate::env::ColumnMap;
use crate::error::{ConfigError, ConfigErrors, ErrorKind};
use crate::soft::{self, SoftIssue};

/// A 1-based line and column of the parsed text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Pos {
    pub(crate) line: u64,
    pub(crate) column: u64,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    key: Option<Pos>,
    value: Pos,
}

/// Positions of every node of a document, by key path (`a.b[0].c`).
#[derive(Debug, Default, Clone)]
pub(crate) struct KeyIndex {
    entries: BTreeMap<String, Entry>,
    by_value: HashMap<Pos, String>,
}

enum Frame {
    Map {
        path: String,
        key: Option<(String, Pos)>,
    },
    Seq {
        path: String,
        next: usize,
    },
    /// A collection used as a mapping key (rare); its content is not indexed.
    ComplexKey {
        depth: usize,
        pos: Pos,
    },
}

impl KeyIndex {
    /// Indexes `text` (the first document). Parse errors stop the indexing quietly: the
    /// typed parse reports them.
    pub(crate) fn build(text: &str) -> Self {
        let mut index = KeyIndex::default();
        let mut stack: Vec<Frame> = Vec::new();
        let mut documents = 0;
        for item in Parser::new_from_str(text) {
            let Ok((event, span)) = item else { break };
            let pos = Pos {
                line: span.start.line() as u64,
                column: span.start.col() as u64 + 1,
            };
            match event {
                Event::DocumentStart(..) => {
                    documents += 1;
                    if documents > 1 {
                        break;
                    }
                }
                Event::Scalar(ref text, ..) => {
                    index.node(&mut stack, pos, Some(text.as_ref()), None);
                }
                Event::Alias(_) => index.node(&mut stack, pos, Some("*"), None),
                Event::MappingStart(..) => index.node(&mut stack, pos, None, Some(true)),
                Event::SequenceStart(..) => index.node(&mut stack, pos, None, Some(false)),
                Event::MappingEnd | Event::SequenceEnd => {
                    if let Some(Frame::ComplexKey { depth, pos }) = stack.last_mut() {
                        *depth -= 1;
                        if *depth == 0 {
                            let pos = *pos;
                            stack.pop();
                            if let Some(Frame::Map { key, .. }) = stack.last_mut() {
                                *key = Some(("?".to_string(), pos));
                            }
                        }
                    } else {
                        stack.pop();
                    }
                }
                _ => {}
            }
        }
        index
    }

    /// Handles a node event: a scalar (`scalar` = its text) or a collection start
    /// (`collection` = Some(is_mapping)).
    fn node(
        &mut self,
        stack: &mut Vec<Frame>,
        pos: Pos,
        scalar: Option<&str>,
        collection: Option<bool>,
    ) {
        let path = match stack.last_mut() {
            None => Some((String::new(), None)),
            Some(Frame::ComplexKey { depth, .. }) => {
                if collection.is_some() {
                    *depth += 1;
                }
                None
            }
            Some(Frame::Map { path, key }) => match key.take() {
                None => {
                    match (scalar, collection) {
                        (Some(text), _) => *key = Some((text.to_string(), pos)),
                        (None, _) => stack.push(Frame::ComplexKey { depth: 1, pos }),
                    }
                    None
                }
                Some((name, key_pos)) => Some((join(path, &name), Some(key_pos))),
            },
            Some(Frame::Seq { path, next }) => {
                let p = format!("{path}[{next}]");
                *next += 1;
                Some((p, None))
            }
        };
        let Some((path, key)) = path else { return };
        self.by_value.insert(pos, path.clone());
        self.entries
            .entry(path.clone())
            .or_insert(Entry { key, value: pos });
        match collection {
            Some(true) => stack.push(Frame::Map { path, key: None }),
            Some(false) => stack.push(Frame::Seq { path, next: 0 }),
            None => {}
        }
    }

    /// True when the document has this key path.
    #[cfg(test)]
    pub(crate) fn contains(&self, path: &str) -> bool {
        self.entries.contains_key(path)
    }

    /// Position of the key at `path` (or of its value for sequence items and the root).
    pub(crate) fn position(&self, path: &str) -> Option<Pos> {
        self.entries.get(path).map(|e| e.key.unwrap_or(e.value))
    }

    /// Position of the value at `path`.
    #[cfg(test)]
    pub(crate) fn value_position(&self, path: &str) -> Option<Pos> {
        self.entries.get(path).map(|e| e.value)
    }

    /// Position of `path`, or of its closest ancestor present in the document.
    pub(crate) fn nearest_position(&self, path: &str) -> Option<Pos> {
        let mut p = path;
        loop {
            if let Some(pos) = self.position(p) {
                return Some(pos);
            }
            p = parent(p)?;
        }
    }

    /// The path of the value that starts at `pos`, or failing that the last value that
    /// starts before it on the same line.
    pub(crate) fn path_at(&self, pos: Pos) -> Option<&str> {
        if let Some(p) = self.by_value.get(&pos) {
            return Some(p);
        }
        self.by_value
            .iter()
            .filter(|(p, _)| p.line == pos.line && p.column <= pos.column)
            .max_by_key(|(p, _)| p.column)
            .map(|(_, s)| s.as_str())
    }
}

/// `a.b` + `c` → `a.b.c`; `` + `c` → `c`.
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// `a.b[0].c` → `a.b[0]` → `a.b` → `a` → ``; `` → None.
fn parent(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    let cut = path.rfind(['.', '[']).unwrap_or(0);
    Some(&path[..cut])
}

/// A parsed document: the value, where its keys are, and the soft issues met on the way.
pub(crate) struct Parsed<T> {
    pub(crate) value: T,
    pub(crate) index: KeyIndex,
    pub(crate) soft: Vec<SoftIssue>,
}

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

struct PlainFormatter;

impl MessageFormatter for PlainFormatter {
    fn localizer(&self) -> &dyn Localizer {
        &NoLocation
    }

    fn format_message<'a>(&self, err: &'a serde_saphyr::Error) -> Cow<'a, str> {
        UserMessageFormatter.format_message(err)
    }
}

fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        with_snippet: false,
    }
}

/// Parses a whole YAML document into `T`. On failure, returns the first structural error
/// (unknown key, wrong type, duplicate key, syntax) with file, line, column and key path,
/// columns translated to the original text by `columns`.
pub(crate) fn parse_document<T: DeserializeOwned>(
    text: &str,
    origin: &str,
    columns: &ColumnMap,
) -> Result<Parsed<T>, ConfigErrors> {
    let index = KeyIndex::build(text);
    let mut failed_path: Option<String> = None;
    let (result, soft) = soft::collecting(|| {
        serde_saphyr::with_deserializer_from_str_with_options(text, options(), |de| {
            serde_path_to_error::deserialize::<_, T>(de).map_err(|e| {
                failed_path = Some(e.path().to_string());
                e.into_inner()
            })
        })
    });
    match result {
        Ok(value) => Ok(Parsed { value, index, soft }),
        Err(err) => Err(ConfigErrors::one(convert_error(
            &err,
            failed_path,
            origin,
            &index,
            columns,
        ))),
    }
}

fn convert_error(
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
    let location = err.location().filter(|l| l.line() > 0);

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

/// Parses YAML text into any `T` with Ferry's strict rules (see the module docs).
///
/// This is the one YAML entry point of the workspace: the source, task and daemon loaders
/// use it, and other crates that read YAML should too. No `${NAME}` substitution and no
/// semantic validation are done here; see [`crate::parse_task_str`] and friends for that.
pub fn parse_yaml<T: DeserializeOwned>(text: &str, origin: &str) -> Result<T, ConfigErrors> {
    let parsed = parse_document::<T>(text, origin, &ColumnMap::default())?;
    if parsed.soft.is_empty() {
        return Ok(parsed.value);
    }
    Err(ConfigErrors(
        parsed
            .soft
            .into_iter()
            .map(|s| soft_error(s, origin, &parsed.index, &ColumnMap::default()))
            .collect(),
    ))
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

/// Deserializes `null` (`key:` with nothing after it) as the type's default, as DM's YAML
/// library does for strings, lists and maps.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_records_keys_and_items() {
        let text = "name: a\nmysql-instances:\n  - source-id: x\n    meta:\n      binlog-pos: 4\nlist: [a, {k: v}]\n";
        let idx = KeyIndex::build(text);
        assert_eq!(idx.position("name"), Some(Pos { line: 1, column: 1 }));
        assert_eq!(
            idx.position("mysql-instances[0].source-id"),
            Some(Pos { line: 3, column: 5 })
        );
        assert_eq!(
            idx.position("mysql-instances[0].meta.binlog-pos"),
            Some(Pos { line: 5, column: 7 })
        );
        assert_eq!(
            idx.value_position("mysql-instances[0].meta.binlog-pos"),
            Some(Pos {
                line: 5,
                column: 19
            })
        );
        assert!(idx.contains("list[1].k"));
        assert_eq!(
            idx.nearest_position("mysql-instances[0].meta.binlog-name"),
            Some(Pos { line: 4, column: 5 })
        );
        assert_eq!(
            idx.path_at(Pos {
                line: 3,
                column: 18
            }),
            Some("mysql-instances[0].source-id")
        );
    }

    #[test]
    fn parent_paths() {
        assert_eq!(parent("a.b[0].c"), Some("a.b[0]"));
        assert_eq!(parent("a.b[0]"), Some("a.b"));
        assert_eq!(parent("a"), Some(""));
        assert_eq!(parent(""), None);
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Small {
        a: u32,
        #[serde(default)]
        b: Vec<String>,
    }

    #[test]
    fn parse_yaml_reports_path_line_column() {
        let e = parse_yaml::<Small>("a: 1\nb: [x]\nc: 2\n", "s.yaml").unwrap_err();
        let e = &e.0[0];
        assert_eq!((e.line, e.column), (Some(3), Some(1)));
        assert_eq!(e.path, "c");
        assert_eq!(e.kind, ErrorKind::UnknownKey);
        assert_eq!(e.to_string().lines().count(), 1);
        assert!(
            e.to_string()
                .starts_with("s.yaml:3:1: c: unknown field `c`"),
            "{e}"
        );

        let e = parse_yaml::<Small>("a: x\n", "s.yaml").unwrap_err();
        assert_eq!(e.0[0].kind, ErrorKind::InvalidType);
        assert_eq!((e.0[0].line, e.0[0].column), (Some(1), Some(4)));
        assert_eq!(e.0[0].path, "a");

        let e = parse_yaml::<Small>("a: 1\na: 2\n", "s.yaml").unwrap_err();
        assert_eq!(e.0[0].kind, ErrorKind::DuplicateKey);
        assert_eq!(e.0[0].path, "a");
        assert_eq!((e.0[0].line, e.0[0].column), (Some(2), Some(1)));

        let e = parse_yaml::<Small>("a: 1\nb: [x\n", "s.yaml").unwrap_err();
        assert_eq!(e.0[0].kind, ErrorKind::Syntax, "{e} {:?}", e);
    }
}
