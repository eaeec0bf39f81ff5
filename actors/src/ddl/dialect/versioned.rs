//! Versioned comments: `/*!NNNNN ... */` (MySQL, and MariaDB for versions it accepts) and
//! `/*M!NNNNNN ... */` (MariaDB only). The two families run different ones, so the content
//! of one the upstream ran and the target would skip is made plain text, and one the
//! upstream skipped and the target would run is removed.

use std::ops::Range;

use super::flavor_name;
use super::renderer::Renderer;
use crate::db::Flavor;
use crate::ddl::excerpt;
use crate::ddl::lexer::Token;

/// A versioned comment `/*!NNNNN ... */` or `/*M!NNNNNN ... */`.
#[derive(Debug)]
struct ExecComment {
    /// `/*!NNNNN`.
    open: Range<usize>,
    /// `*/`.
    close: Range<usize>,
    version: Option<u32>,
    mariadb_only: bool,
}

impl ExecComment {
    /// True when a server of `flavor` runs the comment's content.
    fn runs_on(&self, flavor: Flavor) -> bool {
        match (flavor, self.mariadb_only, self.version) {
            (Flavor::Mariadb, true, _) => true,
            (_, true, _) => false,
            (_, false, None) => true,
            // MariaDB skips MySQL 5.7+ version comments (checked: 50700 and 80000 skipped,
            // 50699 and 100000 run).
            (Flavor::Mariadb, false, Some(v)) => !(50700..100_000).contains(&v),
            // MySQL reads a 6-digit version as 10.0.0+: newer than itself.
            (_, false, Some(v)) => v < 100_000,
        }
    }

    fn text<'a>(&self, sql: &'a str) -> &'a str {
        sql.get(self.open.start..self.close.end).unwrap_or_default()
    }
}

/// Finds the versioned comments between the tokens (the lexer keeps their content as tokens
/// and skips the markers).
fn exec_comments(sql: &str, toks: &[Token]) -> Vec<ExecComment> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut open: Option<(Range<usize>, Option<u32>, bool)> = None;
    let mut gaps: Vec<Range<usize>> = Vec::with_capacity(toks.len() + 1);
    let mut at = 0;
    for t in toks {
        gaps.push(at..t.span.start);
        at = t.span.end;
    }
    gaps.push(at..sql.len());
    for gap in gaps {
        let mut i = gap.start;
        while i < gap.end {
            let c = b[i];
            let next = b.get(i + 1).copied();
            if c == b'#' || (c == b'-' && next == Some(b'-')) {
                i = sql[i..gap.end].find('\n').map_or(gap.end, |p| i + p + 1);
            } else if c == b'/' && next == Some(b'*') {
                let bang = match (b.get(i + 2), b.get(i + 3)) {
                    (Some(b'!'), _) => Some((3, false)),
                    (Some(b'M'), Some(b'!')) => Some((4, true)),
                    _ => None,
                };
                match bang {
                    Some((skip, mariadb_only)) if open.is_none() => {
                        let start = i;
                        i += skip;
                        let digits = i;
                        while i < gap.end && b[i].is_ascii_digit() {
                            i += 1;
                        }
                        let version = sql[digits..i].parse().ok();
                        open = Some((start..i, version, mariadb_only));
                    }
                    _ => {
                        let end = sql[i + 2..gap.end]
                            .find("*/")
                            .map_or(gap.end, |p| i + 2 + p + 2);
                        i = end;
                    }
                }
            } else if c == b'*' && next == Some(b'/') {
                if let Some((o, version, mariadb_only)) = open.take() {
                    out.push(ExecComment {
                        open: o,
                        close: i..i + 2,
                        version,
                        mariadb_only,
                    });
                }
                i += 2;
            } else {
                i += 1;
            }
        }
    }
    out
}

impl Renderer<'_> {
    /// Resolves the versioned comments the two servers read differently, and keeps the tokens
    /// the upstream ran.
    pub(super) fn comments(&mut self, toks: Vec<Token>) {
        let cross = self.from != self.to.flavor;
        let comments = exec_comments(self.sql, &toks);
        let mut dead: Vec<Range<usize>> = Vec::new();
        for c in &comments {
            let up = c.runs_on(self.from);
            let down = c.runs_on(self.to.flavor);
            if !up {
                dead.push(c.open.start..c.close.end);
            }
            if !cross || up == down {
                continue;
            }
            let text = excerpt(c.text(self.sql));
            let bytes = self.sql.as_bytes();
            // The opening `/*!NNNNN` goes with the blanks before it.
            let mut open = c.open.start;
            let floor = toks
                .iter()
                .map(|t| t.span.end)
                .filter(|&e| e <= open)
                .max()
                .unwrap_or(0);
            while open > floor && bytes[open - 1].is_ascii_whitespace() {
                open -= 1;
            }
            if up {
                // The closing `*/` goes with the blanks before it.
                let floor = toks
                    .iter()
                    .map(|t| t.span.end)
                    .filter(|&e| e <= c.close.start)
                    .max()
                    .unwrap_or(c.open.end)
                    .max(c.open.end);
                let mut close = c.close.start;
                while close > floor && bytes[close - 1].is_ascii_whitespace() {
                    close -= 1;
                }
                self.edits.push((open..c.open.end, String::new()));
                self.edits.push((close..c.close.end, String::new()));
                self.note(format!(
                    "versioned comment `{text}` made plain text ({} ran it, {} would skip it)",
                    flavor_name(self.from),
                    self.target()
                ));
            } else {
                self.edits.push((open..c.close.end, String::new()));
                self.note(format!(
                    "versioned comment `{text}` removed ({} skipped it, {} would run it)",
                    flavor_name(self.from),
                    self.target()
                ));
            }
        }
        self.toks = toks
            .into_iter()
            .filter(|t| !dead.iter().any(|d| d.contains(&t.span.start)))
            .collect();
    }
}
