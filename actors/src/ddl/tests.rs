use super::*;
use EventType as E;

fn tn(schema: &str, table: &str) -> TableName {
    TableName::new(schema, table)
}

fn ddl(sql: &str) -> Vec<DdlStmt> {
    match parse(sql, "db") {
        Ok(Parsed::Ddl(v)) => v,
        other => panic!("{sql}: {other:?}"),
    }
}

fn one(sql: &str) -> DdlStmt {
    let mut v = ddl(sql);
    assert_eq!(v.len(), 1, "{sql}");
    v.remove(0)
}

/// Renders with the upstream names (no routing).
fn same(s: &DdlStmt) -> String {
    s.render(|t| t.clone())
}

fn skip(sql: &str) -> SkipReason {
    match parse(sql, "db") {
        Ok(Parsed::Skip(r)) => r,
        other => panic!("{sql}: {other:?}"),
    }
}

fn err(sql: &str) -> DdlError {
    match parse(sql, "db") {
        Err(e) => e,
        Ok(p) => panic!("{sql}: {p:?}"),
    }
}

mod create_alter;
mod drop_rename;
mod names;
mod skips_errors;

/// No input panics: every prefix of real statements, and random token soup.
#[test]
fn never_panics() {
    let samples = [
        "CREATE TABLE IF NOT EXISTS `d`.`t` (`a` int COMMENT 'x''y', b int AS (a+1)) START TRANSACTION",
        "CREATE OR REPLACE TABLE t (LIKE u)",
        "ALTER TABLE t RENAME TO u, EXCHANGE PARTITION p WITH TABLE v",
        "DROP TABLE IF EXISTS a, b.c RESTRICT; ",
        "RENAME TABLE a WAIT 3 TO b, c NOWAIT TO d",
        "/*!40101 ALTER DATABASE DEFAULT CHARSET utf8 */",
        "CREATE UNIQUE INDEX i USING BTREE ON `表` (a)",
        "DROP INDEX IF EXISTS i ON t",
        "CREATE DEFINER=`r`@`%` TRIGGER x",
    ];
    let mut inputs: Vec<String> = Vec::new();
    for s in samples {
        for (i, _) in s.char_indices() {
            inputs.push(s[..i].to_string());
        }
    }
    let vocab = [
        "CREATE",
        "ALTER",
        "DROP",
        "RENAME",
        "TABLE",
        "DATABASE",
        "INDEX",
        "ON",
        "TO",
        "IF",
        "NOT",
        "EXISTS",
        "LIKE",
        "START",
        "TRANSACTION",
        "WITH",
        "(",
        ")",
        ",",
        ".",
        ";",
        "`",
        "`a``b`",
        "'s",
        "'x'",
        "/*",
        "*/",
        "/*!",
        "/*M!",
        "--",
        "#",
        "\n",
        "t",
        "é",
        "OR",
        "REPLACE",
        "SELECT",
        "AS",
        "DEFINER",
        "=",
        "@",
        "WAIT",
        "RENAME",
        "\\",
        "\"",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..20_000 {
        let mut s = String::new();
        for _ in 0..(seed % 12) {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            s.push_str(vocab[(seed >> 33) as usize % vocab.len()]);
            s.push(' ');
        }
        seed = seed.wrapping_add(1);
        inputs.push(s);
    }
    for sql in &inputs {
        for mode in [
            SqlMode::default(),
            SqlMode {
                ansi_quotes: true,
                no_backslash_escapes: true,
            },
        ] {
            for schema in ["db", ""] {
                if let Ok(Parsed::Ddl(v)) = parse_with_mode(sql, schema, mode) {
                    for s in v {
                        assert!(!s.tables().is_empty());
                        let _ = s.render(|t| TableName::new(format!("x{}", t.schema), ""));
                    }
                }
            }
        }
    }
}
