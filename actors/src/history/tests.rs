use ferry_model::TableName;

use super::model::*;

fn m() -> ParseMode {
    ParseMode::default()
}

fn tn(s: &str, t: &str) -> TableName {
    TableName::new(s, t)
}

fn all(_: &TableName) -> bool {
    true
}

fn types(t: &TableSchema) -> Vec<(&str, &str)> {
    t.columns
        .iter()
        .map(|c| (c.name.as_str(), c.data_type.as_str()))
        .collect()
}

fn names(t: &TableSchema) -> Vec<&str> {
    t.columns.iter().map(|c| c.name.as_str()).collect()
}

fn key<'a>(t: &'a TableSchema, name: &str) -> &'a KeySchema {
    t.key(name)
        .unwrap_or_else(|| panic!("no key {name} in {:?}", t.keys))
}

fn col<'a>(t: &'a TableSchema, name: &str) -> &'a ColumnSchema {
    t.column(name)
        .unwrap_or_else(|| panic!("no column {name} in {:?}", names(t)))
        .1
}

fn parts(k: &KeySchema) -> Vec<Option<&str>> {
    k.columns.iter().map(|c| c.as_deref()).collect()
}

/// A set with `d.t` created from `sql`.
fn with(sql: &str) -> SchemaSet {
    let mut s = SchemaSet::new(false);
    let ch = s.apply(sql, "d", m(), &all).unwrap();
    assert_eq!(ch.len(), 1, "{ch:?}");
    s
}

fn alter(s: &mut SchemaSet, sql: &str) -> Vec<SchemaChange> {
    s.apply(sql, "d", m(), &all)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn t<'a>(s: &'a SchemaSet, name: &str) -> &'a TableSchema {
    s.get(&tn("d", name))
        .unwrap_or_else(|| panic!("no table {name}"))
}

const MYSQL9_ORDERS: &str = r#"CREATE TABLE `orders` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `customer_id` int NOT NULL,
  `doc` json DEFAULT NULL,
  `status` enum('new','paid','it''s') CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT 'new',
  `cust_name` varchar(100) COLLATE utf8mb4_unicode_ci GENERATED ALWAYS AS (json_unquote(json_extract(`doc`,_utf8mb4'$.name'))) VIRTUAL,
  `total` decimal(10,2) NOT NULL DEFAULT '0.00' COMMENT 'amount, in \'EUR\' \\ cents',
  `pt` point NOT NULL /*!80003 SRID 4326 */,
  `secret` varchar(10) DEFAULT NULL /*!80023 INVISIBLE */,
  `created_at` timestamp(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  `emb` vector(3) DEFAULT NULL,
  `twice` int GENERATED ALWAYS AS ((`customer_id` * 2)) STORED NOT NULL,
  `day` date DEFAULT (curdate()),
  `uid` varchar(36) DEFAULT (uuid()),
  `flag` bit(1) DEFAULT b'0',
  `bin` varbinary(16) DEFAULT NULL,
  `latin` char(2) CHARACTER SET latin1 DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uk_cust` (`customer_id`,`status`),
  KEY `idx_name` (`cust_name`(10)),
  KEY `idx_func` ((cast(json_extract(`doc`,_utf8mb4'$.tags') as char(10) array))),
  KEY `idx_mixed` (`customer_id` DESC,(lower(`uid`))),
  FULLTEXT KEY `ft` (`cust_name`) /*!50100 WITH PARSER `ngram` */ ,
  SPATIAL KEY `sp` (`pt`),
  KEY `fk_c` (`customer_id`),
  CONSTRAINT `fk_c` FOREIGN KEY (`customer_id`) REFERENCES `customers` (`id`) ON DELETE CASCADE,
  CONSTRAINT `chk_total` CHECK ((`total` >= 0))
) ENGINE=InnoDB AUTO_INCREMENT=10 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci COMMENT='it''s \'q\' \\'
/*!50100 PARTITION BY HASH (`id`)
PARTITIONS 4 */"#;

#[test]
fn mysql9_show_create_table() {
    let s = SchemaSet::parse_create_table(MYSQL9_ORDERS, m()).unwrap();
    assert_eq!(
        types(&s),
        [
            ("id", "bigint unsigned"),
            ("customer_id", "int"),
            ("doc", "json"),
            ("status", "enum('new','paid','it''s')"),
            ("cust_name", "varchar(100)"),
            ("total", "decimal(10,2)"),
            ("pt", "point"),
            ("secret", "varchar(10)"),
            ("created_at", "timestamp(6)"),
            ("emb", "vector(3)"),
            ("twice", "int"),
            ("day", "date"),
            ("uid", "varchar(36)"),
            ("flag", "bit(1)"),
            ("bin", "varbinary(16)"),
            ("latin", "char(2)"),
        ]
    );
    assert!(!col(&s, "id").nullable);
    assert!(col(&s, "doc").nullable);
    assert!(col(&s, "cust_name").generated && col(&s, "twice").generated);
    assert!(!col(&s, "twice").nullable);
    assert!(!col(&s, "uid").generated);
    assert!(col(&s, "secret").invisible && !col(&s, "pt").invisible);
    assert_eq!(col(&s, "status").charset.as_deref(), Some("utf8mb4"));
    assert_eq!(col(&s, "status").collation.as_deref(), Some("utf8mb4_bin"));
    assert_eq!(col(&s, "cust_name").charset.as_deref(), Some("utf8mb4"));
    assert_eq!(
        col(&s, "cust_name").collation.as_deref(),
        Some("utf8mb4_unicode_ci")
    );
    assert_eq!(
        col(&s, "uid").collation.as_deref(),
        Some("utf8mb4_0900_ai_ci")
    );
    assert_eq!(col(&s, "latin").charset.as_deref(), Some("latin1"));
    assert_eq!(col(&s, "latin").collation, None);
    assert_eq!(col(&s, "bin").charset, None);
    assert_eq!(col(&s, "total").charset, None);
    assert_eq!(s.charset.as_deref(), Some("utf8mb4"));
    let keys: Vec<(&str, KeyKind)> = s.keys.iter().map(|k| (k.name.as_str(), k.kind)).collect();
    assert_eq!(
        keys,
        [
            ("PRIMARY", KeyKind::Primary),
            ("uk_cust", KeyKind::Unique),
            ("idx_name", KeyKind::Index),
            ("idx_func", KeyKind::Index),
            ("idx_mixed", KeyKind::Index),
            ("ft", KeyKind::Fulltext),
            ("sp", KeyKind::Spatial),
            ("fk_c", KeyKind::Index),
        ]
    );
    assert_eq!(parts(key(&s, "idx_func")), [None]);
    assert_eq!(parts(key(&s, "idx_mixed")), [Some("customer_id"), None]);
    assert_eq!(parts(key(&s, "idx_name")), [Some("cust_name")]);
    assert_eq!(s.primary_or_unique_not_null().unwrap().name, "PRIMARY");
}

const MARIADB_T1: &str = r#"CREATE TABLE `t1` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `name` varchar(50) DEFAULT NULL,
  `data` longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL CHECK (json_valid(`data`)),
  `created` timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp(),
  `v` int(11) GENERATED ALWAYS AS (`id` * 2) VIRTUAL,
  `s` varchar(10) GENERATED ALWAYS AS (concat(`name`,'x')) STORED,
  `p` int(11) AS (`id` + 1) PERSISTENT,
  `u` uuid DEFAULT NULL,
  `ip` inet6 DEFAULT NULL,
  `h` int(11) DEFAULT NULL INVISIBLE,
  `c` blob /*M!100301 COMPRESSED*/ DEFAULT NULL,
  `price` decimal(10,2) unsigned zerofill DEFAULT NULL,
  `e` enum('x','y') NOT NULL DEFAULT 'x' COMMENT 'a comment with a \\ and a '' quote',
  `rs` timestamp(6) GENERATED ALWAYS AS ROW START INVISIBLE,
  `re` timestamp(6) GENERATED ALWAYS AS ROW END INVISIBLE,
  PRIMARY KEY (`id`,`re`),
  UNIQUE KEY `name` (`name`),
  KEY `idx_v` (`v`) USING BTREE,
  KEY `idx_h` USING HASH (`h`),
  PERIOD FOR SYSTEM_TIME (`rs`, `re`),
  CONSTRAINT `c1` CHECK (`id` > 0)
) ENGINE=InnoDB AUTO_INCREMENT=3 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci PAGE_CHECKSUM=1 `encryption_key_id`=2 COMMENT='x' WITH SYSTEM VERSIONING
 PARTITION BY RANGE (`id`)
(PARTITION `p0` VALUES LESS THAN (10) ENGINE = InnoDB,
 PARTITION `p1` VALUES LESS THAN MAXVALUE ENGINE = InnoDB)"#;

#[test]
fn mariadb_show_create_table() {
    let s = SchemaSet::parse_create_table(MARIADB_T1, m()).unwrap();
    assert_eq!(
        types(&s),
        [
            ("id", "int(11)"),
            ("name", "varchar(50)"),
            ("data", "longtext"),
            ("created", "timestamp"),
            ("v", "int(11)"),
            ("s", "varchar(10)"),
            ("p", "int(11)"),
            ("u", "uuid"),
            ("ip", "inet6"),
            ("h", "int(11)"),
            ("c", "blob"),
            ("price", "decimal(10,2) unsigned zerofill"),
            ("e", "enum('x','y')"),
            ("rs", "timestamp(6)"),
            ("re", "timestamp(6)"),
        ]
    );
    assert!(col(&s, "v").generated && col(&s, "s").generated && col(&s, "p").generated);
    assert!(col(&s, "rs").generated && col(&s, "rs").invisible);
    assert!(!col(&s, "re").nullable, "primary key part");
    assert!(col(&s, "h").invisible);
    assert_eq!(
        col(&s, "name").collation.as_deref(),
        Some("utf8mb4_general_ci")
    );
    assert_eq!(col(&s, "data").collation.as_deref(), Some("utf8mb4_bin"));
    assert_eq!(parts(key(&s, "PRIMARY")), [Some("id"), Some("re")]);
    assert_eq!(key(&s, "idx_h").kind, KeyKind::Index);
    assert_eq!(s.keys.len(), 4);
}

#[test]
fn mysql57_show_create_table_and_type_aliases() {
    let s = SchemaSet::parse_create_table(
        "CREATE TABLE `a` (\n  `id` int(11) NOT NULL,\n  `v` varchar(20) CHARACTER SET utf8 COLLATE utf8_bin NOT NULL,\n  \
         `j` json DEFAULT NULL,\n  `g` varchar(20) GENERATED ALWAYS AS (json_unquote(json_extract(`j`,'$.name'))) VIRTUAL,\n  \
         PRIMARY KEY (`id`),\n  UNIQUE KEY `v` (`v`)\n) ENGINE=InnoDB DEFAULT CHARSET=latin1",
        m(),
    )
    .unwrap();
    assert_eq!(col(&s, "g").charset.as_deref(), Some("latin1"));
    assert_eq!(col(&s, "g").collation, None);
    assert_eq!(col(&s, "v").charset.as_deref(), Some("utf8"));

    let s = SchemaSet::parse_create_table(
        "CREATE TABLE t (a SERIAL, b BOOLEAN, c NUMERIC, d DOUBLE PRECISION, e REAL, \
         f FLOAT(30), g NATIONAL VARCHAR(10), h CHAR, i INTEGER(11) UNSIGNED ZEROFILL, j DEC(5), \
         k char(10) binary, l LONG VARCHAR, m geometrycollection, n set('a','b''c'), \
         o int signed, p float(7,4), q tinyint(1), r mediumint unsigned, s year, t time(3), \
         u varchar(5) charset ascii, v text COLLATE latin1_german2_ci, w nchar(3))",
        m(),
    )
    .unwrap();
    assert_eq!(
        types(&s),
        [
            ("a", "bigint unsigned"),
            ("b", "tinyint(1)"),
            ("c", "decimal(10,0)"),
            ("d", "double"),
            ("e", "double"),
            ("f", "double"),
            ("g", "varchar(10)"),
            ("h", "char(1)"),
            ("i", "int(11) unsigned zerofill"),
            ("j", "decimal(5,0)"),
            ("k", "char(10)"),
            ("l", "mediumtext"),
            ("m", "geometrycollection"),
            ("n", "set('a','b''c')"),
            ("o", "int"),
            ("p", "float(7,4)"),
            ("q", "tinyint(1)"),
            ("r", "mediumint unsigned"),
            ("s", "year"),
            ("t", "time(3)"),
            ("u", "varchar(5)"),
            ("v", "text"),
            ("w", "char(3)"),
        ]
    );
    assert!(!col(&s, "a").nullable);
    assert_eq!(key(&s, "a").kind, KeyKind::Unique);
    assert_eq!(col(&s, "g").charset.as_deref(), Some("utf8mb3"));
    assert_eq!(col(&s, "w").charset.as_deref(), Some("utf8mb3"));
    assert_eq!(col(&s, "u").charset.as_deref(), Some("ascii"));
    assert_eq!(col(&s, "v").charset.as_deref(), Some("latin1"));
    assert_eq!(
        col(&s, "k").collation,
        None,
        "charset unknown: no _bin name"
    );
    let mode = ParseMode::from("REAL_AS_FLOAT");
    let s = SchemaSet::parse_create_table("CREATE TABLE t (e REAL)", mode).unwrap();
    assert_eq!(types(&s), [("e", "float")]);
    let s = SchemaSet::parse_create_table(
        "CREATE TABLE t (k char(10) binary) DEFAULT CHARSET=utf8mb4",
        m(),
    )
    .unwrap();
    assert_eq!(col(&s, "k").collation.as_deref(), Some("utf8mb4_bin"));
}

#[test]
fn column_level_keys_and_naming() {
    let s = SchemaSet::parse_create_table(
        "CREATE TABLE t (id INT PRIMARY KEY, a INT UNIQUE, b INT UNIQUE KEY, c INT, \
         KEY (c), KEY (c, a), INDEX (a), UNIQUE (c), KEY ((a + 1)), \
         CONSTRAINT fk FOREIGN KEY (b) REFERENCES p (id), FOREIGN KEY (c, b) REFERENCES p (x, y))",
        m(),
    )
    .unwrap();
    let keys: Vec<(&str, KeyKind)> = s.keys.iter().map(|k| (k.name.as_str(), k.kind)).collect();
    assert_eq!(
        keys,
        [
            ("PRIMARY", KeyKind::Primary),
            ("a", KeyKind::Unique),
            ("b", KeyKind::Unique),
            ("c", KeyKind::Index),
            ("c_2", KeyKind::Index),
            ("a_2", KeyKind::Index),
            ("c_3", KeyKind::Unique),
            ("functional_index", KeyKind::Index),
            // FOREIGN KEY (b): `b` covers it; FOREIGN KEY (c, b): nothing starts with (c, b).
            ("c_4", KeyKind::Index),
        ]
    );
    assert!(!col(&s, "id").nullable);
}

#[test]
fn primary_or_unique_not_null() {
    let s = SchemaSet::parse_create_table(
        "CREATE TABLE t (a INT, b INT NOT NULL, c INT NOT NULL, UNIQUE KEY ua (a), \
         UNIQUE KEY uf ((b + 1)), UNIQUE KEY ubc (b, c), KEY kb (b))",
        m(),
    )
    .unwrap();
    assert_eq!(s.primary_or_unique_not_null().unwrap().name, "ubc");
    let s = SchemaSet::parse_create_table("CREATE TABLE t (a INT, UNIQUE KEY (a))", m()).unwrap();
    assert!(s.primary_or_unique_not_null().is_none());
    assert_eq!(s.column("A").unwrap().0, 0);
}

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

#[test]
fn rename_tables_sequentially() {
    let mut s = SchemaSet::new(false);
    alter(&mut s, "CREATE TABLE a (x int)");
    alter(&mut s, "CREATE TABLE b (y int)");
    let ch = alter(&mut s, "RENAME TABLE a TO tmp, b TO a, tmp TO b");
    assert_eq!(names(t(&s, "a")), ["y"]);
    assert_eq!(names(t(&s, "b")), ["x"]);
    assert!(s.get(&tn("d", "tmp")).is_none());
    assert_eq!(s.len(), 2);
    assert_eq!(
        ch,
        [
            SchemaChange::Renamed {
                from: tn("d", "a"),
                to: tn("d", "tmp")
            },
            SchemaChange::Renamed {
                from: tn("d", "b"),
                to: tn("d", "a")
            },
            SchemaChange::Renamed {
                from: tn("d", "tmp"),
                to: tn("d", "b")
            },
        ]
    );
}

#[test]
fn rename_into_and_out_of_the_tracked_set() {
    let mut s = SchemaSet::new(false);
    let tracked = |t: &TableName| !t.table.starts_with('_');
    s.apply("CREATE TABLE a (x int)", "d", m(), &tracked)
        .unwrap();
    s.apply("CREATE TABLE b (y int)", "d", m(), &tracked)
        .unwrap();
    // Swap through an untracked temporary name (gh-ost/pt-osc style).
    let ch = s
        .apply(
            "RENAME TABLE a TO _tmp, b TO a, _tmp TO b",
            "d",
            m(),
            &tracked,
        )
        .unwrap();
    assert_eq!(
        ch,
        [
            SchemaChange::Dropped(tn("d", "a")),
            SchemaChange::Renamed {
                from: tn("d", "b"),
                to: tn("d", "a")
            },
            SchemaChange::Created(tn("d", "b")),
        ]
    );
    assert_eq!(names(t(&s, "a")), ["y"]);
    assert_eq!(names(t(&s, "b")), ["x"]);
    // Out of the set.
    let ch = s
        .apply("RENAME TABLE a TO _old", "d", m(), &tracked)
        .unwrap();
    assert_eq!(ch, [SchemaChange::Dropped(tn("d", "a"))]);
    assert!(s.get(&tn("d", "_old")).is_none());
    // Into the set: the model cannot know the definition.
    let ch = s
        .apply("RENAME TABLE `_gho` TO a", "d", m(), &tracked)
        .unwrap();
    assert_eq!(ch, [SchemaChange::NeedsDefinition(tn("d", "a"))]);
    let ch = s
        .apply("ALTER TABLE _new RENAME TO c", "d", m(), &tracked)
        .unwrap();
    assert_eq!(ch, [SchemaChange::NeedsDefinition(tn("d", "c"))]);
    let ch = s
        .apply("ALTER TABLE b RENAME TO _b_del", "d", m(), &tracked)
        .unwrap();
    assert_eq!(ch, [SchemaChange::Dropped(tn("d", "b"))]);
    // Untracked tables are not kept, even when altered.
    assert_eq!(
        s.apply("ALTER TABLE _x ADD c int", "d", m(), &tracked)
            .unwrap(),
        []
    );
    // An unknown tracked table in RENAME is an error, and nothing changes.
    let before = s.clone();
    let e = s
        .apply("RENAME TABLE zz TO yy", "d", m(), &tracked)
        .unwrap_err();
    assert!(matches!(e, ModelError::UnknownTable { .. }), "{e}");
    assert_eq!(s, before);
}

#[test]
fn drop_truncate_database_and_no_effect() {
    let mut s = SchemaSet::new(false);
    alter(&mut s, "CREATE TABLE a (x int)");
    alter(&mut s, "CREATE TABLE b (x int)");
    alter(&mut s, "CREATE TABLE d2.c (x int)");
    assert_eq!(alter(&mut s, "TRUNCATE TABLE a"), []);
    assert_eq!(
        alter(
            &mut s,
            "DROP TABLE IF EXISTS a, nothere /* generated by server */"
        ),
        [SchemaChange::Dropped(tn("d", "a"))]
    );
    assert_eq!(alter(&mut s, "DROP TEMPORARY TABLE IF EXISTS b"), []);
    assert_eq!(
        alter(&mut s, "CREATE DATABASE d3 DEFAULT CHARACTER SET utf8mb4"),
        []
    );
    assert_eq!(alter(&mut s, "ALTER DATABASE d3 CHARACTER SET latin1"), []);
    assert_eq!(
        alter(&mut s, "DROP DATABASE IF EXISTS d2"),
        [SchemaChange::Dropped(tn("d2", "c"))]
    );
    for sql in [
        "BEGIN",
        "COMMIT",
        "INSERT INTO b VALUES (1)",
        "UPDATE b SET x = 'a\\'b' WHERE x = 1",
        "SET NAMES utf8mb4",
        "GRANT SELECT ON *.* TO 'u'@'%'",
        "CREATE USER 'u'@'%' IDENTIFIED BY 'p'",
        "CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`localhost` SQL SECURITY DEFINER VIEW `v` AS select 1",
        "CREATE DEFINER=`root`@`%` TRIGGER trg BEFORE INSERT ON b FOR EACH ROW SET NEW.x = 1",
        "DROP VIEW IF EXISTS v",
        "DROP TRIGGER trg",
        "ALTER USER 'u'@'%' IDENTIFIED BY 'x'",
        "ALTER VIEW v AS SELECT 2",
        "FLUSH PRIVILEGES",
        "XA START 'x'",
        "SAVEPOINT s",
        "ANALYZE TABLE b",
        "OPTIMIZE TABLE b",
        "SELECT 'unterminated",
    ] {
        assert_eq!(alter(&mut s, sql), [], "{sql}");
    }
    assert_eq!(s.len(), 1);
}

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
    let nbe = ParseMode::from(super::model::sql_mode_bits::NO_BACKSLASH_ESCAPES);
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

#[test]
fn serde_round_trip() {
    let mut s = SchemaSet::new(true);
    s.insert(
        tn("d", "orders"),
        SchemaSet::parse_create_table(MYSQL9_ORDERS, m()).unwrap(),
    );
    s.insert(
        tn("d", "t1"),
        SchemaSet::parse_create_table(MARIADB_T1, m()).unwrap(),
    );
    let json = serde_json::to_string(&s).unwrap();
    let back: SchemaSet = serde_json::from_str(&json).unwrap();
    assert_eq!(back, s);
    assert!(back.lower_case_table_names());
    let tt = s.get(&tn("d", "orders")).unwrap();
    let back: TableSchema = serde_json::from_str(&serde_json::to_string(tt).unwrap()).unwrap();
    assert_eq!(&back, tt);
    let ch = SchemaChange::Renamed {
        from: tn("a", "b"),
        to: tn("c", "d"),
    };
    let back: SchemaChange = serde_json::from_str(&serde_json::to_string(&ch).unwrap()).unwrap();
    assert_eq!(back, ch);
    // Older records without the table defaults still read.
    let old = r#"{"columns":[{"name":"a","data_type":"int","nullable":true,"generated":false,"invisible":false,"charset":null,"collation":null}],"keys":[]}"#;
    let tt: TableSchema = serde_json::from_str(old).unwrap();
    assert_eq!(tt.charset, None);
}

#[test]
fn json_operators_and_expressions_in_ddl() {
    // sqlparser reads MySQL's JSON operators itself.
    let d = super::dialect::FerryDialect {
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
