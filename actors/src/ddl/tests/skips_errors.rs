//! Skipped statements, errors, SQL modes and event types.

use super::*;
use crate::rules::always_skipped;

#[test]
fn skipped_statements() {
    use SkipReason as S;
    for (sql, reason) in [
        ("", S::Empty),
        ("  /* only a comment */ -- x", S::Empty),
        ("BEGIN", S::TransactionControl),
        ("COMMIT", S::TransactionControl),
        ("ROLLBACK TO SAVEPOINT a", S::TransactionControl),
        ("XA START 'x'", S::TransactionControl),
        ("START TRANSACTION", S::TransactionControl),
        ("SAVEPOINT a", S::TransactionControl),
        ("GRANT SELECT ON *.* TO 'u'@'%'", S::AccountManagement),
        ("REVOKE ALL ON db.* FROM u", S::AccountManagement),
        ("CREATE USER 'u'@'%' IDENTIFIED BY 'p'", S::AccountManagement),
        ("ALTER USER u IDENTIFIED BY 'p'", S::AccountManagement),
        ("DROP USER IF EXISTS u", S::AccountManagement),
        ("RENAME USER a TO b", S::AccountManagement),
        ("SET PASSWORD FOR u = 'x'", S::AccountManagement),
        ("CREATE ROLE r", S::AccountManagement),
        ("SET DEFAULT ROLE ALL TO u", S::AccountManagement),
        ("SET NAMES utf8mb4", S::SetVariable),
        ("set @@session.sql_mode = ''", S::SetVariable),
        ("FLUSH PRIVILEGES", S::Maintenance),
        ("ANALYZE TABLE t", S::Maintenance),
        ("OPTIMIZE NO_WRITE_TO_BINLOG TABLE t", S::Maintenance),
        ("REPAIR TABLE t QUICK", S::Maintenance),
        ("CHECK TABLE t", S::Maintenance),
        ("INSTALL PLUGIN x SONAME 'y.so'", S::Plugin),
        ("UNINSTALL COMPONENT 'file://x'", S::Plugin),
        (
            "CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`%` SQL SECURITY DEFINER VIEW v AS SELECT 1",
            S::Object("VIEW"),
        ),
        ("CREATE OR REPLACE VIEW v AS SELECT 1", S::Object("VIEW")),
        ("ALTER VIEW v AS SELECT 2", S::Object("VIEW")),
        ("DROP VIEW IF EXISTS v", S::Object("VIEW")),
        (
            "/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`%`*/ /*!50003 TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET @x=1 */",
            S::Object("TRIGGER"),
        ),
        ("DROP TRIGGER IF EXISTS tr", S::Object("TRIGGER")),
        (
            "CREATE DEFINER=CURRENT_USER() PROCEDURE p() BEGIN END",
            S::Object("PROCEDURE"),
        ),
        ("DROP PROCEDURE p", S::Object("PROCEDURE")),
        (
            "CREATE AGGREGATE FUNCTION f RETURNS STRING SONAME 'x.so'",
            S::Object("FUNCTION"),
        ),
        (
            "CREATE EVENT e ON SCHEDULE EVERY 1 HOUR DO SELECT 1",
            S::Object("EVENT"),
        ),
        ("ALTER DEFINER=root@localhost EVENT e DISABLE", S::Object("EVENT")),
        ("CREATE DEFINER=root@'%' VIEW v AS SELECT 1", S::Object("VIEW")),
        (
            "CREATE DEFINER='root'@localhost FUNCTION f() RETURNS INT RETURN @x",
            S::Object("FUNCTION"),
        ),
        ("CREATE DEFINER=`root`@localhost EVENT e DO SET @@x=1", S::Object("EVENT")),
        ("CREATE DEFINER=root VIEW v AS SELECT 1", S::Object("VIEW")),
        (
            "CREATE SERVER s FOREIGN DATA WRAPPER mysql OPTIONS (USER 'r')",
            S::Object("SERVER"),
        ),
        (
            "CREATE UNDO TABLESPACE u ADD DATAFILE 'u.ibu'",
            S::Object("TABLESPACE"),
        ),
        (
            "CREATE LOGFILE GROUP lg ADD UNDOFILE 'u.log'",
            S::Object("LOGFILE GROUP"),
        ),
        (
            "CREATE RESOURCE GROUP rg TYPE = USER",
            S::Object("RESOURCE GROUP"),
        ),
        (
            "ALTER INSTANCE ROTATE INNODB MASTER KEY",
            S::Object("INSTANCE"),
        ),
        (
            "CREATE SPATIAL REFERENCE SYSTEM 4120 NAME 'x'",
            S::Object("SPATIAL REFERENCE SYSTEM"),
        ),
        ("CREATE TEMPORARY TABLE t (a int)", S::TemporaryTable),
        ("CREATE TEMPORARY TABLE t SELECT 1", S::TemporaryTable),
        ("DROP TEMPORARY TABLE IF EXISTS t", S::TemporaryTable),
        ("SHOW TABLES", S::Other),
        ("USE db", S::Other),
        ("LOCK TABLES t WRITE", S::Other),
    ] {
        assert_eq!(skip(sql), reason, "{sql}");
    }
}

/// Every statement DM's built-in skip list (`always_skipped`) drops is skipped here too.
#[test]
fn agrees_with_builtin_skip_list() {
    for sql in [
        "SAVEPOINT sp1",
        "  FLUSH PRIVILEGES",
        "optimize no_write_to_binlog table t",
        "repair table t quick",
        "DROP /*!40005 TEMPORARY */ TABLE IF EXISTS `t`",
        "create definer = 'root'@'%' trigger tr after update on t for each row begin end",
        "CREATE OR REPLACE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET @x=1",
        "CREATE DEFINER=CURRENT_USER PROCEDURE p() BEGIN END",
        "ALTER PROCEDURE p COMMENT 'x'",
        "CREATE FUNCTION f() RETURNS INT RETURN 1",
        "ALTER FUNCTION f COMMENT 'x'",
        "DROP FUNCTION IF EXISTS f",
        "DROP EVENT e",
        "ALTER TABLESPACE ts RENAME TO ts2",
        "DROP TABLESPACE ts",
        "/* comment */ savepoint x",
        "-- note\n  # other\n\tGRANT ALL ON db.* TO u",
    ] {
        assert!(always_skipped(sql), "{sql}");
        assert!(
            matches!(parse(sql, "db"), Ok(Parsed::Skip(_))),
            "{sql}: {:?}",
            parse(sql, "db")
        );
    }
}

#[test]
fn errors() {
    for sql in [
        "INSERT INTO t VALUES (1)",
        "update t set a = 1",
        "DELETE FROM t",
        "REPLACE INTO t VALUES (1)",
        "LOAD DATA INFILE 'x' INTO TABLE t",
    ] {
        assert!(matches!(err(sql), DdlError::Unsupported { .. }), "{sql}");
    }
    for sql in [
        "CREATE SEQUENCE s",
        "DROP SEQUENCE s",
        "ALTER SEQUENCE s RESTART",
        "hello world",
        "IMPORT TABLE FROM '/tmp/t.sdi'",
        "(SELECT 1)",
        "RENAME t TO u",
    ] {
        assert!(matches!(err(sql), DdlError::Unrecognized { .. }), "{sql}");
    }
    for sql in [
        "CREATE TABLE",
        "CREATE TABLE t",
        "CREATE TABLE t (a int",
        "CREATE TABLE t a int)",
        "DROP TABLE",
        "DROP TABLE a,",
        "RENAME TABLE a TO",
        "RENAME TABLE a b",
        "RENAME TABLE a TO b c",
        "CREATE TABLE 'x' (a int)",
        "DROP TABLE `t",
        "ALTER TABLE t /* c",
        "ALTER TABLE t COMMENT 'x",
        "DROP TABLE a; DROP TABLE b",
        "CREATE DATABASE",
        "CREATE INDEX i ON",
        "CREATE UNIQUE i ON t (a)",
        "TRUNCATE",
        "ALTER TABLE",
        "DROP TABLE x.",
    ] {
        assert!(matches!(err(sql), DdlError::Syntax { .. }), "{sql}");
    }
    // An unqualified table needs a default database.
    assert!(matches!(
        parse("DROP TABLE t", ""),
        Err(DdlError::Unsupported { .. })
    ));
    assert!(matches!(parse("DROP TABLE x.t", ""), Ok(Parsed::Ddl(_))));
    // Errors name the statement, truncated.
    let long = format!("CREATE TABLE t ({}", "a int, ".repeat(200));
    let msg = err(&long).to_string();
    assert!(msg.contains("CREATE TABLE t (a int") && msg.contains("..."));
    assert!(msg.len() < 300, "{msg}");
    // A statement the tokenizer rejects is a syntax error naming it and the place.
    let msg = err("CREATE TABLE t (\n  a int COMMENT 'x)").to_string();
    assert!(
        msg.contains("`CREATE TABLE t (") && msg.contains("line 2, column 17"),
        "{msg}"
    );
    let msg = err("DROP TABLE a b").to_string();
    assert!(
        msg.contains("`DROP TABLE a b`") && msg.contains("`b`"),
        "{msg}"
    );
}

#[test]
fn sql_modes() {
    let ansi = SqlMode {
        ansi_quotes: true,
        ..SqlMode::default()
    };
    let Ok(Parsed::Ddl(v)) = parse_with_mode(r#"CREATE TABLE "a""b" (x int)"#, "db", ansi) else {
        panic!()
    };
    assert_eq!(v[0].tables(), [tn("db", "a\"b")]);
    assert_eq!(
        same(&v[0]),
        "CREATE TABLE IF NOT EXISTS `db`.`a\"b` (x int)"
    );

    let sql = r"CREATE TABLE t (a int COMMENT 'x\')";
    assert!(matches!(err(sql), DdlError::Syntax { .. }));
    let raw = SqlMode {
        no_backslash_escapes: true,
        ..SqlMode::default()
    };
    assert!(matches!(
        parse_with_mode(sql, "db", raw),
        Ok(Parsed::Ddl(_))
    ));
}

#[test]
fn event_types() {
    for (sql, kind) in [
        ("CREATE TABLE t (a int)", E::CreateTable),
        ("ALTER TABLE t ADD b int", E::AlterTable),
        ("DROP TABLE t", E::DropTable),
        ("RENAME TABLE a TO b", E::RenameTable),
        ("TRUNCATE t", E::TruncateTable),
        ("CREATE DATABASE d", E::CreateDatabase),
        ("DROP SCHEMA d", E::DropDatabase),
        ("ALTER DATABASE d CHARSET utf8mb4", E::AlterDatabase),
        ("CREATE INDEX i ON t (a)", E::CreateIndex),
        ("DROP INDEX i ON t", E::DropIndex),
    ] {
        assert_eq!(one(sql).kind(), kind, "{sql}");
    }
}
