//! Collations: `COLLATE x` where the target lacks `x` becomes the target's equivalent
//! ([`crate::schema::TargetCaps::map_collation`]), whatever the two families.

use super::renderer::Renderer;
use crate::ddl::lexer::Kind;

impl Renderer<'_> {
    /// `COLLATE x` where the target lacks `x`.
    pub(super) fn collations(&mut self) {
        for i in 0..self.toks.len() {
            if !self.kw(i, "COLLATE") {
                continue;
            }
            let n = if self.punct(i + 1, b'=') {
                i + 2
            } else {
                i + 1
            };
            let Some(t) = self.toks.get(n) else { continue };
            let (name, quote) = match t.kind {
                Kind::Word | Kind::Quoted => (t.ident.clone(), t.kind == Kind::Quoted),
                Kind::Str => {
                    let raw = self.text(n);
                    (raw[1..raw.len().saturating_sub(1)].to_string(), true)
                }
                Kind::Var | Kind::Punct(_) | Kind::Op => continue,
            };
            // MariaDB 10.10+ accepts UCA 14 collations without their character set.
            let full = if name.to_ascii_lowercase().starts_with("uca1400_") {
                format!("utf8mb4_{name}")
            } else {
                name.clone()
            };
            let new = match self.to.map_collation(&full) {
                Some(new) => new,
                None if full != name
                    && !self.to.collations.contains(&name.to_ascii_lowercase()) =>
                {
                    full
                }
                None => continue,
            };
            let text = if quote {
                let q = &self.text(n)[..1];
                format!("{q}{new}{q}")
            } else {
                new.clone()
            };
            self.replace(n, text);
            self.note(format!(
                "collation {name} → {new} ({} has no {name})",
                self.target()
            ));
        }
    }
}
