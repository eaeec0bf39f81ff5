//! Column definitions: MariaDB-only types (refused), `VISIBLE` and `SRID` for MariaDB,
//! `COMPRESSED`, `PERSISTENT` and unparenthesized expression defaults from MariaDB.

use super::renderer::Renderer;
use super::DialectError;
use crate::db::Flavor;
use crate::ddl::lexer::Kind;

const COLUMN_TYPES_BLOB: &[&str] = &[
    "TINYTEXT",
    "TEXT",
    "MEDIUMTEXT",
    "LONGTEXT",
    "TINYBLOB",
    "BLOB",
    "MEDIUMBLOB",
    "LONGBLOB",
    "JSON",
    "GEOMETRY",
    "POINT",
    "LINESTRING",
    "POLYGON",
    "MULTIPOINT",
    "MULTILINESTRING",
    "MULTIPOLYGON",
    "GEOMETRYCOLLECTION",
];

/// Types only MariaDB has.
const MARIADB_TYPES: &[&str] = &["INET4", "INET6", "UUID", "XMLTYPE", "VECTOR"];

/// Functions MySQL accepts unparenthesized as a column default.
const MYSQL_BARE_DEFAULTS: &[&str] = &["CURRENT_TIMESTAMP", "NOW", "LOCALTIME", "LOCALTIMESTAMP"];

impl Renderer<'_> {
    /// A column definition `a..b`: name, type, attributes.
    pub(super) fn column(&mut self, a: usize, b: usize) -> Result<(), DialectError> {
        let ty = a + 1;
        if ty >= b {
            return Ok(());
        }
        let type_name = self.toks[ty].ident.to_ascii_uppercase();
        if self.from == Flavor::Mariadb
            && self.toks[ty].kind == Kind::Word
            && MARIADB_TYPES.contains(&type_name.as_str())
        {
            return Err(self.unsupported(format!(
                "{} has no {type_name} type (column {}); replace the statement with one using \
                 a type the target has",
                self.target(),
                self.text(a)
            )));
        }
        let mut i = ty + 1;
        if self.punct(i, b'(') {
            i = self.close_of(i) + 1;
        }
        let blob = COLUMN_TYPES_BLOB.contains(&type_name.as_str());
        let top = self.top_level(i, b);
        let mut k = 0;
        while k < top.len() {
            let t = top[k];
            let word = |kw: &str| self.kw(t, kw);
            if word("VISIBLE") && self.to.flavor == Flavor::Mariadb {
                self.remove(t, t + 1);
                self.note(
                    "`VISIBLE` column attribute dropped (the default; MariaDB lacks the word)",
                );
            } else if word("SRID") && self.to.flavor == Flavor::Mariadb {
                let end = if top
                    .get(k + 1)
                    .is_some_and(|&n| self.toks[n].kind == Kind::Word)
                {
                    k += 1;
                    top[k] + 1
                } else {
                    t + 1
                };
                let text = self.text_range(t, end - 1).to_string();
                self.remove(t, end);
                self.note(format!(
                    "`{text}` dropped (MariaDB has no SRID constraint; the values are unchanged)"
                ));
            } else if word("COMPRESSED") && self.from == Flavor::Mariadb {
                let mut end = t + 1;
                if self.punct(end, b'=') && top.get(k + 2) == Some(&(end + 1)) {
                    end += 2;
                    k += 2;
                }
                let text = self.text_range(t, end - 1).to_string();
                self.remove(t, end);
                self.note(format!(
                    "`{text}` column attribute dropped ({} stores the column uncompressed)",
                    self.target()
                ));
            } else if word("PERSISTENT") && self.from == Flavor::Mariadb {
                self.replace(t, "STORED");
                self.note(format!(
                    "PERSISTENT generated column → STORED ({}'s word)",
                    self.target()
                ));
            } else if word("CHECK") {
                self.check_clause(t, b, None)?;
            } else if word("DEFAULT")
                && self.from == Flavor::Mariadb
                && self.to.flavor == Flavor::Mysql
            {
                self.mysql_default(t, b, blob);
            }
            k += 1;
        }
        Ok(())
    }

    /// MariaDB's `DEFAULT f()` and `DEFAULT 'x'` on a BLOB-like column, parenthesized.
    fn mysql_default(&mut self, t: usize, b: usize, blob: bool) {
        let v = t + 1;
        if v >= b {
            return;
        }
        let tok = &self.toks[v];
        let func = tok.kind == Kind::Word && self.punct(v + 1, b'(');
        if func {
            if MYSQL_BARE_DEFAULTS.iter().any(|f| tok.is_kw(f)) {
                return;
            }
            let close = self.close_of(v + 1);
            let text = self.text_range(v, close).to_string();
            self.replace(v, format!("({}", self.text(v)));
            self.edits.push((
                self.toks[close].span.end..self.toks[close].span.end,
                ")".to_string(),
            ));
            self.note(format!(
                "default `{text}` parenthesized (MySQL takes an expression default only in \
                 parentheses)"
            ));
            return;
        }
        let literal_end = match tok.kind {
            Kind::Str => Some(v),
            Kind::Word
                if !tok.is_kw("NULL") && tok.ident.starts_with(|c: char| c.is_ascii_digit()) =>
            {
                Some(v)
            }
            Kind::Punct(b'-') if self.toks.get(v + 1).is_some_and(|n| n.kind == Kind::Word) => {
                Some(v + 1)
            }
            _ => None,
        };
        if let (true, Some(end)) = (blob, literal_end) {
            let text = self.text_range(v, end).to_string();
            let span = self.toks[v].span.start..self.toks[end].span.end;
            self.edits.push((span, format!("({text})")));
            self.note(format!(
                "default {text} of a BLOB/TEXT/JSON/spatial column parenthesized (MySQL takes \
                 only an expression default there)"
            ));
        }
    }
}
