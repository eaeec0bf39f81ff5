//! SQL text helpers and the type-matrix fixture.

use mysql_async::prelude::Queryable;
use mysql_async::Conn;

/// `name` as a backquoted identifier (backquotes doubled).
pub fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// Splits a script into statements at `;` outside quotes (`'..'`, `".."`, `` `..` ``,
/// with backslash escapes and doubled quotes) and comments (`-- `, `#`, `/* */`).
/// Comments are dropped; empty statements are skipped.
pub fn split_sql(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = script.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' | '`' => {
                cur.push(c);
                while let Some(d) = chars.next() {
                    cur.push(d);
                    if d == '\\' && c != '`' {
                        if let Some(e) = chars.next() {
                            cur.push(e);
                        }
                    } else if d == c {
                        if chars.peek() == Some(&c) {
                            cur.push(chars.next().expect("peeked"));
                        } else {
                            break;
                        }
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                chars.next();
                if matches!(chars.peek(), Some(' ' | '\t' | '\n') | None) {
                    for d in chars.by_ref() {
                        if d == '\n' {
                            cur.push('\n');
                            break;
                        }
                    }
                } else {
                    cur.push_str("--");
                }
            }
            '#' => {
                for d in chars.by_ref() {
                    if d == '\n' {
                        cur.push('\n');
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                for d in chars.by_ref() {
                    if prev == '*' && d == '/' {
                        break;
                    }
                    prev = d;
                }
                cur.push(' ');
            }
            ';' => {
                let stmt = cur.trim();
                if !stmt.is_empty() {
                    out.push(stmt.to_string());
                }
                cur.clear();
            }
            _ => cur.push(c),
        }
    }
    let stmt = cur.trim();
    if !stmt.is_empty() {
        out.push(stmt.to_string());
    }
    out
}

/// Runs every statement of `script` on `conn`, one at a time; panics naming the
/// statement that failed.
pub async fn run_script(conn: &mut Conn, script: &str) {
    for stmt in split_sql(script) {
        if let Err(e) = conn.query_drop(&stmt).await {
            panic!("{e}\nSQL: {stmt}");
        }
    }
}

/// `tests/fixtures/type_matrix.sql`: a table `type_matrix` with (nearly) every column
/// type and edge-case rows, and a key-less table `` `we``ird-name` `` whose name and
/// columns need quoting. Valid on MySQL 9.7 and MariaDB 10.11. It sets `time_zone` to
/// `+00:00` for its `TIMESTAMP` values.
pub const TYPE_MATRIX_SQL: &str = include_str!("../fixtures/type_matrix.sql");

/// The tables [`TYPE_MATRIX_SQL`] creates, and how many rows it puts in each.
pub const TYPE_MATRIX_TABLES: &[(&str, usize)] = &[("type_matrix", 9), ("we`ird-name", 4)];

/// Creates database `schema` (if needed), makes it the connection's default database
/// (`USE`) and loads [`TYPE_MATRIX_SQL`] into it.
pub async fn load_type_matrix(conn: &mut Conn, schema: &str) {
    create_database(conn, schema).await;
    let use_db = format!("USE {}", quote_ident(schema));
    if let Err(e) = conn.query_drop(&use_db).await {
        panic!("{use_db}: {e}");
    }
    run_script(conn, TYPE_MATRIX_SQL).await;
}

/// `CREATE DATABASE IF NOT EXISTS` (default character set of the server).
pub async fn create_database(conn: &mut Conn, schema: &str) {
    let sql = format!("CREATE DATABASE IF NOT EXISTS {}", quote_ident(schema));
    if let Err(e) = conn.query_drop(&sql).await {
        panic!("{sql}: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_respects_quotes_and_comments() {
        let s = "-- c1\nSELECT 'a;b', \"c;\", `d;``e`; # c2\n/* x; */ SELECT 'it''s\\';'; SELECT 1--2\n;";
        assert_eq!(
            split_sql(s),
            vec![
                "SELECT 'a;b', \"c;\", `d;``e`",
                "SELECT 'it''s\\';'",
                "SELECT 1--2"
            ]
        );
    }

    #[test]
    fn type_matrix_fixture_splits() {
        let stmts = split_sql(TYPE_MATRIX_SQL);
        assert!(stmts
            .iter()
            .any(|s| s.starts_with("CREATE TABLE type_matrix")));
        assert!(stmts
            .iter()
            .any(|s| s.starts_with("CREATE TABLE `we``ird-name`")));
        assert!(stmts.iter().all(|s| !s.contains("-- ")));
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("we`ird-name"), "`we``ird-name`");
    }
}
