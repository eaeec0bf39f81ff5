use super::*;

#[test]
fn json_operators_and_expressions_in_ddl() {
    // sqlparser reads MySQL's JSON operators itself.
    let d = crate::history::dialect::FerryDialect {
        ansi_quotes: false,
        no_backslash_escapes: false,
    };
    let mut p = sqlparser::parser::Parser::new(&d)
        .try_with_sql("n varchar(20) AS (doc->>'$.name') VIRTUAL")
        .unwrap();
    p.parse_column_def().unwrap();
    let mut s = with("CREATE TABLE t (id int PRIMARY KEY, doc json)");
    alter(
        &mut s,
        "ALTER TABLE t ADD COLUMN n varchar(20) GENERATED ALWAYS AS (doc->>'$.name') VIRTUAL, \
         ADD COLUMN m int AS (doc->'$.m') STORED NOT NULL, \
         ADD INDEX idx_tags ((CAST(doc->'$.tags' AS UNSIGNED ARRAY))), \
         ADD COLUMN k int DEFAULT (rand() * 10) CHECK (k >= 0)",
    );
    let tt = t(&s, "t");
    assert!(col(tt, "n").generated && col(tt, "m").generated && !col(tt, "k").generated);
    assert!(!col(tt, "m").nullable);
    assert_eq!(parts(key(tt, "idx_tags")), [None]);
}

#[test]
fn versioned_comments_and_executable_hints() {
    let tt = SchemaSet::parse_create_table("/*!40101 SET @x=1 */; CREATE TABLE t (a int)", m());
    // Two statements are not one DDL: refuse rather than guess.
    assert!(tt.is_err());
    let mut s = with("CREATE TABLE t (a int)");
    alter(
        &mut s,
        "ALTER TABLE t /*!80023 ALTER COLUMN a SET INVISIBLE */",
    );
    assert!(col(t(&s, "t"), "a").invisible);
    alter(&mut s, "/*!50530 ALTER TABLE t ADD b int */");
    assert_eq!(names(t(&s, "t")), ["a", "b"]);
    alter(&mut s, "ALTER TABLE t ADD c int /*M!100301 INVISIBLE */");
    assert!(col(t(&s, "t"), "c").invisible);
}

#[test]
fn mariadb_alter_forms() {
    let mut s = with("CREATE TABLE t (a int, b int)");
    alter(&mut s, "ALTER ONLINE TABLE t WAIT 10 ADD COLUMN IF NOT EXISTS c int, DROP COLUMN IF EXISTS zz, MODIFY COLUMN IF EXISTS yy int");
    assert_eq!(names(t(&s, "t")), ["a", "b", "c"]);
    alter(&mut s, "ALTER TABLE t CHANGE COLUMN IF EXISTS c c2 bigint, ADD INDEX IF NOT EXISTS ia (a), ADD INDEX IF NOT EXISTS ia (b), DROP INDEX IF EXISTS nope");
    assert_eq!(parts(key(t(&s, "t"), "ia")), [Some("a")]);
    assert_eq!(col(t(&s, "t"), "c2").data_type, "bigint");
    alter(&mut s, "ALTER TABLE t ADD SYSTEM VERSIONING");
    alter(&mut s, "RENAME TABLE IF EXISTS t WAIT 3 TO u");
    assert!(s.get(&tn("d", "u")).is_some());
}
