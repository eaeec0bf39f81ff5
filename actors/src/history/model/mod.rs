//! The schema model: the columns and keys of every tracked upstream table, advanced by
//! applying each replicated DDL statement (DESIGN.md §4 rule 5). Pure: no I/O, no async.
//!
//! Statements are read with sqlparser under the statement's own `sql_mode` (see
//! [`ParseMode`]); the `parse` submodule says which parts are sqlparser's and which are read
//! token by token.
//!
//! # What the model keeps
//!
//! - [`ColumnSchema::data_type`] is the lower-case type as MySQL prints it: aliases are
//!   mapped (`INTEGER` → `int`, `BOOL` → `tinyint(1)`, `NUMERIC` → `decimal(10,0)`,
//!   `SERIAL` → `bigint unsigned`, `REAL` → `double`, ...), display widths are kept as
//!   written (`int(11)` from MySQL 5.7 and MariaDB, `int` from MySQL 8).
//! - [`ColumnSchema::charset`] and [`ColumnSchema::collation`] are the column's effective
//!   ones, for character types (`char`, `varchar`, `*text`, `enum`, `set`) only: as declared,
//!   else the table's default. `None` when unknown (a table created without a default
//!   charset inherits the database's, which the model does not see; a charset declared
//!   without a collation gets the server's default collation for it).
//! - Keys are named as the server names them (`PRIMARY`; an unnamed key after its first
//!   column, `_2`, `_3`, ... when taken; `functional_index` for an expression). A foreign key
//!   adds the index the server adds when no existing key starts with its columns. `CHECK`
//!   constraints and foreign keys themselves are not kept.
//! - Columns of the primary key are `NOT NULL`, as the server makes them.
//!
//! Known limits: `CONVERT TO CHARACTER SET` does not widen `TEXT` types as MySQL may;
//! `TIMESTAMP` columns without `NULL`/`NOT NULL` are nullable (as with
//! `explicit_defaults_for_timestamp=ON`); `RENAME COLUMN a TO b, b TO a` in one statement is
//! applied clause by clause, so a swap fails.
//!
//! Submodules: `sql_mode` ([`ParseMode`]), `schema` (the table types), `error`
//! ([`ModelError`]), `schema_set` ([`SchemaSet`] and how a statement applies to it),
//! `definition` (a parsed `CREATE TABLE` body or column made a [`TableSchema`] or
//! [`ColumnSchema`]), `alter` (one `ALTER TABLE` clause applied to a [`TableSchema`]).

mod alter;
mod definition;
mod error;
mod schema;
mod schema_set;
mod sql_mode;

pub use crate::ddl::SqlMode;
pub use error::ModelError;
pub use schema::{ColumnSchema, KeyKind, KeySchema, TableSchema};
pub use schema_set::{SchemaChange, SchemaSet};
pub use sql_mode::{sql_mode_bits, ParseMode};
