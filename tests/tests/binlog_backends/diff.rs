//! Readable diffs of event streams: where the backends first disagree, down to the value.

use std::fmt::Write as _;

use ferry_actors::reader::RowChange;

use super::*;

// ------------------------------------------------------------------------ readable diffs

fn short_value(v: &RowValue) -> String {
    match v {
        RowValue::Bytes(b) | RowValue::Bit(b) if b.len() > 48 => {
            format!(
                "Bytes({} bytes, starting {})",
                b.len(),
                hex::encode(&b[..48])
            )
        }
        RowValue::Bytes(b) => format!("Bytes({:?})", String::from_utf8_lossy(b)),
        RowValue::Json(j) => {
            let text = j.to_string();
            if text.len() > 200 {
                format!("Json({}… {} chars)", &text[..200], text.len())
            } else {
                format!("Json({text})")
            }
        }
        other => format!("{other:?}"),
    }
}

fn short_body(b: &EventBody) -> String {
    match b {
        EventBody::Rows {
            kind,
            table_id,
            rows,
            stmt_end,
            raw,
            ..
        } => format!(
            "Rows {{ {kind:?}, table_id: {table_id}, rows: {rows}, stmt_end: {stmt_end}, raw: {} bytes }}",
            raw.len()
        ),
        EventBody::Query {
            schema,
            sql,
            error_code,
            status_vars,
        } => {
            let sql: String = sql.chars().take(160).collect();
            format!(
                "Query {{ schema: {schema:?}, sql: {sql:?}, error_code: {error_code}, status_vars: {} bytes }}",
                status_vars.len()
            )
        }
        other => format!("{other:?}"),
    }
}

fn short(e: &SourceEvent) -> String {
    format!(
        "{} ts={} server={} {}{}",
        e.pos,
        e.timestamp,
        e.server_id,
        if e.artificial { "artificial " } else { "" },
        short_body(&e.body)
    )
}

pub(crate) fn tail(events: &[SourceEvent]) -> String {
    let from = events.len().saturating_sub(8);
    events[from..]
        .iter()
        .enumerate()
        .map(|(i, e)| format!("  #{} {}\n", from + i, short(e)))
        .collect()
}

/// Where two differing events differ, down to the row value.
fn detail(a: &SourceEvent, b: &SourceEvent) -> String {
    let mut out = String::new();
    for (what, differs) in [
        ("pos", a.pos != b.pos),
        ("timestamp", a.timestamp != b.timestamp),
        ("server_id", a.server_id != b.server_id),
        ("artificial", a.artificial != b.artificial),
    ] {
        if differs {
            let _ = writeln!(out, "    {what} differs");
        }
    }
    if let (
        EventBody::Rows {
            changes: ca,
            raw: ra,
            ..
        },
        EventBody::Rows {
            changes: cb,
            raw: rb,
            ..
        },
    ) = (&a.body, &b.body)
    {
        if ra != rb {
            let _ = writeln!(out, "    raw bytes differ");
        }
        if ca.len() != cb.len() {
            let _ = writeln!(out, "    {} changes vs {}", ca.len(), cb.len());
        }
        for (i, (x, y)) in ca.iter().zip(cb).enumerate() {
            let images = |c: &RowChange| [c.before.clone(), c.after.clone()];
            for (image, (p, q)) in ["before", "after"]
                .iter()
                .zip(images(x).into_iter().zip(images(y)))
            {
                match (p, q) {
                    (Some(p), Some(q)) => {
                        for (c, (v, w)) in p.iter().zip(&q).enumerate() {
                            if v != w {
                                let _ = writeln!(
                                    out,
                                    "    change #{i}, {image} image, column #{c}:\n      \
                                     mysql_async: {}\n      connector:   {}",
                                    short_value(v),
                                    short_value(w)
                                );
                            }
                        }
                        if p.len() != q.len() {
                            let _ = writeln!(
                                out,
                                "    change #{i}, {image} image: {} vs {} columns",
                                p.len(),
                                q.len()
                            );
                        }
                    }
                    (None, None) => {}
                    (p, q) => {
                        let _ = writeln!(
                            out,
                            "    change #{i}: {image} image present: {} vs {}",
                            p.is_some(),
                            q.is_some()
                        );
                    }
                }
            }
        }
    } else if a.body != b.body {
        let _ = writeln!(out, "    bodies differ");
    }
    out
}

/// Panics with the first difference (and its context) when the sequences differ.
pub(crate) fn assert_same_events(what: &str, a: &[SourceEvent], b: &[SourceEvent]) {
    if a == b {
        return;
    }
    let first = a
        .iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    let mut msg = format!(
        "{what}: the backends disagree ({} events from mysql_async, {} from connector); \
         first difference at event #{first}\n",
        a.len(),
        b.len()
    );
    let from = first.saturating_sub(3);
    for (i, e) in a.iter().enumerate().take(first).skip(from) {
        let _ = writeln!(msg, "  #{i} same:        {}", short(e));
    }
    match (a.get(first), b.get(first)) {
        (Some(x), Some(y)) => {
            let _ = writeln!(msg, "  #{first} mysql_async: {}", short(x));
            let _ = writeln!(msg, "  #{first} connector:   {}", short(y));
            msg.push_str(&detail(x, y));
        }
        (Some(x), None) => {
            let _ = writeln!(msg, "  only mysql_async has #{first}: {}", short(x));
        }
        (None, Some(y)) => {
            let _ = writeln!(msg, "  only connector has #{first}: {}", short(y));
        }
        (None, None) => {}
    }
    panic!("{msg}");
}
