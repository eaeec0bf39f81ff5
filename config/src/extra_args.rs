//! `mydumpers.*.extra-args`: the dumpling command-line arguments DM passes through.
//!
//! Ferry understands `--consistency none|flush|lock|snapshot|auto` (the Aurora guide uses
//! `--consistency none`), `--where`, `-r/--rows` and `--snapshot`; words are split like a
//! shell does (quotes, backslash). Other arguments are kept in
//! [`DumpExtraArgs::unknown`] and produce a warning at load time, not an error.

use std::fmt;

/// `--consistency` of the dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Consistency {
    /// No lock and no snapshot; the start position is read after connecting (Aurora).
    None,
    /// `FLUSH TABLES WITH READ LOCK` while snapshots open.
    Flush,
    /// `LOCK TABLES … READ` while snapshots open.
    Lock,
    /// A TiDB snapshot (TiDB upstreams).
    Snapshot,
    /// `flush` for MySQL, `snapshot` for TiDB (dumpling's default).
    Auto,
}

impl Consistency {
    /// Dumpling's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Consistency::None => "none",
            Consistency::Flush => "flush",
            Consistency::Lock => "lock",
            Consistency::Snapshot => "snapshot",
            Consistency::Auto => "auto",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        Some(match text.to_ascii_lowercase().as_str() {
            "none" => Consistency::None,
            "flush" => Consistency::Flush,
            "lock" => Consistency::Lock,
            "snapshot" => Consistency::Snapshot,
            "auto" => Consistency::Auto,
            _ => return None,
        })
    }
}

impl fmt::Display for Consistency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The understood parts of `extra-args`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DumpExtraArgs {
    /// `--consistency`.
    pub consistency: Option<Consistency>,
    /// `--where`.
    pub r#where: Option<String>,
    /// `-r` / `--rows`.
    pub rows: Option<u64>,
    /// `--snapshot` (a TSO or a time, for TiDB upstreams).
    pub snapshot: Option<String>,
    /// Arguments Ferry does not use, in order.
    pub unknown: Vec<String>,
}

/// A malformed `extra-args`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtraArgsError {
    /// A quote is not closed.
    #[error("unterminated quote in extra-args")]
    UnterminatedQuote,
    /// A flag needs a value and has none.
    #[error("`{0}` needs a value")]
    MissingValue(String),
    /// `--consistency` has an unknown value.
    #[error("invalid --consistency `{0}`: expected one of none, flush, lock, snapshot, auto")]
    BadConsistency(String),
    /// `--rows` is not a positive number.
    #[error("invalid --rows `{0}`: expected a positive number")]
    BadRows(String),
}

/// Splits `text` into words like a POSIX shell (single quotes, double quotes, backslash).
pub fn split_words(text: &str) -> Result<Vec<String>, ExtraArgsError> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(x) => current.push(x),
                        None => return Err(ExtraArgsError::UnterminatedQuote),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(x @ ('"' | '\\' | '$' | '`')) => current.push(x),
                            Some(x) => {
                                current.push('\\');
                                current.push(x);
                            }
                            None => return Err(ExtraArgsError::UnterminatedQuote),
                        },
                        Some(x) => current.push(x),
                        None => return Err(ExtraArgsError::UnterminatedQuote),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(x) = chars.next() {
                    current.push(x);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                current.push(c);
            }
        }
    }
    if in_word {
        words.push(current);
    }
    Ok(words)
}

/// Parses `extra-args`.
pub fn parse_extra_args(text: &str) -> Result<DumpExtraArgs, ExtraArgsError> {
    let words = split_words(text)?;
    let mut out = DumpExtraArgs::default();
    let mut i = 0;
    while i < words.len() {
        let word = &words[i];
        // (flag name, inline value) for `--flag=value`, `-rN`.
        let (flag, inline): (&str, Option<&str>) = if let Some(rest) = word.strip_prefix("--") {
            match rest.split_once('=') {
                Some((f, v)) => (f, Some(v)),
                None => (rest, None),
            }
        } else if let Some(rest) = word.strip_prefix("-r") {
            ("rows", if rest.is_empty() { None } else { Some(rest) })
        } else {
            out.unknown.push(word.clone());
            i += 1;
            continue;
        };
        let known = matches!(flag, "consistency" | "where" | "rows" | "snapshot");
        if !known {
            out.unknown.push(word.clone());
            i += 1;
            continue;
        }
        let value = match inline {
            Some(v) => v.to_string(),
            None => {
                i += 1;
                match words.get(i) {
                    Some(v) => v.clone(),
                    None => return Err(ExtraArgsError::MissingValue(word.clone())),
                }
            }
        };
        match flag {
            "consistency" => {
                out.consistency =
                    Some(Consistency::parse(&value).ok_or(ExtraArgsError::BadConsistency(value))?);
            }
            "where" => out.r#where = Some(value),
            "rows" => {
                let rows: u64 = value
                    .parse()
                    .ok()
                    .filter(|&r| r > 0)
                    .ok_or(ExtraArgsError::BadRows(value))?;
                out.rows = Some(rows);
            }
            _ => out.snapshot = Some(value),
        }
        i += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consistency_forms() {
        let a = parse_extra_args("--consistency none").unwrap();
        assert_eq!(a.consistency, Some(Consistency::None));
        assert!(a.unknown.is_empty());
        let a = parse_extra_args("--consistency=LOCK").unwrap();
        assert_eq!(a.consistency, Some(Consistency::Lock));
        for (t, c) in [
            ("flush", Consistency::Flush),
            ("snapshot", Consistency::Snapshot),
            ("auto", Consistency::Auto),
        ] {
            assert_eq!(
                parse_extra_args(&format!("--consistency {t}"))
                    .unwrap()
                    .consistency,
                Some(c)
            );
        }
        assert_eq!(
            parse_extra_args("--consistency bogus"),
            Err(ExtraArgsError::BadConsistency("bogus".into()))
        );
        assert_eq!(
            parse_extra_args("--consistency"),
            Err(ExtraArgsError::MissingValue("--consistency".into()))
        );
    }

    #[test]
    fn where_rows_and_unknown() {
        let a = parse_extra_args(
            r#"--where "id > 10 and name = 'x'" -r 1000 --no-views -F 256MiB --snapshot=42"#,
        )
        .unwrap();
        assert_eq!(a.r#where.as_deref(), Some("id > 10 and name = 'x'"));
        assert_eq!(a.rows, Some(1000));
        assert_eq!(a.snapshot.as_deref(), Some("42"));
        assert_eq!(a.unknown, vec!["--no-views", "-F", "256MiB"]);
        assert_eq!(parse_extra_args("-r5").unwrap().rows, Some(5));
        assert_eq!(parse_extra_args("--rows=7").unwrap().rows, Some(7));
        assert!(matches!(
            parse_extra_args("--rows x"),
            Err(ExtraArgsError::BadRows(_))
        ));
        assert_eq!(parse_extra_args("").unwrap(), DumpExtraArgs::default());
        assert_eq!(
            parse_extra_args("--where 'open"),
            Err(ExtraArgsError::UnterminatedQuote)
        );
    }

    #[test]
    fn shell_words() {
        assert_eq!(
            split_words(r#"a "b c" 'd e' f\ g "h\"i""#).unwrap(),
            vec!["a", "b c", "d e", "f g", "h\"i"]
        );
        assert_eq!(split_words("  ").unwrap(), Vec::<String>::new());
        assert_eq!(split_words("''").unwrap(), vec![""]);
    }
}
