//! DM's name patterns: wildcards (`*`, `?`, `[...]`) or, with a leading `~`, a regular expression.

use regex::Regex;

/// A pattern could not be compiled.
#[derive(Debug, thiserror::Error)]
#[error("invalid pattern `{pattern}`: {reason}")]
pub struct PatternError {
    /// The pattern as written.
    pub pattern: String,
    /// Why it is invalid.
    pub reason: String,
}

/// A compiled name pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    source: String,
    re: Regex,
}

impl Pattern {
    /// Compiles a DM pattern. `case_sensitive = false` matches names case-insensitively.
    pub fn new(pattern: &str, case_sensitive: bool) -> Result<Self, PatternError> {
        let body = match pattern.strip_prefix('~') {
            Some(re) => re.to_string(),
            None => wildcard_to_regex(pattern),
        };
        let full = if case_sensitive {
            body
        } else {
            format!("(?i:{body})")
        };
        let re = Regex::new(&full).map_err(|e| PatternError {
            pattern: pattern.to_string(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            source: pattern.to_string(),
            re,
        })
    }

    /// True when `name` matches.
    pub fn matches(&self, name: &str) -> bool {
        self.re.is_match(name)
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

/// Turns a shell-style wildcard into an anchored regular expression.
fn wildcard_to_regex(w: &str) -> String {
    let mut out = String::from("^");
    let mut chars = w.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            '[' => {
                let mut class = String::from("[");
                let mut closed = false;
                if chars.peek() == Some(&'!') {
                    chars.next();
                    class.push('^');
                }
                for d in chars.by_ref() {
                    if d == ']' {
                        closed = true;
                        break;
                    }
                    if d == '\\' {
                        class.push_str("\\\\");
                    } else {
                        class.push(d);
                    }
                }
                if closed {
                    class.push(']');
                    out.push_str(&class);
                } else {
                    out.push_str(&regex::escape(&class));
                }
            }
            _ => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    out.push('$');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_are_anchored() {
        let p = Pattern::new("test_*", true).unwrap();
        assert!(p.matches("test_1"));
        assert!(p.matches("test_"));
        assert!(!p.matches("xtest_1"));
        let q = Pattern::new("t?[0-9]", true).unwrap();
        assert!(q.matches("ta7"));
        assert!(!q.matches("ta77"));
        let dot = Pattern::new("a.b", true).unwrap();
        assert!(!dot.matches("axb"));
    }

    #[test]
    fn regex_patterns_and_case() {
        let p = Pattern::new("~^test.*", true).unwrap();
        assert!(p.matches("test_db"));
        assert!(p.matches("testing"));
        assert!(!p.matches("TEST"));
        assert!(Pattern::new("~^test.*", false).unwrap().matches("TEST"));
        assert!(Pattern::new("~(", true).is_err());
    }
}
