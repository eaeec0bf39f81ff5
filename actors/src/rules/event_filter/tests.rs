//! Unit tests of [`EventFilter::decide`]: rule applicability, actions and precedence, with
//! the examples of DM's documentation.

use ferry_config::enums::FilterAction;

use super::test_support::{filter, rule};
use super::{Decision, EventFilter, EventType as E};

#[test]
fn no_rules_keeps_everything() {
    let f = EventFilter::default();
    assert!(f.is_empty());
    assert_eq!(
        f.decide("a", "b", E::DropTable, Some("DROP TABLE b")),
        Decision::Do
    );
}

/// DM docs: "filter out all deletion operations in sharded tables".
#[test]
fn docs_ignore_deletes_and_drops_in_shards() {
    let f = filter(
        &[
            (
                "filter-table-rule",
                rule(
                    "test_*",
                    "t_*",
                    &["truncate table", "drop table", "delete"],
                    &[],
                    FilterAction::Ignore,
                ),
            ),
            (
                "filter-schema-rule",
                rule("test_*", "", &["drop database"], &[], FilterAction::Ignore),
            ),
        ],
        false,
    );
    assert_eq!(f.decide("test_1", "t_1", E::Delete, None), Decision::Ignore);
    assert_eq!(
        f.decide("test_1", "t_1", E::TruncateTable, Some("TRUNCATE t_1")),
        Decision::Ignore
    );
    assert_eq!(f.decide("test_1", "t_1", E::Insert, None), Decision::Do);
    assert_eq!(f.decide("test_1", "x_1", E::Delete, None), Decision::Do);
    assert_eq!(
        f.decide("test_1", "", E::DropDatabase, Some("DROP DATABASE test_1")),
        Decision::Ignore
    );
    assert_eq!(f.decide("prod", "t_1", E::Delete, None), Decision::Do);
    // The schema-level rule also applies to tables of matching schemas.
    assert_eq!(
        f.decide("test_1", "x", E::DropDatabase, None),
        Decision::Ignore
    );
}

/// DM docs: "only migrate DML operations of sharded schemas".
#[test]
fn docs_do_only_dml() {
    let f = filter(
        &[
            (
                "do-table-rule",
                rule(
                    "test_*",
                    "t_*",
                    &["create table", "all dml"],
                    &[],
                    FilterAction::Do,
                ),
            ),
            (
                "do-schema-rule",
                rule("test_*", "", &["create database"], &[], FilterAction::Do),
            ),
        ],
        false,
    );
    assert_eq!(
        f.decide(
            "test_1",
            "",
            E::CreateDatabase,
            Some("CREATE DATABASE test_1")
        ),
        Decision::Do
    );
    assert_eq!(
        f.decide("test_1", "", E::DropDatabase, Some("DROP DATABASE test_1")),
        Decision::Ignore
    );
    // Both rules apply to a table event: the schema rule's `Do` only keeps `create database`.
    assert_eq!(f.decide("test_1", "t_1", E::Insert, None), Decision::Ignore);
    let only_table = filter(
        &[(
            "do-table-rule",
            rule(
                "test_*",
                "t_*",
                &["create table", "all dml"],
                &[],
                FilterAction::Do,
            ),
        )],
        false,
    );
    assert_eq!(
        only_table.decide("test_1", "t_1", E::Insert, None),
        Decision::Do
    );
    assert_eq!(
        only_table.decide("test_1", "t_1", E::Update, None),
        Decision::Do
    );
    assert_eq!(
        only_table.decide(
            "test_1",
            "t_1",
            E::CreateTable,
            Some("CREATE TABLE t_1 (a int)")
        ),
        Decision::Do
    );
    assert_eq!(
        only_table.decide(
            "test_1",
            "t_1",
            E::AlterTable,
            Some("ALTER TABLE t_1 ENGINE=x")
        ),
        Decision::Ignore
    );
    assert_eq!(
        only_table.decide("test_1", "u", E::AlterTable, None),
        Decision::Do
    );
}

/// DM docs: "filter out SQL statements that TiDB does not support" (procedures).
#[test]
fn docs_sql_pattern_on_unparsed_sql() {
    let f = filter(
        &[(
            "filter-procedure-rule",
            rule(
                "*",
                "",
                &[],
                &["^DROP\\s+PROCEDURE", "^CREATE\\s+PROCEDURE"],
                FilterAction::Ignore,
            ),
        )],
        false,
    );
    assert_eq!(
        f.decide(
            "",
            "",
            E::Unclassified,
            Some("create procedure p() begin end")
        ),
        Decision::Ignore
    );
    assert_eq!(
        f.decide("", "", E::Unclassified, Some("DROP  PROCEDURE p")),
        Decision::Ignore
    );
    assert_eq!(
        f.decide("", "", E::Unclassified, Some("ALTER PROCEDURE p")),
        Decision::Do
    );
    // A rule on a named schema never sees SQL without schema.
    let named = filter(
        &[("r", rule("db", "", &["all"], &["."], FilterAction::Ignore))],
        false,
    );
    assert_eq!(
        named.decide("", "", E::Unclassified, Some("whatever")),
        Decision::Do
    );
    // `*` also matches the empty table name, so a `*`/`*` rule sees schema-less SQL too.
    let star = filter(
        &[(
            "r",
            rule("*", "*", &[], &["^GARBAGE"], FilterAction::Ignore),
        )],
        false,
    );
    assert_eq!(
        star.decide("", "", E::Unclassified, Some("garbage here")),
        Decision::Ignore
    );
}

#[test]
fn sql_pattern_is_case_insensitive_and_unanchored() {
    let f = filter(
        &[(
            "no-fk",
            rule("db", "*", &[], &["foreign\\s+key"], FilterAction::Ignore),
        )],
        true,
    );
    let sql = "ALTER TABLE t ADD CONSTRAINT c FOREIGN KEY (a) REFERENCES u(a)";
    assert_eq!(
        f.decide("db", "t", E::AddForeignKey, Some(sql)),
        Decision::Ignore
    );
    assert_eq!(
        f.decide("db", "t", E::AddColumn, Some("ALTER TABLE t ADD b int")),
        Decision::Do
    );
    // Row events carry no SQL: sql-pattern never matches them.
    assert_eq!(f.decide("db", "t", E::Insert, None), Decision::Do);
    assert_eq!(f.decide("db", "t", E::Insert, Some("")), Decision::Do);
}

#[test]
fn do_requires_both_events_and_sql() {
    let f = filter(
        &[(
            "r",
            rule("db", "t", &["all ddl"], &["^ALTER"], FilterAction::Do),
        )],
        false,
    );
    assert_eq!(
        f.decide("db", "t", E::AddColumn, Some("alter table t add c int")),
        Decision::Do
    );
    assert_eq!(
        f.decide("db", "t", E::DropTable, Some("DROP TABLE t")),
        Decision::Ignore
    );
    assert_eq!(f.decide("db", "t", E::Insert, None), Decision::Ignore);
    // An unclassified DDL skips the events check but not the SQL check.
    assert_eq!(
        f.decide("db", "t", E::Unclassified, Some("ALTER something")),
        Decision::Do
    );
    assert_eq!(
        f.decide("db", "t", E::Unclassified, Some("CREATE something")),
        Decision::Ignore
    );
    // A `Do` rule with no events drops every classified event.
    let empty = filter(&[("r", rule("db", "", &[], &[], FilterAction::Do))], false);
    assert_eq!(empty.decide("db", "t", E::Insert, None), Decision::Ignore);
    assert_eq!(
        empty.decide("db", "t", E::Unclassified, Some("x")),
        Decision::Do
    );
}

#[test]
fn error_action() {
    let f = filter(
        &[(
            "no-drops",
            rule(
                "db",
                "*",
                &["drop table", "truncate table"],
                &[],
                FilterAction::Error,
            ),
        )],
        false,
    );
    assert_eq!(
        f.decide("db", "t", E::DropTable, Some("DROP TABLE t")),
        Decision::Error("no-drops".into())
    );
    assert_eq!(f.decide("db", "t", E::Insert, None), Decision::Do);
}

#[test]
fn precedence_ignore_error_do() {
    let keep = ("keep", rule("db", "*", &["all"], &[], FilterAction::Do));
    let err = (
        "err",
        rule("db", "", &["drop table"], &[], FilterAction::Error),
    );
    let err2 = (
        "err2",
        rule("*", "t", &["all ddl"], &[], FilterAction::Error),
    );
    let ign = (
        "ign",
        rule(
            "d?",
            "t",
            &["incompatible ddl changes"],
            &[],
            FilterAction::Ignore,
        ),
    );
    let f = filter(
        &[keep.clone(), err.clone(), err2.clone(), ign.clone()],
        false,
    );
    assert_eq!(f.decide("db", "t", E::DropTable, None), Decision::Ignore);
    assert_eq!(
        f.decide("db", "u", E::DropTable, None),
        Decision::Error("err".into())
    );
    assert_eq!(
        f.decide("db", "t", E::CreateTable, None),
        Decision::Error("err2".into())
    );
    assert_eq!(f.decide("db", "t", E::Insert, None), Decision::Do);
    // Order of rules does not change the outcome.
    let g = filter(&[ign, err2, err, keep], false);
    assert_eq!(g.decide("db", "t", E::DropTable, None), Decision::Ignore);
    assert_eq!(
        g.decide("db", "u", E::DropTable, None),
        Decision::Error("err".into())
    );
    // A `Do` rule's drop outranks an `Error` rule.
    let h = filter(
        &[
            ("err", rule("db", "*", &["all"], &[], FilterAction::Error)),
            (
                "only-dml",
                rule("db", "*", &["all dml"], &[], FilterAction::Do),
            ),
        ],
        false,
    );
    assert_eq!(h.decide("db", "t", E::DropTable, None), Decision::Ignore);
    assert_eq!(
        h.decide("db", "t", E::Insert, None),
        Decision::Error("err".into())
    );
}

#[test]
fn case_sensitivity_and_regex_patterns() {
    let r = || {
        vec![(
            "r",
            rule("Test_*", "T?", &["insert"], &[], FilterAction::Ignore),
        )]
    };
    let ci = filter(&r(), false);
    assert_eq!(ci.decide("TEST_1", "t1", E::Insert, None), Decision::Ignore);
    let cs = filter(&r(), true);
    assert_eq!(cs.decide("TEST_1", "t1", E::Insert, None), Decision::Do);
    assert_eq!(cs.decide("Test_1", "T1", E::Insert, None), Decision::Ignore);
    let re = filter(
        &[(
            "r",
            rule(
                "~^shard_\\d+$",
                "~^log",
                &["all"],
                &[],
                FilterAction::Ignore,
            ),
        )],
        false,
    );
    assert_eq!(
        re.decide("SHARD_12", "log_2024", E::Update, None),
        Decision::Ignore
    );
    assert_eq!(re.decide("shard_x", "log", E::Update, None), Decision::Do);
}
