//! The `DROP`, `RENAME TABLE`, index and database readers.

use ferry_model::TableName;

use super::super::{DdlError, Edit, Parsed, Piece, SkipReason};
use super::{insert, name_edit, skipped_object, Parser};
use crate::rules::EventType;

impl Parser<'_> {
    pub(super) fn drop_stmt(&mut self) -> Result<Parsed, DdlError> {
        let temporary = self.eat(&["TEMPORARY"]);
        self.skip_modifiers();
        let word = self.word(0);
        match word.as_str() {
            "TABLE" | "TABLES" if temporary => Ok(Parsed::Skip(SkipReason::TemporaryTable)),
            "TABLE" | "TABLES" => self.drop_table(),
            "DATABASE" | "SCHEMA" => self.database(EventType::DropDatabase),
            "INDEX" => {
                self.pos += 1;
                self.eat(&["IF", "EXISTS"]);
                self.ident("an index name")?;
                self.index_table(EventType::DropIndex)
            }
            "SPATIAL" if self.kw(1, "REFERENCE") => {
                Ok(Parsed::Skip(SkipReason::Object("SPATIAL REFERENCE SYSTEM")))
            }
            "PREPARE" => Ok(Parsed::Skip(SkipReason::Other)),
            _ => match skipped_object(&word) {
                Some(r) => Ok(Parsed::Skip(r)),
                None => Err(self.unrecognized()),
            },
        }
    }

    /// `... ON table ...` of `CREATE INDEX` / `DROP INDEX`.
    pub(super) fn index_table(&mut self, kind: EventType) -> Result<Parsed, DdlError> {
        self.expect("ON")?;
        let n = self.name()?;
        let t = vec![self.table(&n)?];
        Ok(Parsed::Ddl(vec![self.stmt(
            kind,
            t,
            vec![name_edit(&n, 0)],
        )]))
    }

    /// `CREATE|ALTER|DROP DATABASE|SCHEMA`, at the `DATABASE` keyword.
    pub(super) fn database(&mut self, kind: EventType) -> Result<Parsed, DdlError> {
        self.pos += 1;
        let mut edits = Vec::new();
        let guard = match kind {
            EventType::CreateDatabase => Some(&["IF", "NOT", "EXISTS"][..]),
            EventType::DropDatabase => Some(&["IF", "EXISTS"][..]),
            _ => None,
        };
        if let Some(guard) = guard {
            if !self.eat(guard) {
                edits.push(insert(
                    self.prev_end(),
                    if guard.len() == 3 {
                        " IF NOT EXISTS"
                    } else {
                        " IF EXISTS"
                    },
                ));
            }
        }
        // `ALTER DATABASE` may omit the name (then it is the default database).
        const OPTIONS: &[&str] = &[
            "CHARACTER",
            "CHARSET",
            "DEFAULT",
            "COLLATE",
            "ENCRYPTION",
            "READ",
        ];
        let unnamed = kind == EventType::AlterDatabase
            && self
                .tok(0)
                .is_some_and(|t| OPTIONS.iter().any(|o| t.is_kw(o)));
        let db = if unnamed {
            if self.schema.is_empty() {
                return Err(self.unsupported("ALTER DATABASE without a database name or default"));
            }
            edits.push(Edit {
                range: self.prev_end()..self.prev_end(),
                with: vec![Piece::Text(" "), Piece::Name(0)],
            });
            self.schema.to_string()
        } else {
            let (db, span) = self.ident("a database name")?;
            edits.push(Edit {
                range: span,
                with: vec![Piece::Name(0)],
            });
            db
        };
        let t = vec![TableName::new(db, "")];
        Ok(Parsed::Ddl(vec![self.stmt(kind, t, edits)]))
    }

    /// `DROP TABLE`, at `TABLE`: one statement per table.
    fn drop_table(&mut self) -> Result<Parsed, DdlError> {
        self.pos += 1;
        let guard = (!self.eat(&["IF", "EXISTS"])).then(|| insert(self.prev_end(), " IF EXISTS"));
        let mut names = vec![self.name()?];
        while self.punct(0, b',') {
            self.pos += 1;
            names.push(self.name()?);
        }
        while self.tok(0).is_some() {
            if self.eat(&["WAIT"]) {
                self.ident("a timeout")?;
            } else if !(self.eat(&["RESTRICT"]) || self.eat(&["CASCADE"]) || self.eat(&["NOWAIT"]))
            {
                return Err(self.syntax(format!("unexpected text {}", self.found())));
            }
        }
        let all = names[0].span.start..names[names.len() - 1].span.end;
        let mut out = Vec::with_capacity(names.len());
        for n in &names {
            let mut edits = vec![Edit {
                range: all.clone(),
                with: vec![Piece::Name(0)],
            }];
            edits.extend(guard.clone());
            out.push(self.stmt(EventType::DropTable, vec![self.table(n)?], edits));
        }
        Ok(Parsed::Ddl(out))
    }

    pub(super) fn rename_table(&mut self) -> Result<Parsed, DdlError> {
        self.eat(&["IF", "EXISTS"]);
        let mut pairs = Vec::new();
        loop {
            let from = self.name()?;
            if self.eat(&["WAIT"]) {
                self.ident("a timeout")?;
            } else {
                self.eat(&["NOWAIT"]);
            }
            self.expect("TO")?;
            let to = self.name()?;
            pairs.push((from, to));
            if !self.punct(0, b',') {
                break;
            }
            self.pos += 1;
        }
        if self.tok(0).is_some() {
            return Err(self.syntax(format!("unexpected text {}", self.found())));
        }
        let all = pairs[0].0.span.start..pairs[pairs.len() - 1].1.span.end;
        let mut out = Vec::with_capacity(pairs.len());
        for (from, to) in &pairs {
            let edit = Edit {
                range: all.clone(),
                with: vec![Piece::Name(0), Piece::Text(" TO "), Piece::Name(1)],
            };
            let t = vec![self.table(from)?, self.table(to)?];
            let mut s = self.stmt(EventType::RenameTable, t, vec![edit]);
            s.renamed = Some(1);
            out.push(s);
        }
        Ok(Parsed::Ddl(out))
    }
}
