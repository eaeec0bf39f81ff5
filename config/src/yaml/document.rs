//! The strict parse of one document, going on after each error it can isolate.

use std::borrow::Cow;
use std::collections::HashSet;

use serde::de::DeserializeOwned;
use serde_saphyr::SnippetMode;

use super::errors::{convert_error, duplicate_error, PlainFormatter};
use super::index::{KeyIndex, Pos};
use super::path::{holding_key, is_under, join};
use crate::env::ColumnMap;
use crate::error::{ConfigError, ErrorKind};
use crate::soft::{self, SoftIssue};

/// A parsed document: the value (None when an error could not be isolated), the errors of
/// the parse, the soft issues met on the way, and the key paths whose values were dropped
/// because of their errors.
pub(crate) struct Parsed<T> {
    pub(crate) value: Option<T>,
    pub(crate) errors: Vec<ConfigError>,
    pub(crate) soft: Vec<SoftIssue>,
    pub(crate) dropped: Vec<String>,
}

fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        with_snippet: false,
    }
}

/// Most parses of one document (each isolates one error).
const MAX_ATTEMPTS: usize = 500;

/// Parses a whole YAML document into `T`, collecting every structural error (unknown key,
/// wrong type, duplicate key, syntax) with file, line, column and key path, columns
/// translated to the original text by `columns` (see the docs of [`crate::yaml`] for how
/// parsing goes on after an error). `index` is [`KeyIndex::build`] of `text`. Errors other
/// than unknown and duplicate keys are not reported at or below the key paths of `quiet`
/// (values emptied because of an unset variable, already reported), but their values are
/// dropped all the same.
pub(crate) fn parse_document<T: DeserializeOwned>(
    text: &str,
    origin: &str,
    columns: &ColumnMap,
    index: &KeyIndex,
    quiet: &[String],
) -> Parsed<T> {
    let mut work: Vec<char> = text.chars().collect();
    let mut current = Cow::Borrowed(text);
    let mut blanked: HashSet<usize> = HashSet::new();
    let mut replaced: HashSet<usize> = HashSet::new();
    let mut parsed = Parsed {
        value: None,
        errors: Vec::new(),
        soft: Vec::new(),
        dropped: Vec::new(),
    };
    for _ in 0..MAX_ATTEMPTS {
        let mut failed_path: Option<String> = None;
        let (result, soft) = soft::collecting(|| {
            serde_saphyr::with_deserializer_from_str_with_options(&current, options(), |de| {
                serde_path_to_error::deserialize::<_, T>(de).map_err(|e| {
                    failed_path = Some(e.path().to_string());
                    e.into_inner()
                })
            })
        });
        for issue in soft {
            if !parsed.soft.contains(&issue) {
                parsed.soft.push(issue);
            }
        }
        let err = match result {
            Ok(value) => {
                parsed.value = Some(value);
                return parsed;
            }
            Err(err) => err,
        };
        let error = convert_error(&err, failed_path, origin, index, columns);
        let at_key = matches!(error.kind, ErrorKind::UnknownKey | ErrorKind::DuplicateKey);
        // A required field whose value was dropped is missing: not a new error.
        let consequence = match err.without_snippet() {
            serde_saphyr::Error::SerdeMissingField { field, .. } => {
                let missing = join(&error.path, field);
                parsed
                    .dropped
                    .iter()
                    .any(|d| *d == missing || is_under(&error.path, d))
            }
            _ => false,
        };
        let silent = consequence || (!at_key && quiet.iter().any(|q| is_under(&error.path, q)));
        // A sequence item of the wrong type is replaced by an empty value of the expected
        // shape, which keeps the indexes of the items after it.
        if !at_key && error.path.ends_with(']') && error.kind != ErrorKind::Syntax {
            let replaced_item = index
                .node_at_path(&error.path)
                .filter(|n| !replaced.contains(n))
                .zip(placeholder(&err))
                .is_some_and(|(n, text)| {
                    replaced.insert(n);
                    index.replace_node(&mut work, n, text)
                });
            if replaced_item {
                if !silent {
                    parsed.errors.push(error.clone());
                }
                parsed.dropped.push(error.path);
                current = Cow::Owned(work.iter().collect());
                continue;
            }
        }
        // Else the pair to blank out before the next attempt.
        let target = match error.kind {
            ErrorKind::Syntax => None,
            _ if at_key => err
                .location()
                .filter(|l| l.line() > 0)
                .and_then(|l| {
                    index.pair_with_key_at(Pos {
                        line: l.line(),
                        column: l.column(),
                    })
                })
                .or_else(|| index.pair_at_path(&error.path)),
            _ => index.pair_at_path(holding_key(&error.path)),
        }
        .filter(|t| !blanked.contains(t) && index.pair_is_closed(*t));
        let Some(target) = target else {
            if !silent || (consequence && parsed.errors.is_empty()) {
                parsed.errors.push(error);
            }
            return parsed;
        };
        if !silent {
            parsed.errors.push(error);
        }
        if !at_key {
            parsed.dropped.push(index.pairs[target].path.clone());
        }
        // Its duplicates: once it is gone, the parser would no longer see them as such.
        let duplicates: Vec<usize> = index
            .later_duplicates(target)
            .filter(|d| !blanked.contains(d) && index.pair_is_closed(*d))
            .collect();
        blanked.insert(target);
        blanked.extend(&duplicates);
        index.blank_pair(&mut work, target, &blanked);
        for d in duplicates {
            parsed
                .errors
                .push(duplicate_error(index, d, origin, columns));
            index.blank_pair(&mut work, d, &blanked);
        }
        current = Cow::Owned(work.iter().collect());
    }
    parsed
}

/// An empty value of the type a wrong-typed value should have had, when the error says.
fn placeholder(err: &serde_saphyr::Error) -> Option<&'static str> {
    use serde_saphyr::Error as E;
    if let E::InvalidScalar { ty, .. } = err.without_snippet() {
        return match *ty {
            "bool" => Some("false"),
            "char" | "str" | "string" | "String" => Some("\"\""),
            t if t.starts_with(['u', 'i', 'f']) => Some("0"),
            _ => None,
        };
    }
    let message = err
        .render_with_options(serde_saphyr::render_options! {
            formatter: &PlainFormatter,
            snippets: SnippetMode::Off,
        })
        .to_ascii_lowercase();
    let expected = message.split("expected").nth(1)?;
    if expected.contains("map") || expected.contains("struct") {
        Some("{}")
    } else if expected.contains("sequence") {
        Some("[]")
    } else if expected.contains("string") {
        Some("\"\"")
    } else {
        None
    }
}
