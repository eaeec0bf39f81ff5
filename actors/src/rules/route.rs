//! DM's table routing (`routes`): rename schemas and tables on their way downstream.

use ferry_model::TableName;

use super::pattern::{Pattern, PatternError};

/// A table matches more than one routing rule (DM forbids it).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("table {table} matches more than one routing rule: {rules:?}")]
pub struct RouteError {
    /// The upstream table.
    pub table: String,
    /// Names of the rules that match it.
    pub rules: Vec<String>,
}

#[derive(Debug, Clone)]
struct Rule {
    name: String,
    schema: Pattern,
    table: Option<Pattern>,
    target_schema: String,
    target_table: Option<String>,
}

/// Compiled routing rules of one task instance.
#[derive(Debug, Clone, Default)]
pub struct Router {
    rules: Vec<Rule>,
}

/// One routing rule as written: name, schema-pattern, table-pattern, target-schema, target-table.
pub struct RouteSpec<'a> {
    /// Rule name (for error messages).
    pub name: &'a str,
    /// `schema-pattern`.
    pub schema_pattern: &'a str,
    /// `table-pattern` (empty: a schema-level rule).
    pub table_pattern: &'a str,
    /// `target-schema`.
    pub target_schema: &'a str,
    /// `target-table` (empty: keep the table name).
    pub target_table: &'a str,
}

impl Router {
    /// Compiles routing rules.
    pub fn new(specs: &[RouteSpec<'_>], case_sensitive: bool) -> Result<Self, PatternError> {
        let mut rules = Vec::with_capacity(specs.len());
        for s in specs {
            rules.push(Rule {
                name: s.name.to_string(),
                schema: Pattern::new(s.schema_pattern, case_sensitive)?,
                table: if s.table_pattern.is_empty() {
                    None
                } else {
                    Some(Pattern::new(s.table_pattern, case_sensitive)?)
                },
                target_schema: s.target_schema.to_string(),
                target_table: (!s.target_table.is_empty()).then(|| s.target_table.to_string()),
            });
        }
        Ok(Self { rules })
    }

    /// The downstream name of an upstream table. A table-level rule wins over a schema-level
    /// one; a table matching two rules of the same level is an error.
    pub fn route(&self, up: &TableName) -> Result<TableName, RouteError> {
        let table_rules: Vec<&Rule> = self
            .rules
            .iter()
            .filter(|r| r.schema.matches(&up.schema))
            .filter(|r| r.table.as_ref().is_some_and(|t| t.matches(&up.table)))
            .collect();
        let chosen = if table_rules.is_empty() {
            let schema_rules: Vec<&Rule> = self
                .rules
                .iter()
                .filter(|r| r.table.is_none() && r.schema.matches(&up.schema))
                .collect();
            one_of(up, schema_rules)?
        } else {
            one_of(up, table_rules)?
        };
        Ok(match chosen {
            None => up.clone(),
            Some(r) => TableName::new(
                if r.target_schema.is_empty() {
                    up.schema.clone()
                } else {
                    r.target_schema.clone()
                },
                r.target_table.clone().unwrap_or_else(|| up.table.clone()),
            ),
        })
    }

    /// The downstream name of an upstream schema (schema-level rules only).
    pub fn route_schema(&self, schema: &str) -> String {
        self.rules
            .iter()
            .find(|r| r.table.is_none() && r.schema.matches(schema))
            .map(|r| r.target_schema.clone())
            .unwrap_or_else(|| schema.to_string())
    }
}

fn one_of<'r>(up: &TableName, rules: Vec<&'r Rule>) -> Result<Option<&'r Rule>, RouteError> {
    match rules.len() {
        0 => Ok(None),
        1 => Ok(Some(rules[0])),
        _ => Err(RouteError {
            table: up.to_string(),
            rules: rules.iter().map(|r| r.name.clone()).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec<'a>(n: &'a str, sp: &'a str, tp: &'a str, ts: &'a str, tt: &'a str) -> RouteSpec<'a> {
        RouteSpec {
            name: n,
            schema_pattern: sp,
            table_pattern: tp,
            target_schema: ts,
            target_table: tt,
        }
    }

    #[test]
    fn shard_merge_example() {
        let r = Router::new(
            &[
                spec("rule-1", "test_*", "t_*", "test", "t"),
                spec("rule-2", "test_*", "", "test", ""),
            ],
            false,
        )
        .unwrap();
        assert_eq!(
            r.route(&TableName::new("test_1", "t_9")).unwrap(),
            TableName::new("test", "t")
        );
        assert_eq!(
            r.route(&TableName::new("test_1", "other")).unwrap(),
            TableName::new("test", "other")
        );
        assert_eq!(
            r.route(&TableName::new("prod", "t_1")).unwrap(),
            TableName::new("prod", "t_1")
        );
        assert_eq!(r.route_schema("test_2"), "test");
    }

    #[test]
    fn ambiguous_rules_are_an_error() {
        let r = Router::new(
            &[
                spec("a", "db", "t*", "x", ""),
                spec("b", "db", "t1", "y", ""),
            ],
            false,
        )
        .unwrap();
        let e = r.route(&TableName::new("db", "t1")).unwrap_err();
        assert_eq!(e.rules, vec!["a".to_string(), "b".to_string()]);
    }
}
