//! MySQL's `[DEFAULT] ENCRYPTION [=] 'N'|'Y'` table and database option, which MariaDB
//! lacks: `'N'` (its default) is dropped, `'Y'` is refused.

use super::renderer::Renderer;
use super::DialectError;
use crate::ddl::lexer::Kind;

impl Renderer<'_> {
    /// MySQL's `[DEFAULT] ENCRYPTION [=] 'N'|'Y'` option.
    pub(super) fn encryption(&mut self) -> Result<(), DialectError> {
        for i in 0..self.toks.len() {
            if !self.kw(i, "ENCRYPTION") {
                continue;
            }
            let v = if self.punct(i + 1, b'=') {
                i + 2
            } else {
                i + 1
            };
            if self.toks.get(v).is_none_or(|t| t.kind != Kind::Str) {
                continue;
            }
            let start = if i > 0 && self.kw(i - 1, "DEFAULT") {
                i - 1
            } else {
                i
            };
            let value = self.text(v).to_ascii_uppercase();
            let text = self.text_range(start, v).to_string();
            if value.contains('N') {
                // `, ENCRYPTION='N'` in an ALTER list takes its comma along.
                if start > 0 && self.punct(start - 1, b',') {
                    self.remove(start - 1, v + 1);
                } else {
                    self.remove(start, v + 1);
                }
                self.note(format!(
                    "`{text}` dropped (MariaDB has no such option; not encrypting is its default)"
                ));
            } else {
                return Err(self.unsupported(format!(
                    "MariaDB has no `{text}` (it encrypts through its key management plugins \
                     and `ENCRYPTED=YES`)"
                )));
            }
        }
        Ok(())
    }
}
