//! The one YAML parsing function of Ferry, and the positions of keys in a document.
//!
//! [`parse_yaml`] (and the crate-internal `parse_document` behind it) is strict: unknown
//! keys (every model is `deny_unknown_fields`), wrong types and duplicate keys are errors
//! that name the file, the line, the column and the key path, e.g.
//! `task1.yaml:12:22: mysql-instances[0].mydumper-thread: invalid value: expected a
//! non-negative integer (u32)`.
//!
//! The key path comes from `serde_path_to_error` wrapped around serde-saphyr's deserializer;
//! the line and column from serde-saphyr's error. For checks done after parsing, a
//! `KeyIndex` built from the parser's events maps each key path to its position.
//!
//! Every such error of a document is reported, not only the first: after an error, the
//! offending `key: value` pair (the unknown key, the later duplicate, the key whose value
//! has the wrong type) is blanked out of the text — replaced by spaces, so that every other
//! position stays the same — and the document is parsed again, until it parses or an error
//! cannot be isolated (a syntax error, a wrong type at the root). The structs stay
//! `deny_unknown_fields`, so strictness never depends on this loop. The key paths of the
//! values dropped for a wrong type are returned, so that the semantic checks made on what
//! remains can leave out the errors that only the dropped values cause.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};

use serde::de::{Deserialize, DeserializeOwned, Deserializer};
use serde_saphyr::granit_parser::{Event, Parser, Span, StructureStyle};
use serde_saphyr::{Localizer, MessageFormatter, SnippetMode, UserMessageFormatter};

use crate::env::ColumnMap;
use crate::error::{ConfigError, ConfigErrors, ErrorKind};
use crate::soft::{self, SoftIssue};

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
struct Pair {
    path: String,
    /// The key's text.
    name: String,
    key: Pos,
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
    pairs: Vec<Pair>,
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
    fn pair_with_key_at(&self, pos: Pos) -> Option<usize> {
        self.pairs.iter().position(|p| p.key == pos)
    }

    /// The first pair at `path`.
    fn pair_at_path(&self, path: &str) -> Option<usize> {
        self.pairs.iter().position(|p| p.path == path)
    }

    /// The first value node at `path`.
    fn node_at_path(&self, path: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.path == path)
    }

    /// The pairs after `pair` in its mapping with the same key: its duplicates.
    fn later_duplicates(&self, pair: usize) -> impl Iterator<Item = usize> + '_ {
        let p = &self.pairs[pair];
        self.pairs
            .iter()
            .enumerate()
            .skip(pair + 1)
            .filter(move |(_, q)| q.map == p.map && q.name == p.name && q.name != "<<")
            .map(|(j, _)| j)
    }

    /// True when the text of pair `pair` is completely known (no syntax error inside).
    fn pair_is_closed(&self, pair: usize) -> bool {
        self.nodes[self.pairs[pair].value].closed
    }

    /// Writes `replacement` over value node `node` of `text`, blanking the rest of it so that
    /// every other position stays the same. False (nothing done) when it does not fit.
    fn replace_node(&self, text: &mut [char], node: usize, replacement: &str) -> bool {
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
    fn blank_pair(&self, text: &mut [char], pair: usize, blanked: &HashSet<usize>) {
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

/// `a.b` + `c` → `a.b.c`; `` + `c` → `c`.
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// `a.b[0].c` → `a.b[0]` → `a.b` → `a` → ``; `` → None.
pub(crate) fn parent(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    let cut = path.rfind(['.', '[']).unwrap_or(0);
    Some(&path[..cut])
}

/// True when `path` is `base` or below it (`base.x`, `base[0]`). An empty base is nothing.
pub(crate) fn is_under(path: &str, base: &str) -> bool {
    !base.is_empty()
        && path
            .strip_prefix(base)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
}

/// `a.b[0][1]` → `a.b`: the key that holds a sequence item.
fn holding_key(mut path: &str) -> &str {
    while path.ends_with(']') {
        match path.rfind('[') {
            Some(cut) => path = &path[..cut],
            None => break,
        }
    }
    path
}

/// A parsed document: the value (None when an error could not be isolated), the errors of
/// the parse, the soft issues met on the way, and the key paths whose values were dropped
/// because of their errors.
pub(crate) struct Parsed<T> {
    pub(crate) value: Option<T>,
    pub(crate) errors: Vec<ConfigError>,
    pub(crate) soft: Vec<SoftIssue>,
    pub(crate) dropped: Vec<String>,
}

/// Serde-saphyr's message without its `at line X, column Y` suffix (we print our own).
struct NoLocation;

impl Localizer for NoLocation {
    fn attach_location<'a>(
        &self,
        base: Cow<'a, str>,
        _loc: serde_saphyr::Location,
    ) -> Cow<'a, str> {
        base
    }
}

struct PlainFormatter;

impl MessageFormatter for PlainFormatter {
    fn localizer(&self) -> &dyn Localizer {
        &NoLocation
    }

    fn format_message<'a>(&self, err: &'a serde_saphyr::Error) -> Cow<'a, str> {
        UserMessageFormatter.format_message(err)
    }
}

fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        with_snippet: false,
    }
}

/// Most parses of one document (each isolates one error).
const MAX_ATTEMPTS: usize = 500;

/// Parses a whole YAML document into `T`, collecting every structural error (unknown key,
/// wrong type, duplicate key, syntax) with file, line, column and key path, columns
/// translated to the original text by `columns` (see the module docs for how parsing goes
/// on after an error). `index` is [`KeyIndex::build`] of `text`. Errors other than unknown
/// and duplicate keys are not reported at or below the key paths of `quiet` (values
/// emptied because of an unset variable, already reported), but their values are dropped
/// all the same.
pub(crate) fn parse_document<T: DeserializeOwned>(
    text: &str,
    origin: &str,
    columns: &ColumnMap,
    index: &KeyIndex,
    quiet: &[String],
) -> Parsed<T> {
    let mut work: Vec<char> = text.chars().collect();
    let mut current = Cow::Borrowed(text);
    let mut blanked: HashSet<usize> = HashSet::new();
    let mut replaced: HashSet<usize> = HashSet::new();
    let mut parsed = Parsed {
        value: None,
        errors: Vec::new(),
        soft: Vec::new(),
        dropped: Vec::new(),
    };
    for _ in 0..MAX_ATTEMPTS {
        let mut failed_path: Option<String> = None;
        let (result, soft) = soft::collecting(|| {
            serde_saphyr::with_deserializer_from_str_with_options(&current, options(), |de| {
                serde_path_to_error::deserialize::<_, T>(de).map_err(|e| {
                    failed_path = Some(e.path().to_string());
                    e.into_inner()
                })
            })
        });
        for issue in soft {
            if !parsed.soft.contains(&issue) {
                parsed.soft.push(issue);
            }
        }
        let err = match result {
            Ok(value) => {
                parsed.value = Some(value);
                return parsed;
            }
            Err(err) => err,
        };
        let error = convert_error(&err, failed_path, origin, index, columns);
        let at_key = matches!(error.kind, ErrorKind::UnknownKey | ErrorKind::DuplicateKey);
        // A required field whose value was dropped is missing: not a new error.
        let consequence = match err.without_snippet() {
            serde_saphyr::Error::SerdeMissingField { field, .. } => {
                let missing = join(&error.path, field);
                parsed
                    .dropped
                    .iter()
                    .any(|d| *d == missing || is_under(&error.path, d))
            }
            _ => false,
        };
        let silent = consequence || (!at_key && quiet.iter().any(|q| is_under(&error.path, q)));
        // A sequence item of the wrong type is replaced by an empty value of the expected
        // shape, which keeps the indexes of the items after it.
        if !at_key && error.path.ends_with(']') && error.kind != ErrorKind::Syntax {
            let replaced_item = index
                .node_at_path(&error.path)
                .filter(|n| !replaced.contains(n))
                .zip(placeholder(&err))
                .is_some_and(|(n, text)| {
                    replaced.insert(n);
                    index.replace_node(&mut work, n, text)
                });
            if replaced_item {
                if !silent {
                    parsed.errors.push(error.clone());
                }
                parsed.dropped.push(error.path);
                current = Cow::Owned(work.iter().collect());
                continue;
            }
        }
        // Else the pair to blank out before the next attempt.
        let target = match error.kind {
            ErrorKind::Syntax => None,
            _ if at_key => err
                .location()
                .filter(|l| l.line() > 0)
                .and_then(|l| {
                    index.pair_with_key_at(Pos {
                        line: l.line(),
                        column: l.column(),
                    })
                })
                .or_else(|| index.pair_at_path(&error.path)),
            _ => index.pair_at_path(holding_key(&error.path)),
        }
        .filter(|t| !blanked.contains(t) && index.pair_is_closed(*t));
        let Some(target) = target else {
            if !silent || (consequence && parsed.errors.is_empty()) {
                parsed.errors.push(error);
            }
            return parsed;
        };
        if !silent {
            parsed.errors.push(error);
        }
        if !at_key {
            parsed.dropped.push(index.pairs[target].path.clone());
        }
        // Its duplicates: once it is gone, the parser would no longer see them as such.
        let duplicates: Vec<usize> = index
            .later_duplicates(target)
            .filter(|d| !blanked.contains(d) && index.pair_is_closed(*d))
            .collect();
        blanked.insert(target);
        blanked.extend(&duplicates);
        index.blank_pair(&mut work, target, &blanked);
        for d in duplicates {
            parsed
                .errors
                .push(duplicate_error(index, d, origin, columns));
            index.blank_pair(&mut work, d, &blanked);
        }
        current = Cow::Owned(work.iter().collect());
    }
    parsed
}

/// The error for pair `pair`, a duplicate key, worded as serde-saphyr's.
fn duplicate_error(
    index: &KeyIndex,
    pair: usize,
    origin: &str,
    columns: &ColumnMap,
) -> ConfigError {
    let p = &index.pairs[pair];
    let err = serde_saphyr::Error::DuplicateMappingKey {
        key: Some(p.name.clone()),
        location: serde_saphyr::Location::UNKNOWN,
    };
    let mut error = convert_error(&err, Some(p.path.clone()), origin, index, columns);
    error.line = Some(p.key.line);
    error.column = Some(columns.original_column(p.key.line, p.key.column));
    error
}

/// An empty value of the type a wrong-typed value should have had, when the error says.
fn placeholder(err: &serde_saphyr::Error) -> Option<&'static str> {
    use serde_saphyr::Error as E;
    if let E::InvalidScalar { ty, .. } = err.without_snippet() {
        return match *ty {
            "bool" => Some("false"),
            "char" | "str" | "string" | "String" => Some("\"\""),
            t if t.starts_with(['u', 'i', 'f']) => Some("0"),
            _ => None,
        };
    }
    let message = err
        .render_with_options(serde_saphyr::render_options! {
            formatter: &PlainFormatter,
            snippets: SnippetMode::Off,
        })
        .to_ascii_lowercase();
    let expected = message.split("expected").nth(1)?;
    if expected.contains("map") || expected.contains("struct") {
        Some("{}")
    } else if expected.contains("sequence") {
        Some("[]")
    } else if expected.contains("string") {
        Some("\"\"")
    } else {
        None
    }
}

fn convert_error(
    err: &serde_saphyr::Error,
    failed_path: Option<String>,
    origin: &str,
    index: &KeyIndex,
    columns: &ColumnMap,
) -> ConfigError {
    use serde_saphyr::Error as E;
    let inner = err.without_snippet();
    let message = match inner {
        E::InvalidScalar { ty, .. } => format!("invalid value: expected {}", describe_type(ty)),
        _ => err.render_with_options(serde_saphyr::render_options! {
            formatter: &PlainFormatter,
            snippets: SnippetMode::Off,
        }),
    };
    // A missing field is placed at the key of its struct, not where the parser stopped.
    let location = err
        .location()
        .filter(|l| l.line() > 0 && !matches!(inner, E::SerdeMissingField { .. }));

    // serde_path_to_error prints the root as "." and an unknown map key as "?".
    let mut path = failed_path.unwrap_or_default();
    if path == "." {
        path.clear();
    }
    let kind = match inner {
        E::DuplicateMappingKey { key, .. } => {
            let name = key.clone().unwrap_or_else(|| "?".to_string());
            if let Some(stripped) = path.strip_suffix('?') {
                path = format!("{stripped}{name}");
            } else if !path.ends_with(&name) {
                path = join(&path, &name);
            }
            ErrorKind::DuplicateKey
        }
        E::ExternalMessage { .. } | E::Eof { .. } | E::MultipleDocuments { .. } => {
            ErrorKind::Syntax
        }
        E::SerdeUnknownField { .. } => ErrorKind::UnknownKey,
        E::SerdeMissingField { .. } => ErrorKind::Missing,
        E::SerdeInvalidType { .. }
        | E::InvalidScalar { .. }
        | E::NullIntoString { .. }
        | E::Unexpected { .. }
        | E::InvalidBooleanStrict { .. } => ErrorKind::InvalidType,
        _ if message.starts_with("unknown field") => ErrorKind::UnknownKey,
        _ if message.starts_with("missing field") => ErrorKind::Missing,
        _ => ErrorKind::InvalidValue,
    };
    if kind == ErrorKind::Syntax {
        // A syntax error has no reliable key path; name the last key before it.
        path = location
            .and_then(|l| {
                index.path_at(Pos {
                    line: l.line(),
                    column: l.column(),
                })
            })
            .map(str::to_string)
            .unwrap_or_default();
    }
    let (line, column) = match location {
        Some(l) => (
            Some(l.line()),
            Some(columns.original_column(l.line(), l.column())),
        ),
        None => match index.nearest_position(&path) {
            Some(p) => (
                Some(p.line),
                Some(columns.original_column(p.line, p.column)),
            ),
            None => (None, None),
        },
    };
    ConfigError {
        origin: origin.to_string(),
        line,
        column,
        path,
        kind,
        message,
    }
}

/// A scalar type in words, for "expected …" messages.
fn describe_type(ty: &str) -> String {
    match ty {
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => {
            format!("a non-negative integer ({ty})")
        }
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => format!("an integer ({ty})"),
        "f32" | "f64" => "a number".to_string(),
        "bool" => "true or false".to_string(),
        "char" => "a single character".to_string(),
        other => other.to_string(),
    }
}

/// Parses YAML text into any `T` with Ferry's strict rules (see the module docs).
///
/// This is the one YAML entry point of the workspace: the source, task and daemon loaders
/// use it, and other crates that read YAML should too. No `${NAME}` substitution and no
/// semantic validation are done here; see [`crate::parse_task_str`] and friends for that.
pub fn parse_yaml<T: DeserializeOwned>(text: &str, origin: &str) -> Result<T, ConfigErrors> {
    let index = KeyIndex::build(text);
    let columns = ColumnMap::default();
    let parsed = parse_document::<T>(text, origin, &columns, &index, &[]);
    let mut errors = ConfigErrors(parsed.errors);
    errors.0.extend(
        parsed
            .soft
            .into_iter()
            .filter(|s| !s.warning)
            .map(|s| soft_error(s, origin, &index, &columns)),
    );
    match parsed.value {
        Some(value) if errors.is_empty() => Ok(value),
        _ => {
            errors.sort();
            Err(errors)
        }
    }
}

/// Turns a soft issue into an error, finding its key path from its position.
pub(crate) fn soft_error(
    issue: SoftIssue,
    origin: &str,
    index: &KeyIndex,
    columns: &ColumnMap,
) -> ConfigError {
    let pos = Pos {
        line: issue.line,
        column: issue.column,
    };
    ConfigError {
        origin: origin.to_string(),
        line: Some(issue.line),
        column: Some(columns.original_column(issue.line, issue.column)),
        path: index.path_at(pos).unwrap_or_default().to_string(),
        kind: ErrorKind::InvalidValue,
        message: issue.message,
    }
}

/// Deserializes `null` (`key:` with nothing after it) as the type's default, as DM's YAML
/// library does for strings, lists and maps.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
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

    #[test]
    fn parent_paths() {
        assert_eq!(parent("a.b[0].c"), Some("a.b[0]"));
        assert_eq!(parent("a.b[0]"), Some("a.b"));
        assert_eq!(parent("a"), Some(""));
        assert_eq!(parent(""), None);
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Small {
        a: u32,
        #[serde(default)]
        b: Vec<String>,
    }

    #[test]
    fn parse_yaml_reports_path_line_column() {
        let e = parse_yaml::<Small>("a: 1\nb: [x]\nc: 2\n", "s.yaml").unwrap_err();
        let e = &e.0[0];
        assert_eq!((e.line, e.column), (Some(3), Some(1)));
        assert_eq!(e.path, "c");
        assert_eq!(e.kind, ErrorKind::UnknownKey);
        assert_eq!(e.to_string().lines().count(), 1);
        assert!(
            e.to_string()
                .starts_with("s.yaml:3:1: c: unknown field `c`"),
            "{e}"
        );

        let e = parse_yaml::<Small>("a: x\n", "s.yaml").unwrap_err();
        assert_eq!(e.0[0].kind, ErrorKind::InvalidType);
        assert_eq!((e.0[0].line, e.0[0].column), (Some(1), Some(4)));
        assert_eq!(e.0[0].path, "a");

        let e = parse_yaml::<Small>("a: 1\na: 2\n", "s.yaml").unwrap_err();
        assert_eq!(e.0[0].kind, ErrorKind::DuplicateKey);
        assert_eq!(e.0[0].path, "a");
        assert_eq!((e.0[0].line, e.0[0].column), (Some(2), Some(1)));

        let e = parse_yaml::<Small>("a: 1\nb: [x\n", "s.yaml").unwrap_err();
        assert_eq!(e.0[0].kind, ErrorKind::Syntax, "{e} {:?}", e);
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Loose {
        #[serde(default)]
        a: u32,
        #[serde(default)]
        b: Vec<String>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        #[serde(default)]
        one: Option<Small>,
        #[serde(default)]
        many: Vec<Loose>,
        #[serde(default)]
        map: BTreeMap<String, Small>,
        #[serde(default)]
        n: u32,
    }

    fn all(text: &str) -> Vec<(u64, u64, String, ErrorKind)> {
        parse_yaml::<Outer>(text, "o.yaml")
            .unwrap_err()
            .into_iter()
            .map(|e| (e.line.unwrap(), e.column.unwrap(), e.path, e.kind))
            .collect()
    }

    #[test]
    fn parse_yaml_reports_every_error() {
        use ErrorKind::*;
        // Unknown keys everywhere, duplicates, wrong types; `a` is required in Small, so the
        // dropped `one.a` leaves `one` without it: not reported twice.
        let text = "\
one:
  a: x
  zz: 1
many:
  - {a: 1, yy: 2, a: 3}
  - \"item\"
  - {a: 2, b: [p, [q], r], xx: 0}
map:
  k:
    xx: 1
  j: {a: 1, b: 5}
n: -1
n: 2
top: 1
";
        assert_eq!(
            all(text),
            vec![
                (2, 6, "one.a".into(), InvalidType),
                (3, 3, "one.zz".into(), UnknownKey),
                (5, 12, "many[0].yy".into(), UnknownKey),
                (5, 19, "many[0].a".into(), DuplicateKey),
                (6, 5, "many[1]".into(), InvalidType),
                (7, 19, "many[2].b[1]".into(), InvalidType),
                (7, 28, "many[2].xx".into(), UnknownKey),
                (9, 3, "map.k".into(), Missing),
                (10, 5, "map.k.xx".into(), UnknownKey),
                (11, 16, "map.j.b".into(), InvalidType),
                (12, 4, "n".into(), InvalidType),
                (13, 1, "n".into(), DuplicateKey),
                (14, 1, "top".into(), UnknownKey),
            ]
        );
        // The pairs left are parsed: the document is otherwise valid.
        assert!(parse_yaml::<Outer>("one: {a: 1}\nmap: {k: {a: 2}}\n", "o.yaml").is_ok());
        // A syntax error ends the parse, after the errors before it.
        let errs = all("zz: 1\nmany: [\n");
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert_eq!(errs[0].3, UnknownKey);
        assert_eq!(errs[1].3, Syntax);
    }
}
