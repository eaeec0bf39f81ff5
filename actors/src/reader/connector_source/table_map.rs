//! What is read from table map events beyond the crate's decoding: the columns' signedness,
//! and the column types the crate cannot decode.

use mysql_binlog_connector_rust::column::column_type::ColumnType as CrateType;
use mysql_binlog_connector_rust::event::table_map_event::TableMapEvent;

use super::wire::packed_int;

/// MySQL column type code of VECTOR.
const TYPE_VECTOR: u8 = 242;

/// Per column, UNSIGNED, from the SIGNEDNESS field of a table map body's optional metadata
/// (all false without it): one bit per numeric column, most significant first, numeric as
/// the server counts (YEAR and DECIMAL included). `None` if the body is malformed.
pub(super) fn table_unsigned(body: &[u8]) -> Option<Vec<bool>> {
    let mut at = 8; // table id, flags
    let schema_len = usize::from(*body.get(at)?);
    at += schema_len + 2;
    let table_len = usize::from(*body.get(at)?);
    at += table_len + 2;
    let (n, used) = packed_int(body, at)?;
    at += used;
    let n = usize::try_from(n).ok()?;
    let types = body.get(at..at.checked_add(n)?)?;
    at += n;
    let (meta_len, used) = packed_int(body, at)?;
    at = at
        .checked_add(used)?
        .checked_add(usize::try_from(meta_len).ok()?)?
        .checked_add(n.div_ceil(8))?;
    let numeric: Vec<usize> = (0..n)
        .filter(|&i| matches!(types[i], 0 | 1 | 2 | 3 | 4 | 5 | 8 | 9 | 13 | 246))
        .collect();
    let mut unsigned = vec![false; n];
    while at < body.len() {
        let field = body[at];
        let (len, used) = packed_int(body, at + 1)?;
        at += 1 + used;
        let value = body.get(at..at.checked_add(usize::try_from(len).ok()?)?)?;
        at += value.len();
        // 1 = SIGNEDNESS
        if field == 1 {
            for (j, &col) in numeric.iter().enumerate() {
                unsigned[col] = value.get(j / 8)? & (0x80 >> (j % 8)) != 0;
            }
        }
    }
    (at == body.len()).then_some(unsigned)
}

/// Column types whose values the crate cannot decode (it would misread the metadata that
/// follows, or fail on the first row).
pub(super) fn check_column_types(t: &TableMapEvent) -> Result<(), String> {
    for (i, &code) in t.column_types.iter().enumerate() {
        let known = !matches!(CrateType::from_code(code), CrateType::Unknown)
            && !matches!(code, 0 | 6 | 14);
        if !known {
            let name = if code == TYPE_VECTOR {
                "VECTOR".to_string()
            } else {
                format!("type code {code}")
            };
            return Err(format!(
                "`{}`.`{}` column {i} is a {name} column, which binlog backend `connector` \
                 cannot decode; use the default backend",
                t.database_name, t.table_name
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_signedness_of_numeric_columns() {
        // Columns: YEAR, TINY, VARCHAR, LONGLONG; YEAR counts as numeric.
        let mut body = vec![1, 0, 0, 0, 0, 0, 0, 0];
        body.extend_from_slice(&[1, b'd', 0, 1, b't', 0]);
        body.push(4);
        body.extend_from_slice(&[13, 1, 15, 8]);
        body.extend_from_slice(&[2, 0x10, 0x00]); // metadata: VARCHAR(16)
        body.push(0x0F); // null bitmap
        body.extend_from_slice(&[1, 1, 0b0010_0000]); // SIGNEDNESS: only the 3rd numeric
        assert_eq!(table_unsigned(&body), Some(vec![false, false, false, true]));
        // Without the optional metadata: all signed.
        assert_eq!(
            table_unsigned(&body[..body.len() - 3]),
            Some(vec![false; 4])
        );
        assert_eq!(table_unsigned(&body[..body.len() - 1]), None);
    }
}
