use super::*;

#[test]
fn sql_modes() {
    // ANSI_QUOTES: "x" is an identifier.
    let ansi = ParseMode::from("ANSI_QUOTES,STRICT_TRANS_TABLES");
    assert!(ansi.ansi_quotes && !ansi.no_backslash_escapes);
    let mut s = SchemaSet::new(false);
    s.apply(
        r#"CREATE TABLE "my table" ("id" int NOT NULL, "we""ird" varchar(5) DEFAULT 'a"b', PRIMARY KEY ("id"))"#,
        "d",
        ansi,
        &all,
    )
    .unwrap();
    let tt = s.get(&tn("d", "my table")).unwrap();
    assert_eq!(names(tt), ["id", "we\"ird"]);
    s.apply(
        r#"ALTER TABLE "d"."my table" ADD "x y" int AFTER "id""#,
        "d",
        ansi,
        &all,
    )
    .unwrap();
    assert_eq!(
        names(s.get(&tn("d", "my table")).unwrap()),
        ["id", "x y", "we\"ird"]
    );
    // Without ANSI_QUOTES, "x" is a string: not a column name.
    let e = s
        .apply(
            r#"ALTER TABLE `my table` ADD COLUMN z int AFTER "id""#,
            "d",
            m(),
            &all,
        )
        .unwrap_err();
    assert!(matches!(e, ModelError::Parse { .. }), "{e}");
    let sql = r#"CREATE TABLE t (a varchar(3) DEFAULT "x""y" COMMENT "it's")"#;
    assert!(SchemaSet::parse_create_table(sql, m()).is_ok());
    assert!(SchemaSet::parse_create_table(sql, ansi).is_err());

    // NO_BACKSLASH_ESCAPES: 'a\' is a complete string.
    let nbe = ParseMode::from(crate::history::model::sql_mode_bits::NO_BACKSLASH_ESCAPES);
    assert!(nbe.no_backslash_escapes);
    let sql = r"CREATE TABLE t (a int COMMENT 'a\', b varchar(3) DEFAULT '\') COMMENT='c:\'";
    let tt = SchemaSet::parse_create_table(sql, nbe).unwrap();
    assert_eq!(names(&tt), ["a", "b"]);
    assert!(SchemaSet::parse_create_table(sql, m()).is_err());
    let mut s = with("CREATE TABLE t (a int)");
    s.apply(
        r"ALTER TABLE t ADD b int COMMENT 'x\', ADD c int",
        "d",
        nbe,
        &all,
    )
    .unwrap();
    assert_eq!(names(t(&s, "t")), ["a", "b", "c"]);
    // Backslash escapes (default): 'it\'s' is one string.
    s.apply(
        r"ALTER TABLE t ADD e int COMMENT 'it\'s, \\', ADD f int",
        "d",
        m(),
        &all,
    )
    .unwrap();
    assert_eq!(names(t(&s, "t")), ["a", "b", "c", "e", "f"]);

    // The binlog bits.
    let all_bits = ParseMode::from(1u64 | 2 | 4 | (1 << 20) | (1 << 29));
    assert_eq!(
        all_bits,
        ParseMode {
            ansi_quotes: true,
            no_backslash_escapes: true,
            pipes_as_concat: true,
            high_not_precedence: true,
            real_as_float: true,
        }
    );
    assert_eq!(ParseMode::from(0u64), ParseMode::default());
    let ansi = ParseMode::from("ansi");
    assert!(ansi.ansi_quotes && ansi.pipes_as_concat && ansi.real_as_float);
    let txt = ParseMode::from("PIPES_AS_CONCAT, high_not_precedence,NO_BACKSLASH_ESCAPES");
    assert!(txt.pipes_as_concat && txt.high_not_precedence && txt.no_backslash_escapes);
    assert!(!txt.ansi_quotes);
    let from_ddl: ParseMode = crate::ddl::SqlMode {
        ansi_quotes: true,
        no_backslash_escapes: false,
    }
    .into();
    assert!(from_ddl.ansi_quotes);
    // PIPES_AS_CONCAT inside a generated column.
    let tt = SchemaSet::parse_create_table(
        "CREATE TABLE t (a varchar(5), b varchar(10) AS (a || 'x'))",
        ParseMode::from("PIPES_AS_CONCAT"),
    )
    .unwrap();
    assert!(col(&tt, "b").generated);
}

#[test]
fn identifiers() {
    let mut s = SchemaSet::new(false);
    s.apply(
        "CREATE TABLE `we``ird.db`.`tab le.1` (`col ``q`` 1` int, `ünïcödé` varchar(3), `键` int, KEY `k.1` (`ünïcödé`))",
        "d",
        m(),
        &all,
    )
    .unwrap();
    let tt = s.get(&tn("we`ird.db", "tab le.1")).unwrap();
    assert_eq!(names(tt), ["col `q` 1", "ünïcödé", "键"]);
    assert_eq!(parts(key(tt, "k.1")), [Some("ünïcödé")]);
    s.apply(
        "ALTER TABLE `we``ird.db`.`tab le.1` DROP COLUMN `ÜNÏCÖDÉ`",
        "x",
        m(),
        &all,
    )
    .unwrap();
    assert_eq!(
        names(s.get(&tn("we`ird.db", "tab le.1")).unwrap()),
        ["col `q` 1", "键"]
    );
    // Unquoted keywords that MySQL accepts as names, and a name starting with a digit.
    let tt = SchemaSet::parse_create_table(
        "CREATE TABLE 1t (status int, `key` int, comment text, date date, user varchar(3), PRIMARY KEY (`key`))",
        m(),
    )
    .unwrap();
    assert_eq!(names(&tt), ["status", "key", "comment", "date", "user"]);
}

#[test]
fn lower_case_table_names() {
    let mut s = SchemaSet::new(true);
    s.apply("CREATE TABLE `Db`.`MyTable` (a int)", "x", m(), &all)
        .unwrap();
    assert!(s.get(&tn("db", "mytable")).is_some());
    assert!(s.get(&tn("DB", "MYTABLE")).is_some());
    assert_eq!(s.iter().next().unwrap().0, &tn("db", "mytable"));
    s.apply("ALTER TABLE MYTABLE ADD b int", "DB", m(), &all)
        .unwrap();
    assert_eq!(names(s.get(&tn("db", "mytable")).unwrap()), ["a", "b"]);
    let mut cs = SchemaSet::new(false);
    cs.apply("CREATE TABLE `Db`.`MyTable` (a int)", "x", m(), &all)
        .unwrap();
    assert!(cs.get(&tn("db", "mytable")).is_none());
    assert!(cs
        .apply("ALTER TABLE MyTable ADD b int", "db", m(), &all)
        .is_err());
}
