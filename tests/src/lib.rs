//! Harness of Ferry's end-to-end tests: real MySQL 9.7 / MariaDB 10.11 servers started
//! with `../shared/dbs` ([`TestServer`], [`shared`]), row-by-row table comparison that
//! works across both kinds ([`assert_tables_equal`], [`table_checksum`]), polling
//! ([`wait_until`]) and the type-matrix fixture ([`load_type_matrix`]).
//!
//! Typical test:
//!
//! ```ignore
//! use ferry_tests::*;
//!
//! #[tokio::test]
//! async fn copies_the_type_matrix() {
//!     let up = shared(DbKind::Mysql, Role::Upstream);
//!     let down = shared(DbKind::Mariadb, Role::Downstream);
//!     let db = unique_db_name("copy");
//!     load_type_matrix(&mut up.conn().await, &db).await;
//!     // ... run ferryd ...
//!     let (mut u, mut d) = (up.conn().await, down.conn().await);
//!     wait_until(std::time::Duration::from_secs(30), "downstream caught up", || async {
//!         true
//!     })
//!     .await;
//!     assert_schemas_equal(&mut u, &mut d, &db, &db).await;
//! }
//! ```

pub mod child;
pub mod compare;
pub mod data;
pub mod ferry;
pub mod schema_diff;
pub mod server;
pub mod sql;
pub mod task_file;
pub mod wait;
pub mod workload;

pub use compare::{
    assert_schemas_equal, assert_tables_equal, assert_tables_match, compare_tables, list_tables,
    prepare_session, primary_key, table_checksum, table_columns, ColumnInfo, CompareMode,
    CompareOptions, TableChecksum, TableDiff,
};
pub use ferry::{CtlOutput, Ferry};
pub use server::{
    dbs_dir, release_port, reserve_port, shared, unique_db_name, DbKind, Role, TestServer,
    TestServerBuilder,
};
pub use sql::{
    create_database, load_type_matrix, quote_ident, run_script, split_sql, TYPE_MATRIX_SQL,
    TYPE_MATRIX_TABLES,
};
pub use wait::{wait_for, wait_until};
