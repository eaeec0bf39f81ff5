//! Key paths (`a.b[0].c`): joining, parents, ancestry.

/// `a.b` + `c` → `a.b.c`; `` + `c` → `c`.
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// `a.b[0].c` → `a.b[0]` → `a.b` → `a` → ``; `` → None.
pub(crate) fn parent(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    let cut = path.rfind(['.', '[']).unwrap_or(0);
    Some(&path[..cut])
}

/// True when `path` is `base` or below it (`base.x`, `base[0]`). An empty base is nothing.
pub(crate) fn is_under(path: &str, base: &str) -> bool {
    !base.is_empty()
        && path
            .strip_prefix(base)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
}

/// `a.b[0][1]` → `a.b`: the key that holds a sequence item.
pub(super) fn holding_key(mut path: &str) -> &str {
    while path.ends_with(']') {
        match path.rfind('[') {
            Some(cut) => path = &path[..cut],
            None => break,
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_paths() {
        assert_eq!(parent("a.b[0].c"), Some("a.b[0]"));
        assert_eq!(parent("a.b[0]"), Some("a.b"));
        assert_eq!(parent("a"), Some(""));
        assert_eq!(parent(""), None);
    }
}
