//! Row-by-row comparison of tables and schemas.

use std::cmp::Ordering;

use mysql_async::Conn;

use super::canon::show_value;
use super::canon::{canonicalize, cmp_by, show_key};
use super::columns::fetch_rows;
use super::columns::{list_tables, prepare_session, primary_key, table_columns};
use super::{Canon, Cell, ColumnInfo, CompareMode, CompareOptions, TableDiff};
use crate::sql::quote_ident;

/// Compares `up_table` (`(schema, table)`) on `up` with `down_table` on `down`, column by
/// column and row by row (see the module docs). Returns the number of rows when they are
/// equal. Sets the sessions up with [`prepare_session`]. Panics on SQL errors (missing
/// table, lost connection).
pub async fn compare_tables(
    up: &mut Conn,
    down: &mut Conn,
    up_table: (&str, &str),
    down_table: (&str, &str),
    opts: &CompareOptions,
) -> Result<usize, TableDiff> {
    prepare_session(up).await;
    prepare_session(down).await;
    let (us, ut) = up_table;
    let (ds, dt) = down_table;
    let up_name = format!("{}.{}", quote_ident(us), quote_ident(ut));
    let down_name = format!("{}.{}", quote_ident(ds), quote_ident(dt));
    let keep = |c: &ColumnInfo| !c.generated && !opts.ignore_columns.contains(&c.name);
    let up_cols: Vec<ColumnInfo> = table_columns(up, us, ut)
        .await
        .into_iter()
        .filter(keep)
        .collect();
    let down_all: Vec<ColumnInfo> = table_columns(down, ds, dt)
        .await
        .into_iter()
        .filter(keep)
        .collect();

    let mut diff = TableDiff {
        upstream: up_name,
        downstream: down_name,
        upstream_rows: 0,
        downstream_rows: 0,
        column_mismatch: None,
        differing_rows: 0,
        reported: Vec::new(),
    };

    // Downstream columns in upstream order, matched by name.
    let mut down_cols: Vec<&ColumnInfo> = Vec::new();
    let mut missing = Vec::new();
    for c in &up_cols {
        match down_all.iter().find(|d| d.name == c.name) {
            Some(d) => down_cols.push(d),
            None => missing.push(quote_ident(&c.name)),
        }
    }
    let extra: Vec<String> = down_all
        .iter()
        .filter(|d| !up_cols.iter().any(|c| c.name == d.name))
        .map(|d| quote_ident(&d.name))
        .collect();
    if !missing.is_empty() || !extra.is_empty() {
        diff.column_mismatch = Some(format!(
            "missing downstream: [{}]; only downstream: [{}]",
            missing.join(", "),
            extra.join(", ")
        ));
        return Err(diff);
    }

    let canons: Vec<Canon> = up_cols
        .iter()
        .zip(&down_cols)
        .map(|(u, d)| match opts.mode {
            CompareMode::Exact => Canon::Bytes,
            CompareMode::Portable if u.json || d.json => Canon::Json,
            CompareMode::Portable if u.is_floating() || d.is_floating() => Canon::Number,
            CompareMode::Portable => Canon::Bytes,
        })
        .collect();
    let names: Vec<String> = up_cols.iter().map(|c| c.name.clone()).collect();

    let mut pk = primary_key(up, us, ut).await;
    if pk.is_empty() {
        pk = primary_key(down, ds, dt).await;
    }
    let mut key_idx: Vec<usize> = pk
        .iter()
        .filter_map(|k| names.iter().position(|n| n == k))
        .collect();
    if key_idx.len() != pk.len() || key_idx.is_empty() {
        key_idx = (0..names.len()).collect();
    }
    let all_idx: Vec<usize> = (0..names.len()).collect();

    let up_refs: Vec<&ColumnInfo> = up_cols.iter().collect();
    let load = |rows: Vec<Vec<Cell>>| -> Vec<Vec<Cell>> {
        let mut rows: Vec<Vec<Cell>> = rows
            .into_iter()
            .map(|r| {
                r.into_iter()
                    .zip(&canons)
                    .map(|(c, k)| canonicalize(*k, c))
                    .collect()
            })
            .collect();
        rows.sort_by(|a, b| cmp_by(a, b, &key_idx).then_with(|| cmp_by(a, b, &all_idx)));
        rows
    };
    let up_rows = load(fetch_rows(up, us, ut, &up_refs).await);
    let down_rows = load(fetch_rows(down, ds, dt, &down_cols).await);
    diff.upstream_rows = up_rows.len();
    diff.downstream_rows = down_rows.len();

    let report = |diff: &mut TableDiff, text: String| {
        diff.differing_rows += 1;
        if diff.reported.len() < opts.max_reported {
            diff.reported.push(text);
        }
    };
    let (mut i, mut j) = (0, 0);
    while i < up_rows.len() || j < down_rows.len() {
        let order = match (up_rows.get(i), down_rows.get(j)) {
            (Some(u), Some(d)) => cmp_by(u, d, &key_idx),
            (Some(_), None) => Ordering::Less,
            (None, _) => Ordering::Greater,
        };
        match order {
            Ordering::Less => {
                let key = show_key(&names, &key_idx, &up_rows[i]);
                report(
                    &mut diff,
                    format!("row {key}: upstream only (missing downstream)"),
                );
                i += 1;
            }
            Ordering::Greater => {
                let key = show_key(&names, &key_idx, &down_rows[j]);
                report(
                    &mut diff,
                    format!("row {key}: downstream only (not upstream)"),
                );
                j += 1;
            }
            Ordering::Equal => {
                let (u, d) = (&up_rows[i], &down_rows[j]);
                if let Some(c) = (0..names.len()).find(|&c| u[c] != d[c]) {
                    let others = (c + 1..names.len()).filter(|&k| u[k] != d[k]).count();
                    let key = show_key(&names, &key_idx, u);
                    let mut text = format!(
                        "row {key}: column {} ({}): upstream {} != downstream {}",
                        quote_ident(&names[c]),
                        up_cols[c].column_type,
                        show_value(&u[c]),
                        show_value(&d[c])
                    );
                    if others > 0 {
                        text.push_str(&format!(" (and {others} more column(s) of this row)"));
                    }
                    report(&mut diff, text);
                }
                i += 1;
                j += 1;
            }
        }
    }
    if diff.differing_rows == 0 {
        Ok(up_rows.len())
    } else {
        Err(diff)
    }
}

/// [`compare_tables`] with default options; panics with the report if they differ.
/// Returns the number of rows.
pub async fn assert_tables_equal(
    up: &mut Conn,
    down: &mut Conn,
    up_table: (&str, &str),
    down_table: (&str, &str),
) -> usize {
    match compare_tables(up, down, up_table, down_table, &CompareOptions::default()).await {
        Ok(n) => n,
        Err(d) => panic!("{d}"),
    }
}

/// Asserts that two schemas have the same base tables and that each pair is equal
/// ([`assert_tables_equal`]). Returns the total number of rows.
pub async fn assert_schemas_equal(
    up: &mut Conn,
    down: &mut Conn,
    up_schema: &str,
    down_schema: &str,
) -> usize {
    let up_tables = list_tables(up, up_schema).await;
    let down_tables = list_tables(down, down_schema).await;
    assert_eq!(
        up_tables, down_tables,
        "tables of upstream {up_schema} and downstream {down_schema} differ"
    );
    let mut rows = 0;
    for t in &up_tables {
        rows += assert_tables_equal(up, down, (up_schema, t), (down_schema, t)).await;
    }
    rows
}

/// Asserts that the downstream schema `db` holds exactly the tables of `expected` and that
/// each equals its upstream namesake with the expected number of rows; every difference
/// of every table is reported, not only the first one. `what` labels the failure.
pub async fn assert_tables_match(
    up: &mut Conn,
    down: &mut Conn,
    db: &str,
    expected: &[(&str, usize)],
    what: &str,
) {
    let mut names: Vec<&str> = expected.iter().map(|(t, _)| *t).collect();
    names.sort();
    assert_eq!(
        list_tables(down, db).await,
        names,
        "{what}: downstream tables"
    );
    let opts = CompareOptions {
        max_reported: 50,
        ..CompareOptions::default()
    };
    let mut diffs = Vec::new();
    for (t, rows) in expected {
        match compare_tables(up, down, (db, t), (db, t), &opts).await {
            Ok(n) => assert_eq!(n, *rows, "{what}: rows of {t}"),
            Err(diff) => diffs.push(diff.to_string()),
        }
    }
    assert!(diffs.is_empty(), "{what}:\n{}", diffs.join("\n"));
}
