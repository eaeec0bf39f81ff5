//! `CREATE TABLE` and `ALTER TABLE`.

use super::*;

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
