//! DM's `block-allow-list` (formerly `black-white-list`).

use super::pattern::{Pattern, PatternError};

/// Schemas that are never migrated, whatever the rules say.
pub const SYSTEM_SCHEMAS: &[&str] = &[
    "mysql",
    "information_schema",
    "performance_schema",
    "sys",
    "metrics_schema",
    "inspection_schema",
];

/// A compiled block-allow-list rule.
#[derive(Debug, Clone, Default)]
pub struct BlockAllowList {
    do_dbs: Vec<Pattern>,
    ignore_dbs: Vec<Pattern>,
    do_tables: Vec<(Pattern, Pattern)>,
    ignore_tables: Vec<(Pattern, Pattern)>,
}

impl BlockAllowList {
    /// Compiles the rule's four lists (`do-tables` / `ignore-tables` as `(db-name, tbl-name)`).
    pub fn new(
        do_dbs: &[String],
        ignore_dbs: &[String],
        do_tables: &[(String, String)],
        ignore_tables: &[(String, String)],
        case_sensitive: bool,
    ) -> Result<Self, PatternError> {
        let one = |v: &[String]| -> Result<Vec<Pattern>, PatternError> {
            v.iter().map(|p| Pattern::new(p, case_sensitive)).collect()
        };
        let two = |v: &[(String, String)]| -> Result<Vec<(Pattern, Pattern)>, PatternError> {
            v.iter()
                .map(|(d, t)| {
                    Ok((
                        Pattern::new(d, case_sensitive)?,
                        Pattern::new(t, case_sensitive)?,
                    ))
                })
                .collect()
        };
        Ok(Self {
            do_dbs: one(do_dbs)?,
            ignore_dbs: one(ignore_dbs)?,
            do_tables: two(do_tables)?,
            ignore_tables: two(ignore_tables)?,
        })
    }

    /// True when the table `schema.table` is to be migrated.
    pub fn allows_table(&self, schema: &str, table: &str) -> bool {
        if !self.allows_schema_level(schema) {
            return false;
        }
        if !self.do_tables.is_empty() {
            return self
                .do_tables
                .iter()
                .any(|(d, t)| d.matches(schema) && t.matches(table));
        }
        !self
            .ignore_tables
            .iter()
            .any(|(d, t)| d.matches(schema) && t.matches(table))
    }

    /// True when some table of `schema` may be migrated (used to pick schemas to scan).
    pub fn allows_schema(&self, schema: &str) -> bool {
        if !self.allows_schema_level(schema) {
            return false;
        }
        self.do_tables.is_empty() || self.do_tables.iter().any(|(d, _)| d.matches(schema))
    }

    fn allows_schema_level(&self, schema: &str) -> bool {
        if SYSTEM_SCHEMAS
            .iter()
            .any(|s| s.eq_ignore_ascii_case(schema))
        {
            return false;
        }
        if !self.do_dbs.is_empty() {
            return self.do_dbs.iter().any(|p| p.matches(schema));
        }
        !self.ignore_dbs.iter().any(|p| p.matches(schema))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    fn t(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn seed_rule_selects_exactly_one_table() {
        let r =
            BlockAllowList::new(&[], &[], &t(&[("test_db", "test_table")]), &[], false).unwrap();
        assert!(r.allows_table("test_db", "test_table"));
        assert!(!r.allows_table("test_db", "other"));
        assert!(!r.allows_table("other", "test_table"));
        assert!(r.allows_schema("test_db"));
        assert!(!r.allows_schema("other"));
    }

    #[test]
    fn dm_doc_example() {
        let r = BlockAllowList::new(
            &s(&["~^test.*", "user"]),
            &s(&["mysql", "account"]),
            &[],
            &t(&[("user", "log")]),
            false,
        )
        .unwrap();
        assert!(r.allows_table("test_1", "a"));
        assert!(r.allows_table("user", "profile"));
        assert!(!r.allows_table("user", "log"));
        assert!(!r.allows_table("account", "a"), "not in do-dbs");
        assert!(!r.allows_table("mysql", "user"), "system schema");
    }

    #[test]
    fn ignore_dbs_apply_only_without_do_dbs() {
        let r = BlockAllowList::new(&[], &s(&["tmp_*"]), &[], &[], false).unwrap();
        assert!(!r.allows_table("tmp_1", "a"));
        assert!(r.allows_table("prod", "a"));
        assert!(!r.allows_table("information_schema", "tables"));
    }

    #[test]
    fn case_sensitivity() {
        let r = BlockAllowList::new(&s(&["Shop"]), &[], &[], &[], true).unwrap();
        assert!(r.allows_table("Shop", "a"));
        assert!(!r.allows_table("shop", "a"));
        let r = BlockAllowList::new(&s(&["Shop"]), &[], &[], &[], false).unwrap();
        assert!(r.allows_table("shop", "a"));
    }
}
