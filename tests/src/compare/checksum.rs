//! Order-independent table checksums.

use mysql_async::Conn;
use sha2::{Digest, Sha256};

use super::canon::canonicalize;
use super::columns::fetch_rows;
use super::columns::{prepare_session, table_columns};
use super::{Canon, Cell, ColumnInfo};

/// An order-independent digest of a table's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableChecksum {
    pub rows: u64,
    /// SHA-256 (hex) over the column names and the sorted, canonicalised rows.
    pub sha256: String,
}

/// A digest of a table that is equal for equal content on MySQL and MariaDB: the
/// non-generated columns in ordinal order are fetched as [`compare_tables`] does,
/// canonicalised as in [`CompareMode::Portable`], sorted (by all values) and hashed with
/// SHA-256, each value length-prefixed (NULL distinct from every string). Column names
/// and their order are part of the digest. Prefer [`assert_tables_equal`] in tests: it
/// says *what* differs.
pub async fn table_checksum(conn: &mut Conn, schema: &str, table: &str) -> TableChecksum {
    prepare_session(conn).await;
    let cols: Vec<ColumnInfo> = table_columns(conn, schema, table)
        .await
        .into_iter()
        .filter(|c| !c.generated)
        .collect();
    let canons: Vec<Canon> = cols
        .iter()
        .map(|c| {
            if c.json {
                Canon::Json
            } else if c.is_floating() {
                Canon::Number
            } else {
                Canon::Bytes
            }
        })
        .collect();
    let refs: Vec<&ColumnInfo> = cols.iter().collect();
    let mut rows: Vec<Vec<Cell>> = fetch_rows(conn, schema, table, &refs)
        .await
        .into_iter()
        .map(|r| {
            r.into_iter()
                .zip(&canons)
                .map(|(c, k)| canonicalize(*k, c))
                .collect()
        })
        .collect();
    rows.sort();
    let mut h = Sha256::new();
    for c in &cols {
        h.update((c.name.len() as u64).to_le_bytes());
        h.update(c.name.as_bytes());
    }
    for row in &rows {
        for cell in row {
            match cell {
                None => h.update([0u8]),
                Some(b) => {
                    h.update([1u8]);
                    h.update((b.len() as u64).to_le_bytes());
                    h.update(b);
                }
            }
        }
    }
    TableChecksum {
        rows: rows.len() as u64,
        sha256: hex::encode(h.finalize()),
    }
}
