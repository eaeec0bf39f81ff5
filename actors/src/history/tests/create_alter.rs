use super::*;

#[test]
fn create_forms() {
    let mut s = SchemaSet::new(false);
    assert_eq!(
        alter(&mut s, "CREATE TABLE IF NOT EXISTS t (a int)"),
        [SchemaChange::Created(tn("d", "t"))]
    );
    assert_eq!(alter(&mut s, "CREATE TABLE IF NOT EXISTS t (b int)"), []);
    assert_eq!(names(t(&s, "t")), ["a"]);
    assert_eq!(
        alter(&mut s, "CREATE OR REPLACE TABLE t (b int, c int)"),
        [SchemaChange::Created(tn("d", "t"))]
    );
    assert_eq!(names(t(&s, "t")), ["b", "c"]);
    assert_eq!(
        alter(&mut s, "CREATE TABLE d2.u LIKE t"),
        [SchemaChange::Created(tn("d2", "u"))]
    );
    assert_eq!(s.get(&tn("d2", "u")), s.get(&tn("d", "t")));
    assert_eq!(alter(&mut s, "CREATE TABLE w (LIKE d2.u)").len(), 1);
    assert_eq!(
        alter(&mut s, "CREATE TABLE x SELECT * FROM t"),
        [SchemaChange::NeedsDefinition(tn("d", "x"))]
    );
    assert_eq!(alter(&mut s, "CREATE TEMPORARY TABLE tmp (a int)"), []);
    // LIKE of a table the task does not select: the model cannot know it.
    let only_d = |t: &TableName| t.schema == "d";
    assert_eq!(
        s.apply("CREATE TABLE y LIKE other.src", "d", m(), &only_d)
            .unwrap(),
        [SchemaChange::NeedsDefinition(tn("d", "y"))]
    );
    assert_eq!(
        s.apply("CREATE TABLE other.z (a int)", "d", m(), &only_d)
            .unwrap(),
        []
    );
    assert!(s.get(&tn("other", "z")).is_none());
    // 8.0.21+ logs CREATE TABLE ... SELECT in row format with START TRANSACTION.
    assert_eq!(
        alter(
            &mut s,
            "CREATE TABLE `v` (`a` int DEFAULT NULL) START TRANSACTION"
        ),
        [SchemaChange::Created(tn("d", "v"))]
    );
}

#[test]
fn alter_add_drop_modify_change() {
    let mut s = with(
        "CREATE TABLE t (id int NOT NULL, a varchar(10), b int, PRIMARY KEY (id), KEY ab (a, b)) \
         DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
    );
    assert_eq!(
        alter(
            &mut s,
            "ALTER TABLE t ADD COLUMN c int NOT NULL DEFAULT 1 FIRST"
        ),
        [SchemaChange::Altered(tn("d", "t"))]
    );
    assert_eq!(names(t(&s, "t")), ["c", "id", "a", "b"]);
    alter(
        &mut s,
        "ALTER TABLE t ADD e text AFTER id, ADD COLUMN f int",
    );
    assert_eq!(names(t(&s, "t")), ["c", "id", "e", "a", "b", "f"]);
    assert_eq!(
        col(t(&s, "t"), "e").collation.as_deref(),
        Some("utf8mb4_bin")
    );
    alter(
        &mut s,
        "ALTER TABLE t ADD COLUMN (g int, h varchar(3) CHARACTER SET latin1)",
    );
    assert_eq!(names(t(&s, "t")), ["c", "id", "e", "a", "b", "f", "g", "h"]);
    assert_eq!(col(t(&s, "t"), "h").charset.as_deref(), Some("latin1"));
    alter(&mut s, "ALTER TABLE t ADD COLUMN IF NOT EXISTS g bigint");
    assert_eq!(col(t(&s, "t"), "g").data_type, "int");
    alter(
        &mut s,
        "ALTER TABLE t DROP COLUMN g, DROP h, DROP COLUMN IF EXISTS nope",
    );
    assert_eq!(names(t(&s, "t")), ["c", "id", "e", "a", "b", "f"]);
    alter(
        &mut s,
        "ALTER TABLE t MODIFY COLUMN f bigint unsigned NOT NULL AFTER c",
    );
    assert_eq!(names(t(&s, "t")), ["c", "f", "id", "e", "a", "b"]);
    assert_eq!(col(t(&s, "t"), "f").data_type, "bigint unsigned");
    assert!(!col(t(&s, "t"), "f").nullable);
    alter(&mut s, "ALTER TABLE t MODIFY f int");
    assert!(col(t(&s, "t"), "f").nullable);
    assert_eq!(names(t(&s, "t")), ["c", "f", "id", "e", "a", "b"]);
    alter(
        &mut s,
        "ALTER TABLE t CHANGE COLUMN a aa varchar(20) NOT NULL, CHANGE b `B b` int FIRST",
    );
    assert_eq!(names(t(&s, "t")), ["B b", "c", "f", "id", "e", "aa"]);
    assert_eq!(parts(key(t(&s, "t"), "ab")), [Some("aa"), Some("B b")]);
    alter(&mut s, "ALTER TABLE t RENAME COLUMN aa TO a2");
    assert_eq!(parts(key(t(&s, "t"), "ab")), [Some("a2"), Some("B b")]);
    alter(&mut s, "ALTER TABLE t DROP COLUMN `b B`");
    assert_eq!(parts(key(t(&s, "t"), "ab")), [Some("a2")]);
    alter(&mut s, "ALTER TABLE t DROP COLUMN a2");
    assert!(t(&s, "t").key("ab").is_none(), "emptied key is dropped");
    // Column-level key in MODIFY.
    alter(&mut s, "ALTER TABLE t MODIFY c int UNIQUE");
    assert_eq!(key(t(&s, "t"), "c").kind, KeyKind::Unique);
    // No schema change: nothing reported.
    assert_eq!(
        alter(
            &mut s,
            "ALTER TABLE t ENGINE=InnoDB, ALGORITHM=INPLACE, LOCK=NONE"
        ),
        []
    );
    assert_eq!(alter(&mut s, "ALTER TABLE t FORCE"), []);
    assert_eq!(
        alter(
            &mut s,
            "ALTER TABLE t COMMENT 'x\\'y', AUTO_INCREMENT = 5 ROW_FORMAT=DYNAMIC"
        ),
        []
    );
    assert_eq!(
        alter(
            &mut s,
            "ALTER TABLE t ALTER COLUMN c SET DEFAULT 5, ALTER f DROP DEFAULT"
        ),
        []
    );
}

#[test]
fn alter_visibility_keys_and_constraints() {
    let mut s = with("CREATE TABLE t (id int, a int, b int, c int)");
    alter(&mut s, "ALTER TABLE t ALTER COLUMN a SET INVISIBLE");
    assert!(col(t(&s, "t"), "a").invisible);
    alter(&mut s, "ALTER TABLE t ALTER a SET VISIBLE");
    assert!(!col(t(&s, "t"), "a").invisible);
    alter(&mut s, "ALTER TABLE t ADD PRIMARY KEY (id), ADD UNIQUE INDEX ua (a), ADD KEY (b), ADD FULLTEXT KEY ft (c), ADD INDEX fx ((a + b))");
    let tt = t(&s, "t");
    assert!(
        !col(tt, "id").nullable,
        "primary key columns become NOT NULL"
    );
    let keys: Vec<(&str, KeyKind)> = tt.keys.iter().map(|k| (k.name.as_str(), k.kind)).collect();
    assert_eq!(
        keys,
        [
            ("PRIMARY", KeyKind::Primary),
            ("ua", KeyKind::Unique),
            ("b", KeyKind::Index),
            ("ft", KeyKind::Fulltext),
            ("fx", KeyKind::Index),
        ]
    );
    alter(
        &mut s,
        "ALTER TABLE t RENAME INDEX ua TO ub, RENAME KEY b TO bb",
    );
    assert!(t(&s, "t").key("ub").is_some() && t(&s, "t").key("bb").is_some());
    alter(
        &mut s,
        "ALTER TABLE t DROP INDEX ub, DROP KEY bb, DROP PRIMARY KEY",
    );
    let keys: Vec<&str> = t(&s, "t").keys.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(keys, ["ft", "fx"]);
    // Constraints: ignored by the model, accepted.
    assert_eq!(
        alter(
            &mut s,
            "ALTER TABLE t ADD CONSTRAINT ck CHECK (a > 0), ADD CHECK (b > 0) NOT ENFORCED, \
             ADD CONSTRAINT fk FOREIGN KEY (c) REFERENCES p (id) ON DELETE CASCADE"
        ),
        [SchemaChange::Altered(tn("d", "t"))],
        "the foreign key adds its index"
    );
    assert_eq!(parts(key(t(&s, "t"), "fk")), [Some("c")]);
    assert_eq!(
        alter(
            &mut s,
            "ALTER TABLE t DROP CHECK ck, DROP FOREIGN KEY fk, DROP CONSTRAINT other"
        ),
        []
    );
    alter(&mut s, "ALTER TABLE t ADD CONSTRAINT uq UNIQUE (a)");
    assert_eq!(key(t(&s, "t"), "uq").kind, KeyKind::Unique);
    alter(&mut s, "ALTER TABLE t DROP CONSTRAINT uq");
    assert!(t(&s, "t").key("uq").is_none());
    // CREATE / DROP INDEX statements.
    alter(
        &mut s,
        "CREATE UNIQUE INDEX ia USING BTREE ON t (a(5) DESC, b) ALGORITHM=INPLACE LOCK=NONE",
    );
    assert_eq!(parts(key(t(&s, "t"), "ia")), [Some("a"), Some("b")]);
    alter(&mut s, "CREATE SPATIAL INDEX sp ON d.t (c)");
    assert_eq!(key(t(&s, "t"), "sp").kind, KeyKind::Spatial);
    alter(&mut s, "DROP INDEX ia ON t ALGORITHM=INPLACE");
    assert!(t(&s, "t").key("ia").is_none());
    alter(&mut s, "ALTER TABLE t ADD PRIMARY KEY (id)");
    alter(&mut s, "DROP INDEX `PRIMARY` ON t");
    assert!(t(&s, "t").key("PRIMARY").is_none());
}

#[test]
fn alter_charsets_partitions_and_rename() {
    let mut s = with(
        "CREATE TABLE t (a varchar(10), b text CHARACTER SET latin1, c int, d varbinary(3)) \
         DEFAULT CHARSET=latin1",
    );
    assert_eq!(
        alter(&mut s, "ALTER TABLE t DEFAULT CHARSET=utf8mb4"),
        [SchemaChange::Altered(tn("d", "t"))]
    );
    assert_eq!(
        col(t(&s, "t"), "a").charset.as_deref(),
        Some("latin1"),
        "existing columns keep theirs"
    );
    alter(&mut s, "ALTER TABLE t ADD e char(1)");
    assert_eq!(col(t(&s, "t"), "e").charset.as_deref(), Some("utf8mb4"));
    alter(
        &mut s,
        "ALTER TABLE t CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
    );
    let tt = t(&s, "t");
    for c in ["a", "b", "e"] {
        assert_eq!(col(tt, c).charset.as_deref(), Some("utf8mb4"));
        assert_eq!(col(tt, c).collation.as_deref(), Some("utf8mb4_unicode_ci"));
    }
    assert_eq!(col(tt, "c").charset, None);
    assert_eq!(col(tt, "d").charset, None);
    assert_eq!(tt.collation.as_deref(), Some("utf8mb4_unicode_ci"));
    alter(
        &mut s,
        "ALTER TABLE t CHARACTER SET = latin1 COLLATE latin1_bin",
    );
    assert_eq!(t(&s, "t").collation.as_deref(), Some("latin1_bin"));
    // Partition operations: no change.
    for sql in [
        "ALTER TABLE t PARTITION BY RANGE (c) (PARTITION p0 VALUES LESS THAN (10), PARTITION p1 VALUES LESS THAN MAXVALUE)",
        "ALTER TABLE t ADD PARTITION (PARTITION p2 VALUES LESS THAN (20))",
        "ALTER TABLE t DROP PARTITION p0, p1",
        "ALTER TABLE t REORGANIZE PARTITION p0, p1 INTO (PARTITION p01 VALUES LESS THAN (20))",
        "ALTER TABLE t EXCHANGE PARTITION p0 WITH TABLE t2 WITHOUT VALIDATION",
        "ALTER TABLE t TRUNCATE PARTITION ALL",
        "ALTER TABLE t REMOVE PARTITIONING",
        "ALTER TABLE t COALESCE PARTITION 2",
        "ALTER TABLE t ALGORITHM=INPLACE, ADD PARTITION PARTITIONS 2",
        "ALTER TABLE t ORDER BY c",
        "ALTER TABLE t DISABLE KEYS",
    ] {
        assert_eq!(alter(&mut s, sql), [], "{sql}");
    }
    // RENAME inside ALTER, with changes.
    assert_eq!(
        alter(&mut s, "ALTER TABLE t ADD z int, RENAME TO u"),
        [
            SchemaChange::Renamed {
                from: tn("d", "t"),
                to: tn("d", "u")
            },
            SchemaChange::Altered(tn("d", "u"))
        ]
    );
    assert!(s.get(&tn("d", "t")).is_none());
    assert_eq!(
        alter(&mut s, "ALTER TABLE u RENAME AS d2.v"),
        [SchemaChange::Renamed {
            from: tn("d", "u"),
            to: tn("d2", "v")
        }]
    );
}
