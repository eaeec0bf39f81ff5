//! Problems noticed while deserializing that must not stop the parse.
//!
//! An invalid enum value (`task-mode: fulll`) is reported like the semantic errors, so that
//! all of a file's problems come out together. While [`yaml::parse_document`] runs, such
//! values are recorded here (with their line and column) and replaced by a placeholder;
//! the document is then rejected with every recorded problem. Outside that function (e.g.
//! deserializing stored JSON) they are ordinary deserialization errors.
//!
//! Some values DM accepts with a logged error and then ignores (an unknown binlog event
//! filter `action` makes DM drop the whole rule): those are recorded as *warnings*, which
//! do not reject the document.
//!
//! This module also holds the deserializers of DM's zero values: DM's Go loader reads `""`,
//! `[]`, `0` and `null` as the zero value of the field, which then means "unset: use the
//! default or detect it" (`flavor: ''`, `timezone: ""`, `on-duplicate-logical: ""`,
//! `ssl-ca-bytes: []`, …).
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
    /// A warning (the value is accepted and ignored, as DM does), not an error.
    pub(crate) warning: bool,
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

/// A fixed-word setting of DM's files (the enums of [`crate::enums`]).
pub(crate) trait Choice: Sized + Copy {
    /// The setting, in messages (`flavor`).
    const WHAT: &'static str;
    /// The accepted words, in messages.
    const WORDS: &'static [&'static str];
    /// The value of a word (case-insensitive), None when unknown.
    fn from_word(text: &str) -> Option<Self>;
    /// Any value, put in place of an invalid one while the parse goes on.
    fn placeholder() -> Self;
}

/// Deserializes one of a fixed set of words (case-insensitive, as DM lower-cases them).
/// An unknown word is a soft issue inside a parse, and a hard error elsewhere.
pub(crate) fn deserialize_choice<'de, D, T>(
    deserializer: D,
    what: &str,
    parse: impl Fn(&str) -> Option<T>,
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
    let message = invalid_word(what, &text, allowed);
    soft_or_fail(&spanned.referenced, message, false, placeholder)
}

/// Inside a parse, records `message` at `at` (as a warning when `warning`) and returns
/// `substitute`, so that the parse goes on; outside a parse, or without a position, it is
/// an error.
fn soft_or_fail<E: serde::de::Error, T>(
    at: &serde_saphyr::Location,
    message: String,
    warning: bool,
    substitute: T,
) -> Result<T, E> {
    let located = at.line() > 0;
    if located
        && record(SoftIssue {
            line: at.line(),
            column: at.column(),
            message: message.clone(),
            warning,
        })
    {
        Ok(substitute)
    } else {
        Err(E::custom(message))
    }
}

fn invalid_word(what: &str, text: &str, allowed: &[&str]) -> String {
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
    format!(
        "invalid {what} `{text}`: expected one of {}",
        shown.join(", ")
    )
}

/// An optional fixed-word setting where DM reads `""` (and `null`) as "unset": `flavor: ''`
/// (detected from the server), `on-duplicate-logical: ""` (the default).
pub(crate) fn empty_as_none<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Choice,
{
    deserialize_choice(
        deserializer,
        T::WHAT,
        |text| {
            if text.trim().is_empty() {
                Some(None)
            } else {
                T::from_word(text).map(Some)
            }
        },
        T::WORDS,
        Some(T::placeholder()),
    )
}

/// A fixed-word setting where DM reads `""` (and `null`) as `empty`, the default of this key
/// (used when one type has different defaults at different keys, as `checksum-physical`
/// and `analyze`).
pub(crate) fn choice_or<'de, D, T>(deserializer: D, empty: T) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Choice,
{
    deserialize_choice(
        deserializer,
        T::WHAT,
        |text| {
            if text.trim().is_empty() {
                Some(empty)
            } else {
                T::from_word(text)
            }
        },
        T::WORDS,
        T::placeholder(),
    )
}

/// `action` of a binlog event filter rule. DM checks the rule when it builds the filter
/// and, if the action is not `Do`, `Ignore` or `Error`, logs an error and drops the whole
/// rule: the file is accepted. Inside a parse, an invalid action is recorded as a warning
/// and read as None (the checks then drop the rule); elsewhere it is an error.
pub(crate) fn filter_action<'de, D>(
    deserializer: D,
) -> Result<Option<crate::enums::FilterAction>, D::Error>
where
    D: Deserializer<'de>,
{
    use crate::enums::FilterAction;
    let spanned = serde_saphyr::Spanned::<Word>::deserialize(deserializer)?;
    let text = spanned.value.0;
    if let Some(v) = <FilterAction as Choice>::from_word(&text) {
        return Ok(Some(v));
    }
    let message = format!(
        "{}; DM logs an error and ignores this whole filter rule, so does Ferry",
        invalid_word(
            <FilterAction as Choice>::WHAT,
            &text,
            <FilterAction as Choice>::WORDS
        )
    );
    soft_or_fail(&spanned.referenced, message, true, None)
}

/// An optional text where DM reads `""` as unset (`timezone: ""`, `ssl-ca: ""`): blank
/// text and `null` read as None.
pub(crate) fn blank_as_none<'de, D>(deserializer: D) -> Result<Option<String>, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(Option::<String>::deserialize(deserializer)?.filter(|s| !s.trim().is_empty()))
}

/// DM's `ssl-*-bytes` (Go `[]byte`): PEM text, or the list of byte values DM itself writes
/// (`ssl-ca-bytes: [45, 45, …]`, `ssl-ca-bytes: []` when unset). Empty and `null` read as
/// None.
pub(crate) fn pem_bytes<'de, D>(deserializer: D) -> Result<Option<String>, D::Error>
where
    D: Deserializer<'de>,
{
    deserializer.deserialize_any(PemVisitor)
}

struct PemVisitor;

impl<'de> serde::de::Visitor<'de> for PemVisitor {
    type Value = Option<String>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PEM text or a list of byte values")
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(PemVisitor)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()).filter(|s| !s.is_empty()))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(v).filter(|s| !s.is_empty()))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut bytes = Vec::new();
        while let Some(b) = seq.next_element::<u8>()? {
            bytes.push(b);
        }
        if bytes.is_empty() {
            return Ok(None);
        }
        String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| A::Error::custom("the bytes are not PEM text (not UTF-8)"))
    }
}

/// A map whose values may be `null` (`loaders: {global: }`): DM then uses the default
/// settings, as for an absent entry. A `null` map is empty.
pub(crate) fn map_null_values_as_default<'de, D, T>(
    deserializer: D,
) -> Result<std::collections::BTreeMap<String, T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    let map =
        Option::<std::collections::BTreeMap<String, NullAsDefault<T>>>::deserialize(deserializer)?;
    Ok(map
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.0))
        .collect())
}

struct NullAsDefault<T>(T);

impl<'de, T: Deserialize<'de> + Default> Deserialize<'de> for NullAsDefault<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(NullAsDefault(
            Option::<T>::deserialize(deserializer)?.unwrap_or_default(),
        ))
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
