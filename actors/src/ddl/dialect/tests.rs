use super::*;

fn caps(flavor: Flavor) -> TargetCaps {
    let colls: &[&str] = match flavor {
        Flavor::Mariadb => &[
            "utf8mb4_general_ci",
            "utf8mb4_bin",
            "utf8mb4_unicode_520_ci",
            "utf8mb4_uca1400_ai_ci",
            "utf8mb4_uca1400_as_cs",
            "latin1_swedish_ci",
        ],
        _ => &[
            "utf8mb4_general_ci",
            "utf8mb4_bin",
            "utf8mb4_0900_ai_ci",
            "utf8mb4_0900_as_cs",
            "utf8mb4_unicode_520_ci",
            "latin1_swedish_ci",
        ],
    };
    TargetCaps {
        flavor,
        collations: colls.iter().map(|s| s.to_string()).collect(),
    }
}

/// `sql` written on `from`, rendered for `to`; panics when it cannot be.
fn rendered(sql: &str, from: Flavor, to: Flavor) -> Rendered {
    render_for_target(sql, from, &caps(to), SqlMode::default())
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn my2md(sql: &str) -> Rendered {
    rendered(sql, Flavor::Mysql, Flavor::Mariadb)
}

fn md2my(sql: &str) -> Rendered {
    rendered(sql, Flavor::Mariadb, Flavor::Mysql)
}

fn md2tidb(sql: &str) -> Rendered {
    rendered(sql, Flavor::Mariadb, Flavor::Tidb)
}

fn unsupported(sql: &str, from: Flavor, to: Flavor) -> String {
    match render_for_target(sql, from, &caps(to), SqlMode::default()) {
        Err(e @ DialectError::Unsupported { .. }) => e.to_string(),
        other => panic!("{sql}: expected unsupported, got {other:?}"),
    }
}

#[test]
fn json_arrows_become_functions_for_mariadb() {
    let r = my2md(
        "CREATE TABLE `d`.`t` (j JSON, v INT AS (j->'$.a') VIRTUAL, \
         w VARCHAR(9) AS (`t`.`j`->>\"$.b\") STORED, CHECK (j -> '$.c' > 0), \
         x INT DEFAULT (j->'$.d'))",
    );
    assert_eq!(
        r.sql,
        "CREATE TABLE `d`.`t` (j JSON, v INT AS (json_extract(j, '$.a')) VIRTUAL, \
         w VARCHAR(9) AS (json_unquote(json_extract(`t`.`j`, \"$.b\"))) STORED, \
         CHECK (json_extract(j, '$.c') > 0), x INT DEFAULT (json_extract(j, '$.d')))"
    );
    assert_eq!(r.rewrites.len(), 4, "{:?}", r.rewrites);
    // Strings, comments and quoted names keep their arrows; so does MySQL.
    let s = "ALTER TABLE t ADD COLUMN `a->b` INT DEFAULT 1 COMMENT 'x->\\'y' /* j->'$' */";
    assert_eq!(my2md(s).sql, s);
    let s = "ALTER TABLE t ADD COLUMN v INT AS (j->'$.a')";
    assert_eq!(rendered(s, Flavor::Mysql, Flavor::Mysql).sql, s);
    // `a - > b` and other shapes.
    assert!(unsupported(
        "ALTER TABLE t ADD v INT AS ((j)->'$')",
        Flavor::Mysql,
        Flavor::Mariadb
    )
    .contains("`->`"));
}

#[test]
fn ansi_quotes_are_identifiers() {
    let mode = SqlMode {
        ansi_quotes: true,
        no_backslash_escapes: false,
    };
    let r = render_for_target(
        "ALTER TABLE \"t\" ADD v INT AS (\"j\"->'$.a')",
        Flavor::Mysql,
        &caps(Flavor::Mariadb),
        mode,
    )
    .unwrap();
    assert_eq!(
        r.sql,
        "ALTER TABLE \"t\" ADD v INT AS (json_extract(\"j\", '$.a'))"
    );
}

#[test]
fn collations_follow_the_target() {
    let r = my2md(
        "CREATE TABLE t (a VARCHAR(5) COLLATE utf8mb4_0900_ai_ci, b CHAR(1) COLLATE 'utf8mb4_0900_bin', \
         c TEXT COMMENT 'COLLATE utf8mb4_0900_ai_ci') DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_as_cs",
    );
    assert_eq!(
        r.sql,
        "CREATE TABLE t (a VARCHAR(5) COLLATE utf8mb4_uca1400_ai_ci, b CHAR(1) COLLATE 'utf8mb4_bin', \
         c TEXT COMMENT 'COLLATE utf8mb4_0900_ai_ci') DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_uca1400_as_cs"
    );
    assert_eq!(r.rewrites.len(), 3);
    let r = md2my("ALTER TABLE t MODIFY a TEXT COLLATE uca1400_ai_ci, CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_uca1400_ai_ci");
    assert_eq!(
        r.sql,
        "ALTER TABLE t MODIFY a TEXT COLLATE utf8mb4_0900_ai_ci, CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_ai_ci"
    );
    // Same family: only collations the target lacks.
    let s = "ALTER TABLE t ADD c INT, ALGORITHM=NOCOPY, ADD COLUMN IF NOT EXISTS x TEXT COLLATE utf8mb4_0900_ai_ci";
    let r = rendered(s, Flavor::Mariadb, Flavor::Mariadb);
    assert_eq!(r.sql, s.replace("0900", "uca1400"));
}

#[test]
fn mysql_versioned_comments_are_resolved_for_mariadb() {
    let r = my2md(
        "CREATE TABLE `g` (`p` point NOT NULL /*!80003 SRID 4326 */, `a` int /*!80023 INVISIBLE */, \
         KEY `ia` (`a`) /*!80000 INVISIBLE */) ENGINE=InnoDB /*!80016 DEFAULT ENCRYPTION='N' */ \
         /*!50100 PARTITION BY HASH (a) */",
    );
    assert_eq!(
        r.sql,
        "CREATE TABLE `g` (`p` point NOT NULL, `a` int INVISIBLE, \
         KEY `ia` (`a`) IGNORED) ENGINE=InnoDB \
         /*!50100 PARTITION BY HASH (a) */"
    );
    assert!(
        r.rewrites.iter().any(|w| w.contains("SRID 4326")),
        "{:?}",
        r.rewrites
    );
    assert!(
        r.rewrites.iter().any(|w| w.contains("IGNORED")),
        "{:?}",
        r.rewrites
    );
    assert!(unsupported(
        "CREATE TABLE t (a int) ENCRYPTION='Y'",
        Flavor::Mysql,
        Flavor::Mariadb
    )
    .contains("ENCRYPTED=YES"));
    let r = my2md("CREATE DATABASE d /*!40100 DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_ai_ci */ /*!80016 DEFAULT ENCRYPTION='N' */");
    assert_eq!(
        r.sql,
        "CREATE DATABASE d /*!40100 DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_uca1400_ai_ci */"
    );
}

#[test]
fn mariadb_versioned_comments_are_resolved_for_mysql() {
    let r = md2my("ALTER TABLE t ADD a INT /*M!100301 INVISIBLE */ /*!50700 COMMENT 'x' */");
    assert_eq!(r.sql, "ALTER TABLE t ADD a INT INVISIBLE");
    assert_eq!(r.rewrites.len(), 2);
    // The content MariaDB skipped is not rendered, nor refused.
    let r = md2my("ALTER TABLE t ADD a INT /*!80000 , ADD v INET6 */");
    assert_eq!(r.sql, "ALTER TABLE t ADD a INT");
}

#[test]
fn invisible_indexes_and_columns() {
    let r = my2md(
        "ALTER TABLE t ADD INDEX i (a) INVISIBLE, ADD UNIQUE KEY u (b) VISIBLE COMMENT 'INVISIBLE', \
         ADD COLUMN c INT INVISIBLE, ADD COLUMN e INT VISIBLE, ALTER INDEX j VISIBLE, ALTER INDEX k INVISIBLE",
    );
    assert_eq!(
        r.sql,
        "ALTER TABLE t ADD INDEX i (a) IGNORED, ADD UNIQUE KEY u (b) COMMENT 'INVISIBLE', \
         ADD COLUMN c INT INVISIBLE, ADD COLUMN e INT, ALTER INDEX j NOT IGNORED, ALTER INDEX k IGNORED"
    );
    let r = md2my(
        "ALTER TABLE t ADD INDEX i (a) IGNORED, ALTER INDEX j NOT IGNORED, ALTER INDEX k IGNORED",
    );
    assert_eq!(
        r.sql,
        "ALTER TABLE t ADD INDEX i (a) INVISIBLE, ALTER INDEX j VISIBLE, ALTER INDEX k INVISIBLE"
    );
    let r = md2my("CREATE INDEX i ON t (a) IGNORED");
    assert_eq!(r.sql, "CREATE INDEX i ON t (a) INVISIBLE");
    let r = my2md("CREATE INDEX i ON t (a) INVISIBLE");
    assert_eq!(r.sql, "CREATE INDEX i ON t (a) IGNORED");
    assert!(unsupported(
        "ALTER TABLE t ALTER COLUMN c SET INVISIBLE",
        Flavor::Mysql,
        Flavor::Mariadb
    )
    .contains("MODIFY"));
}

#[test]
fn alter_index_visible_for_mariadb_is_not_ignored() {
    // `ALTER INDEX j VISIBLE` must stay a valid statement.
    let r = my2md("ALTER TABLE t ALTER INDEX j VISIBLE");
    assert_eq!(r.sql, "ALTER TABLE t ALTER INDEX j NOT IGNORED");
}

#[test]
fn functional_indexes_are_unsupported_on_mariadb() {
    for s in [
        "CREATE TABLE t (a INT, KEY f ((a + 1)))",
        "ALTER TABLE t ADD INDEX f ((lower(b)), a)",
        "CREATE INDEX f ON t ((json_value(j, '$.a' RETURNING CHAR(10))))",
    ] {
        let e = unsupported(s, Flavor::Mysql, Flavor::Mariadb);
        assert!(e.contains("functional key parts") && e.contains(s), "{e}");
    }
    // Prefix key parts are no expressions.
    assert_eq!(
        my2md("ALTER TABLE t ADD INDEX p (b(10), a)").sql,
        "ALTER TABLE t ADD INDEX p (b(10), a)"
    );
}

#[test]
fn check_constraints_for_mariadb() {
    let r = my2md(
        "CREATE TABLE t (a INT CHECK (a > 0) ENFORCED, b INT CHECK (b < 5) NOT ENFORCED, \
         CONSTRAINT c1 CHECK (a < 10) NOT ENFORCED, CONSTRAINT c2 CHECK (a <> 3))",
    );
    assert_eq!(
        r.sql,
        "CREATE TABLE t (a INT CHECK (a > 0), b INT, CONSTRAINT c2 CHECK (a <> 3))"
    );
    assert_eq!(r.rewrites.len(), 3, "{:?}", r.rewrites);
    let r = my2md("ALTER TABLE t ADD CONSTRAINT c3 CHECK (a > 1) NOT ENFORCED, DROP CHECK c1");
    assert_eq!(r.sql, "ALTER TABLE t DROP CONSTRAINT IF EXISTS c1");
    assert!(unsupported(
        "ALTER TABLE t ALTER CHECK c2 NOT ENFORCED",
        Flavor::Mysql,
        Flavor::Mariadb
    )
    .contains("enforced"));
    // MariaDB → MySQL: both have CHECK.
    let s = "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0)";
    assert_eq!(md2my(s).sql, s);
}

#[test]
fn algorithm_and_lock_clauses() {
    let s = "ALTER TABLE t ADD c INT, ALGORITHM=INSTANT, LOCK=NONE";
    assert_eq!(my2md(s).sql, s);
    for (s, want) in [
        (
            "ALTER TABLE t ADD c INT, ALGORITHM=NOCOPY",
            "ALTER TABLE t ADD c INT",
        ),
        (
            "ALTER TABLE t ALGORITHM = NOCOPY, ADD c INT, LOCK=NONE",
            "ALTER TABLE t ADD c INT, LOCK=NONE",
        ),
        (
            "ALTER TABLE t ADD c INT, ALGORITHM=INPLACE",
            "ALTER TABLE t ADD c INT, ALGORITHM=INPLACE",
        ),
        (
            "CREATE INDEX i ON t (a) ALGORITHM=NOCOPY LOCK=NONE",
            "CREATE INDEX i ON t (a) LOCK=NONE",
        ),
        ("DROP INDEX i ON t ALGORITHM NOCOPY", "DROP INDEX i ON t"),
    ] {
        let r = md2my(s);
        assert_eq!(r.sql, want);
        assert_eq!(r.rewrites.len(), usize::from(s != want), "{:?}", r.rewrites);
    }
    assert_eq!(
        md2tidb("ALTER TABLE t ADD c INT, ALGORITHM=NOCOPY").sql,
        "ALTER TABLE t ADD c INT"
    );
    // The word in a string or a name is no clause.
    let s = "ALTER TABLE t ADD `ALGORITHM` INT COMMENT 'ALGORITHM=NOCOPY'";
    assert_eq!(md2my(s).sql, s);
}

#[test]
fn if_exists_in_alter_for_mysql() {
    let r = md2my(
        "ALTER TABLE t ADD COLUMN IF NOT EXISTS a INT, DROP COLUMN IF EXISTS b, \
         ADD INDEX IF NOT EXISTS i (a), DROP INDEX IF EXISTS j, MODIFY IF EXISTS c TEXT, \
         CHANGE COLUMN IF EXISTS d e INT, ADD CONSTRAINT IF NOT EXISTS k CHECK (a > 0), \
         DROP FOREIGN KEY IF EXISTS f",
    );
    assert_eq!(
        r.sql,
        "ALTER TABLE t ADD COLUMN a INT, DROP COLUMN b, ADD INDEX i (a), DROP INDEX j, \
         MODIFY c TEXT, CHANGE COLUMN d e INT, ADD CONSTRAINT k CHECK (a > 0), DROP FOREIGN KEY f"
    );
    assert_eq!(
        md2my("CREATE INDEX IF NOT EXISTS i ON t (a)").sql,
        "CREATE INDEX i ON t (a)"
    );
    assert_eq!(
        md2my("DROP INDEX IF EXISTS i ON t").sql,
        "DROP INDEX i ON t"
    );
    // The table's own IF [NOT] EXISTS stays (Ferry adds it), and TiDB has them all.
    let s = "CREATE TABLE IF NOT EXISTS `d`.`t` (a INT)";
    assert_eq!(md2my(s).sql, s);
    let s = "ALTER TABLE t ADD COLUMN IF NOT EXISTS a INT";
    assert_eq!(md2tidb(s).sql, s);
}

#[test]
fn mariadb_column_attributes_for_mysql() {
    let r = md2my(
        "CREATE TABLE t (id INT PRIMARY KEY, b BLOB COMPRESSED, c VARCHAR(9) COMPRESSED=zlib DEFAULT 'x', \
         v INT AS (id + 1) PERSISTENT, d DATE DEFAULT curdate(), e DATETIME DEFAULT current_timestamp(), \
         u VARCHAR(40) DEFAULT uuid(), t TEXT DEFAULT 'abc', n MEDIUMTEXT DEFAULT NULL, \
         k INT DEFAULT -1) ROW_FORMAT=COMPRESSED",
    );
    assert_eq!(
        r.sql,
        "CREATE TABLE t (id INT PRIMARY KEY, b BLOB, c VARCHAR(9) DEFAULT 'x', \
         v INT AS (id + 1) STORED, d DATE DEFAULT (curdate()), e DATETIME DEFAULT current_timestamp(), \
         u VARCHAR(40) DEFAULT (uuid()), t TEXT DEFAULT ('abc'), n MEDIUMTEXT DEFAULT NULL, \
         k INT DEFAULT -1) ROW_FORMAT=COMPRESSED"
    );
    assert_eq!(r.rewrites.len(), 6, "{:?}", r.rewrites);
}

#[test]
fn mariadb_only_features_are_unsupported() {
    for (s, what) in [
        (
            "CREATE TABLE t (a INT) WITH SYSTEM VERSIONING",
            "system-versioned",
        ),
        ("ALTER TABLE t ADD SYSTEM VERSIONING", "system-versioned"),
        ("ALTER TABLE t ADD COLUMN ip INET6", "INET6"),
        ("CREATE TABLE t (id INT, u UUID NOT NULL)", "UUID"),
        ("ALTER TABLE t MODIFY a inet4", "INET4"),
        (
            "CREATE TABLE t (s DATE, e DATE, PERIOD FOR p (s, e))",
            "periods",
        ),
    ] {
        let e = unsupported(s, Flavor::Mariadb, Flavor::Mysql);
        assert!(e.contains(what) && e.contains("MySQL"), "{e}");
    }
    // Names and functions are not types.
    let s = "CREATE TABLE t (uuid VARCHAR(36) DEFAULT (uuid()), inet6 INT)";
    assert_eq!(md2my(s).sql, s);
    // MariaDB's JSON alias is kept: MySQL has a JSON type.
    let s = "ALTER TABLE t ADD COLUMN j JSON";
    assert_eq!(md2my(s).sql, s);
}

#[test]
fn other_statements_are_untouched() {
    for s in [
        "DROP TABLE IF EXISTS `a`.`b`",
        "RENAME TABLE `a`.`b` TO `a`.`c`",
        "TRUNCATE TABLE `a`.`b`",
        "CREATE TABLE `a`.`b` LIKE `a`.`c`",
    ] {
        assert_eq!(my2md(s).sql, s);
        assert_eq!(md2my(s).sql, s);
    }
}
