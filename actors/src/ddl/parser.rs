//! The reader of the replicated statement shapes, over the tokens of [`super::lexer`].

use std::ops::Range;
use std::sync::Arc;

use ferry_model::TableName;

use super::lexer::{Kind, Token};
use super::{excerpt, DdlError, DdlStmt, Edit, Parsed, Piece, SkipReason, CTAS};
use crate::rules::EventType;

/// A name as written: optional schema, name, and its span.
struct NameRef {
    schema: Option<String>,
    name: String,
    span: Range<usize>,
}

struct Parser<'a> {
    sql: &'a str,
    /// `sql`, shared by the statements built from it.
    text: Arc<str>,
    schema: &'a str,
    toks: Vec<Token>,
    pos: usize,
    /// Edits every statement gets (removal of a trailing `;`).
    cleanup: Vec<Edit>,
}

/// Reads the tokens `toks` of `sql`; unqualified names belong to `schema`.
pub(super) fn parse(sql: &str, toks: Vec<Token>, schema: &str) -> Result<Parsed, DdlError> {
    let mut p = Parser {
        sql,
        text: Arc::from(sql),
        schema,
        toks,
        pos: 0,
        cleanup: Vec::new(),
    };
    p.prepare()?;
    if p.toks.is_empty() {
        return Ok(Parsed::Skip(SkipReason::Empty));
    }
    p.statement()
}

/// Objects whose DDL is never replicated, with their reason.
fn skipped_object(word: &str) -> Option<SkipReason> {
    const OBJECTS: &[(&str, &str)] = &[
        ("VIEW", "VIEW"),
        ("TRIGGER", "TRIGGER"),
        ("PROCEDURE", "PROCEDURE"),
        ("FUNCTION", "FUNCTION"),
        ("EVENT", "EVENT"),
        ("SERVER", "SERVER"),
        ("TABLESPACE", "TABLESPACE"),
        ("LOGFILE", "LOGFILE GROUP"),
        ("RESOURCE", "RESOURCE GROUP"),
        ("INSTANCE", "INSTANCE"),
        ("LIBRARY", "LIBRARY"),
        ("PACKAGE", "PACKAGE"),
    ];
    let upper = word.to_ascii_uppercase();
    if matches!(upper.as_str(), "USER" | "ROLE") {
        return Some(SkipReason::AccountManagement);
    }
    OBJECTS
        .iter()
        .find(|(k, _)| *k == upper)
        .map(|(_, label)| SkipReason::Object(label))
}

impl<'a> Parser<'a> {
    fn syntax(&self, reason: impl Into<String>) -> DdlError {
        DdlError::Syntax {
            statement: excerpt(self.sql),
            reason: reason.into(),
        }
    }

    fn unsupported(&self, reason: impl Into<String>) -> DdlError {
        DdlError::Unsupported {
            statement: excerpt(self.sql),
            reason: reason.into(),
        }
    }

    fn unrecognized(&self) -> DdlError {
        DdlError::Unrecognized {
            statement: excerpt(self.sql),
        }
    }

    /// Checks parentheses and drops trailing `;` tokens (removed from the rendered text).
    fn prepare(&mut self) -> Result<(), DdlError> {
        let mut depth = 0usize;
        for t in &self.toks {
            match t.kind {
                Kind::Punct(b'(') => depth += 1,
                Kind::Punct(b')') => {
                    depth = depth
                        .checked_sub(1)
                        .ok_or_else(|| self.syntax("unbalanced parentheses"))?;
                }
                _ => {}
            }
        }
        if depth != 0 {
            return Err(self.syntax("unbalanced parentheses"));
        }
        let mut end = self.toks.len();
        while end > 0 && self.toks[end - 1].kind == Kind::Punct(b';') {
            end -= 1;
            let span = self.toks[end].span.clone();
            self.cleanup.push(Edit {
                range: span,
                with: Vec::new(),
            });
        }
        self.toks.truncate(end);
        if self.toks.iter().any(|t| t.kind == Kind::Punct(b';')) {
            return Err(self.syntax("more than one statement"));
        }
        Ok(())
    }

    fn tok(&self, i: usize) -> Option<&Token> {
        self.toks.get(self.pos + i)
    }

    fn kw(&self, i: usize, kw: &str) -> bool {
        self.tok(i).is_some_and(|t| t.is_kw(kw))
    }

    fn punct(&self, i: usize, c: u8) -> bool {
        self.tok(i).is_some_and(|t| t.kind == Kind::Punct(c))
    }

    /// The unquoted word at `i`, upper-cased.
    fn word(&self, i: usize) -> String {
        self.tok(i)
            .filter(|t| t.kind == Kind::Word)
            .map(|t| t.ident.to_ascii_uppercase())
            .unwrap_or_default()
    }

    /// Consumes the keywords `kws` if they all come next.
    fn eat(&mut self, kws: &[&str]) -> bool {
        let all = kws.iter().enumerate().all(|(i, k)| self.kw(i, k));
        if all {
            self.pos += kws.len();
        }
        all
    }

    fn expect(&mut self, kw: &str) -> Result<(), DdlError> {
        if self.eat(&[kw]) {
            Ok(())
        } else {
            Err(self.syntax(format!("expected {kw} {}", self.found())))
        }
    }

    fn found(&self) -> String {
        match self.tok(0) {
            Some(t) => format!("at `{}`", &self.sql[t.span.clone()]),
            None => "at the end of the statement".to_string(),
        }
    }

    /// End offset of the previous token (where text is inserted after a keyword).
    fn prev_end(&self) -> usize {
        self.pos
            .checked_sub(1)
            .and_then(|i| self.toks.get(i))
            .map_or(0, |t| t.span.end)
    }

    fn ident(&mut self, what: &str) -> Result<(String, Range<usize>), DdlError> {
        match self.tok(0) {
            Some(t) if t.is_ident() => {
                let r = (t.ident.clone(), t.span.clone());
                self.pos += 1;
                Ok(r)
            }
            _ => Err(self.syntax(format!("expected {what} {}", self.found()))),
        }
    }

    /// `name` or `schema.name`.
    fn name(&mut self) -> Result<NameRef, DdlError> {
        let (first, span) = self.ident("a table name")?;
        if self.punct(0, b'.') {
            self.pos += 1;
            let (name, last) = self.ident("a table name")?;
            return Ok(NameRef {
                schema: Some(first),
                name,
                span: span.start..last.end,
            });
        }
        Ok(NameRef {
            schema: None,
            name: first,
            span,
        })
    }

    fn table(&self, n: &NameRef) -> Result<TableName, DdlError> {
        let schema = n.schema.as_deref().unwrap_or(self.schema);
        if schema.is_empty() {
            return Err(self.unsupported(format!(
                "table `{}` has no database and the event has no default database",
                n.name
            )));
        }
        Ok(TableName::new(schema, n.name.clone()))
    }

    /// Skips the clauses between `CREATE`/`ALTER`/`DROP` and the object keyword.
    fn skip_modifiers(&mut self) {
        loop {
            if (self.kw(0, "SQL") && self.kw(1, "SECURITY"))
                || (self.kw(0, "ALGORITHM") && self.punct(1, b'='))
            {
                self.pos += 3;
            } else if self.kw(0, "DEFINER") && self.punct(1, b'=') {
                self.pos += 3; // DEFINER = user
                if self.punct(0, b'@') {
                    self.pos += 2; // @host
                } else if self.punct(0, b'(') && self.punct(1, b')') {
                    self.pos += 2; // CURRENT_USER()
                }
            } else if ["AGGREGATE", "UNDO", "ONLINE", "OFFLINE", "IGNORE"]
                .iter()
                .any(|k| self.kw(0, k))
            {
                self.pos += 1;
            } else {
                return;
            }
        }
    }

    fn stmt(&self, kind: EventType, tables: Vec<TableName>, mut edits: Vec<Edit>) -> DdlStmt {
        edits.extend(self.cleanup.iter().cloned());
        // An insertion goes before a replacement that starts at the same offset.
        edits.sort_by_key(|e| (e.range.start, e.range.end));
        DdlStmt {
            kind,
            tables,
            renamed: None,
            like: None,
            rows_follow: false,
            text: Arc::clone(&self.text),
            edits,
        }
    }

    fn statement(&mut self) -> Result<Parsed, DdlError> {
        use SkipReason as S;
        let first = self.word(0);
        let second = self.word(1);
        let skip = |r| Ok(Parsed::Skip(r));
        match first.as_str() {
            "BEGIN" | "COMMIT" | "ROLLBACK" | "SAVEPOINT" | "RELEASE" | "XA" => {
                skip(S::TransactionControl)
            }
            "START" if second == "TRANSACTION" => skip(S::TransactionControl),
            "SET" => match second.as_str() {
                "TRANSACTION" => skip(S::TransactionControl),
                "PASSWORD" | "ROLE" | "DEFAULT" => skip(S::AccountManagement),
                _ => skip(S::SetVariable),
            },
            "GRANT" | "REVOKE" => skip(S::AccountManagement),
            "FLUSH" | "ANALYZE" | "OPTIMIZE" | "REPAIR" | "CHECK" | "CHECKSUM" | "RESET"
            | "PURGE" | "CACHE" => skip(S::Maintenance),
            "LOAD" if second == "INDEX" => skip(S::Maintenance),
            "INSTALL" | "UNINSTALL" => skip(S::Plugin),
            "USE" | "SHOW" | "EXPLAIN" | "DESCRIBE" | "DESC" | "HELP" | "LOCK" | "UNLOCK"
            | "KILL" | "SHUTDOWN" | "RESTART" | "CLONE" | "CHANGE" | "START" | "STOP"
            | "PREPARE" | "EXECUTE" | "DEALLOCATE" | "DO" | "HANDLER" | "SELECT" | "TABLE"
            | "VALUES" => skip(S::Other),
            "INSERT" | "UPDATE" | "DELETE" | "REPLACE" | "LOAD" | "CALL" | "WITH" => Err(self
                .unsupported(
                    "statement-based DML in the binlog (the source must use binlog_format=ROW)",
                )),
            "CREATE" => {
                self.pos = 1;
                self.create()
            }
            "ALTER" => {
                self.pos = 1;
                self.alter()
            }
            "DROP" => {
                self.pos = 1;
                self.drop_stmt()
            }
            "RENAME" if second == "USER" => skip(S::AccountManagement),
            "RENAME" if matches!(second.as_str(), "TABLE" | "TABLES") => {
                self.pos = 2;
                self.rename_table()
            }
            "TRUNCATE" => {
                self.pos = 1;
                self.eat(&["TABLE"]);
                let n = self.name()?;
                let t = vec![self.table(&n)?];
                let edit = name_edit(&n, 0);
                Ok(Parsed::Ddl(vec![self.stmt(
                    EventType::TruncateTable,
                    t,
                    vec![edit],
                )]))
            }
            _ => Err(self.unrecognized()),
        }
    }

    fn create(&mut self) -> Result<Parsed, DdlError> {
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

    fn alter(&mut self) -> Result<Parsed, DdlError> {
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

    fn drop_stmt(&mut self) -> Result<Parsed, DdlError> {
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
    fn index_table(&mut self, kind: EventType) -> Result<Parsed, DdlError> {
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
    fn database(&mut self, kind: EventType) -> Result<Parsed, DdlError> {
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

    fn rename_table(&mut self) -> Result<Parsed, DdlError> {
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

fn name_edit(n: &NameRef, i: usize) -> Edit {
    Edit {
        range: n.span.clone(),
        with: vec![Piece::Name(i)],
    }
}

fn insert(at: usize, text: &'static str) -> Edit {
    Edit {
        range: at..at,
        with: vec![Piece::Text(text)],
    }
}
