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

use std::collections::BTreeMap;

use ferry_model::TableName;
use serde::{Deserialize, Serialize};
use sqlparser::tokenizer::Token;

pub use crate::ddl::SqlMode;

use super::dialect::FerryDialect;
use super::parse::{
    self, AlterOp, ColumnDefn, CreateBody, Failure, KeyDefn, ObjName, Position, Stmt, TableDef,
    TableOpt,
};

// ---------------------------------------------------------------------------------------
// sql_mode

/// The `sql_mode` flags that change how a statement is read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ParseMode {
    /// `ANSI_QUOTES`: `"x"` is an identifier, not a string.
    pub ansi_quotes: bool,
    /// `NO_BACKSLASH_ESCAPES`: `\` is an ordinary character in strings.
    pub no_backslash_escapes: bool,
    /// `PIPES_AS_CONCAT`: `||` is concatenation (only inside expressions, which the model
    /// does not evaluate).
    pub pipes_as_concat: bool,
    /// `HIGH_NOT_PRECEDENCE` (only inside expressions, which the model does not evaluate).
    pub high_not_precedence: bool,
    /// `REAL_AS_FLOAT`: the `REAL` type is `float`, not `double`.
    pub real_as_float: bool,
}

/// `sql_mode` bits as the binlog's `Q_SQL_MODE_CODE` status variable writes them (MySQL's
/// `MODE_*` constants, `sql/system_variables.h`; MariaDB uses the same values for these).
pub mod sql_mode_bits {
    /// `REAL_AS_FLOAT`.
    pub const REAL_AS_FLOAT: u64 = 1;
    /// `PIPES_AS_CONCAT`.
    pub const PIPES_AS_CONCAT: u64 = 1 << 1;
    /// `ANSI_QUOTES`.
    pub const ANSI_QUOTES: u64 = 1 << 2;
    /// `IGNORE_SPACE`.
    pub const IGNORE_SPACE: u64 = 1 << 3;
    /// `NO_BACKSLASH_ESCAPES`.
    pub const NO_BACKSLASH_ESCAPES: u64 = 1 << 20;
    /// `HIGH_NOT_PRECEDENCE`.
    pub const HIGH_NOT_PRECEDENCE: u64 = 1 << 29;
}

impl From<u64> for ParseMode {
    /// From the binlog's `sql_mode` bit set.
    fn from(bits: u64) -> Self {
        use sql_mode_bits::*;
        Self {
            ansi_quotes: bits & ANSI_QUOTES != 0,
            no_backslash_escapes: bits & NO_BACKSLASH_ESCAPES != 0,
            pipes_as_concat: bits & PIPES_AS_CONCAT != 0,
            high_not_precedence: bits & HIGH_NOT_PRECEDENCE != 0,
            real_as_float: bits & REAL_AS_FLOAT != 0,
        }
    }
}

impl From<&str> for ParseMode {
    /// From a textual `@@sql_mode` (comma-separated, any case), expanding the combination
    /// modes (`ANSI`, and MySQL 5.7's and MariaDB's `DB2`, `MSSQL`, `ORACLE`, ...).
    fn from(s: &str) -> Self {
        let mut m = ParseMode::default();
        for name in s.split(',').map(|n| n.trim().to_ascii_uppercase()) {
            match name.as_str() {
                "ANSI_QUOTES" => m.ansi_quotes = true,
                "NO_BACKSLASH_ESCAPES" => m.no_backslash_escapes = true,
                "PIPES_AS_CONCAT" => m.pipes_as_concat = true,
                "HIGH_NOT_PRECEDENCE" => m.high_not_precedence = true,
                "REAL_AS_FLOAT" => m.real_as_float = true,
                "ANSI" => {
                    m.real_as_float = true;
                    m.pipes_as_concat = true;
                    m.ansi_quotes = true;
                }
                "DB2" | "MSSQL" | "ORACLE" | "POSTGRESQL" | "MAXDB" => {
                    m.pipes_as_concat = true;
                    m.ansi_quotes = true;
                }
                _ => {}
            }
        }
        m
    }
}

impl From<SqlMode> for ParseMode {
    fn from(m: SqlMode) -> Self {
        Self {
            ansi_quotes: m.ansi_quotes,
            no_backslash_escapes: m.no_backslash_escapes,
            ..Default::default()
        }
    }
}

impl ParseMode {
    fn dialect(&self) -> FerryDialect {
        FerryDialect {
            ansi_quotes: self.ansi_quotes,
            no_backslash_escapes: self.no_backslash_escapes,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Schema types

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnSchema {
    /// Name, as declared.
    pub name: String,
    /// Lower-case type as MySQL prints it, e.g. `int unsigned`, `varchar(20)`,
    /// `decimal(10,2)`, `enum('a','b')`.
    pub data_type: String,
    /// Whether `NULL` is allowed.
    pub nullable: bool,
    /// A generated column (`GENERATED ALWAYS AS (...) VIRTUAL|STORED`, or MariaDB's
    /// `AS ROW START|END`): its value cannot be written.
    pub generated: bool,
    /// `INVISIBLE`: not part of `SELECT *`.
    pub invisible: bool,
    /// Effective character set of a character column (`None`: not a character column, or
    /// unknown).
    pub charset: Option<String>,
    /// Effective collation of a character column (`None`: not a character column, or
    /// unknown).
    pub collation: Option<String>,
}

/// The kind of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KeyKind {
    /// `PRIMARY KEY`.
    Primary,
    /// `UNIQUE KEY`.
    Unique,
    /// `KEY` / `INDEX`.
    Index,
    /// `FULLTEXT KEY`.
    Fulltext,
    /// `SPATIAL KEY`.
    Spatial,
}

/// One key (index) of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySchema {
    /// Name (`PRIMARY` for the primary key).
    pub name: String,
    /// Kind.
    pub kind: KeyKind,
    /// Its parts in order: a column name, or `None` for an expression (functional index).
    pub columns: Vec<Option<String>>,
}

/// The columns and keys of one table.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TableSchema {
    /// Columns, in table order.
    pub columns: Vec<ColumnSchema>,
    /// Keys; the primary key, if any, first.
    pub keys: Vec<KeySchema>,
    /// The table's default character set (`DEFAULT CHARSET=`), if known.
    #[serde(default)]
    pub charset: Option<String>,
    /// The table's default collation (`COLLATE=`), if known.
    #[serde(default)]
    pub collation: Option<String>,
}

fn same_name(a: &str, b: &str) -> bool {
    a == b || a.to_lowercase() == b.to_lowercase()
}

impl TableSchema {
    /// The column named `name` (case-insensitively, as MySQL compares column names) and
    /// its position.
    pub fn column(&self, name: &str) -> Option<(usize, &ColumnSchema)> {
        self.columns
            .iter()
            .enumerate()
            .find(|(_, c)| same_name(&c.name, name))
    }

    /// The key named `name` (case-insensitively).
    pub fn key(&self, name: &str) -> Option<&KeySchema> {
        self.keys.iter().find(|k| same_name(&k.name, name))
    }

    /// The primary key, else the first unique key whose parts are all `NOT NULL` columns:
    /// the key that identifies a row.
    pub fn primary_or_unique_not_null(&self) -> Option<&KeySchema> {
        self.keys
            .iter()
            .find(|k| k.kind == KeyKind::Primary)
            .or_else(|| {
                self.keys.iter().find(|k| {
                    k.kind == KeyKind::Unique
                        && !k.columns.is_empty()
                        && k.columns.iter().all(|c| {
                            c.as_deref()
                                .and_then(|c| self.column(c))
                                .is_some_and(|(_, col)| !col.nullable)
                        })
                })
            })
    }

    fn col_idx(&self, name: &str) -> Option<usize> {
        self.column(name).map(|(i, _)| i)
    }

    fn key_idx(&self, name: &str) -> Option<usize> {
        self.keys.iter().position(|k| same_name(&k.name, name))
    }

    /// A free key name: `base`, else `base_2`, `base_3`, ...
    fn free_key_name(&self, base: &str) -> String {
        if self.key_idx(base).is_none() {
            return base.to_string();
        }
        (2..)
            .map(|n| format!("{base}_{n}"))
            .find(|n| self.key_idx(n).is_none())
            .expect("unbounded")
    }

    /// Primary key first; its columns `NOT NULL`.
    fn normalize(&mut self) {
        if let Some(i) = self.keys.iter().position(|k| k.kind == KeyKind::Primary) {
            if i != 0 {
                let pk = self.keys.remove(i);
                self.keys.insert(0, pk);
            }
            let cols: Vec<String> = self.keys[0].columns.iter().flatten().cloned().collect();
            for c in cols {
                if let Some(i) = self.col_idx(&c) {
                    self.columns[i].nullable = false;
                }
            }
        }
    }
}

/// What a statement changed in the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SchemaChange {
    /// A tracked table now exists with a definition the model knows.
    Created(TableName),
    /// A tracked table's columns, keys or defaults changed.
    Altered(TableName),
    /// A tracked table was renamed to another tracked name.
    Renamed {
        /// Old name.
        from: TableName,
        /// New name.
        to: TableName,
    },
    /// A tracked table is gone (dropped, or renamed to a name the task does not select).
    Dropped(TableName),
    /// A tracked table now exists but the model cannot know its definition (renamed from a
    /// table the task does not select, `CREATE TABLE ... LIKE` such a table,
    /// `CREATE TABLE ... SELECT`): the caller must read it from the upstream.
    NeedsDefinition(TableName),
}

/// Why a statement could not be applied to the model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// The statement could not be read.
    #[error("cannot parse the DDL statement `{statement}`: {reason}")]
    Parse {
        /// Excerpt of the statement (at most 200 characters).
        statement: String,
        /// What is wrong.
        reason: String,
    },
    /// The statement is valid but the schema history cannot model it.
    #[error("the schema history does not support the DDL statement `{statement}`: {reason}")]
    Unsupported {
        /// Excerpt of the statement.
        statement: String,
        /// What is not supported.
        reason: String,
    },
    /// A table the task replicates is not in the schema history.
    #[error(
        "table {table} is replicated but its definition is not in the schema history, \
         so the DDL statement `{statement}` cannot be applied to it"
    )]
    UnknownTable {
        /// The table.
        table: TableName,
        /// Excerpt of the statement.
        statement: String,
    },
    /// The statement names a column the model does not have.
    #[error(
        "column `{column}` is not in the schema history's definition of table {table} \
         (DDL statement `{statement}`)"
    )]
    UnknownColumn {
        /// The table.
        table: TableName,
        /// The column.
        column: String,
        /// Excerpt of the statement.
        statement: String,
    },
    /// The statement adds a column the model already has.
    #[error(
        "column `{column}` already exists in the schema history's definition of table \
         {table} (DDL statement `{statement}`)"
    )]
    DuplicateColumn {
        /// The table.
        table: TableName,
        /// The column.
        column: String,
        /// Excerpt of the statement.
        statement: String,
    },
    /// An unqualified table name in a statement without a default database.
    #[error("no default database for table `{table}` in the DDL statement `{statement}`")]
    NoDatabase {
        /// The unqualified table name.
        table: String,
        /// Excerpt of the statement.
        statement: String,
    },
}

/// A statement excerpt for messages: whitespace collapsed, at most 200 characters.
fn excerpt(sql: &str) -> String {
    let collapsed = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() <= 200 {
        collapsed
    } else {
        let mut s: String = collapsed.chars().take(199).collect();
        s.push('…');
        s
    }
}

fn is_text_type(data_type: &str) -> bool {
    let base = data_type.split(['(', ' ']).next().unwrap_or("");
    matches!(
        base,
        "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "enum" | "set"
    )
}

fn charset_of_collation(collation: &str) -> String {
    match collation.split_once('_') {
        Some((cs, _)) => cs.to_string(),
        None => collation.to_string(),
    }
}

/// A column definition, with the table's defaults for the charset and collation.
fn materialize(
    def: &ColumnDefn,
    table_charset: Option<&str>,
    table_collation: Option<&str>,
    mode: ParseMode,
) -> ColumnSchema {
    let mut data_type = def.data_type.clone();
    if data_type == "real" || data_type.starts_with("real ") || data_type.starts_with("real(") {
        let ty = if mode.real_as_float {
            "float"
        } else {
            "double"
        };
        data_type = data_type.replacen("real", ty, 1);
    }
    let (mut charset, mut collation) = (None, None);
    if is_text_type(&data_type) {
        charset = def.charset.clone();
        collation = def.collation.clone();
        match (&charset, &collation) {
            (None, None) => {
                charset = table_charset
                    .map(str::to_string)
                    .or_else(|| table_collation.map(charset_of_collation));
                collation = table_collation.map(str::to_string);
            }
            (None, Some(coll)) => charset = Some(charset_of_collation(coll)),
            _ => {}
        }
        if def.binary {
            if let Some(cs) = &charset {
                collation = Some(if cs == "binary" {
                    "binary".to_string()
                } else {
                    format!("{cs}_bin")
                });
            }
        }
    }
    ColumnSchema {
        name: def.name.clone(),
        data_type,
        nullable: !def.not_null,
        generated: def.generated,
        invisible: def.invisible,
        charset,
        collation,
    }
}

// ---------------------------------------------------------------------------------------
// The set of tracked tables

/// The current schema of the tracked tables.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SchemaSet {
    lower_case_table_names: bool,
    tables: BTreeMap<TableName, TableSchema>,
}

#[derive(Serialize, Deserialize)]
struct SchemaSetRepr {
    lower_case_table_names: bool,
    tables: Vec<(TableName, TableSchema)>,
}

impl Serialize for SchemaSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        SchemaSetRepr {
            lower_case_table_names: self.lower_case_table_names,
            tables: self
                .tables
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for SchemaSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let r = SchemaSetRepr::deserialize(d)?;
        let mut set = SchemaSet::new(r.lower_case_table_names);
        for (t, s) in r.tables {
            set.insert(t, s);
        }
        Ok(set)
    }
}

/// Context for errors of one statement.
struct Ctx<'a> {
    sql: &'a str,
}

impl Ctx<'_> {
    fn stmt(&self) -> String {
        excerpt(self.sql)
    }

    fn failure(&self, f: Failure) -> ModelError {
        if f.unsupported {
            ModelError::Unsupported {
                statement: self.stmt(),
                reason: f.reason,
            }
        } else {
            ModelError::Parse {
                statement: self.stmt(),
                reason: f.reason,
            }
        }
    }

    fn unknown_column(&self, table: &TableName, column: &str) -> ModelError {
        ModelError::UnknownColumn {
            table: table.clone(),
            column: column.to_string(),
            statement: self.stmt(),
        }
    }

    fn duplicate_column(&self, table: &TableName, column: &str) -> ModelError {
        ModelError::DuplicateColumn {
            table: table.clone(),
            column: column.to_string(),
            statement: self.stmt(),
        }
    }

    fn unknown_table(&self, table: &TableName) -> ModelError {
        ModelError::UnknownTable {
            table: table.clone(),
            statement: self.stmt(),
        }
    }
}

impl SchemaSet {
    /// An empty set. With `lower_case_table_names`, schema and table names compare
    /// case-insensitively (they are stored lower-cased).
    pub fn new(lower_case_table_names: bool) -> Self {
        Self {
            lower_case_table_names,
            tables: BTreeMap::new(),
        }
    }

    /// Whether names are folded to lower case.
    pub fn lower_case_table_names(&self) -> bool {
        self.lower_case_table_names
    }

    /// A name as the set stores it.
    pub fn normalize_name(&self, t: &TableName) -> TableName {
        if self.lower_case_table_names {
            TableName::new(t.schema.to_lowercase(), t.table.to_lowercase())
        } else {
            t.clone()
        }
    }

    /// The schema of a table.
    pub fn get(&self, t: &TableName) -> Option<&TableSchema> {
        self.tables.get(&self.normalize_name(t))
    }

    /// Sets the schema of a table (e.g. read with `SHOW CREATE TABLE`); returns the old one.
    pub fn insert(&mut self, t: TableName, schema: TableSchema) -> Option<TableSchema> {
        let t = self.normalize_name(&t);
        self.tables.insert(t, schema)
    }

    /// Forgets a table; returns its schema.
    pub fn remove(&mut self, t: &TableName) -> Option<TableSchema> {
        let t = self.normalize_name(t);
        self.tables.remove(&t)
    }

    /// The tables and their schemas, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&TableName, &TableSchema)> {
        self.tables.iter()
    }

    /// Number of tables.
    pub fn len(&self) -> usize {
        self.tables.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }

    /// Parses `CREATE TABLE` text (e.g. `SHOW CREATE TABLE` output of MySQL or MariaDB)
    /// into a table schema.
    pub fn parse_create_table(sql: &str, mode: ParseMode) -> Result<TableSchema, ModelError> {
        let ctx = Ctx { sql };
        let stmt = parse_statement(sql, mode, &ctx)?;
        match stmt {
            Stmt::CreateTable {
                body: CreateBody::Def(def),
                ..
            } => {
                let probe = TableName::new("", "");
                build_table(&def, mode, &probe, &ctx)
            }
            Stmt::CreateTable { .. } => Err(ModelError::Unsupported {
                statement: ctx.stmt(),
                reason: "the statement does not define the table's columns \
                         (CREATE TABLE ... LIKE or ... SELECT)"
                    .into(),
            }),
            _ => Err(ModelError::Parse {
                statement: ctx.stmt(),
                reason: "not a CREATE TABLE statement".into(),
            }),
        }
    }

    fn resolve(
        &self,
        n: &ObjName,
        default_schema: &str,
        ctx: &Ctx,
    ) -> Result<TableName, ModelError> {
        let schema = match &n.schema {
            Some(s) => s.clone(),
            None if default_schema.is_empty() => {
                return Err(ModelError::NoDatabase {
                    table: n.name.clone(),
                    statement: ctx.stmt(),
                })
            }
            None => default_schema.to_string(),
        };
        Ok(self.normalize_name(&TableName::new(schema, n.name.clone())))
    }

    /// Applies one replicated statement (a QUERY event's text, with its default schema and
    /// `sql_mode`). `tracked` says whether the task selects a table; only tracked tables are
    /// kept. Returns what changed; statements without effect on the tracked tables' columns
    /// and keys (DML, `SET`, grants, views, temporary tables, `TRUNCATE`, ...) return an
    /// empty list. On error the set is unchanged.
    pub fn apply(
        &mut self,
        sql: &str,
        default_schema: &str,
        mode: ParseMode,
        tracked: &dyn Fn(&TableName) -> bool,
    ) -> Result<Vec<SchemaChange>, ModelError> {
        let ctx = Ctx { sql };
        let stmt = parse_statement(sql, mode, &ctx)?;
        let mut changes = Vec::new();
        match stmt {
            Stmt::NoEffect => {}
            Stmt::CreateTable {
                name,
                temporary,
                or_replace,
                if_not_exists,
                body,
            } => {
                let t = self.resolve(&name, default_schema, &ctx)?;
                if temporary || !tracked(&t) {
                    return Ok(changes);
                }
                if if_not_exists && !or_replace && self.tables.contains_key(&t) {
                    return Ok(changes);
                }
                match body {
                    CreateBody::Def(def) => {
                        let schema = build_table(&def, mode, &t, &ctx)?;
                        self.tables.insert(t.clone(), schema);
                        changes.push(SchemaChange::Created(t));
                    }
                    CreateBody::Like(src) => {
                        let src = self.resolve(&src, default_schema, &ctx)?;
                        match self.tables.get(&src) {
                            Some(s) => {
                                let s = s.clone();
                                self.tables.insert(t.clone(), s);
                                changes.push(SchemaChange::Created(t));
                            }
                            None if tracked(&src) => return Err(ctx.unknown_table(&src)),
                            None => {
                                self.tables.remove(&t);
                                changes.push(SchemaChange::NeedsDefinition(t));
                            }
                        }
                    }
                    CreateBody::Select => {
                        self.tables.remove(&t);
                        changes.push(SchemaChange::NeedsDefinition(t));
                    }
                }
            }
            Stmt::AlterTable {
                name,
                if_exists,
                ops,
            } => {
                let t = self.resolve(&name, default_schema, &ctx)?;
                let rename = ops.iter().rev().find_map(|op| match op {
                    AlterOp::RenameTable(n) => Some(n.clone()),
                    _ => None,
                });
                let new_name = match &rename {
                    Some(n) => Some(self.resolve(n, default_schema, &ctx)?),
                    None => None,
                };
                if !tracked(&t) {
                    if let Some(n) = new_name.filter(|n| *n != t && tracked(n)) {
                        self.tables.remove(&n);
                        changes.push(SchemaChange::NeedsDefinition(n));
                    }
                    return Ok(changes);
                }
                let Some(before) = self.tables.get(&t) else {
                    if if_exists {
                        return Ok(changes);
                    }
                    return Err(ctx.unknown_table(&t));
                };
                let mut after = before.clone();
                for op in &ops {
                    apply_alter_op(&mut after, op, mode, &t, &ctx)?;
                }
                after.normalize();
                let altered = after != *before;
                match new_name.filter(|n| *n != t) {
                    None => {
                        if altered {
                            self.tables.insert(t.clone(), after);
                            changes.push(SchemaChange::Altered(t));
                        }
                    }
                    Some(n) => {
                        self.tables.remove(&t);
                        if tracked(&n) {
                            self.tables.insert(n.clone(), after);
                            changes.push(SchemaChange::Renamed {
                                from: t,
                                to: n.clone(),
                            });
                            if altered {
                                changes.push(SchemaChange::Altered(n));
                            }
                        } else {
                            changes.push(SchemaChange::Dropped(t));
                        }
                    }
                }
            }
            Stmt::RenameTables(pairs) => {
                // Sequential, on a copy; tables renamed to untracked names are kept aside
                // for the statement so that `a TO tmp, b TO a, tmp TO b` works.
                let mut tables = self.tables.clone();
                let mut aside: BTreeMap<TableName, TableSchema> = BTreeMap::new();
                for (from, to) in pairs {
                    let from = self.resolve(&from, default_schema, &ctx)?;
                    let to = self.resolve(&to, default_schema, &ctx)?;
                    let schema = if tracked(&from) {
                        match tables.remove(&from) {
                            Some(s) => Some(s),
                            None => return Err(ctx.unknown_table(&from)),
                        }
                    } else {
                        aside.remove(&from)
                    };
                    match (tracked(&from), tracked(&to), schema) {
                        (true, true, Some(s)) => {
                            tables.insert(to.clone(), s);
                            changes.push(SchemaChange::Renamed { from, to });
                        }
                        (true, false, Some(s)) => {
                            aside.insert(to, s);
                            changes.push(SchemaChange::Dropped(from));
                        }
                        (false, true, Some(s)) => {
                            tables.insert(to.clone(), s);
                            changes.push(SchemaChange::Created(to));
                        }
                        (false, true, None) => {
                            tables.remove(&to);
                            changes.push(SchemaChange::NeedsDefinition(to));
                        }
                        (false, false, Some(s)) => {
                            aside.insert(to, s);
                        }
                        _ => {}
                    }
                }
                self.tables = tables;
            }
            Stmt::DropTables { names } => {
                for n in names {
                    let t = self.resolve(&n, default_schema, &ctx)?;
                    if self.tables.remove(&t).is_some() {
                        changes.push(SchemaChange::Dropped(t));
                    }
                }
            }
            Stmt::CreateIndex { table, key } => {
                let t = self.resolve(&table, default_schema, &ctx)?;
                self.alter_one(
                    &t,
                    &[AlterOp::AddKey(key)],
                    mode,
                    tracked,
                    &ctx,
                    &mut changes,
                )?;
            }
            Stmt::DropIndex { table, name } => {
                let t = self.resolve(&table, default_schema, &ctx)?;
                self.alter_one(
                    &t,
                    &[AlterOp::DropIndex { name }],
                    mode,
                    tracked,
                    &ctx,
                    &mut changes,
                )?;
            }
            Stmt::DropDatabase(db) => {
                let db = if self.lower_case_table_names {
                    db.to_lowercase()
                } else {
                    db
                };
                let gone: Vec<TableName> = self
                    .tables
                    .keys()
                    .filter(|t| t.schema == db)
                    .cloned()
                    .collect();
                for t in gone {
                    self.tables.remove(&t);
                    changes.push(SchemaChange::Dropped(t));
                }
            }
        }
        Ok(changes)
    }

    fn alter_one(
        &mut self,
        t: &TableName,
        ops: &[AlterOp],
        mode: ParseMode,
        tracked: &dyn Fn(&TableName) -> bool,
        ctx: &Ctx,
        changes: &mut Vec<SchemaChange>,
    ) -> Result<(), ModelError> {
        if !tracked(t) {
            return Ok(());
        }
        let Some(before) = self.tables.get(t) else {
            return Err(ctx.unknown_table(t));
        };
        let mut after = before.clone();
        for op in ops {
            apply_alter_op(&mut after, op, mode, t, ctx)?;
        }
        after.normalize();
        if after != *before {
            self.tables.insert(t.clone(), after);
            changes.push(SchemaChange::Altered(t.clone()));
        }
        Ok(())
    }
}

fn parse_statement(sql: &str, mode: ParseMode, ctx: &Ctx) -> Result<Stmt, ModelError> {
    let dialect = mode.dialect();
    let toks: Vec<Token> = match parse::lex(sql, &dialect) {
        Ok(t) => t,
        Err(e) => {
            // A statement the model ignores anyway may hold what the tokenizer rejects.
            return match parse::first_word(sql).as_str() {
                "CREATE" | "ALTER" | "DROP" | "RENAME" => Err(ModelError::Parse {
                    statement: ctx.stmt(),
                    reason: e,
                }),
                _ => Ok(Stmt::NoEffect),
            };
        }
    };
    parse::parse(&toks, &dialect).map_err(|f| ctx.failure(f))
}

/// A table from a `CREATE TABLE` body.
fn build_table(
    def: &TableDef,
    mode: ParseMode,
    t: &TableName,
    ctx: &Ctx,
) -> Result<TableSchema, ModelError> {
    let mut s = TableSchema {
        charset: def
            .charset
            .clone()
            .filter(|c| c != "default")
            .or_else(|| def.collation.as_deref().map(charset_of_collation)),
        collation: def.collation.clone().filter(|c| c != "default"),
        ..Default::default()
    };
    for c in &def.columns {
        if s.col_idx(&c.name).is_some() {
            return Err(ctx.duplicate_column(t, &c.name));
        }
        s.columns.push(materialize(
            c,
            s.charset.as_deref(),
            s.collation.as_deref(),
            mode,
        ));
    }
    for c in &def.columns {
        column_keys(&mut s, c, t, ctx)?;
    }
    for k in &def.keys {
        add_key(&mut s, k, t, ctx)?;
    }
    for (name, cols) in &def.foreign_keys {
        add_foreign_key_index(&mut s, name.as_deref(), cols, t, ctx)?;
    }
    s.normalize();
    Ok(s)
}

/// Keys declared on a column (`PRIMARY KEY`, `UNIQUE`, `SERIAL`).
fn column_keys(
    s: &mut TableSchema,
    c: &ColumnDefn,
    t: &TableName,
    ctx: &Ctx,
) -> Result<(), ModelError> {
    if c.primary {
        add_key(
            s,
            &KeyDefn {
                name: None,
                kind: KeyKind::Primary,
                columns: vec![Some(c.name.clone())],
                if_not_exists: false,
            },
            t,
            ctx,
        )?;
    }
    if c.unique {
        add_key(
            s,
            &KeyDefn {
                name: None,
                kind: KeyKind::Unique,
                columns: vec![Some(c.name.clone())],
                if_not_exists: false,
            },
            t,
            ctx,
        )?;
    }
    Ok(())
}

fn add_key(s: &mut TableSchema, k: &KeyDefn, t: &TableName, ctx: &Ctx) -> Result<(), ModelError> {
    let mut columns = Vec::with_capacity(k.columns.len());
    for part in &k.columns {
        match part {
            None => columns.push(None),
            Some(c) => match s.column(c) {
                Some((_, col)) => columns.push(Some(col.name.clone())),
                None => return Err(ctx.unknown_column(t, c)),
            },
        }
    }
    if k.kind == KeyKind::Primary {
        s.keys.retain(|k| k.kind != KeyKind::Primary);
        s.keys.insert(
            0,
            KeySchema {
                name: "PRIMARY".into(),
                kind: KeyKind::Primary,
                columns,
            },
        );
        return Ok(());
    }
    let name = match &k.name {
        Some(n) => {
            if let Some(i) = s.key_idx(n) {
                if k.if_not_exists {
                    return Ok(());
                }
                // The upstream accepted it: the model's key of that name is stale.
                s.keys.remove(i);
            }
            n.clone()
        }
        None => {
            let base = match columns.first() {
                Some(Some(c)) => c.clone(),
                _ => "functional_index".to_string(),
            };
            s.free_key_name(&base)
        }
    };
    s.keys.push(KeySchema {
        name,
        kind: k.kind,
        columns,
    });
    Ok(())
}

/// The index the server creates for a foreign key when no key starts with its columns.
fn add_foreign_key_index(
    s: &mut TableSchema,
    name: Option<&str>,
    cols: &[String],
    t: &TableName,
    ctx: &Ctx,
) -> Result<(), ModelError> {
    for c in cols {
        if s.column(c).is_none() {
            return Err(ctx.unknown_column(t, c));
        }
    }
    let covered = s.keys.iter().any(|k| {
        matches!(k.kind, KeyKind::Primary | KeyKind::Unique | KeyKind::Index)
            && k.columns.len() >= cols.len()
            && k.columns
                .iter()
                .zip(cols)
                .all(|(p, c)| p.as_deref().is_some_and(|p| same_name(p, c)))
    });
    if covered {
        return Ok(());
    }
    let key = KeyDefn {
        name: Some(match name {
            Some(n) if s.key_idx(n).is_none() => n.to_string(),
            _ => s.free_key_name(&cols[0]),
        }),
        kind: KeyKind::Index,
        columns: cols.iter().cloned().map(Some).collect(),
        if_not_exists: false,
    };
    add_key(s, &key, t, ctx)
}

fn place(
    s: &mut TableSchema,
    col: ColumnSchema,
    pos: &Position,
    keep_at: usize,
    t: &TableName,
    ctx: &Ctx,
) -> Result<(), ModelError> {
    let at = match pos {
        Position::Keep => keep_at.min(s.columns.len()),
        Position::First => 0,
        Position::After(a) => match s.col_idx(a) {
            Some(i) => i + 1,
            None => return Err(ctx.unknown_column(t, a)),
        },
    };
    s.columns.insert(at, col);
    Ok(())
}

fn rename_in_keys(s: &mut TableSchema, from: &str, to: &str) {
    for k in &mut s.keys {
        for p in k.columns.iter_mut().flatten() {
            if same_name(p, from) {
                *p = to.to_string();
            }
        }
    }
}

fn apply_alter_op(
    s: &mut TableSchema,
    op: &AlterOp,
    mode: ParseMode,
    t: &TableName,
    ctx: &Ctx,
) -> Result<(), ModelError> {
    match op {
        AlterOp::AddColumn {
            def,
            pos,
            if_not_exists,
        } => {
            if s.col_idx(&def.name).is_some() {
                if *if_not_exists {
                    return Ok(());
                }
                return Err(ctx.duplicate_column(t, &def.name));
            }
            let col = materialize(def, s.charset.as_deref(), s.collation.as_deref(), mode);
            let end = s.columns.len();
            place(s, col, pos, end, t, ctx)?;
            column_keys(s, def, t, ctx)?;
        }
        AlterOp::DropColumn { name, if_exists } => {
            let Some(i) = s.col_idx(name) else {
                if *if_exists {
                    return Ok(());
                }
                return Err(ctx.unknown_column(t, name));
            };
            s.columns.remove(i);
            for k in &mut s.keys {
                k.columns
                    .retain(|p| !p.as_deref().is_some_and(|p| same_name(p, name)));
            }
            s.keys.retain(|k| !k.columns.is_empty());
        }
        AlterOp::ChangeColumn {
            old,
            def,
            pos,
            if_exists,
        } => {
            let Some(i) = s.col_idx(old) else {
                if *if_exists {
                    return Ok(());
                }
                return Err(ctx.unknown_column(t, old));
            };
            if let Some(j) = s.col_idx(&def.name) {
                if j != i {
                    return Err(ctx.duplicate_column(t, &def.name));
                }
            }
            let col = materialize(def, s.charset.as_deref(), s.collation.as_deref(), mode);
            s.columns.remove(i);
            place(s, col, pos, i, t, ctx)?;
            rename_in_keys(s, old, &def.name);
            column_keys(s, def, t, ctx)?;
        }
        AlterOp::RenameColumn { from, to } => {
            let Some(i) = s.col_idx(from) else {
                return Err(ctx.unknown_column(t, from));
            };
            if let Some(j) = s.col_idx(to) {
                if j != i {
                    return Err(ctx.duplicate_column(t, to));
                }
            }
            s.columns[i].name = to.clone();
            rename_in_keys(s, from, to);
        }
        AlterOp::TouchColumn(c) => {
            if s.col_idx(c).is_none() {
                return Err(ctx.unknown_column(t, c));
            }
        }
        AlterOp::SetInvisible { column, invisible } => {
            let Some(i) = s.col_idx(column) else {
                return Err(ctx.unknown_column(t, column));
            };
            s.columns[i].invisible = *invisible;
        }
        AlterOp::AddKey(k) => add_key(s, k, t, ctx)?,
        AlterOp::AddForeignKey(name, cols) => {
            add_foreign_key_index(s, name.as_deref(), cols, t, ctx)?
        }
        AlterOp::DropPrimaryKey => s.keys.retain(|k| k.kind != KeyKind::Primary),
        AlterOp::DropIndex { name } => {
            if name.eq_ignore_ascii_case("PRIMARY") {
                s.keys.retain(|k| k.kind != KeyKind::Primary);
            } else if let Some(i) = s.key_idx(name) {
                s.keys.remove(i);
            }
        }
        AlterOp::DropConstraint(name) => {
            if name.eq_ignore_ascii_case("PRIMARY") {
                s.keys.retain(|k| k.kind != KeyKind::Primary);
            } else if let Some(i) = s.key_idx(name) {
                if s.keys[i].kind == KeyKind::Unique {
                    s.keys.remove(i);
                }
            }
        }
        AlterOp::RenameIndex { from, to } => {
            if let Some(i) = s.key_idx(from) {
                s.keys[i].name = to.clone();
            }
        }
        AlterOp::RenameTable(_) => {}
        AlterOp::TableOption(TableOpt::Charset(cs)) => {
            if cs != "default" {
                if s.charset.as_deref() != Some(cs.as_str()) {
                    s.collation = None;
                }
                s.charset = Some(cs.clone());
            }
        }
        AlterOp::TableOption(TableOpt::Collate(coll)) => {
            if coll != "default" {
                s.charset = Some(charset_of_collation(coll));
                s.collation = Some(coll.clone());
            }
        }
        AlterOp::TableOption(TableOpt::Other) => {}
        AlterOp::ConvertCharset { charset, collation } => {
            let (cs, coll) = if charset == "default" {
                (s.charset.clone(), s.collation.clone())
            } else {
                (Some(charset.clone()), collation.clone())
            };
            s.charset = cs.clone();
            s.collation = coll.clone();
            for c in &mut s.columns {
                if is_text_type(&c.data_type) && c.charset.as_deref() != Some("binary") {
                    c.charset = cs.clone();
                    c.collation = coll.clone();
                }
            }
        }
    }
    Ok(())
}
