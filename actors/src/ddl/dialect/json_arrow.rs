//! MySQL's JSON shorthands `c->'$.p'` and `c->>'$.p'`, which MariaDB lacks: rewritten as
//! `json_extract` / `json_unquote(json_extract(...))` wherever they appear.

use super::renderer::Renderer;
use super::DialectError;
use crate::ddl::lexer::Kind;

impl Renderer<'_> {
    /// `->` and `->>` (MySQL's JSON shorthands) for MariaDB.
    pub(super) fn json_arrows(&mut self) -> Result<(), DialectError> {
        let mut i = 0;
        while i < self.toks.len() {
            let unquote = match (self.toks[i].kind, self.text(i)) {
                (Kind::Op, "->") => false,
                (Kind::Op, "->>") => true,
                _ => {
                    i += 1;
                    continue;
                }
            };
            let path = i + 1;
            // The left side is a column name, possibly qualified.
            let mut start = i;
            if start > 0 && self.toks[start - 1].is_ident() {
                start -= 1;
                while start >= 2 && self.punct(start - 1, b'.') && self.toks[start - 2].is_ident() {
                    start -= 2;
                }
            }
            let ok = start < i && self.toks.get(path).is_some_and(|t| t.kind == Kind::Str);
            if !ok {
                return Err(self.unsupported(format!(
                    "MariaDB has no `->` operator, and `{}` is not `column->'path'`",
                    self.text_range(start.min(i), path.min(self.toks.len() - 1))
                )));
            }
            let col = self.text_range(start, i - 1).to_string();
            let p = self.text(path).to_string();
            let (from_text, with) = if unquote {
                (
                    format!("{col}->>{p}"),
                    format!("json_unquote(json_extract({col}, {p}))"),
                )
            } else {
                (format!("{col}->{p}"), format!("json_extract({col}, {p})"))
            };
            let span = self.toks[start].span.start..self.toks[path].span.end;
            self.edits.push((span, with.clone()));
            self.note(format!(
                "`{from_text}` → `{with}` (MariaDB has no `->`/`->>`)"
            ));
            i = path + 1;
        }
        Ok(())
    }
}
