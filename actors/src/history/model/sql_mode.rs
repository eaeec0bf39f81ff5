//! The `sql_mode` flags that change how a statement is read, from the binlog's bit set or a
//! textual `@@sql_mode`.

use serde::{Deserialize, Serialize};

use super::SqlMode;
use crate::history::dialect::FerryDialect;

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
    pub(super) fn dialect(&self) -> FerryDialect {
        FerryDialect {
            ansi_quotes: self.ansi_quotes,
            no_backslash_escapes: self.no_backslash_escapes,
        }
    }
}
