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

    /// True when `priv_` is granted globally, under its name or a name that serves for it
    /// ([`equivalents`]: MariaDB ≥ 10.5 prints `BINLOG MONITOR` for `REPLICATION CLIENT`).
    pub fn has_global(&self, priv_: &str) -> bool {
        self.global.contains("ALL PRIVILEGES")
            || equivalents(priv_).iter().any(|p| self.global.contains(*p))
    }

    /// DM's `replication_privilege`: the global privileges binlog replication needs that
    /// the account lacks (`REPLICATION SLAVE` to stream the binlog, `REPLICATION CLIENT` to
    /// read positions and list the files).
    pub fn missing_replication(&self) -> Vec<&'static str> {
        ["REPLICATION SLAVE", "REPLICATION CLIENT"]
            .into_iter()
            .filter(|p| !self.has_global(p))
            .collect()
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

/// The privilege names that grant what `priv_` names, itself first.
///
/// - MariaDB 10.5.2 renamed `REPLICATION CLIENT` to `BINLOG MONITOR` (the old name is an
///   alias, `SHOW GRANTS` prints the new one); `SUPER` also allows `SHOW MASTER STATUS` (DM
///   accepts it for `REPLICATION CLIENT`).
/// - `REPLICATION REPLICA` is MariaDB's (10.5.1+) alias of `REPLICATION SLAVE`;
///   `REPLICA MONITOR` (10.5.9+) of `SLAVE MONITOR`.
/// - Aurora's own privileges (`LOAD FROM S3`, `SELECT INTO S3`, `INVOKE LAMBDA`, ...) are
///   kept under their names and grant nothing Ferry needs.
pub fn equivalents(priv_: &str) -> Vec<&str> {
    match priv_ {
        "REPLICATION CLIENT" | "BINLOG MONITOR" => {
            vec!["REPLICATION CLIENT", "BINLOG MONITOR", "SUPER"]
        }
        "REPLICATION SLAVE" | "REPLICATION REPLICA" => {
            vec!["REPLICATION SLAVE", "REPLICATION REPLICA"]
        }
        "SLAVE MONITOR" | "REPLICA MONITOR" => vec!["SLAVE MONITOR", "REPLICA MONITOR"],
        other => vec![other],
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

    #[test]
    fn mariadb_10_11_names_serve_for_replication() {
        // A MariaDB 10.11 user granted `RELOAD, REPLICATION CLIENT, REPLICATION SLAVE`
        // (SHOW GRANTS prints the 10.5 names), plus the new admin privileges.
        let g = Grants::parse(&[
            "GRANT RELOAD, BINLOG MONITOR, REPLICATION SLAVE, SLAVE MONITOR, REPLICATION SLAVE ADMIN, BINLOG ADMIN ON *.* TO `ferry`@`%` IDENTIFIED BY PASSWORD '*AB12'",
            "GRANT SELECT, LOCK TABLES ON `shop`.* TO `ferry`@`%`",
        ]);
        assert!(
            g.missing_replication().is_empty(),
            "{:?}",
            g.missing_replication()
        );
        assert!(g.has_global("REPLICATION CLIENT"));
        assert!(g.has_global("BINLOG MONITOR"));
        assert!(g.has_global("REPLICA MONITOR"));
        assert!(g.has_global("RELOAD"));
        assert!(g.has_on_table("SELECT", "shop", "orders"));
        assert!(!g.has_on_table("SELECT", "other", "orders"));
        // Without BINLOG MONITOR, only REPLICATION CLIENT is missing; MariaDB's alias
        // `REPLICATION REPLICA` serves for REPLICATION SLAVE.
        let g = Grants::parse(&["GRANT REPLICATION REPLICA, BINLOG ADMIN ON *.* TO `r`@`%`"]);
        assert_eq!(g.missing_replication(), vec!["REPLICATION CLIENT"]);
        let g = Grants::parse(&["GRANT USAGE ON *.* TO `n`@`%`"]);
        assert_eq!(
            g.missing_replication(),
            vec!["REPLICATION SLAVE", "REPLICATION CLIENT"]
        );
        // DM accepts SUPER for REPLICATION CLIENT (SHOW MASTER STATUS).
        let g = Grants::parse(&["GRANT SUPER, REPLICATION SLAVE ON *.* TO `s`@`%`"]);
        assert!(g.missing_replication().is_empty());
    }

    #[test]
    fn aurora_grants_parse_and_keep_the_standard_ones() {
        // Aurora MySQL 2: Aurora's own privileges in the global list, no SUPER.
        let g = Grants::parse(&[
            "GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, RELOAD, PROCESS, REFERENCES, INDEX, ALTER, SHOW DATABASES, CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE, REPLICATION SLAVE, REPLICATION CLIENT, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, CREATE USER, EVENT, TRIGGER, LOAD FROM S3, SELECT INTO S3, INVOKE LAMBDA ON *.* TO 'admin'@'%' WITH GRANT OPTION",
        ]);
        assert!(g.missing_replication().is_empty());
        assert!(g.has_global("RELOAD"));
        assert!(g.has_global("LOAD FROM S3"));
        assert!(!g.has_global("SUPER"));
        assert!(g.roles.is_empty());
        // Aurora MySQL 3: dynamic privileges without spaces, and the rds_superuser_role
        // role (expanded by the precheck with SHOW GRANTS ... USING).
        let g = Grants::parse(&[
            "GRANT SELECT, RELOAD, PROCESS, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO `admin`@`%` WITH GRANT OPTION",
            "GRANT BACKUP_ADMIN,FLUSH_TABLES,ROLE_ADMIN,SYSTEM_VARIABLES_ADMIN ON *.* TO `admin`@`%` WITH GRANT OPTION",
            "GRANT `rds_superuser_role`@`%` TO `admin`@`%`",
        ]);
        assert!(g.has_global("FLUSH_TABLES"));
        assert!(g.has_global("ROLE_ADMIN"));
        assert!(g.missing_replication().is_empty());
        assert_eq!(g.roles, vec!["`rds_superuser_role`@`%`".to_string()]);
    }
}
