use super::*;

#[test]
fn errors_name_the_table_and_statement() {
    let mut s = with("CREATE TABLE t (a int)");
    let e = s
        .apply("ALTER TABLE nope ADD b int", "d", m(), &all)
        .unwrap_err();
    assert!(matches!(e, ModelError::UnknownTable { .. }));
    assert_eq!(
        e.to_string(),
        "table `d`.`nope` is replicated but its definition is not in the schema history, \
         so the DDL statement `ALTER TABLE nope ADD b int` cannot be applied to it"
    );
    assert_eq!(
        s.apply("ALTER TABLE IF EXISTS nope ADD b int", "d", m(), &all)
            .unwrap(),
        []
    );
    let e = s
        .apply("ALTER TABLE t DROP COLUMN zz", "d", m(), &all)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "column `zz` is not in the schema history's definition of table `d`.`t` \
         (DDL statement `ALTER TABLE t DROP COLUMN zz`)"
    );
    let e = s
        .apply("ALTER TABLE t ADD a int", "d", m(), &all)
        .unwrap_err();
    assert!(matches!(e, ModelError::DuplicateColumn { .. }), "{e}");
    let e = s
        .apply("ALTER TABLE t ADD b int AFTER zz", "d", m(), &all)
        .unwrap_err();
    assert!(
        matches!(e, ModelError::UnknownColumn { ref column, .. } if column == "zz"),
        "{e}"
    );
    let e = s
        .apply("ALTER TABLE t ADD KEY (zz)", "d", m(), &all)
        .unwrap_err();
    assert!(matches!(e, ModelError::UnknownColumn { .. }), "{e}");
    // A failing clause leaves the table untouched.
    let e = s
        .apply("ALTER TABLE t ADD b int, DROP zz", "d", m(), &all)
        .unwrap_err();
    assert!(matches!(e, ModelError::UnknownColumn { .. }));
    assert_eq!(names(t(&s, "t")), ["a"]);
    let e = s
        .apply("ALTER TABLE t ADD COLUMN b int BOGUS", "d", m(), &all)
        .unwrap_err();
    assert!(matches!(e, ModelError::Parse { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("`ALTER TABLE t ADD COLUMN b int BOGUS`"),
        "{e}"
    );
    let e = s
        .apply("ALTER TABLE t FROBNICATE", "d", m(), &all)
        .unwrap_err();
    assert!(matches!(e, ModelError::Unsupported { .. }), "{e}");
    let e = s
        .apply("CREATE TABLE x (a int)", "", m(), &all)
        .unwrap_err();
    assert!(matches!(e, ModelError::NoDatabase { .. }), "{e}");
    let long = format!(
        "ALTER TABLE nope ADD COLUMN c int COMMENT '{}'",
        "x".repeat(500)
    );
    let e = s.apply(&long, "d", m(), &all).unwrap_err();
    let ModelError::UnknownTable { statement, .. } = e else {
        panic!()
    };
    assert_eq!(statement.chars().count(), 200);
    assert!(statement.ends_with('…'));
    let e = SchemaSet::parse_create_table("CREATE TABLE t (a int", m()).unwrap_err();
    assert!(matches!(e, ModelError::Parse { .. }), "{e}");
    let e = SchemaSet::parse_create_table("CREATE TABLE t LIKE u", m()).unwrap_err();
    assert!(matches!(e, ModelError::Unsupported { .. }), "{e}");
}
