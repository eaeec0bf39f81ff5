//! Which statement is rendered, and its clauses: `CREATE TABLE`, `CREATE INDEX`,
//! `ALTER TABLE` (each clause), `DROP INDEX`; MariaDB's system versioning and
//! application-time periods are refused; `IF [NOT] EXISTS` of clauses is dropped for MySQL.

use super::renderer::Renderer;
use super::DialectError;
use crate::db::Flavor;
use crate::ddl::lexer::Kind;

/// Words that start an index or constraint element rather than a column.
const INDEX_WORDS: &[&str] = &[
    "PRIMARY",
    "KEY",
    "INDEX",
    "UNIQUE",
    "FULLTEXT",
    "SPATIAL",
    "FOREIGN",
    "CONSTRAINT",
    "CHECK",
];

impl Renderer<'_> {
    pub(super) fn statement(&mut self) -> Result<(), DialectError> {
        let to_mariadb = self.to.flavor == Flavor::Mariadb;
        let from_mariadb = self.from == Flavor::Mariadb;
        if to_mariadb {
            self.json_arrows()?;
            self.encryption()?;
        }
        if from_mariadb {
            for i in 0..self.toks.len() {
                if self.kw(i, "SYSTEM") && self.kw(i + 1, "VERSIONING")
                    || self.kw(i, "PERIOD") && self.kw(i + 1, "FOR")
                    || self.kw(i, "ROW")
                        && (self.kw(i + 1, "START") || self.kw(i + 1, "END"))
                        && i > 0
                        && self.kw(i - 1, "AS")
                {
                    return Err(self.unsupported(format!(
                        "{} has no system-versioned tables or application-time periods \
                         (`{}`)",
                        self.target(),
                        self.text_range(i, i + 1)
                    )));
                }
            }
        }
        if self.kw(0, "CREATE") {
            let mut i = 1;
            if self.kw(i, "OR") && self.kw(i + 1, "REPLACE") {
                i += 2;
            }
            if self.kw(i, "TABLE") {
                return self.create_table(i + 1);
            }
            while ["UNIQUE", "FULLTEXT", "SPATIAL", "ONLINE", "OFFLINE"]
                .iter()
                .any(|k| self.kw(i, k))
            {
                i += 1;
            }
            if self.kw(i, "INDEX") || self.kw(i, "KEY") {
                return self.create_index(i + 1);
            }
        } else if self.kw(0, "ALTER") {
            let mut i = 1;
            while self.kw(i, "ONLINE") || self.kw(i, "IGNORE") {
                i += 1;
            }
            if self.kw(i, "TABLE") {
                return self.alter_table(i + 1);
            }
        } else if self.kw(0, "DROP") && self.kw(1, "INDEX") {
            self.if_exists(2);
            let end = self.toks.len();
            self.algorithm_tokens(2, end);
        }
        Ok(())
    }

    /// `IF [NOT] EXISTS` at `i`, dropped for MySQL; returns the index after it.
    pub(super) fn if_exists(&mut self, i: usize) -> usize {
        let len = if self.kw(i, "IF") && self.kw(i + 1, "NOT") && self.kw(i + 2, "EXISTS") {
            3
        } else if self.kw(i, "IF") && self.kw(i + 1, "EXISTS") {
            2
        } else {
            return i;
        };
        if self.to.flavor == Flavor::Mysql {
            let text = self.text_range(i, i + len - 1).to_string();
            self.remove(i, i + len);
            self.note(format!(
                "`{text}` dropped (MySQL has no `{text}` in this clause; a change the upstream \
                 skipped because it was already done pauses the task downstream)"
            ));
        }
        i + len
    }

    /// Skips a (qualified) table name at `i`.
    fn skip_name(&self, i: usize) -> usize {
        let mut i = i + 1;
        while self.punct(i, b'.') {
            i += 2;
        }
        i
    }

    fn create_table(&mut self, i: usize) -> Result<(), DialectError> {
        let i = self.skip_name(self.skip_if_exists(i));
        if !self.punct(i, b'(') {
            return Ok(());
        }
        let close = self.close_of(i);
        for (a, b) in self.split(i + 1, close) {
            self.element(a, b)?;
        }
        let end = self.toks.len();
        self.table_options(close + 1, end);
        Ok(())
    }

    fn skip_if_exists(&self, i: usize) -> usize {
        if self.kw(i, "IF") && self.kw(i + 1, "NOT") && self.kw(i + 2, "EXISTS") {
            i + 3
        } else if self.kw(i, "IF") && self.kw(i + 1, "EXISTS") {
            i + 2
        } else {
            i
        }
    }

    /// One element of a `CREATE TABLE` list or of `ADD (...)`: a column, an index or a
    /// constraint.
    fn element(&mut self, a: usize, b: usize) -> Result<(), DialectError> {
        if a >= b {
            return Ok(());
        }
        if self.toks[a].kind == Kind::Word && INDEX_WORDS.iter().any(|k| self.kw(a, k)) {
            return self.index_element(a, b, (a, b));
        }
        if self.kw(a, "PERIOD") {
            return Ok(()); // refused in `statement`
        }
        self.column(a, b)
    }

    fn create_index(&mut self, i: usize) -> Result<(), DialectError> {
        let i = self.if_exists(i);
        let Some(on) = (i..self.toks.len()).find(|&j| self.kw(j, "ON")) else {
            return Ok(());
        };
        let Some(open) = (on..self.toks.len()).find(|&j| self.punct(j, b'(')) else {
            return Ok(());
        };
        let close = self.close_of(open);
        self.key_parts(open, close)?;
        let end = self.toks.len();
        self.index_options(close + 1, end);
        Ok(())
    }

    fn alter_table(&mut self, i: usize) -> Result<(), DialectError> {
        let mut i = self.skip_name(self.skip_if_exists(i));
        if self.kw(i, "NOWAIT") {
            i += 1;
        } else if self.kw(i, "WAIT") {
            i += 2;
        }
        let end = self.toks.len();
        for (a, b) in self.split(i, end) {
            self.alter_spec(a, b)?;
        }
        Ok(())
    }

    fn alter_spec(&mut self, a: usize, b: usize) -> Result<(), DialectError> {
        let to_mariadb = self.to.flavor == Flavor::Mariadb;
        if self.nocopy_at(a) == Some(b) {
            if !to_mariadb {
                self.remove_element(a, b);
                self.note_nocopy();
            }
            return Ok(());
        }
        let first = self.toks[a].ident.to_ascii_uppercase();
        match first.as_str() {
            "ADD" => {
                let mut i = a + 1;
                if self.kw(i, "COLUMN") {
                    i += 1;
                }
                if self.toks.get(i).is_some_and(|t| t.kind == Kind::Word)
                    && INDEX_WORDS.iter().any(|k| self.kw(i, k))
                {
                    return self.index_element(i, b, (a, b));
                }
                i = self.if_exists(i);
                if self.punct(i, b'(') {
                    let close = self.close_of(i);
                    for (x, y) in self.split(i + 1, close) {
                        self.element(x, y)?;
                    }
                    return Ok(());
                }
                if self.kw(i, "PARTITION") {
                    self.if_exists(i + 1);
                    return Ok(());
                }
                self.column(i, b)
            }
            "MODIFY" | "CHANGE" => {
                let mut i = a + 1;
                if self.kw(i, "COLUMN") {
                    i += 1;
                }
                i = self.if_exists(i);
                if first == "CHANGE" {
                    i += 1;
                }
                self.column(i, b)
            }
            "DROP" => {
                let mut i = a + 1;
                if to_mariadb && self.kw(i, "CHECK") {
                    self.replace(i, "CONSTRAINT IF EXISTS");
                    self.note(
                        "DROP CHECK → DROP CONSTRAINT IF EXISTS (MariaDB's form; the \
                         constraint may be an unenforced one that was not created)",
                    );
                    return Ok(());
                }
                while [
                    "COLUMN",
                    "INDEX",
                    "KEY",
                    "FOREIGN",
                    "CONSTRAINT",
                    "PARTITION",
                ]
                .iter()
                .any(|k| self.kw(i, k))
                {
                    i += 1;
                }
                self.if_exists(i);
                Ok(())
            }
            "RENAME" => {
                if self.kw(a + 1, "COLUMN") || self.kw(a + 1, "INDEX") || self.kw(a + 1, "KEY") {
                    self.if_exists(a + 2);
                }
                Ok(())
            }
            "ALTER" => self.alter_alter(a, b),
            _ => {
                self.algorithm_tokens(a, b);
                Ok(())
            }
        }
    }

    /// `ALTER INDEX`, `ALTER COLUMN`, `ALTER CHECK|CONSTRAINT`.
    fn alter_alter(&mut self, a: usize, b: usize) -> Result<(), DialectError> {
        let to_mariadb = self.to.flavor == Flavor::Mariadb;
        if self.kw(a + 1, "INDEX") || self.kw(a + 1, "KEY") {
            let v = a + 3;
            let (old, new) = match self.to.flavor {
                Flavor::Mariadb if self.kw(v, "INVISIBLE") => ("INVISIBLE", "IGNORED"),
                Flavor::Mariadb if self.kw(v, "VISIBLE") => ("VISIBLE", "NOT IGNORED"),
                Flavor::Mysql | Flavor::Tidb if self.kw(v, "IGNORED") => ("IGNORED", "INVISIBLE"),
                Flavor::Mysql | Flavor::Tidb if self.kw(v, "NOT") && self.kw(v + 1, "IGNORED") => {
                    self.remove(v + 1, v + 2);
                    ("NOT IGNORED", "VISIBLE")
                }
                _ => return Ok(()),
            };
            self.replace(v, new);
            self.note(format!(
                "ALTER INDEX ... {old} → {new} ({}'s words)",
                self.target()
            ));
            return Ok(());
        }
        if to_mariadb && (self.kw(a + 1, "CHECK") || self.kw(a + 1, "CONSTRAINT")) {
            return Err(self.unsupported(format!(
                "MariaDB cannot switch a constraint between enforced and not enforced (`{}`)",
                self.text_range(a, b - 1)
            )));
        }
        let col = if self.kw(a + 1, "COLUMN") {
            a + 2
        } else {
            a + 1
        };
        if to_mariadb
            && self.kw(col + 1, "SET")
            && (self.kw(col + 2, "VISIBLE") || self.kw(col + 2, "INVISIBLE"))
        {
            return Err(self.unsupported(format!(
                "MariaDB has no `{}`: it changes visibility only with MODIFY and the whole \
                 column definition",
                self.text_range(a, b - 1)
            )));
        }
        Ok(())
    }
}
