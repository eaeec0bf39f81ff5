//! Index and constraint definitions: functional key parts (MariaDB has none), index
//! visibility (`INVISIBLE` ↔ `IGNORED`), `CHECK ... [NOT] ENFORCED` for MariaDB.

use super::renderer::Renderer;
use super::DialectError;
use crate::db::Flavor;
use crate::ddl::excerpt;

impl Renderer<'_> {
    /// An index or constraint definition `a..b` (an element of its list).
    /// `element`: the list element to remove with it (the whole `ADD ...` of an ALTER).
    pub(super) fn index_element(
        &mut self,
        a: usize,
        b: usize,
        element: (usize, usize),
    ) -> Result<(), DialectError> {
        let mut i = a;
        if self.kw(i, "CONSTRAINT") {
            i += 1;
            i = self.if_exists(i);
            if !self.kw(i, "CHECK")
                && !self.kw(i, "PRIMARY")
                && !self.kw(i, "UNIQUE")
                && !self.kw(i, "FOREIGN")
            {
                i += 1; // the constraint's name
            }
        }
        if self.kw(i, "CHECK") {
            return self.check_clause(i, b, Some(element));
        }
        // The key part list: the first parenthesis.
        let Some(open) = (i..b).find(|&j| self.punct(j, b'(')) else {
            return Ok(());
        };
        // `ADD INDEX IF NOT EXISTS i (...)`, `ADD FOREIGN KEY IF NOT EXISTS f (...)`.
        if let Some(f) = (i..open).find(|&j| self.kw(j, "IF")) {
            self.if_exists(f);
        }
        if self.kw(i, "FOREIGN") {
            return Ok(());
        }
        let close = self.close_of(open);
        self.key_parts(open, close)?;
        self.index_options(close + 1, b);
        Ok(())
    }

    pub(super) fn key_parts(&mut self, open: usize, close: usize) -> Result<(), DialectError> {
        if self.to.flavor != Flavor::Mariadb {
            return Ok(());
        }
        for (a, _) in self.split(open + 1, close) {
            if self.punct(a, b'(') {
                return Err(self.unsupported(format!(
                    "MariaDB has no functional key parts (index on the expression `{}`); \
                     a generated column would change the table's shape",
                    self.text_range(a, self.close_of(a))
                )));
            }
        }
        Ok(())
    }

    /// `VISIBLE`, `INVISIBLE`, `IGNORED`, `NOT IGNORED` after the key parts.
    pub(super) fn index_options(&mut self, a: usize, b: usize) {
        let top = self.top_level(a, b);
        for (k, &i) in top.iter().enumerate() {
            match self.to.flavor {
                Flavor::Mariadb if self.kw(i, "INVISIBLE") => {
                    self.replace(i, "IGNORED");
                    self.note("invisible index → IGNORED (MariaDB's name for it)");
                }
                Flavor::Mariadb if self.kw(i, "VISIBLE") => {
                    self.remove(i, i + 1);
                    self.note(
                        "`VISIBLE` index option dropped (the default; MariaDB lacks the word)",
                    );
                }
                Flavor::Mysql | Flavor::Tidb if self.kw(i, "IGNORED") => {
                    let not = k > 0 && self.kw(top[k - 1], "NOT");
                    if not {
                        self.remove(top[k - 1], top[k - 1] + 1);
                        self.replace(i, "VISIBLE");
                    } else {
                        self.replace(i, "INVISIBLE");
                    }
                    self.note(format!(
                        "{}IGNORED index → {}VISIBLE ({}'s name for it)",
                        if not { "NOT " } else { "" },
                        if not { "" } else { "IN" },
                        self.target()
                    ));
                }
                _ => {}
            }
        }
        self.algorithm_tokens(a, b);
    }

    /// `CHECK (expr) [NOT] ENFORCED` at `i` (up to `b`); `element`: the list element the
    /// constraint is (`None` for a column's constraint, which is removed alone).
    pub(super) fn check_clause(
        &mut self,
        i: usize,
        b: usize,
        element: Option<(usize, usize)>,
    ) -> Result<(), DialectError> {
        if self.to.flavor != Flavor::Mariadb || !self.punct(i + 1, b'(') {
            return Ok(());
        }
        let close = self.close_of(i + 1);
        let e = close + 1;
        if e < b && self.kw(e, "ENFORCED") {
            self.remove(e, e + 1);
            self.note(
                "`ENFORCED` dropped from a CHECK constraint (the default; MariaDB lacks the word)",
            );
        } else if e + 1 < b && self.kw(e, "NOT") && self.kw(e + 1, "ENFORCED") {
            let text = excerpt(self.text_range(element.map_or(i, |x| x.0), e + 1));
            match element {
                Some((a, b)) => self.remove_element(a, b),
                None => self.remove(i, e + 2),
            }
            self.note(format!(
                "unenforced constraint `{text}` dropped (MariaDB has no NOT ENFORCED; an \
                 unenforced constraint never rejects a row, enforcing it could)"
            ));
        }
        Ok(())
    }
}
