//! The [`KeyIndex`]: the position of every key and value of a document, by key path, built
//! from the parser's events; and the edits of the text (blanking a `key: value` pair,
//! replacing a value) by which parsing goes on after an error.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_saphyr::granit_parser::{Event, Parser, Span, StructureStyle};

use super::path::{join, parent};

/// A 1-based line and column of the parsed text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Pos {
    pub(crate) line: u64,
    pub(crate) column: u64,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    key: Option<Pos>,
    value: Pos,
}

/// The extent of one value node: positions, and character offsets `start..end` in the text.
#[derive(Debug, Clone)]
struct Node {
    path: String,
    start: Pos,
    end: Pos,
    start_char: usize,
    end_char: usize,
    /// A block-style mapping (an emptied one must be written `{}`).
    block_map: bool,
    /// The end was seen (false for a collection left open by a syntax error).
    closed: bool,
}

/// One `key: value` pair of a mapping, duplicates included.
#[derive(Debug, Clone)]
pub(super) struct Pair {
    pub(super) path: String,
    /// The key's text.
    pub(super) name: String,
    pub(super) key: Pos,
    key_start: usize,
    key_end: usize,
    /// The value, an index in `KeyIndex::nodes`.
    value: usize,
    /// The mapping the pair is in, an index in `KeyIndex::nodes`.
    map: usize,
}

/// Positions of every node of a document, by key path (`a.b[0].c`).
#[derive(Debug, Default, Clone)]
pub(crate) struct KeyIndex {
    entries: BTreeMap<String, Entry>,
    by_value: HashMap<Pos, String>,
    nodes: Vec<Node>,
    pub(super) pairs: Vec<Pair>,
}

/// A mapping key waiting for its value.
struct Key {
    name: String,
    pos: Pos,
    start: usize,
    end: usize,
}

enum Frame {
    Map {
        path: String,
        key: Option<Key>,
        node: usize,
    },
    Seq {
        path: String,
        next: usize,
        node: usize,
    },
    /// A collection used as a mapping key (rare); its content is not indexed.
    ComplexKey {
        depth: usize,
        pos: Pos,
        start: usize,
    },
}

#[derive(Clone, Copy)]
enum NodeKind<'a> {
    /// A scalar (its text) or an alias (`*`).
    Scalar(&'a str),
    Seq,
    Map {
        block: bool,
    },
}

fn start_pos(span: &Span) -> Pos {
    Pos {
        line: span.start.line() as u64,
        column: span.start.col() as u64 + 1,
    }
}

fn end_pos(span: &Span) -> Pos {
    Pos {
        line: span.end.line() as u64,
        column: span.end.col() as u64 + 1,
    }
}

impl KeyIndex {
    /// Indexes `text` (the first document). Parse errors stop the indexing quietly: the
    /// typed parse reports them.
    pub(crate) fn build(text: &str) -> Self {
        let mut index = KeyIndex::default();
        let mut stack: Vec<Frame> = Vec::new();
        let mut documents = 0;
        for item in Parser::new_from_str(text) {
            let Ok((event, span)) = item else { break };
            match event {
                Event::DocumentStart(..) => {
                    documents += 1;
                    if documents > 1 {
                        break;
                    }
                }
                Event::Scalar(ref text, ..) => {
                    index.node(&mut stack, &span, NodeKind::Scalar(text.as_ref()));
                }
                Event::Alias(_) => index.node(&mut stack, &span, NodeKind::Scalar("*")),
                Event::MappingStart(style, ..) => {
                    let block = matches!(style, StructureStyle::Block);
                    index.node(&mut stack, &span, NodeKind::Map { block });
                }
                Event::SequenceStart(..) => index.node(&mut stack, &span, NodeKind::Seq),
                Event::MappingEnd | Event::SequenceEnd => {
                    if let Some(Frame::ComplexKey { depth, pos, start }) = stack.last_mut() {
                        *depth -= 1;
                        if *depth == 0 {
                            let key = Key {
                                name: "?".to_string(),
                                pos: *pos,
                                start: *start,
                                end: span.end.index(),
                            };
                            stack.pop();
                            if let Some(Frame::Map { key: k, .. }) = stack.last_mut() {
                                *k = Some(key);
                            }
                        }
                    } else if let Some(Frame::Map { node, .. } | Frame::Seq { node, .. }) =
                        stack.pop()
                    {
                        let n = &mut index.nodes[node];
                        n.end = end_pos(&span);
                        n.end_char = span.end.index();
                        n.closed = true;
                    }
                }
                _ => {}
            }
        }
        index
    }

    /// Handles a node event: a scalar or alias, or the start of a collection.
    fn node(&mut self, stack: &mut Vec<Frame>, span: &Span, kind: NodeKind<'_>) {
        let pos = start_pos(span);
        let scalar = match kind {
            NodeKind::Scalar(text) => Some(text),
            _ => None,
        };
        let is_collection = scalar.is_none();
        let (path, key) = match stack.last_mut() {
            None => (String::new(), None),
            Some(Frame::ComplexKey { depth, .. }) => {
                if is_collection {
                    *depth += 1;
                }
                return;
            }
            Some(Frame::Map { path, key, node }) => match key.take() {
                None => {
                    match scalar {
                        Some(text) => {
                            *key = Some(Key {
                                name: text.to_string(),
                                pos,
                                start: span.start.index(),
                                end: span.end.index(),
                            })
                        }
                        None => stack.push(Frame::ComplexKey {
                            depth: 1,
                            pos,
                            start: span.start.index(),
                        }),
                    }
                    return;
                }
                Some(k) => (join(path, &k.name), Some((k, *node))),
            },
            Some(Frame::Seq { path, next, .. }) => {
                let p = format!("{path}[{next}]");
                *next += 1;
                (p, None)
            }
        };
        let node = self.nodes.len();
        self.nodes.push(Node {
            path: path.clone(),
            start: pos,
            end: end_pos(span),
            start_char: span.start.index(),
            end_char: span.end.index(),
            block_map: matches!(kind, NodeKind::Map { block: true }),
            closed: matches!(kind, NodeKind::Scalar(_)),
        });
        if let Some((k, map)) = &key {
            self.pairs.push(Pair {
                path: path.clone(),
                name: k.name.clone(),
                key: k.pos,
                key_start: k.start,
                key_end: k.end,
                value: node,
                map: *map,
            });
        }
        self.by_value.insert(pos, path.clone());
        self.entries.entry(path.clone()).or_insert(Entry {
            key: key.map(|(k, _)| k.pos),
            value: pos,
        });
        match kind {
            NodeKind::Map { .. } => stack.push(Frame::Map {
                path,
                key: None,
                node,
            }),
            NodeKind::Seq => stack.push(Frame::Seq {
                path,
                next: 0,
                node,
            }),
            NodeKind::Scalar(_) => {}
        }
    }

    /// True when the document has this key path.
    pub(crate) fn contains(&self, path: &str) -> bool {
        self.entries.contains_key(path)
    }

    /// Position of the key at `path` (or of its value for sequence items and the root).
    pub(crate) fn position(&self, path: &str) -> Option<Pos> {
        self.entries.get(path).map(|e| e.key.unwrap_or(e.value))
    }

    /// Position of the value at `path`.
    #[cfg(test)]
    pub(crate) fn value_position(&self, path: &str) -> Option<Pos> {
        self.entries.get(path).map(|e| e.value)
    }

    /// Position of `path`, or of its closest ancestor present in the document.
    pub(crate) fn nearest_position(&self, path: &str) -> Option<Pos> {
        let mut p = path;
        loop {
            if let Some(pos) = self.position(p) {
                return Some(pos);
            }
            p = parent(p)?;
        }
    }

    /// The path of the value that starts at `pos`, or failing that the last value that
    /// starts before it on the same line.
    pub(crate) fn path_at(&self, pos: Pos) -> Option<&str> {
        if let Some(p) = self.by_value.get(&pos) {
            return Some(p);
        }
        self.by_value
            .iter()
            .filter(|(p, _)| p.line == pos.line && p.column <= pos.column)
            .max_by_key(|(p, _)| p.column)
            .map(|(_, s)| s.as_str())
    }

    /// The path of the innermost value whose text contains `pos` (its end included), e.g.
    /// a line of a multi-line scalar; failing that, as [`KeyIndex::path_at`].
    pub(crate) fn path_containing(&self, pos: Pos) -> Option<&str> {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.start <= pos && pos <= n.end)
            .max_by_key(|(i, n)| (n.start, *i))
            .map(|(_, n)| n.path.as_str())
            .or_else(|| self.path_at(pos))
    }

    /// The pair whose key starts at `pos`.
    pub(super) fn pair_with_key_at(&self, pos: Pos) -> Option<usize> {
        self.pairs.iter().position(|p| p.key == pos)
    }

    /// The first pair at `path`.
    pub(super) fn pair_at_path(&self, path: &str) -> Option<usize> {
        self.pairs.iter().position(|p| p.path == path)
    }

    /// The first value node at `path`.
    pub(super) fn node_at_path(&self, path: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.path == path)
    }

    /// The pairs after `pair` in its mapping with the same key: its duplicates.
    pub(super) fn later_duplicates(&self, pair: usize) -> impl Iterator<Item = usize> + '_ {
        let p = &self.pairs[pair];
        self.pairs
            .iter()
            .enumerate()
            .skip(pair + 1)
            .filter(move |(_, q)| q.map == p.map && q.name == p.name && q.name != "<<")
            .map(|(j, _)| j)
    }

    /// True when the text of pair `pair` is completely known (no syntax error inside).
    pub(super) fn pair_is_closed(&self, pair: usize) -> bool {
        self.nodes[self.pairs[pair].value].closed
    }

    /// Writes `replacement` over value node `node` of `text`, blanking the rest of it so that
    /// every other position stays the same. False (nothing done) when it does not fit.
    pub(super) fn replace_node(&self, text: &mut [char], node: usize, replacement: &str) -> bool {
        let n = &self.nodes[node];
        let (start, end) = (n.start_char, n.end_char.min(text.len()));
        let len = replacement.chars().count();
        if !n.closed || start + len > end || text[start..start + len].contains(&'\n') {
            return false;
        }
        for c in &mut text[start..end] {
            if *c != '\n' && *c != '\r' {
                *c = ' ';
            }
        }
        for (slot, c) in text[start..].iter_mut().zip(replacement.chars()) {
            *slot = c;
        }
        true
    }

    /// Blanks pair `pair` out of `text` (`blanked`: the pairs already blanked, this one
    /// included): every character of the key, the value and what lies between becomes a
    /// space, so that every other position stays the same. In a flow mapping the comma after
    /// the pair goes too; a block mapping left without any pair becomes `{}`.
    pub(super) fn blank_pair(&self, text: &mut [char], pair: usize, blanked: &HashSet<usize>) {
        let p = &self.pairs[pair];
        let map = &self.nodes[p.map];
        let mut end = self.nodes[p.value].end_char.max(p.key_end);
        // The `:` after the key (a null value ends where the key does).
        let mut i = p.key_end;
        while text.get(i).is_some_and(|c| *c == ' ' || *c == '\t') {
            i += 1;
        }
        if text.get(i) == Some(&':') {
            end = end.max(i + 1);
        }
        let end = end.min(text.len());
        for c in &mut text[p.key_start.min(end)..end] {
            if *c != '\n' && *c != '\r' {
                *c = ' ';
            }
        }
        if !map.block_map {
            let mut i = end;
            while text.get(i).is_some_and(|c| c.is_whitespace()) {
                i += 1;
            }
            if text.get(i) == Some(&',') {
                text[i] = ' ';
            }
        } else if end >= p.key_start + 2
            && self
                .pairs
                .iter()
                .enumerate()
                .all(|(j, q)| q.map != p.map || blanked.contains(&j))
        {
            text[p.key_start] = '{';
            text[p.key_start + 1] = '}';
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_records_keys_and_items() {
        let text = "name: a\nmysql-instances:\n  - source-id: x\n    meta:\n      binlog-pos: 4\nlist: [a, {k: v}]\n";
        let idx = KeyIndex::build(text);
        assert_eq!(idx.position("name"), Some(Pos { line: 1, column: 1 }));
        assert_eq!(
            idx.position("mysql-instances[0].source-id"),
            Some(Pos { line: 3, column: 5 })
        );
        assert_eq!(
            idx.position("mysql-instances[0].meta.binlog-pos"),
            Some(Pos { line: 5, column: 7 })
        );
        assert_eq!(
            idx.value_position("mysql-instances[0].meta.binlog-pos"),
            Some(Pos {
                line: 5,
                column: 19
            })
        );
        assert!(idx.contains("list[1].k"));
        assert_eq!(
            idx.nearest_position("mysql-instances[0].meta.binlog-name"),
            Some(Pos { line: 4, column: 5 })
        );
        assert_eq!(
            idx.path_at(Pos {
                line: 3,
                column: 18
            }),
            Some("mysql-instances[0].source-id")
        );
    }
}
