//! `ALGORITHM=NOCOPY` (MariaDB's): dropped for MySQL and TiDB, which choose the algorithm
//! themselves. The other algorithms and `LOCK=` are kept: every target accepts them.

use super::renderer::Renderer;
use crate::db::Flavor;

impl Renderer<'_> {
    /// Table options after a `CREATE TABLE` list.
    pub(super) fn table_options(&mut self, a: usize, b: usize) {
        self.algorithm_tokens(a, b);
    }

    /// `ALGORITHM [=] NOCOPY` inside `a..b` (not a list element): removed for MySQL and TiDB.
    pub(super) fn algorithm_tokens(&mut self, a: usize, b: usize) {
        if self.to.flavor == Flavor::Mariadb {
            return;
        }
        for i in a..b {
            if let Some(end) = self.nocopy_at(i) {
                if end <= b {
                    self.remove(i, end);
                    self.note_nocopy();
                }
            }
        }
    }

    pub(super) fn nocopy_at(&self, i: usize) -> Option<usize> {
        if !self.kw(i, "ALGORITHM") {
            return None;
        }
        let v = if self.punct(i + 1, b'=') {
            i + 2
        } else {
            i + 1
        };
        self.kw(v, "NOCOPY").then_some(v + 1)
    }

    pub(super) fn note_nocopy(&mut self) {
        self.note(format!(
            "`ALGORITHM=NOCOPY` dropped ({} has no NOCOPY; it chooses the algorithm)",
            self.target()
        ));
    }
}
