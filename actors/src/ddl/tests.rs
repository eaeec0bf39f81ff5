use super::*;
use crate::rules::{always_skipped, RouteSpec, Router};
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

#[test]
fn create_table() {
    let s = one("CREATE TABLE t (a int)");
    assert_eq!(s.kind(), E::CreateTable);
    assert_eq!(s.tables(), [tn("db", "t")]);
    assert!(!s.is_drop() && !s.is_database() && !s.rows_follow());
    assert_eq!(same(&s), "CREATE TABLE IF NOT EXISTS `db`.`t` (a int)");

    let sql = "create table if not exists `Db`.`T` (\n  `a` int COMMENT 'x, (y'\n) /* c */ ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";
    assert_eq!(same(&one(sql)), sql);

    let p = one(
        "CREATE TABLE t (a int, b int AS (a + 1), c varchar(9) COMMENT 'select as table') \
         PARTITION BY RANGE (a) (PARTITION p0 VALUES LESS THAN (10), PARTITION p1 VALUES LESS THAN MAXVALUE)",
    );
    assert_eq!(p.tables(), [tn("db", "t")]);
}

#[test]
fn create_table_like() {
    for sql in [
        "CREATE TABLE t2 LIKE other.t1",
        "CREATE TABLE t2 (LIKE other.t1)",
    ] {
        let s = one(sql);
        assert_eq!(s.tables(), [tn("db", "t2"), tn("other", "t1")], "{sql}");
        assert_eq!(s.like(), Some(&tn("other", "t1")));
        assert!(same(&s).starts_with("CREATE TABLE IF NOT EXISTS `db`.`t2` "));
        assert!(same(&s).contains("LIKE `other`.`t1`"));
    }
    assert!(matches!(
        err("CREATE TABLE t2 (LIKE t1 x)"),
        DdlError::Syntax { .. }
    ));
}

/// MySQL 8.0.21+ logs `CREATE TABLE ... SELECT` in row format as `CREATE TABLE ...
/// START TRANSACTION` followed by the rows; DM removes the option (tiflow#12853).
#[test]
fn create_table_start_transaction() {
    let s = one("CREATE TABLE `t` (\n  `id` int DEFAULT NULL\n) START TRANSACTION");
    assert!(s.rows_follow());
    assert_eq!(
        same(&s),
        "CREATE TABLE IF NOT EXISTS `db`.`t` (\n  `id` int DEFAULT NULL\n)"
    );
    assert!(!one("CREATE TABLE t (a int)").rows_follow());
}

#[test]
fn create_table_select_is_unsupported() {
    for sql in [
        "CREATE TABLE t SELECT 1",
        "CREATE TABLE t AS SELECT * FROM u",
        "CREATE TABLE t (a int) SELECT a FROM u",
        "create table t (select 1)",
        "CREATE TABLE t ((SELECT 1))",
        "CREATE TABLE t TABLE u",
        "CREATE TABLE t (a int) IGNORE SELECT * FROM u",
        "CREATE TABLE t (a int) ENGINE=InnoDB AS (SELECT 1)",
        "CREATE TABLE t (WITH c AS (SELECT 1) SELECT * FROM c)",
        "CREATE OR REPLACE TABLE t SELECT 1",
    ] {
        assert!(
            matches!(err(sql), DdlError::Unsupported { .. }),
            "{sql}: {:?}",
            parse(sql, "db")
        );
    }
}

#[test]
fn mariadb_create_or_replace_table() {
    let v = ddl("CREATE OR REPLACE TABLE t (a int)");
    assert_eq!(v.len(), 2);
    assert_eq!(v[0].kind(), E::DropTable);
    assert_eq!(same(&v[0]), "DROP TABLE IF EXISTS `db`.`t`");
    assert_eq!(v[1].kind(), E::CreateTable);
    assert_eq!(same(&v[1]), "CREATE TABLE IF NOT EXISTS `db`.`t` (a int)");
    assert!(matches!(
        err("CREATE OR REPLACE INDEX i ON t (a)"),
        DdlError::Unsupported { .. }
    ));
}

#[test]
fn alter_table() {
    let s = one("ALTER TABLE t ADD COLUMN c INT, ADD INDEX (c)");
    assert_eq!(s.kind(), E::AlterTable);
    assert_eq!(s.tables(), [tn("db", "t")]);
    assert_eq!(s.renamed_to(), None);
    assert_eq!(
        same(&s),
        "ALTER TABLE `db`.`t` ADD COLUMN c INT, ADD INDEX (c)"
    );

    // Column and index renames name no table; REFERENCES is left as written (as DM does).
    let sql = "ALTER TABLE t RENAME COLUMN a TO b, RENAME INDEX i TO j, RENAME KEY k TO l, \
               ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES r (a)";
    let s = one(sql);
    assert_eq!(s.tables(), [tn("db", "t")]);
    assert_eq!(same(&s), sql.replacen(" t ", " `db`.`t` ", 1));

    assert_eq!(same(&one("ALTER TABLE t")), "ALTER TABLE `db`.`t`");
    let m = one("ALTER ONLINE IGNORE TABLE IF EXISTS x.t ADD c int");
    assert_eq!(m.tables(), [tn("x", "t")]);
}

#[test]
fn alter_table_rename() {
    for (sql, out) in [
        (
            "ALTER TABLE t RENAME TO u",
            "ALTER TABLE `db`.`t` RENAME TO `db`.`u`",
        ),
        (
            "alter table t add x int, rename as o.u",
            "alter table `db`.`t` add x int, rename as `o`.`u`",
        ),
        (
            "ALTER TABLE t RENAME u, ALGORITHM=INPLACE",
            "ALTER TABLE `db`.`t` RENAME `db`.`u`, ALGORITHM=INPLACE",
        ),
    ] {
        let s = one(sql);
        assert_eq!(same(&s), out);
        assert_eq!(s.tables().len(), 2);
        assert_eq!(s.renamed_to(), Some(&s.tables()[1]));
    }
    let x = one("ALTER TABLE t EXCHANGE PARTITION p0 WITH TABLE o.u WITHOUT VALIDATION");
    assert_eq!(x.tables(), [tn("db", "t"), tn("o", "u")]);
    assert_eq!(x.renamed_to(), None);
    let c = one("ALTER TABLE t CONVERT PARTITION p0 TO TABLE u");
    assert_eq!(c.tables(), [tn("db", "t"), tn("db", "u")]);
}

#[test]
fn drop_table_split() {
    let s = one("DROP TABLE `t` /* generated by server */");
    assert_eq!(s.kind(), E::DropTable);
    assert!(s.is_drop());
    assert_eq!(
        same(&s),
        "DROP TABLE IF EXISTS `db`.`t` /* generated by server */"
    );

    let v = ddl("DROP TABLE IF EXISTS a, other.b, `c` RESTRICT;");
    let out: Vec<String> = v.iter().map(same).collect();
    assert_eq!(
        out,
        [
            "DROP TABLE IF EXISTS `db`.`a` RESTRICT",
            "DROP TABLE IF EXISTS `other`.`b` RESTRICT",
            "DROP TABLE IF EXISTS `db`.`c` RESTRICT",
        ]
    );
    assert_eq!(v[1].tables(), [tn("other", "b")]);
    assert!(matches!(err("DROP TABLE a b"), DdlError::Syntax { .. }));
    // No space between the keyword and the name.
    assert_eq!(same(&one("DROP TABLE`a`")), "DROP TABLE IF EXISTS`db`.`a`");
    assert_eq!(
        same(&one("CREATE TABLE`t`(a int)")),
        "CREATE TABLE IF NOT EXISTS`db`.`t`(a int)"
    );
}

#[test]
fn rename_table_split() {
    let v = ddl("RENAME TABLE a TO b, c TO d");
    assert_eq!(v.len(), 2);
    assert!(v.iter().all(|s| s.kind() == E::RenameTable));
    assert_eq!(v[0].tables(), [tn("db", "a"), tn("db", "b")]);
    assert_eq!(v[1].renamed_to(), Some(&tn("db", "d")));
    assert_eq!(same(&v[0]), "RENAME TABLE `db`.`a` TO `db`.`b`");
    assert_eq!(same(&v[1]), "RENAME TABLE `db`.`c` TO `db`.`d`");
    assert_eq!(
        same(&one("rename tables x.a to y.b;")),
        "rename tables `x`.`a` TO `y`.`b`"
    );
}

#[test]
fn truncate() {
    for sql in ["TRUNCATE t", "truncate table db.t", "TRUNCATE TABLE `t`"] {
        let s = one(sql);
        assert_eq!(s.kind(), E::TruncateTable);
        assert_eq!(s.tables(), [tn("db", "t")]);
        assert!(same(&s).ends_with("`db`.`t`"));
    }
}

#[test]
fn databases() {
    let c = one("CREATE DATABASE d");
    assert_eq!(c.kind(), E::CreateDatabase);
    assert!(c.is_database() && !c.is_drop());
    assert_eq!(c.tables(), [tn("d", "")]);
    assert_eq!(same(&c), "CREATE DATABASE IF NOT EXISTS `d`");
    let sql = "CREATE SCHEMA IF NOT EXISTS `d` /*!40100 DEFAULT CHARACTER SET utf8mb4 */";
    assert_eq!(same(&one(sql)), sql);

    let d = one("DROP DATABASE d");
    assert_eq!((d.kind(), d.is_drop()), (E::DropDatabase, true));
    assert_eq!(same(&d), "DROP DATABASE IF EXISTS `d`");
    assert_eq!(
        same(&one("drop schema if exists d")),
        "drop schema if exists `d`"
    );

    let a = one("ALTER DATABASE d CHARACTER SET = utf8mb4");
    assert_eq!(a.kind(), E::AlterDatabase);
    assert_eq!(same(&a), "ALTER DATABASE `d` CHARACTER SET = utf8mb4");
    // The name may be omitted: the default database.
    let a = one("ALTER SCHEMA DEFAULT COLLATE utf8mb4_bin");
    assert_eq!(a.tables(), [tn("db", "")]);
    assert_eq!(same(&a), "ALTER SCHEMA `db` DEFAULT COLLATE utf8mb4_bin");
    assert_eq!(
        one("ALTER DATABASE `default` READ ONLY = 0").tables(),
        [tn("default", "")]
    );
    assert!(matches!(
        parse("ALTER DATABASE CHARSET utf8", ""),
        Err(DdlError::Unsupported { .. })
    ));
}

#[test]
fn indexes() {
    let s = one("CREATE UNIQUE INDEX i ON t (a) ALGORITHM=INPLACE LOCK=NONE");
    assert_eq!(s.kind(), E::CreateIndex);
    assert_eq!(s.tables(), [tn("db", "t")]);
    assert_eq!(
        same(&s),
        "CREATE UNIQUE INDEX i ON `db`.`t` (a) ALGORITHM=INPLACE LOCK=NONE"
    );
    for sql in [
        "create fulltext index ft using btree on o.t (b)",
        "CREATE SPATIAL INDEX g ON o.t (g)",
        "CREATE INDEX IF NOT EXISTS i ON o.t (a)",
    ] {
        assert_eq!(one(sql).tables(), [tn("o", "t")], "{sql}");
    }
    let d = one("DROP INDEX `i` ON `t` ALGORITHM=INPLACE");
    assert_eq!(d.kind(), E::DropIndex);
    assert!(!d.is_drop());
    assert_eq!(same(&d), "DROP INDEX `i` ON `db`.`t` ALGORITHM=INPLACE");
    assert!(matches!(err("DROP INDEX i"), DdlError::Syntax { .. }));
}

#[test]
fn quoting_and_unicode() {
    let s = one("CREATE TABLE `we``ird`.`a.b c` (x int)");
    assert_eq!(s.tables(), [tn("we`ird", "a.b c")]);
    assert_eq!(
        same(&s),
        "CREATE TABLE IF NOT EXISTS `we``ird`.`a.b c` (x int)"
    );
    let v = ddl("DROP TABLE `表`, données");
    assert_eq!(v[0].tables(), [tn("db", "表")]);
    assert_eq!(same(&v[1]), "DROP TABLE IF EXISTS `db`.`données`");
    // Default schema with a backquote.
    let r = parse("TRUNCATE t", "a`b").unwrap();
    let Parsed::Ddl(r) = r else { panic!() };
    assert_eq!(same(&r[0]), "TRUNCATE `a``b`.`t`");
}

#[test]
fn comments_and_versioned_comments() {
    assert_eq!(
        same(&one(
            "/* lead */ CREATE /* x */ TABLE /* y */ t /* z */ (a int)"
        )),
        "/* lead */ CREATE /* x */ TABLE IF NOT EXISTS /* y */ `db`.`t` /* z */ (a int)"
    );
    assert_eq!(
        same(&one("/*!40000 ALTER TABLE `t` DISABLE KEYS */")),
        "/*!40000 ALTER TABLE `db`.`t` DISABLE KEYS */"
    );
    let sql = "CREATE TABLE t (a int) /*!50100 PARTITION BY HASH (a) */";
    assert_eq!(
        same(&one(sql)),
        "CREATE TABLE IF NOT EXISTS `db`.`t` (a int) /*!50100 PARTITION BY HASH (a) */"
    );
    assert_eq!(
        same(&one("-- c\nDROP TABLE t # trailing")),
        "-- c\nDROP TABLE IF EXISTS `db`.`t` # trailing"
    );
    assert_eq!(
        same(&one("DROP TABLE x /* c */ . t")),
        "DROP TABLE IF EXISTS `x`.`t`"
    );
    // A versioned comment hiding TEMPORARY (mysqldump).
    assert_eq!(
        skip("DROP /*!40005 TEMPORARY */ TABLE IF EXISTS `t`"),
        SkipReason::TemporaryTable
    );
    // A regular comment hides its content; TiDB's /*T! */ is a comment for MySQL.
    assert_eq!(
        one("CREATE TABLE t (a int) /* SELECT 1 */ /*T![clustered_index] x */").kind(),
        E::CreateTable
    );
}

#[test]
fn case_insensitive_keywords_and_names_kept() {
    let s = one("cReAtE tAbLe T (a INT)");
    assert_eq!(s.tables(), [tn("db", "T")]);
    assert_eq!(same(&s), "cReAtE tAbLe IF NOT EXISTS `db`.`T` (a INT)");
    assert_eq!(one("Drop Schema D").kind(), E::DropDatabase);
    assert_eq!(
        one("rEnAmE tAbLe A tO B").tables(),
        [tn("db", "A"), tn("db", "B")]
    );
}

#[test]
fn routing_rewrites_every_name() {
    let route = |t: &TableName| {
        let schema = if t.schema == "shard_1" {
            "merged"
        } else {
            &t.schema
        };
        TableName::new(schema, t.table.replace("_1", ""))
    };
    let cases = [
        (
            "ALTER TABLE t_1 RENAME TO t_1_old",
            "ALTER TABLE `merged`.`t` RENAME TO `merged`.`t_old`",
        ),
        (
            "CREATE TABLE t_1 LIKE base.tpl_1",
            "CREATE TABLE IF NOT EXISTS `merged`.`t` LIKE `base`.`tpl`",
        ),
        (
            "CREATE DATABASE shard_1",
            "CREATE DATABASE IF NOT EXISTS `merged`",
        ),
        ("TRUNCATE TABLE t_1", "TRUNCATE TABLE `merged`.`t`"),
    ];
    for (sql, out) in cases {
        let Ok(Parsed::Ddl(v)) = parse(sql, "shard_1") else {
            panic!("{sql}")
        };
        assert_eq!(v[0].render(route), out);
    }
    // The task's router, through the fallible form.
    let router = Router::new(
        &[
            RouteSpec {
                name: "r1",
                schema_pattern: "shard_*",
                table_pattern: "t_*",
                target_schema: "merged",
                target_table: "t",
            },
            RouteSpec {
                name: "r2",
                schema_pattern: "shard_*",
                table_pattern: "",
                target_schema: "merged",
                target_table: "",
            },
            RouteSpec {
                name: "r3",
                schema_pattern: "shard_*",
                table_pattern: "t_9",
                target_schema: "other",
                target_table: "",
            },
        ],
        false,
    )
    .unwrap();
    let Ok(Parsed::Ddl(v)) = parse("DROP TABLE t_1, u, t_9", "shard_2") else {
        panic!()
    };
    assert_eq!(
        v[0].try_render(|t| router.route(t)).unwrap(),
        "DROP TABLE IF EXISTS `merged`.`t`"
    );
    assert_eq!(
        v[1].try_render(|t| router.route(t)).unwrap(),
        "DROP TABLE IF EXISTS `merged`.`u`"
    );
    assert!(v[2].try_render(|t| router.route(t)).is_err());
    let Ok(Parsed::Ddl(d)) = parse("DROP DATABASE shard_2", "") else {
        panic!()
    };
    assert_eq!(
        d[0].try_render(|t| router.route(t)).unwrap(),
        "DROP DATABASE IF EXISTS `merged`"
    );
}

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
