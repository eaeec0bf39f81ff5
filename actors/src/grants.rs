//! `SHOW GRANTS` parsing, for the prechecks (pure).

use std::collections::HashSet;

/// Privileges of one account, by scope.
#[derive(Debug, Default, Clone)]
pub struct Grants {
    global: HashSet<String>,
    /// (schema, privilege) of `db.*` grants (schema unquoted, may hold wildcards).
    schema: Vec<(String, String)>,
    /// (schema, table, privilege) of table grants.
    table: Vec<(String, String, String)>,
    /// Role grants we cannot expand (their privileges are unknown here).
    pub roles: Vec<String>,
}

fn unquote(s: &str) -> String {
    let t = s.trim();
    let t = t
        .strip_prefix('`')
        .and_then(|x| x.strip_suffix('`'))
        .unwrap_or(t);
    t.replace("``", "`")
}

/// Splits `a, b (x, y), c` at top-level commas.
fn split_privs(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '(' => {
                depth += 1;
                cur.push(c)
            }
            ')' => {
                depth -= 1;
                cur.push(c)
            }
            ',' if depth == 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
            }
            _ => cur.push(c),
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

impl Grants {
    /// Parses the lines of `SHOW GRANTS`.
    pub fn parse<S: AsRef<str>>(lines: &[S]) -> Self {
        let mut g = Grants::default();
        for line in lines {
            let line = line.as_ref().trim();
            let Some(rest) = line.strip_prefix("GRANT ") else {
                continue;
            };
            let Some(on) = rest.find(" ON ") else {
                // `GRANT role TO user`
                if let Some(to) = rest.find(" TO ") {
                    g.roles.push(rest[..to].trim().to_string());
                }
                continue;
            };
            let privs = &rest[..on];
            let after = &rest[on + 4..];
            let scope = after.split(" TO ").next().unwrap_or("").trim();
            let scope = scope.strip_prefix("TABLE ").unwrap_or(scope).trim();
            for p in split_privs(privs) {
                let p = p
                    .split('(')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_uppercase();
                let p = if p == "ALL" {
                    "ALL PRIVILEGES".to_string()
                } else {
                    p
                };
                if scope == "*.*" {
                    g.global.insert(p);
                } else if let Some(db) = scope.strip_suffix(".*") {
                    g.schema.push((unquote(db), p));
                } else if let Some((db, t)) = split_qualified(scope) {
                    g.table.push((db, t, p));
                }
            }
        }
        g
    }

    /// True when `priv_` is granted globally.
    pub fn has_global(&self, priv_: &str) -> bool {
        self.global.contains("ALL PRIVILEGES") || self.global.contains(priv_)
    }

    /// True when `priv_` is granted on `schema.table` at any level.
    pub fn has_on_table(&self, priv_: &str, schema: &str, table: &str) -> bool {
        if self.has_global(priv_) {
            return true;
        }
        let schema_ok = self
            .schema
            .iter()
            .any(|(db, p)| (p == priv_ || p == "ALL PRIVILEGES") && schema_matches(db, schema));
        schema_ok
            || self.table.iter().any(|(db, t, p)| {
                (p == priv_ || p == "ALL PRIVILEGES") && db == schema && t == table
            })
    }
}

/// Grant schema names may use `_` and `%` wildcards (and `\_` for a literal underscore).
fn schema_matches(pattern: &str, name: &str) -> bool {
    let mut re = String::from("^");
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    re.push_str(&regex::escape(&n.to_string()));
                }
            }
            '%' => re.push_str(".*"),
            '_' => re.push('.'),
            _ => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    regex::Regex::new(&re)
        .map(|r| r.is_match(name))
        .unwrap_or(false)
}

fn split_qualified(s: &str) -> Option<(String, String)> {
    // `db`.`t` where either part may contain dots inside backquotes
    if let Some(rest) = s.strip_prefix('`') {
        let mut i = 0;
        let b = rest.as_bytes();
        while i < b.len() {
            if b[i] == b'`' {
                if b.get(i + 1) == Some(&b'`') {
                    i += 2;
                    continue;
                }
                let db = rest[..i].replace("``", "`");
                let t = rest[i + 1..].strip_prefix('.')?;
                return Some((db, unquote(t)));
            }
            i += 1;
        }
        None
    } else {
        s.split_once('.').map(|(a, b)| (a.to_string(), unquote(b)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_global_schema_and_table_grants() {
        let g = Grants::parse(&[
            "GRANT SELECT, RELOAD, REPLICATION CLIENT ON *.* TO `u`@`%`",
            "GRANT ALL PRIVILEGES ON `shop\\_db`.* TO `u`@`%`",
            "GRANT SELECT (`a`, `b`), INSERT ON `x`.`t.1` TO `u`@`%`",
            "GRANT `dm_role`@`%` TO `u`@`%`",
        ]);
        assert!(g.has_global("RELOAD"));
        assert!(g.has_global("REPLICATION CLIENT"));
        assert!(!g.has_global("LOCK TABLES"));
        assert!(g.has_on_table("LOCK TABLES", "shop_db", "t"));
        assert!(!g.has_on_table("LOCK TABLES", "shopxdb", "t"));
        assert!(g.has_on_table("INSERT", "x", "t.1"));
        assert!(!g.has_on_table("INSERT", "x", "t2"));
        assert_eq!(g.roles, vec!["`dm_role`@`%`".to_string()]);
    }

    #[test]
    fn all_privileges_covers_everything() {
        let g = Grants::parse(&["GRANT ALL PRIVILEGES ON *.* TO `root`@`%` WITH GRANT OPTION"]);
        assert!(g.has_global("RELOAD"));
        assert!(g.has_on_table("SELECT", "a", "b"));
    }
}
