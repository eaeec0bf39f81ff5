use super::*;

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
