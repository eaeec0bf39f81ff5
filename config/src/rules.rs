//! Table selection and transformation rules: routes, binlog event filters, expression
//! filters, block/allow lists. Keys as in DM (`pkg/table-router`, `pkg/binlog-filter`,
//! `pkg/filter`, `dm/config/expression_filter.go`).

use serde::{Deserialize, Serialize};

use crate::enums::FilterAction;
use crate::yaml::null_as_default;

/// A table routing rule (`routes.NAME`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RouteRule {
    /// Upstream schema wildcard (`*` only at the end, `?`); required.
    #[serde(default, deserialize_with = "null_as_default")]
    pub schema_pattern: String,
    /// Upstream table wildcard; empty matches the schema itself (CREATE/DROP SCHEMA).
    #[serde(default, deserialize_with = "null_as_default")]
    pub table_pattern: String,
    /// Downstream schema.
    #[serde(default, deserialize_with = "null_as_default")]
    pub target_schema: String,
    /// Downstream table (empty keeps the upstream name).
    #[serde(default, deserialize_with = "null_as_default")]
    pub target_table: String,
    /// Writes part of the upstream table name into a column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extract_table: Option<TableExtractor>,
    /// Writes part of the upstream schema name into a column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extract_schema: Option<SchemaExtractor>,
    /// Writes part of the source id into a column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extract_source: Option<SourceExtractor>,
}

/// `extract-table` of a route.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TableExtractor {
    /// Regex over the table name; its first group is written.
    #[serde(default, deserialize_with = "null_as_default")]
    pub table_regexp: String,
    /// Downstream column (string type, last columns of the table).
    #[serde(default, deserialize_with = "null_as_default")]
    pub target_column: String,
}

/// `extract-schema` of a route.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SchemaExtractor {
    /// Regex over the schema name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub schema_regexp: String,
    /// Downstream column.
    #[serde(default, deserialize_with = "null_as_default")]
    pub target_column: String,
}

/// `extract-source` of a route.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SourceExtractor {
    /// Regex over the source id.
    #[serde(default, deserialize_with = "null_as_default")]
    pub source_regexp: String,
    /// Downstream column.
    #[serde(default, deserialize_with = "null_as_default")]
    pub target_column: String,
}

/// A binlog event filter rule (`filters.NAME` in task.yaml, `filters[i]` in source.yaml).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BinlogEventRule {
    /// Schema wildcard; required.
    #[serde(default, deserialize_with = "null_as_default")]
    pub schema_pattern: String,
    /// Table wildcard; empty matches schema-level events.
    #[serde(default, deserialize_with = "null_as_default")]
    pub table_pattern: String,
    /// Event types (see [`crate::defaults::FILTER_EVENTS`]).
    #[serde(default, deserialize_with = "null_as_default")]
    pub events: Vec<String>,
    /// Regexes over DDL text (case-insensitive).
    #[serde(default, deserialize_with = "null_as_default")]
    pub sql_pattern: Vec<String>,
    /// `Do`, `Ignore` or `Error`. When it is missing or invalid, DM logs an error and
    /// ignores the whole rule; so does Ferry, with a warning.
    #[serde(
        default,
        deserialize_with = "crate::soft::filter_action",
        skip_serializing_if = "Option::is_none"
    )]
    pub action: Option<FilterAction>,
}

/// A row-value filter (`expression-filter.NAME`): a matching row change is dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ExpressionFilter {
    /// Exact schema name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub schema: String,
    /// Exact table name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub table: String,
    /// SQL expression over an inserted row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insert_value_expr: Option<String>,
    /// SQL expression over the old row of an update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_old_value_expr: Option<String>,
    /// SQL expression over the new row of an update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_new_value_expr: Option<String>,
    /// SQL expression over a deleted row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_value_expr: Option<String>,
}

/// A block/allow list (`block-allow-list.NAME`). Names starting with `~` are regexes
/// (RE2 syntax), others are wildcards.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BaListRule {
    /// Schemas to replicate.
    #[serde(default, deserialize_with = "null_as_default")]
    pub do_dbs: Vec<String>,
    /// Schemas to skip (only when `do-dbs` is empty).
    #[serde(default, deserialize_with = "null_as_default")]
    pub ignore_dbs: Vec<String>,
    /// Tables to replicate.
    #[serde(default, deserialize_with = "null_as_default")]
    pub do_tables: Vec<TableRef>,
    /// Tables to skip.
    #[serde(default, deserialize_with = "null_as_default")]
    pub ignore_tables: Vec<TableRef>,
}

/// A table pattern of a block/allow list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TableRef {
    /// Schema name or pattern.
    #[serde(default, deserialize_with = "null_as_default")]
    pub db_name: String,
    /// Table name or pattern.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tbl_name: String,
}
