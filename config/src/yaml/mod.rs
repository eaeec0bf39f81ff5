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
//!
//! Every such error of a document is reported, not only the first: after an error, the
//! offending `key: value` pair (the unknown key, the later duplicate, the key whose value
//! has the wrong type) is blanked out of the text — replaced by spaces, so that every other
//! position stays the same — and the document is parsed again, until it parses or an error
//! cannot be isolated (a syntax error, a wrong type at the root). The structs stay
//! `deny_unknown_fields`, so strictness never depends on this loop. The key paths of the
//! values dropped for a wrong type are returned, so that the semantic checks made on what
//! remains can leave out the errors that only the dropped values cause.
//!
//! The parts: `document` (the parse loop), `index` (the `KeyIndex`, and the blanking of the
//! text), `errors` (serde-saphyr's errors turned into located `ConfigError`s) and `path`
//! (key paths).

mod document;
mod errors;
mod index;
mod path;

use serde::de::{Deserialize, DeserializeOwned, Deserializer};

use crate::env::ColumnMap;
use crate::error::ConfigErrors;

pub(crate) use document::parse_document;
pub(crate) use errors::soft_error;
pub(crate) use index::{KeyIndex, Pos};
pub(crate) use path::{is_under, join, parent};

/// Parses YAML text into any `T` with Ferry's strict rules (see the module docs).
///
/// This is the one YAML entry point of the workspace: the source, task and daemon loaders
/// use it, and other crates that read YAML should too. No `${NAME}` substitution and no
/// semantic validation are done here; see [`crate::parse_task_str`] and friends for that.
pub fn parse_yaml<T: DeserializeOwned>(text: &str, origin: &str) -> Result<T, ConfigErrors> {
    let index = KeyIndex::build(text);
    let columns = ColumnMap::default();
    let parsed = parse_document::<T>(text, origin, &columns, &index, &[]);
    let mut errors = ConfigErrors(parsed.errors);
    errors.0.extend(
        parsed
            .soft
            .into_iter()
            .filter(|s| !s.warning)
            .map(|s| soft_error(s, origin, &index, &columns)),
    );
    match parsed.value {
        Some(value) if errors.is_empty() => Ok(value),
        _ => {
            errors.sort();
            Err(errors)
        }
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
    use std::collections::BTreeMap;

    use super::*;
    use crate::error::ErrorKind;

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

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Loose {
        #[serde(default)]
        a: u32,
        #[serde(default)]
        b: Vec<String>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        #[serde(default)]
        one: Option<Small>,
        #[serde(default)]
        many: Vec<Loose>,
        #[serde(default)]
        map: BTreeMap<String, Small>,
        #[serde(default)]
        n: u32,
    }

    fn all(text: &str) -> Vec<(u64, u64, String, ErrorKind)> {
        parse_yaml::<Outer>(text, "o.yaml")
            .unwrap_err()
            .into_iter()
            .map(|e| (e.line.unwrap(), e.column.unwrap(), e.path, e.kind))
            .collect()
    }

    #[test]
    fn parse_yaml_reports_every_error() {
        use ErrorKind::*;
        // Unknown keys everywhere, duplicates, wrong types; `a` is required in Small, so the
        // dropped `one.a` leaves `one` without it: not reported twice.
        let text = "\
one:
  a: x
  zz: 1
many:
  - {a: 1, yy: 2, a: 3}
  - \"item\"
  - {a: 2, b: [p, [q], r], xx: 0}
map:
  k:
    xx: 1
  j: {a: 1, b: 5}
n: -1
n: 2
top: 1
";
        assert_eq!(
            all(text),
            vec![
                (2, 6, "one.a".into(), InvalidType),
                (3, 3, "one.zz".into(), UnknownKey),
                (5, 12, "many[0].yy".into(), UnknownKey),
                (5, 19, "many[0].a".into(), DuplicateKey),
                (6, 5, "many[1]".into(), InvalidType),
                (7, 19, "many[2].b[1]".into(), InvalidType),
                (7, 28, "many[2].xx".into(), UnknownKey),
                (9, 3, "map.k".into(), Missing),
                (10, 5, "map.k.xx".into(), UnknownKey),
                (11, 16, "map.j.b".into(), InvalidType),
                (12, 4, "n".into(), InvalidType),
                (13, 1, "n".into(), DuplicateKey),
                (14, 1, "top".into(), UnknownKey),
            ]
        );
        // The pairs left are parsed: the document is otherwise valid.
        assert!(parse_yaml::<Outer>("one: {a: 1}\nmap: {k: {a: 2}}\n", "o.yaml").is_ok());
        // A syntax error ends the parse, after the errors before it.
        let errs = all("zz: 1\nmany: [\n");
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert_eq!(errs[0].3, UnknownKey);
        assert_eq!(errs[1].3, Syntax);
    }
}
