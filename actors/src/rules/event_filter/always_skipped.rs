//! The statements DM always skips, whatever the filter rules say.

/// True for statements DM always skips without applying them downstream: `SAVEPOINT`,
/// `FLUSH`, `OPTIMIZE`/`ANALYZE`/`REPAIR TABLE`, `DROP TEMPORARY TABLE`, `CREATE`/`ALTER`/
/// `DROP` of triggers, procedures, functions, events, views and tablespaces (with any
/// `OR REPLACE`, `ALGORITHM=`, `DEFINER=`, `SQL SECURITY`, `AGGREGATE`, `UNDO` modifiers),
/// `GRANT`, `REVOKE` and `CREATE`/`ALTER`/`RENAME`/`DROP USER`.
///
/// Keywords are case-insensitive; leading whitespace and comments (`/* */`, `-- `, `#`) are
/// ignored and MySQL versioned comments (`/*!40005 TEMPORARY */`) are read as plain SQL.
pub fn always_skipped(sql: &str) -> bool {
    let tokens = leading_tokens(sql, 48);
    let t = |i: usize| tokens.get(i).map(String::as_str).unwrap_or("");
    const OBJECTS: &[&str] = &[
        "TRIGGER",
        "PROCEDURE",
        "FUNCTION",
        "EVENT",
        "VIEW",
        "TABLESPACE",
        "USER",
    ];
    match t(0) {
        "SAVEPOINT" | "FLUSH" | "GRANT" | "REVOKE" => true,
        "OPTIMIZE" | "ANALYZE" | "REPAIR" => {
            let k = usize::from(matches!(t(1), "NO_WRITE_TO_BINLOG" | "LOCAL")) + 1;
            matches!(t(k), "TABLE" | "TABLES")
        }
        "RENAME" => t(1) == "USER",
        "DROP" => {
            (t(1) == "TEMPORARY" && matches!(t(2), "TABLE" | "TABLES"))
                || OBJECTS.contains(&t(skip_modifiers(&t, 1)))
        }
        "CREATE" | "ALTER" => OBJECTS.contains(&t(skip_modifiers(&t, 1))),
        _ => false,
    }
}

/// Skips the clauses that may sit between `CREATE`/`ALTER`/`DROP` and the object keyword.
fn skip_modifiers<'a>(t: &impl Fn(usize) -> &'a str, mut k: usize) -> usize {
    loop {
        match t(k) {
            "OR" if t(k + 1) == "REPLACE" => k += 2,
            "ALGORITHM" if t(k + 1) == "=" => k += 3,
            "SQL" if t(k + 1) == "SECURITY" => k += 3,
            "AGGREGATE" | "UNDO" => k += 1,
            "DEFINER" if t(k + 1) == "=" => {
                k += 3; // DEFINER = user
                if t(k) == "@" {
                    k += 2; // @host
                } else if t(k) == "(" && t(k + 1) == ")" {
                    k += 2; // CURRENT_USER()
                }
            }
            _ => return k,
        }
    }
}

/// The first `max` tokens of `sql`: words upper-cased, quoted strings/identifiers whole,
/// other characters one by one; comments skipped, versioned-comment markers dropped.
fn leading_tokens(sql: &str, max: usize) -> Vec<String> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() && out.len() < max {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'/' && next == Some(b'*') {
            if b.get(i + 2) == Some(&b'!') {
                i += 3;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            } else {
                i = sql[i + 2..].find("*/").map_or(b.len(), |p| i + 2 + p + 2);
            }
        } else if c == b'*' && next == Some(b'/') {
            i += 2; // end of a versioned comment
        } else if c == b'#'
            || (c == b'-'
                && next == Some(b'-')
                && b.get(i + 2).is_none_or(|d| d.is_ascii_whitespace()))
        {
            i = sql[i..].find('\n').map_or(b.len(), |p| i + p + 1);
        } else if matches!(c, b'\'' | b'"' | b'`') {
            let start = i;
            i += 1;
            while i < b.len() {
                if b[i] == b'\\' && c != b'`' {
                    i += 2;
                } else if b[i] == c {
                    if b.get(i + 1) == Some(&c) {
                        i += 2;
                    } else {
                        i += 1;
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            let end = i.min(b.len());
            out.push(sql[start..end].to_string());
        } else if c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80 {
            let start = i;
            while i < b.len()
                && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b'$') || b[i] >= 0x80)
            {
                i += 1;
            }
            out.push(sql[start..i].to_ascii_uppercase());
        } else {
            out.push((c as char).to_string());
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn always_skipped_statements() {
        for sql in [
            "SAVEPOINT sp1",
            "flush tables",
            "  FLUSH PRIVILEGES",
            "OPTIMIZE TABLE t",
            "optimize no_write_to_binlog table t",
            "ANALYZE TABLE t",
            "repair table t quick",
            "DROP TEMPORARY TABLE IF EXISTS t",
            "DROP /*!40005 TEMPORARY */ TABLE IF EXISTS `t`",
            "CREATE DEFINER=`root`@`localhost` TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET @x=1",
            "create definer = 'root'@'%' trigger tr after update on t for each row begin end",
            "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET @x=1",
            "CREATE OR REPLACE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET @x=1",
            "DROP TRIGGER IF EXISTS tr",
            "CREATE DEFINER=CURRENT_USER() PROCEDURE p() BEGIN END",
            "CREATE DEFINER=CURRENT_USER PROCEDURE p() BEGIN END",
            "ALTER PROCEDURE p COMMENT 'x'",
            "DROP PROCEDURE p",
            "CREATE FUNCTION f() RETURNS INT RETURN 1",
            "CREATE AGGREGATE FUNCTION f RETURNS STRING SONAME 'x.so'",
            "ALTER FUNCTION f COMMENT 'x'",
            "DROP FUNCTION IF EXISTS f",
            "CREATE EVENT e ON SCHEDULE EVERY 1 HOUR DO SELECT 1",
            "ALTER DEFINER=root@localhost EVENT e DISABLE",
            "DROP EVENT e",
            "CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`%` SQL SECURITY DEFINER VIEW v AS SELECT 1",
            "CREATE OR REPLACE VIEW v AS SELECT 1",
            "ALTER VIEW v AS SELECT 2",
            "DROP VIEW IF EXISTS v",
            "CREATE TABLESPACE ts ADD DATAFILE 'ts.ibd'",
            "CREATE UNDO TABLESPACE u ADD DATAFILE 'u.ibu'",
            "ALTER TABLESPACE ts RENAME TO ts2",
            "DROP TABLESPACE ts",
            "GRANT SELECT ON *.* TO 'u'@'%'",
            "REVOKE ALL PRIVILEGES ON db.* FROM u",
            "CREATE USER 'u'@'%' IDENTIFIED BY 'p'",
            "ALTER USER u IDENTIFIED BY 'p'",
            "RENAME USER a TO b",
            "DROP USER IF EXISTS u",
            "/* comment */ savepoint x",
            "-- note\n  # other\n\tGRANT ALL ON db.* TO u",
            "/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`%`*/ /*!50003 TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET @x=1 */",
        ] {
            assert!(always_skipped(sql), "{sql}");
        }
        for sql in [
            "",
            "   ",
            "/* only a comment */",
            "CREATE TABLE t (a int)",
            "CREATE OR REPLACE TABLE t (a int)",
            "CREATE TEMPORARY TABLE t (a int)",
            "DROP TABLE t",
            "DROP TABLE `trigger`",
            "ALTER TABLE t ADD COLUMN view int",
            "CREATE DATABASE events",
            "RENAME TABLE a TO b",
            "INSERT INTO t VALUES (1)",
            "TRUNCATE TABLE t",
            "CREATE INDEX i ON t (a)",
            "ALTER TABLE t ANALYZE PARTITION p0",
            "-- GRANT ALL ON *.* TO u\nCREATE TABLE t (a int)",
            "CREATE DEFINER=`x` TABLE t",
            "SAVEPOINTS",
            "ALTER DATABASE db CHARACTER SET utf8mb4",
        ] {
            assert!(!always_skipped(sql), "{sql}");
        }
    }

    #[test]
    fn tokenizer_handles_quotes_and_unicode() {
        let t = leading_tokens(
            "create definer='a''b\\'c'@'%' trigger `t``x` -- c\nnäme",
            16,
        );
        assert_eq!(
            t,
            [
                "CREATE",
                "DEFINER",
                "=",
                "'a''b\\'c'",
                "@",
                "'%'",
                "TRIGGER",
                "`t``x`",
                "NäME"
            ]
        );
        assert_eq!(leading_tokens("'unterminated é", 4), ["'unterminated é"]);
        assert_eq!(leading_tokens("/* unterminated", 4), Vec::<String>::new());
        assert_eq!(leading_tokens("a b c d", 2), ["A", "B"]);
    }
}
