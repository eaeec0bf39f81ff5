//! The renderer: the statement's tokens, the edits made to them and the rewrites noted.

use std::ops::Range;

use super::{flavor_name, DialectError, Rendered};
use crate::db::Flavor;
use crate::ddl::excerpt;
use crate::ddl::lexer::{Kind, Token};
use crate::schema::TargetCaps;

/// One statement being rendered: its tokens, the edits made to them (byte ranges of the
/// statement and their replacement), and the rewrites noted.
pub(super) struct Renderer<'a> {
    pub(super) sql: &'a str,
    pub(super) from: Flavor,
    pub(super) to: &'a TargetCaps,
    /// Tokens that the upstream ran (those of skipped versioned comments are left out).
    pub(super) toks: Vec<Token>,
    pub(super) edits: Vec<(Range<usize>, String)>,
    pub(super) rewrites: Vec<String>,
}

impl Renderer<'_> {
    pub(super) fn note(&mut self, what: impl Into<String>) {
        let what = what.into();
        if !self.rewrites.contains(&what) {
            self.rewrites.push(what);
        }
    }

    pub(super) fn unsupported(&self, what: impl Into<String>) -> DialectError {
        DialectError::Unsupported {
            what: what.into(),
            statement: excerpt(self.sql),
        }
    }

    pub(super) fn target(&self) -> &'static str {
        flavor_name(self.to.flavor)
    }

    pub(super) fn kw(&self, i: usize, kw: &str) -> bool {
        self.toks.get(i).is_some_and(|t| t.is_kw(kw))
    }

    pub(super) fn punct(&self, i: usize, c: u8) -> bool {
        self.toks.get(i).is_some_and(|t| t.kind == Kind::Punct(c))
    }

    pub(super) fn text(&self, i: usize) -> &str {
        self.toks
            .get(i)
            .and_then(|t| self.sql.get(t.span.clone()))
            .unwrap_or_default()
    }

    /// The text from token `a` to token `b` (inclusive).
    pub(super) fn text_range(&self, a: usize, b: usize) -> &str {
        match (self.toks.get(a), self.toks.get(b)) {
            (Some(x), Some(y)) => self.sql.get(x.span.start..y.span.end).unwrap_or_default(),
            _ => "",
        }
    }

    pub(super) fn replace(&mut self, i: usize, with: impl Into<String>) {
        if let Some(t) = self.toks.get(i) {
            self.edits.push((t.span.clone(), with.into()));
        }
    }

    /// Removes tokens `a..b` and the whitespace before them.
    pub(super) fn remove(&mut self, a: usize, b: usize) {
        if a >= b || b > self.toks.len() {
            return;
        }
        let mut start = self.toks[a].span.start;
        let floor = if a == 0 { 0 } else { self.toks[a - 1].span.end };
        let bytes = self.sql.as_bytes();
        while start > floor && bytes[start - 1].is_ascii_whitespace() {
            start -= 1;
        }
        self.edits
            .push((start..self.toks[b - 1].span.end, String::new()));
    }

    /// Removes the list element `a..b` with one comma next to it.
    pub(super) fn remove_element(&mut self, a: usize, b: usize) {
        if self.punct(b, b',') {
            let end = self
                .toks
                .get(b + 1)
                .map_or(self.toks[b].span.end, |t| t.span.start);
            self.edits
                .push((self.toks[a].span.start..end, String::new()));
        } else if a > 0 && self.punct(a - 1, b',') {
            self.remove(a - 1, b);
        } else {
            self.remove(a, b);
        }
    }

    /// The index of the `)` that closes the `(` at `open` (or the end).
    pub(super) fn close_of(&self, open: usize) -> usize {
        let mut depth = 0usize;
        for i in open..self.toks.len() {
            if self.punct(i, b'(') {
                depth += 1;
            } else if self.punct(i, b')') {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i;
                }
            }
        }
        self.toks.len()
    }

    /// Splits `a..b` at commas outside parentheses.
    pub(super) fn split(&self, a: usize, b: usize) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut depth = 0usize;
        let mut start = a;
        for i in a..b {
            if self.punct(i, b'(') {
                depth += 1;
            } else if self.punct(i, b')') {
                depth = depth.saturating_sub(1);
            } else if depth == 0 && self.punct(i, b',') {
                out.push((start, i));
                start = i + 1;
            }
        }
        if start < b {
            out.push((start, b));
        }
        out
    }

    /// Tokens `a..b` at parenthesis depth 0 (relative to `a`).
    pub(super) fn top_level(&self, a: usize, b: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut depth = 0usize;
        for i in a..b {
            if self.punct(i, b'(') {
                if depth == 0 {
                    out.push(i);
                }
                depth += 1;
            } else if self.punct(i, b')') {
                depth = depth.saturating_sub(1);
            } else if depth == 0 {
                out.push(i);
            }
        }
        out
    }

    pub(super) fn finish(mut self) -> Rendered {
        if self.edits.is_empty() {
            return Rendered {
                sql: self.sql.to_string(),
                rewrites: self.rewrites,
            };
        }
        // Sorted by start, insertions first, then the longer first: an edit inside another
        // one is dropped.
        self.edits.sort_by(|a, b| {
            a.0.start
                .cmp(&b.0.start)
                .then((!a.0.is_empty()).cmp(&!b.0.is_empty()))
                .then(b.0.end.cmp(&a.0.end))
        });
        let mut out = String::with_capacity(self.sql.len() + 32);
        let mut at = 0;
        for (range, with) in &self.edits {
            if range.start < at {
                continue;
            }
            out.push_str(self.sql.get(at..range.start).unwrap_or_default());
            out.push_str(with);
            at = range.end;
        }
        out.push_str(self.sql.get(at..).unwrap_or_default());
        Rendered {
            sql: out,
            rewrites: self.rewrites,
        }
    }
}
