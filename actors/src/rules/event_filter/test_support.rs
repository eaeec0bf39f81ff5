//! Helpers shared by the event filter's unit tests.

use ferry_config::enums::FilterAction;
use ferry_config::BinlogEventRule;

use super::EventFilter;

pub(super) fn rule(
    schema: &str,
    table: &str,
    events: &[&str],
    sql: &[&str],
    action: FilterAction,
) -> BinlogEventRule {
    BinlogEventRule {
        schema_pattern: schema.into(),
        table_pattern: table.into(),
        events: events.iter().map(|s| s.to_string()).collect(),
        sql_pattern: sql.iter().map(|s| s.to_string()).collect(),
        action: Some(action),
    }
}

pub(super) fn filter(rules: &[(&str, BinlogEventRule)], case_sensitive: bool) -> EventFilter {
    let named: Vec<(&str, &BinlogEventRule)> = rules.iter().map(|(n, r)| (*n, r)).collect();
    EventFilter::new(&named, case_sensitive).unwrap()
}

pub(super) fn compile_err(r: BinlogEventRule) -> String {
    EventFilter::new(&[("bad-rule", &r)], false)
        .unwrap_err()
        .to_string()
}
