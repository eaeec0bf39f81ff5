//! The `CREATE` and `ALTER` readers and the `CREATE TABLE` and `ALTER TABLE` statements.

use std::sync::Arc;

use super::super::lexer::Kind;
use super::super::{DdlError, DdlStmt, Edit, Parsed, Piece, SkipReason, CTAS};
use super::{insert, name_edit, skipped_object, Parser};
use crate::rules::EventType;

impl Parser<'_> {
    pub(super) fn create(&mut self) -> Result<Parsed, DdlError> {
        let or_at = self.pos;
        let or_replace = self.eat(&["OR", "REPLACE"]).then_some(or_at);
        let temporary = self.eat(&["TEMPORARY"]);
        self.skip_modifiers();
        let word = self.word(0);
        match word.as_str() {
            "TABLE" if temporary => Ok(Parsed::Skip(SkipReason::TemporaryTable)),
            "TABLE" => self.create_table(or_replace),
            _ if or_replace.is_some() => {
                if let Some(r) = skipped_object(&word) {
                    return Ok(Parsed::Skip(r));
                }
                Err(self.unsupported(format!("CREATE OR REPLACE {word}")))
            }
            "DATABASE" | "SCHEMA" => self.database(EventType::CreateDatabase),
            "SPATIAL" if self.kw(1, "REFERENCE") => {
                Ok(Parsed::Skip(SkipReason::Object("SPATIAL REFERENCE SYSTEM")))
            }
            "UNIQUE" | "FULLTEXT" | "SPATIAL" | "INDEX" => {
                self.pos += usize::from(word != "INDEX");
                self.expect("INDEX")?;
                self.eat(&["IF", "NOT", "EXISTS"]);
                self.ident("an index name")?;
                if self.eat(&["USING"]) {
                    self.ident("an index type")?;
                }
                self.index_table(EventType::CreateIndex)
            }
            _ => match skipped_object(&word) {
                Some(r) => Ok(Parsed::Skip(r)),
                None => Err(self.unrecognized()),
            },
        }
    }

    pub(super) fn alter(&mut self) -> Result<Parsed, DdlError> {
        self.skip_modifiers();
        let word = self.word(0);
        match word.as_str() {
            "TABLE" => self.alter_table(),
            "DATABASE" | "SCHEMA" => self.database(EventType::AlterDatabase),
            _ => match skipped_object(&word) {
                Some(r) => Ok(Parsed::Skip(r)),
                None => Err(self.unrecognized()),
            },
        }
    }

    /// `CREATE TABLE`, at `TABLE`; `or_replace` is the index of the `OR` of MariaDB's
    /// `CREATE OR REPLACE TABLE`.
    fn create_table(&mut self, or_replace: Option<usize>) -> Result<Parsed, DdlError> {
        self.pos += 1;
        let mut edits = Vec::new();
        if !self.eat(&["IF", "NOT", "EXISTS"]) {
            edits.push(insert(self.prev_end(), " IF NOT EXISTS"));
        }
        let n = self.name()?;
        let mut tables = vec![self.table(&n)?];
        edits.push(name_edit(&n, 0));
        if self.tok(0).is_none() {
            return Err(self.syntax("CREATE TABLE without a definition"));
        }
        let mut like = None;
        let mut rows_follow = false;
        let paren_like = self.punct(0, b'(') && self.kw(1, "LIKE");
        if paren_like || self.kw(0, "LIKE") {
            self.pos += if paren_like { 2 } else { 1 };
            let src = self.name()?;
            if paren_like && !self.punct(0, b')') {
                return Err(self.syntax(format!("expected `)` {}", self.found())));
            }
            edits.push(name_edit(&src, 1));
            tables.push(self.table(&src)?);
            like = Some(1);
        } else {
            let after_name = self.pos;
            let mut depth = 0usize;
            while let Some(t) = self.tok(0) {
                let top = depth == 0;
                match t.kind {
                    Kind::Punct(b'(') => {
                        // `(SELECT ...)`, `((SELECT ...))` as the definition.
                        let query = ["SELECT", "WITH", "TABLE", "VALUES"];
                        let sub = self.tok(1);
                        if top
                            && sub.is_some_and(|s| {
                                query.iter().any(|k| s.is_kw(k))
                                    || (self.pos == after_name && s.kind == Kind::Punct(b'('))
                            })
                        {
                            return Err(self.unsupported(CTAS));
                        }
                        depth += 1;
                    }
                    Kind::Punct(b')') => depth = depth.saturating_sub(1),
                    _ if top && ["SELECT", "TABLE", "AS"].iter().any(|k| t.is_kw(k)) => {
                        return Err(self.unsupported(CTAS));
                    }
                    _ if top && t.is_kw("START") && self.kw(1, "TRANSACTION") => {
                        let end = self.toks[self.pos + 1].span.end;
                        edits.push(Edit {
                            range: self.prev_end()..end,
                            with: Vec::new(),
                        });
                        rows_follow = true;
                        self.pos += 1;
                    }
                    _ => {}
                }
                self.pos += 1;
            }
        }
        let mut out = Vec::new();
        if let Some(or) = or_replace {
            // MariaDB's `CREATE OR REPLACE TABLE t`: drop `t`, then create it.
            out.push(DdlStmt {
                kind: EventType::DropTable,
                tables: vec![tables[0].clone()],
                renamed: None,
                like: None,
                rows_follow: false,
                text: Arc::from(""),
                edits: vec![Edit {
                    range: 0..0,
                    with: vec![Piece::Text("DROP TABLE IF EXISTS "), Piece::Name(0)],
                }],
            });
            // Remove ` OR REPLACE` (from the end of `CREATE` to the end of `REPLACE`).
            if let (Some(create), Some(replace)) = (
                or.checked_sub(1).and_then(|i| self.toks.get(i)),
                self.toks.get(or + 1),
            ) {
                edits.push(Edit {
                    range: create.span.end..replace.span.end,
                    with: Vec::new(),
                });
            }
        }
        let mut s = self.stmt(EventType::CreateTable, tables, edits);
        s.like = like;
        s.rows_follow = rows_follow;
        out.push(s);
        Ok(Parsed::Ddl(out))
    }

    /// `ALTER TABLE`, at `TABLE`.
    fn alter_table(&mut self) -> Result<Parsed, DdlError> {
        self.pos += 1;
        self.eat(&["IF", "EXISTS"]);
        let n = self.name()?;
        let mut tables = vec![self.table(&n)?];
        let mut edits = vec![name_edit(&n, 0)];
        let mut renamed = None;
        let mut depth = 0usize;
        let mut spec_start = true;
        while let Some(t) = self.tok(0) {
            let other_table = match t.kind {
                Kind::Punct(b'(') => {
                    depth += 1;
                    false
                }
                Kind::Punct(b')') => {
                    depth = depth.saturating_sub(1);
                    false
                }
                Kind::Punct(b',') if depth == 0 => {
                    spec_start = true;
                    self.pos += 1;
                    continue;
                }
                _ if depth > 0 => false,
                // `RENAME [TO|AS] u`, not `RENAME COLUMN|INDEX|KEY`.
                _ if spec_start
                    && t.is_kw("RENAME")
                    && !["COLUMN", "INDEX", "KEY"].iter().any(|k| self.kw(1, k)) =>
                {
                    self.pos += 1;
                    let _ = self.eat(&["TO"]) || self.eat(&["AS"]);
                    renamed = Some(tables.len());
                    true
                }
                // `EXCHANGE PARTITION p WITH TABLE u`; MariaDB's `CONVERT PARTITION p TO
                // TABLE u` and `CONVERT TABLE u TO PARTITION p`.
                _ if (t.is_kw("WITH") || t.is_kw("TO") || t.is_kw("CONVERT"))
                    && self.kw(1, "TABLE") =>
                {
                    self.pos += 2;
                    true
                }
                _ => false,
            };
            spec_start = false;
            if other_table {
                let o = self.name()?;
                edits.push(name_edit(&o, tables.len()));
                tables.push(self.table(&o)?);
            } else {
                self.pos += 1;
            }
        }
        let mut s = self.stmt(EventType::AlterTable, tables, edits);
        s.renamed = renamed;
        Ok(Parsed::Ddl(vec![s]))
    }
}
