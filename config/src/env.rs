//! `${NAME}` placeholders, replaced from the environment before the YAML is parsed.
//!
//! This lets secrets come from a systemd `EnvironmentFile` (and is what DM's migration guide
//! shows: `host: "${host}"`). Rules:
//!
//! - `${NAME}` (NAME = `[A-Za-z_][A-Za-z0-9_]*`) is replaced by the variable's value wherever
//!   it appears outside a comment; an unset variable is an error naming the variable, the file,
//!   the line and (once the YAML is indexed) the key path of the value it appears in. The
//!   placeholder is then replaced by an empty value (`""` where it stands alone in a plain
//!   scalar) so that the rest of the file is still checked. `$${NAME}` stands for a literal
//!   `${NAME}`. Any other `$` is left alone.
//! - Inside a double-quoted scalar the value is escaped (`\`, `"`, line breaks), inside a
//!   single-quoted scalar `'` is doubled, so any value is safe there. In a plain (unquoted)
//!   scalar the value is inserted as is, so `port: ${PORT}` stays a number; a value with a
//!   line break is refused there (quote the placeholder instead).
//! - Substitution is done line by line and never adds or removes a line, so line numbers stay
//!   those of the file; columns are mapped back to the original text by a column map.

use std::collections::HashMap;

use crate::error::{ConfigError, ErrorKind};

/// How placeholders are looked up: the process environment in production, a closure in tests.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Looks variables up in the process environment.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// One replaced span of a line, in characters (1-based start column in the original line).
#[derive(Debug, Clone, Copy)]
struct Replacement {
    orig_start: u64,
    orig_len: u64,
    new_len: u64,
}

/// Maps columns of the substituted text back to columns of the original text.
#[derive(Debug, Default, Clone)]
pub(crate) struct ColumnMap {
    lines: HashMap<u64, Vec<Replacement>>,
}

impl ColumnMap {
    /// The original column of `(line, column)` in the substituted text (both 1-based).
    /// A column inside a replaced value maps to the start of its placeholder.
    pub(crate) fn original_column(&self, line: u64, column: u64) -> u64 {
        let Some(reps) = self.lines.get(&line) else {
            return column;
        };
        // new = orig + sum(new_len - orig_len) of the replacements before it.
        let mut shift: i64 = 0;
        for r in reps {
            let new_start = (r.orig_start as i64 + shift).max(1) as u64;
            if column < new_start {
                break;
            }
            if column < new_start + r.new_len {
                return r.orig_start;
            }
            shift += r.new_len as i64 - r.orig_len as i64;
        }
        (column as i64 - shift).max(1) as u64
    }
}

/// The text after substitution, how to map its columns back, and the problems met.
#[derive(Debug)]
pub(crate) struct Substituted {
    pub(crate) text: String,
    pub(crate) columns: ColumnMap,
    /// Unset variables and values that cannot be inserted. Their `path` is empty: it is
    /// filled from the key index by the caller, with [`EnvIssue::line`]/[`EnvIssue::column`].
    pub(crate) issues: Vec<EnvIssue>,
}

/// A problem with one placeholder.
#[derive(Debug)]
pub(crate) struct EnvIssue {
    /// The error, positioned in the original text.
    pub(crate) error: ConfigError,
    /// 1-based line of the placeholder.
    pub(crate) line: u64,
    /// 1-based column of what replaced the placeholder, in the substituted text.
    pub(crate) column: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Quote {
    Plain,
    Double,
    Single,
}

/// Replaces every `${NAME}` of `text`; collects every unset variable as an issue and
/// replaces its placeholder by an empty value.
pub(crate) fn substitute(text: &str, origin: &str, env: EnvLookup<'_>) -> Substituted {
    let mut out = String::with_capacity(text.len());
    let mut columns = ColumnMap::default();
    let mut issues = Vec::new();
    let mut quote = Quote::Plain;

    for (line_idx, line) in text.split_inclusive('\n').enumerate() {
        let line_no = line_idx as u64 + 1;
        let chars: Vec<char> = line.chars().collect();
        let mut reps = Vec::new();
        // Characters written to `out` for this line so far.
        let line_start = out.chars().count();
        let mut i = 0usize;
        // Last non-blank character seen on this line, outside quotes (to tell a quote that
        // opens a scalar from an apostrophe inside a plain scalar).
        let mut last_non_blank: Option<char> = None;
        while i < chars.len() {
            let c = chars[i];
            match quote {
                Quote::Plain => {
                    if c == '#' && (i == 0 || chars[i - 1].is_whitespace()) {
                        // A comment: the rest of the line is copied untouched.
                        out.extend(&chars[i..]);
                        break;
                    }
                    if (c == '"' || c == '\'') && opens_scalar(&chars, i, last_non_blank) {
                        quote = if c == '"' {
                            Quote::Double
                        } else {
                            Quote::Single
                        };
                        out.push(c);
                        i += 1;
                        continue;
                    }
                }
                Quote::Double => {
                    if c == '\\' {
                        out.push(c);
                        if let Some(&n) = chars.get(i + 1) {
                            out.push(n);
                        }
                        i += 2;
                        continue;
                    }
                    if c == '"' {
                        quote = Quote::Plain;
                        out.push(c);
                        last_non_blank = Some(c);
                        i += 1;
                        continue;
                    }
                }
                Quote::Single => {
                    if c == '\'' {
                        if chars.get(i + 1) == Some(&'\'') {
                            out.push_str("''");
                            i += 2;
                            continue;
                        }
                        quote = Quote::Plain;
                        out.push(c);
                        last_non_blank = Some(c);
                        i += 1;
                        continue;
                    }
                }
            }
            if c == '$' {
                if chars.get(i + 1) == Some(&'$') && chars.get(i + 2) == Some(&'{') {
                    // `$${` is a literal `${`.
                    out.push_str("${");
                    reps.push(Replacement {
                        orig_start: i as u64 + 1,
                        orig_len: 3,
                        new_len: 2,
                    });
                    i += 3;
                    continue;
                }
                if let Some((name, end)) = placeholder(&chars, i) {
                    let issue = |message: String, kind: ErrorKind, out: &String| EnvIssue {
                        error: ConfigError {
                            origin: origin.to_string(),
                            line: Some(line_no),
                            column: Some(i as u64 + 1),
                            path: String::new(),
                            kind,
                            message,
                        },
                        line: line_no,
                        column: (out.chars().count() - line_start) as u64 + 1,
                    };
                    let value = match env(&name) {
                        None => {
                            issues.push(issue(
                                format!(
                                    "environment variable `{name}` (used as `${{{name}}}`) is not \
                                     set"
                                ),
                                ErrorKind::UnsetVariable,
                                &out,
                            ));
                            // An empty value keeps the rest of the file checkable; alone in a
                            // plain scalar it is written `""` (a bare nothing could be a null
                            // or, in a flow sequence, a syntax error).
                            if quote == Quote::Plain && stands_alone(&chars, i, end) {
                                "\"\"".to_string()
                            } else {
                                String::new()
                            }
                        }
                        Some(value) => match quote {
                            Quote::Double => escape_double(&value),
                            Quote::Single => value.replace('\'', "''"),
                            Quote::Plain => {
                                if value.contains(['\n', '\r']) {
                                    issues.push(issue(
                                        format!(
                                            "the value of `${{{name}}}` contains a line break; \
                                             put the placeholder in double quotes"
                                        ),
                                        ErrorKind::InvalidValue,
                                        &out,
                                    ));
                                }
                                value
                            }
                        },
                    };
                    reps.push(Replacement {
                        orig_start: i as u64 + 1,
                        orig_len: (end - i) as u64,
                        new_len: value.chars().count() as u64,
                    });
                    out.push_str(&value);
                    if quote == Quote::Plain {
                        last_non_blank = Some('}');
                    }
                    i = end;
                    continue;
                }
            }
            if quote == Quote::Plain && !c.is_whitespace() {
                last_non_blank = Some(c);
            }
            out.push(c);
            i += 1;
        }
        if !reps.is_empty() {
            columns.lines.insert(line_no, reps);
        }
    }

    Substituted {
        text: out,
        columns,
        issues,
    }
}

/// True when the placeholder `chars[i..end]` is a whole plain scalar (nothing glued to it).
fn stands_alone(chars: &[char], i: usize, end: usize) -> bool {
    let before = i.checked_sub(1).map(|j| chars[j]);
    let after = chars.get(end).copied();
    before.is_none_or(|c| c.is_whitespace() || matches!(c, '[' | '{' | ','))
        && after.is_none_or(|c| c.is_whitespace() || matches!(c, ',' | ']' | '}'))
}

/// True when the quote at `chars[i]` opens a quoted scalar (rather than being an apostrophe
/// inside a plain scalar such as `don't`).
fn opens_scalar(chars: &[char], i: usize, last_non_blank: Option<char>) -> bool {
    let prev = if i == 0 { None } else { Some(chars[i - 1]) };
    match last_non_blank {
        None => true,
        Some('[' | '{' | ',') => true,
        Some(':' | '-' | '?') => prev.is_some_and(char::is_whitespace),
        Some(_) => false,
    }
}

/// If `chars[i..]` starts with `${NAME}`, returns NAME and the index after `}`.
fn placeholder(chars: &[char], i: usize) -> Option<(String, usize)> {
    if chars.get(i + 1) != Some(&'{') {
        return None;
    }
    let mut j = i + 2;
    let first = *chars.get(j)?;
    if !(first.is_ascii_alphabetic() || first == '_') {
        return None;
    }
    let mut name = String::new();
    while let Some(&c) = chars.get(j) {
        if c.is_ascii_alphanumeric() || c == '_' {
            name.push(c);
            j += 1;
        } else {
            break;
        }
    }
    if chars.get(j) == Some(&'}') {
        Some((name, j + 1))
    } else {
        None
    }
}

fn escape_double(value: &str) -> String {
    let mut s = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c => s.push(c),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "host" => Some("10.0.0.1".into()),
            "password" => Some("p\"a'ss\\w".into()),
            "long" => Some("abcdefghij".into()),
            _ => None,
        }
    }

    #[test]
    fn substitutes_in_all_quote_styles_and_skips_comments() {
        let text = "a: \"${host}\" # ${unset}\nb: '${password}'\nc: ${long}x\nd: \"${password}\"\n";
        let s = substitute(text, "f.yaml", &env);
        assert!(s.issues.is_empty());
        assert_eq!(
            s.text,
            "a: \"10.0.0.1\" # ${unset}\nb: 'p\"a''ss\\w'\nc: abcdefghijx\nd: \"p\\\"a'ss\\\\w\"\n"
        );
        // `x` after the placeholder on line 3: substituted column 14 ↔ original column 11.
        assert_eq!(s.columns.original_column(3, 14), 11);
        assert_eq!(s.columns.original_column(3, 5), 4);
        assert_eq!(s.columns.original_column(3, 2), 2);
        assert_eq!(s.columns.original_column(1, 3), 3);
    }

    #[test]
    fn unset_variables_are_all_reported_with_line_and_column() {
        let text = "a: ${x}\n# ${ignored}\nb: \"${y}\"\nc: [${z}, ${long}]\nd: x${x}y ${host}\n";
        let s = substitute(text, "t.yaml", &env);
        let errs: Vec<&ConfigError> = s.issues.iter().map(|i| &i.error).collect();
        assert_eq!(errs.len(), 4);
        assert_eq!(errs[0].line, Some(1));
        assert_eq!(errs[0].column, Some(4));
        assert!(errs[0].message.contains("`x`"));
        assert_eq!(errs[1].line, Some(3));
        assert_eq!(errs[1].column, Some(5));
        assert_eq!(errs[1].kind, ErrorKind::UnsetVariable);
        // The rest of the file is still substituted; unset placeholders become empty values.
        assert_eq!(
            s.text,
            "a: \"\"\n# ${ignored}\nb: \"\"\nc: [\"\", abcdefghij]\nd: xy 10.0.0.1\n"
        );
        // Positions in the substituted text, to find the key path.
        assert_eq!((s.issues[2].line, s.issues[2].column), (4, 5));
        assert_eq!((s.issues[3].line, s.issues[3].column), (5, 5));
        assert_eq!(s.columns.original_column(4, 9), 11);
        assert_eq!(s.columns.original_column(5, 7), 11);
    }

    #[test]
    fn escapes_and_non_placeholders_are_left_alone() {
        let text = "a: $${host} $x ${1bad} ${open\nb: don't ${host}\n";
        let s = substitute(text, "t.yaml", &env);
        assert!(s.issues.is_empty());
        assert_eq!(s.text, "a: ${host} $x ${1bad} ${open\nb: don't 10.0.0.1\n");
    }

    #[test]
    fn hash_inside_quotes_is_not_a_comment() {
        let text = "a: \"x # ${host}\"\n";
        let s = substitute(text, "t.yaml", &env);
        assert!(s.issues.is_empty());
        assert_eq!(s.text, "a: \"x # 10.0.0.1\"\n");
    }
}
