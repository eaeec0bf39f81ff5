//! Problems noticed while deserializing that must not stop the parse.
//!
//! An invalid enum value (`task-mode: fulll`) is reported like the semantic errors, so that
//! all of a file's problems come out together. While [`yaml::parse_document`] runs, such
//! values are recorded here (with their line and column) and replaced by a placeholder;
//! the document is then rejected with every recorded problem. Outside that function (e.g.
//! deserializing stored JSON) they are ordinary deserialization errors.
//!
//! [`yaml::parse_document`]: crate::yaml

use std::cell::RefCell;

use serde::de::{Deserialize, Deserializer, Error as _};

/// One recorded problem, at a position of the parsed (substituted) text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SoftIssue {
    pub(crate) line: u64,
    pub(crate) column: u64,
    pub(crate) message: String,
}

thread_local! {
    static SINK: RefCell<Option<Vec<SoftIssue>>> = const { RefCell::new(None) };
}

/// Runs `f` with a fresh sink and returns what it recorded.
pub(crate) fn collecting<R>(f: impl FnOnce() -> R) -> (R, Vec<SoftIssue>) {
    let previous = SINK.with(|s| s.replace(Some(Vec::new())));
    let result = f();
    let issues = SINK.with(|s| s.replace(previous)).unwrap_or_default();
    (result, issues)
}

/// Records `issue` if a sink is active; returns false when there is none.
fn record(issue: SoftIssue) -> bool {
    SINK.with(|s| match s.borrow_mut().as_mut() {
        Some(v) => {
            v.push(issue);
            true
        }
        None => false,
    })
}

/// Deserializes one of a fixed set of words (case-insensitive, as DM lower-cases them).
/// An unknown word is a soft issue inside a parse, and a hard error elsewhere.
pub(crate) fn deserialize_choice<'de, D, T>(
    deserializer: D,
    what: &str,
    parse: fn(&str) -> Option<T>,
    allowed: &[&str],
    placeholder: T,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    let spanned = serde_saphyr::Spanned::<Word>::deserialize(deserializer)?;
    let text = spanned.value.0;
    if let Some(v) = parse(&text) {
        return Ok(v);
    }
    let shown: Vec<String> = allowed
        .iter()
        .map(|a| {
            if a.is_empty() {
                "\"\"".to_string()
            } else {
                (*a).to_string()
            }
        })
        .collect();
    let message = format!(
        "invalid {what} `{text}`: expected one of {}",
        shown.join(", ")
    );
    let located = spanned.referenced.line() > 0;
    if located
        && record(SoftIssue {
            line: spanned.referenced.line(),
            column: spanned.referenced.column(),
            message: message.clone(),
        })
    {
        Ok(placeholder)
    } else {
        Err(D::Error::custom(message))
    }
}

/// A word of a fixed-word setting. A null (`key:` with no value) reads as "", as DM's YAML
/// library does; numbers and booleans read as their text.
struct Word(String);

impl<'de> Deserialize<'de> for Word {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_option(WordVisitor)
    }
}

struct WordVisitor;

impl<'de> serde::de::Visitor<'de> for WordVisitor {
    type Value = Word;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a word")
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Word, E> {
        Ok(Word(String::new()))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Word, E> {
        Ok(Word(String::new()))
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Word, D::Error> {
        String::deserialize(deserializer).map(Word)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Word, E> {
        Ok(Word(v.to_string()))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Word, E> {
        Ok(Word(v))
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Word, E> {
        Ok(Word(v.to_string()))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Word, E> {
        Ok(Word(v.to_string()))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Word, E> {
        Ok(Word(v.to_string()))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Word, E> {
        Ok(Word(v.to_string()))
    }
}
