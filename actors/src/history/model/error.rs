//! Why a statement could not be applied to the model, and the context that names the
//! statement in every error.

use ferry_model::TableName;

use crate::history::parse::Failure;

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

/// Context for errors of one statement.
pub(super) struct Ctx<'a> {
    pub(super) sql: &'a str,
}

impl Ctx<'_> {
    pub(super) fn stmt(&self) -> String {
        excerpt(self.sql)
    }

    pub(super) fn failure(&self, f: Failure) -> ModelError {
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

    pub(super) fn unknown_column(&self, table: &TableName, column: &str) -> ModelError {
        ModelError::UnknownColumn {
            table: table.clone(),
            column: column.to_string(),
            statement: self.stmt(),
        }
    }

    pub(super) fn duplicate_column(&self, table: &TableName, column: &str) -> ModelError {
        ModelError::DuplicateColumn {
            table: table.clone(),
            column: column.to_string(),
            statement: self.stmt(),
        }
    }

    pub(super) fn unknown_table(&self, table: &TableName) -> ModelError {
        ModelError::UnknownTable {
            table: table.clone(),
            statement: self.stmt(),
        }
    }
}
