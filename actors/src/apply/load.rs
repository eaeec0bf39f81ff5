//! The `LOAD DATA LOCAL` form of a run of inserts into one table (pure, no I/O).
//!
//! A run of inserted rows costs the downstream much less as one `LOAD DATA` stream than as
//! multi-row `INSERT` text (no SQL parsing of every value), as in the full phase. The stream
//! is tab-separated, backslash-escaped, loaded `CHARACTER SET binary`, so string bytes reach
//! the column unconverted, exactly as the hex literals of the `INSERT` form do.
//!
//! `LOAD DATA` reads every field as a string, so values whose string form would mean
//! something else go through a variable: `BIT`, `ENUM` and `SET` columns receive their number
//! (`col = CAST(@v AS UNSIGNED)`: the bits, the index, the member mask), and JSON on targets
//! whose JSON type rejects binary strings is converted (`CONVERT(@v USING utf8mb4)`).
//!
//! [`load_rows`] returns `None` for rows this form cannot carry exactly (a column missing
//! from the image, a partial JSON update, a value of another kind than its column): the
//! caller then uses the `INSERT` form, which reports such rows precisely.

use bytes::{Bytes, BytesMut};

use super::dml::{push_literal, TargetTable};
use crate::bulk::encode::escape_load_data;
use crate::reader::RowValue;

/// How a target column receives its `LOAD DATA` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoadAs {
    /// The field's bytes as they are (strings, numbers, temporal values).
    #[default]
    Text,
    /// A number through `CAST(@v AS UNSIGNED)`: `BIT`, `ENUM` (index), `SET` (mask).
    Number,
}

impl LoadAs {
    /// By the column's `DATA_TYPE`.
    pub fn for_type(data_type: &str) -> Self {
        match data_type {
            "bit" | "enum" | "set" => LoadAs::Number,
            _ => LoadAs::Text,
        }
    }
}

/// A `LOAD DATA` statement and the stream it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadRows {
    /// `LOAD DATA LOCAL INFILE … INTO TABLE …`.
    pub sql: String,
    /// The rows, one per line.
    pub data: Bytes,
    /// Number of rows.
    pub rows: usize,
}

/// The `LOAD DATA` form of `rows` (after images, full width) into `table`: `REPLACE` in safe
/// mode. `None` when some row cannot be carried exactly this way.
pub fn load_rows<'a>(
    table: &TargetTable,
    rows: impl IntoIterator<Item = &'a [RowValue]>,
    safe: bool,
) -> Option<LoadRows> {
    let columns = table.columns();
    let mut data = BytesMut::new();
    let mut scratch = String::new();
    let mut n = 0;
    for row in rows {
        if row.len() != columns.len() {
            return None;
        }
        let mut first = true;
        for (c, v) in columns.iter().zip(row).filter(|(c, _)| !c.generated) {
            if !first {
                data.extend_from_slice(b"\t");
            }
            first = false;
            push_field(&mut data, &mut scratch, c.load_as, v)?;
        }
        if first {
            return None;
        }
        data.extend_from_slice(b"\n");
        n += 1;
    }
    if n == 0 {
        return None;
    }
    Some(LoadRows {
        sql: statement(table, safe),
        data: data.freeze(),
        rows: n,
    })
}

/// One field. `None`: the value has no exact field form for this column.
fn push_field(
    out: &mut BytesMut,
    scratch: &mut String,
    load_as: LoadAs,
    v: &RowValue,
) -> Option<()> {
    match (load_as, v) {
        (_, RowValue::Null) => out.extend_from_slice(b"\\N"),
        (_, RowValue::Absent | RowValue::PartialJson(_)) => return None,
        (LoadAs::Number, RowValue::Bit(_) | RowValue::Enum(_) | RowValue::Set(_)) => {
            literal(out, scratch, v)?
        }
        (LoadAs::Number, _) | (LoadAs::Text, RowValue::Bit(_) | RowValue::Enum(_)) => return None,
        (LoadAs::Text, RowValue::Set(_)) => return None,
        (LoadAs::Text, RowValue::Bytes(b)) => escape_load_data(b, out),
        (LoadAs::Text, RowValue::Json(j)) => {
            let text = serde_json::to_vec(j).ok()?;
            escape_load_data(&text, out);
        }
        // The string '0' means 2000 to a YEAR column; '0000' is the zero year.
        (LoadAs::Text, RowValue::Year(y)) => out.extend_from_slice(format!("{y:04}").as_bytes()),
        (
            LoadAs::Text,
            RowValue::Date(_)
            | RowValue::DateTime(_)
            | RowValue::Time(_)
            | RowValue::Timestamp { .. },
        ) => {
            // The SQL literal of a temporal value is its text in single quotes.
            scratch.clear();
            push_literal(scratch, v, false).ok()?;
            let inner = scratch.strip_prefix('\'')?.strip_suffix('\'')?;
            out.extend_from_slice(inner.as_bytes());
        }
        (
            LoadAs::Text,
            RowValue::Int(_)
            | RowValue::UInt(_)
            | RowValue::Float(_)
            | RowValue::Double(_)
            | RowValue::Decimal(_),
        ) => literal(out, scratch, v)?,
    }
    Some(())
}

/// A number's SQL literal (digits, sign, point, exponent), which is also its field form.
fn literal(out: &mut BytesMut, scratch: &mut String, v: &RowValue) -> Option<()> {
    scratch.clear();
    push_literal(scratch, v, false).ok()?;
    out.extend_from_slice(scratch.as_bytes());
    Some(())
}

fn statement(table: &TargetTable, safe: bool) -> String {
    let json_convert = table.json_convert();
    let mut cols = Vec::new();
    let mut sets = Vec::new();
    for (i, c) in table.columns().iter().enumerate() {
        if c.generated {
            continue;
        }
        let name = table.quoted_column(i);
        if c.load_as == LoadAs::Number {
            cols.push(format!("@v{i}"));
            sets.push(format!("{name} = CAST(@v{i} AS UNSIGNED)"));
        } else if c.json && json_convert {
            cols.push(format!("@v{i}"));
            sets.push(format!("{name} = CONVERT(@v{i} USING utf8mb4)"));
        } else {
            cols.push(name.to_string());
        }
    }
    let mut sql = format!(
        "LOAD DATA LOCAL INFILE 'ferry-rows' {}INTO TABLE {} CHARACTER SET binary \
         FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ({})",
        if safe { "REPLACE " } else { "" },
        table.name().quoted(),
        cols.join(",")
    );
    if !sets.is_empty() {
        sql.push_str(" SET ");
        sql.push_str(&sets.join(", "));
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::TargetColumn;
    use crate::reader::{Date, DateTime, Time};
    use ferry_model::TableName;

    fn col(name: &str, load_as: LoadAs, json: bool) -> TargetColumn {
        let mut c = TargetColumn::new(name);
        c.load_as = load_as;
        c.json = json;
        c
    }

    fn table() -> TargetTable {
        table_for(true)
    }

    fn table_for(json_convert: bool) -> TargetTable {
        TargetTable::new(
            TableName::new("d", "t"),
            vec![
                col("id", LoadAs::Text, false),
                col("s", LoadAs::Text, false),
                col("e", LoadAs::Number, false),
                col("j", LoadAs::Text, true),
                TargetColumn::generated("g"),
                col("y", LoadAs::Text, false),
                col("ts", LoadAs::Text, false),
            ],
            vec![0],
            json_convert,
        )
        .unwrap()
    }

    #[test]
    fn fields_are_exact_and_escaped() {
        let t = table();
        let row = vec![
            RowValue::Int(-5),
            RowValue::Bytes(b"a\tb\n\\\0'".to_vec()),
            RowValue::Enum(3),
            RowValue::Json(serde_json::json!({"k": "v\t"})),
            RowValue::Null,
            RowValue::Year(0),
            RowValue::Timestamp {
                secs: 86_400 + 3_661,
                micros: 5,
            },
        ];
        let l = load_rows(&t, [row.as_slice(), row.as_slice()], false).unwrap();
        let line =
            "-5\ta\\tb\\n\\\\\\0'\t3\t{\"k\":\"v\\\\t\"}\t0000\t1970-01-02 01:01:01.000005\n";
        assert_eq!(std::str::from_utf8(&l.data).unwrap(), line.repeat(2));
        assert_eq!(l.rows, 2);
        assert!(l
            .sql
            .starts_with("LOAD DATA LOCAL INFILE 'ferry-rows' INTO TABLE `d`.`t`"));
        assert!(
            l.sql.ends_with(
                "(`id`,`s`,@v2,@v3,`y`,`ts`) SET `e` = CAST(@v2 AS UNSIGNED), \
                 `j` = CONVERT(@v3 USING utf8mb4)"
            ),
            "{}",
            l.sql
        );
        let r = load_rows(&table_for(false), [row.as_slice()], true).unwrap();
        assert!(
            r.sql.contains("'ferry-rows' REPLACE INTO TABLE"),
            "{}",
            r.sql
        );
        assert!(r.sql.contains("(`id`,`s`,@v2,`j`,`y`,`ts`)"), "{}", r.sql);
    }

    #[test]
    fn temporal_values_lose_only_their_quotes() {
        let t = TargetTable::new(
            TableName::new("d", "t"),
            vec![
                TargetColumn::new("d"),
                TargetColumn::new("dt"),
                TargetColumn::new("tm"),
            ],
            vec![],
            false,
        )
        .unwrap();
        let date = Date {
            year: 2024,
            month: 2,
            day: 29,
        };
        let row = vec![
            RowValue::Date(date),
            RowValue::DateTime(DateTime {
                date,
                hour: 23,
                minute: 59,
                second: 58,
                micros: 0,
            }),
            RowValue::Time(Time {
                negative: true,
                hours: 838,
                minute: 59,
                second: 59,
                micros: 120_000,
            }),
        ];
        let l = load_rows(&t, [row.as_slice()], false).unwrap();
        assert_eq!(
            std::str::from_utf8(&l.data).unwrap(),
            "2024-02-29\t2024-02-29 23:59:58\t-838:59:59.120000\n"
        );
    }

    #[test]
    fn rows_without_an_exact_field_form_are_refused() {
        let t = table();
        let base = vec![
            RowValue::Int(1),
            RowValue::Bytes(b"x".to_vec()),
            RowValue::Enum(1),
            RowValue::Null,
            RowValue::Null,
            RowValue::Year(2024),
            RowValue::Null,
        ];
        assert!(load_rows(&t, [base.as_slice()], false).is_some());
        for (i, bad) in [
            (1, RowValue::Absent),
            (3, RowValue::PartialJson(vec![])),
            // a number where the column takes text, and text where it takes a number
            (1, RowValue::Enum(2)),
            (2, RowValue::Bytes(b"a".to_vec())),
        ] {
            let mut row = base.clone();
            row[i] = bad.clone();
            assert!(
                load_rows(&t, [base.as_slice(), row.as_slice()], false).is_none(),
                "{bad:?} in column {i}"
            );
        }
        let short = &base[..3];
        assert!(load_rows(&t, [short], false).is_none());
        assert!(load_rows(&t, std::iter::empty(), false).is_none());
    }
}
