//! The reader of the replicated statement shapes, over the tokens of [`super::lexer`].

mod create;
mod drop;

use std::ops::Range;
use std::sync::Arc;

use ferry_model::TableName;

use super::lexer::{Kind, Token};
use super::{excerpt, DdlError, DdlStmt, Edit, Parsed, Piece, SkipReason};
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
                } else if self.tok(0).is_some_and(|t| t.kind == Kind::Var) {
                    self.pos += 1; // @host without quotes
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
