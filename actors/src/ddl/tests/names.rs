//! Names: quoting, non-ASCII names, comments, keyword case and routing.

use super::*;
use crate::rules::{RouteSpec, Router};

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

/// Names with multi-byte characters are found and replaced at their exact bytes, also after
/// multi-byte text on earlier lines and inside executable comments.
#[test]
fn non_ascii_names_are_routed_in_place() {
    let route = |t: &TableName| {
        let schema = if t.schema == "dönnées" {
            "routé"
        } else {
            &t.schema
        };
        TableName::new(schema, t.table.replace("_1", "_合"))
    };
    let Ok(Parsed::Ddl(v)) = parse(
        "/* ç */ ALTER TABLE `表_1` ADD `ü` int COMMENT '日本',\n RENAME TO été_1",
        "dönnées",
    ) else {
        panic!()
    };
    assert_eq!(
        v[0].tables(),
        [tn("dönnées", "表_1"), tn("dönnées", "été_1")]
    );
    assert_eq!(
        v[0].render(route),
        "/* ç */ ALTER TABLE `routé`.`表_合` ADD `ü` int COMMENT '日本',\n RENAME TO `routé`.`été_合`"
    );
    let Ok(Parsed::Ddl(v)) = parse(
        "/*!40000 RENAME TABLE `ñ`.`a_1` TO\n ñ.`ö_1` */ /*M!100100 , b_1 TO é_1 */",
        "dönnées",
    ) else {
        panic!()
    };
    let out: Vec<String> = v.iter().map(|s| s.render(route)).collect();
    assert_eq!(
        out,
        [
            "/*!40000 RENAME TABLE `ñ`.`a_合` TO `ñ`.`ö_合` */",
            "/*!40000 RENAME TABLE `routé`.`b_合` TO `routé`.`é_合` */"
        ]
    );
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
