//! Checks of schema/table patterns and regexes as DM accepts them.
//!
//! DM's regexes are Go RE2: no lookaround, no backreference. Rust's `regex` crate has the
//! same limits, so a pattern that compiles here compiles in DM; the two unsupported
//! features get a clearer message than the regex parser's.

/// Checks a regex (RE2 syntax). Returns the problem.
pub fn check_regex(text: &str) -> Result<(), String> {
    for look in ["(?=", "(?!", "(?<=", "(?<!"] {
        if text.contains(look) {
            return Err(format!(
                "regex `{text}` uses the lookaround `{look}…)`, which RE2 syntax does not support"
            ));
        }
    }
    let bytes = text.as_bytes();
    for w in bytes.windows(2) {
        if w[0] == b'\\' && w[1].is_ascii_digit() && w[1] != b'0' {
            return Err(format!(
                "regex `{text}` uses a backreference, which RE2 syntax does not support"
            ));
        }
    }
    regex::Regex::new(text)
        .map(|_| ())
        .map_err(|e| format!("invalid regex `{text}`: {}", first_line(&e.to_string())))
}

fn first_line(s: &str) -> String {
    // The regex crate's messages span several lines (with a caret); keep them one-line.
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Checks a block/allow-list name: `~regex` or a wildcard (anything).
pub fn check_ba_pattern(text: &str) -> Result<(), String> {
    match text.strip_prefix('~') {
        Some(re) => check_regex(re),
        None => Ok(()),
    }
}

/// Checks a `schema-pattern` / `table-pattern` of a route or binlog event filter (DM's
/// table selector): `~regex`, or a wildcard where `*` may only appear once, at the end.
pub fn check_selector_pattern(text: &str) -> Result<(), String> {
    if let Some(re) = text.strip_prefix('~') {
        return check_regex(re);
    }
    let stars = text.matches('*').count();
    if stars > 1 || (stars == 1 && !text.ends_with('*')) {
        return Err(format!(
            "pattern `{text}`: `*` is only supported once, as the last character"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regexes() {
        assert!(check_regex("^test.*").is_ok());
        assert!(check_regex("^_(.+)_(?:pcnew)$").is_ok());
        let e = check_regex("^t(?!mp)").unwrap_err();
        assert!(e.contains("lookaround"), "{e}");
        assert!(check_regex("(?<=a)b").unwrap_err().contains("lookaround"));
        assert!(check_regex("(a)\\1").unwrap_err().contains("backreference"));
        let e = check_regex("a(b").unwrap_err();
        assert!(e.starts_with("invalid regex `a(b`"), "{e}");
        assert!(!e.contains('\n'));
    }

    #[test]
    fn selectors() {
        assert!(check_selector_pattern("test_*").is_ok());
        assert!(check_selector_pattern("t_?").is_ok());
        assert!(check_selector_pattern("").is_ok());
        assert!(check_selector_pattern("do*c").is_err());
        assert!(check_selector_pattern("a**").is_err());
        assert!(check_selector_pattern("~^a(").is_err());
        assert!(check_ba_pattern("~^test.*").is_ok());
        assert!(check_ba_pattern("~[").is_err());
        assert!(check_ba_pattern("a*b").is_ok());
    }
}
