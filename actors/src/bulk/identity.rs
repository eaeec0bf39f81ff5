//! Which table stands behind a name: InnoDB's table id.
//!
//! A consistent snapshot reads a table by its name at the moment of the read. When another
//! table was renamed onto that name after the snapshot was taken (the swap online schema
//! change tools do at cut-over), the read silently returns the other table's rows; when the
//! table was rebuilt or truncated, the read fails (`Table definition has changed`). InnoDB
//! gives every table object an id, kept by `RENAME` and renewed by a rebuild or `TRUNCATE`:
//! comparing the ids behind the copied names before and after the copy tells whether a copy
//! read the table it meant to.
//!
//! The ids are in `information_schema.INNODB_TABLES` (MySQL 8.0+) or `INNODB_SYS_TABLES`
//! (MySQL 5.7, MariaDB), which need the `PROCESS` privilege. Without it (or for tables whose
//! names InnoDB encodes in ways not handled here), ids are unknown and a swap during the copy
//! goes unnoticed; the caller warns.

use std::collections::HashMap;

use ferry_model::TableName;
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

/// InnoDB's name of a table (`schema/table`, in MySQL's file-name encoding), for names whose
/// encoding is plain: ASCII letters, digits and `_` stay, other ASCII characters become
/// `@` and four hex digits. `None` for names with other characters.
pub(super) fn innodb_name(t: &TableName) -> Option<String> {
    fn enc(s: &str, out: &mut String) -> Option<()> {
        for c in s.chars() {
            if c.is_ascii_alphanumeric() || c == '_' {
                out.push(c);
            } else if c.is_ascii() {
                out.push_str(&format!("@{:04x}", c as u32));
            } else {
                return None;
            }
        }
        Some(())
    }
    let mut out = String::with_capacity(t.schema.len() + t.table.len() + 1);
    enc(&t.schema, &mut out)?;
    out.push('/');
    enc(&t.table, &mut out)?;
    Some(out)
}

/// The ids of `tables` now (a table missing from the answer has no known id). `None` when
/// the server shows no ids (no `PROCESS` privilege, not InnoDB, TiDB).
pub(super) async fn table_ids(
    conn: &mut Conn,
    tables: &[&TableName],
) -> Option<HashMap<TableName, u64>> {
    let mut schemas: Vec<&str> = tables.iter().map(|t| t.schema.as_str()).collect();
    schemas.sort_unstable();
    schemas.dedup();
    let mut by_name: HashMap<String, u64> = HashMap::new();
    let mut view = None;
    for candidate in ["INNODB_TABLES", "INNODB_SYS_TABLES"] {
        let probe: Result<Option<u64>, _> = conn
            .query_first(format!(
                "SELECT TABLE_ID FROM information_schema.{candidate} LIMIT 1"
            ))
            .await;
        if probe.is_ok() {
            view = Some(candidate);
            break;
        }
    }
    let view = view?;
    for schema in schemas {
        let Some(prefix) = innodb_name(&TableName::new(schema, "")) else {
            continue;
        };
        let like = format!("{}%", prefix.replace('\\', "\\\\").replace('_', "\\_"));
        let rows: Vec<(String, u64)> = conn
            .exec(
                format!("SELECT NAME, TABLE_ID FROM information_schema.{view} WHERE NAME LIKE ?"),
                (like,),
            )
            .await
            .ok()?;
        by_name.extend(rows);
    }
    Some(
        tables
            .iter()
            .filter_map(|t| {
                let id = by_name.get(&innodb_name(t)?)?;
                Some(((*t).clone(), *id))
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn innodb_names_encode_ascii_punctuation() {
        let n = |s: &str, t: &str| innodb_name(&TableName::new(s, t));
        assert_eq!(n("app", "users_2").as_deref(), Some("app/users_2"));
        assert_eq!(n("my-db", "a$b").as_deref(), Some("my@002ddb/a@0024b"));
        assert_eq!(n("d", "a.b c").as_deref(), Some("d/a@002eb@0020c"));
        assert_eq!(n("d", "tä"), None);
    }
}
