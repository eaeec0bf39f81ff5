//! Tests of the schema model, by area: `show_create` (definitions as the servers print
//! them, and the stored form), `create_alter`, `rename_drop`, `errors`, `names_and_modes`
//! (identifiers, `lower_case_table_names`, `sql_mode`), `dialect_forms` (JSON operators,
//! versioned comments, MariaDB's forms).

mod create_alter;
mod dialect_forms;
mod errors;
mod names_and_modes;
mod rename_drop;
mod show_create;

use ferry_model::TableName;

use super::model::*;

fn m() -> ParseMode {
    ParseMode::default()
}

fn tn(s: &str, t: &str) -> TableName {
    TableName::new(s, t)
}

fn all(_: &TableName) -> bool {
    true
}

fn types(t: &TableSchema) -> Vec<(&str, &str)> {
    t.columns
        .iter()
        .map(|c| (c.name.as_str(), c.data_type.as_str()))
        .collect()
}

fn names(t: &TableSchema) -> Vec<&str> {
    t.columns.iter().map(|c| c.name.as_str()).collect()
}

fn key<'a>(t: &'a TableSchema, name: &str) -> &'a KeySchema {
    t.key(name)
        .unwrap_or_else(|| panic!("no key {name} in {:?}", t.keys))
}

fn col<'a>(t: &'a TableSchema, name: &str) -> &'a ColumnSchema {
    t.column(name)
        .unwrap_or_else(|| panic!("no column {name} in {:?}", names(t)))
        .1
}

fn parts(k: &KeySchema) -> Vec<Option<&str>> {
    k.columns.iter().map(|c| c.as_deref()).collect()
}

/// A set with `d.t` created from `sql`.
fn with(sql: &str) -> SchemaSet {
    let mut s = SchemaSet::new(false);
    let ch = s.apply(sql, "d", m(), &all).unwrap();
    assert_eq!(ch.len(), 1, "{ch:?}");
    s
}

fn alter(s: &mut SchemaSet, sql: &str) -> Vec<SchemaChange> {
    s.apply(sql, "d", m(), &all)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn t<'a>(s: &'a SchemaSet, name: &str) -> &'a TableSchema {
    s.get(&tn("d", name))
        .unwrap_or_else(|| panic!("no table {name}"))
}
