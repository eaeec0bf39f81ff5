//! The set of tracked tables, and how one replicated statement changes it.

use std::collections::BTreeMap;

use ferry_model::TableName;
use serde::{Deserialize, Serialize};
use sqlparser::tokenizer::Token;

use super::alter::apply_alter_op;
use super::definition::build_table;
use super::error::{Ctx, ModelError};
use super::schema::TableSchema;
use super::sql_mode::ParseMode;
use crate::history::parse::{self, AlterOp, CreateBody, ObjName, Stmt};

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
