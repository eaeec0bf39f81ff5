//! Chunk planning: split a table into key ranges of about `rows_per_chunk` rows.

use ferry_model::{Chunk, ChunkBound, ChunkId, KeyValue};

use crate::schema::TableMeta;

/// Rows per chunk from DM's knobs: `rows` when set, else `chunk-filesize` (MiB) divided by the
/// table's average row length (at least 1000); `chunk-filesize: 0` without `rows` is no
/// limit, as in dumpling: each table is one chunk.
pub fn rows_per_chunk(meta: &TableMeta, rows: Option<u64>, chunk_filesize_mib: u64) -> u64 {
    if let Some(r) = rows.filter(|r| *r > 0) {
        return r;
    }
    if chunk_filesize_mib == 0 {
        return u64::MAX;
    }
    let avg = meta.avg_row_len.max(1);
    ((chunk_filesize_mib.saturating_mul(1024 * 1024)) / avg).max(1000)
}

/// Splits an integer key range `[min, max]` into `ceil(est_rows / rows_per_chunk)` equal
/// ranges. Returns the inclusive upper bounds of every chunk but the last (which is unbounded).
pub fn integer_boundaries(min: i128, max: i128, est_rows: u64, rows_per_chunk: u64) -> Vec<i128> {
    if max <= min {
        return Vec::new();
    }
    let n = est_rows.div_ceil(rows_per_chunk.max(1)).max(1) as i128;
    let span = max - min + 1;
    let n = n.min(span);
    let step = span / n;
    (1..n).map(|i| min - 1 + step * i).collect()
}

/// Builds the chunk list of a table from its inner boundaries (each the inclusive upper bound
/// of one chunk): chunk 0 is `(-inf, b0]`, chunk i is `(b(i-1), b(i)]`, the last `(b_last, +inf)`.
pub fn chunks_from_boundaries(meta: &TableMeta, bounds: Vec<ChunkBound>) -> Vec<Chunk> {
    let n = bounds.len() + 1;
    let est = meta.est_rows.div_ceil(n as u64);
    let mut out = Vec::with_capacity(n);
    let mut lower: Option<ChunkBound> = None;
    for (i, b) in bounds
        .into_iter()
        .map(Some)
        .chain(std::iter::once(None))
        .enumerate()
    {
        out.push(Chunk {
            id: ChunkId {
                table: meta.name.clone(),
                ordinal: i as u32,
            },
            lower: lower.clone(),
            upper: b.clone(),
            estimated_rows: est,
        });
        lower = b;
    }
    out
}

/// A single-column integer bound.
pub fn int_bound(v: i128) -> ChunkBound {
    if v < 0 {
        vec![KeyValue::Int(v as i64)]
    } else {
        vec![KeyValue::UInt(v as u64)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_model::TableName;

    #[test]
    fn rows_per_chunk_follows_rows_then_chunk_filesize() {
        let meta = TableMeta {
            name: TableName::new("d", "t"),
            columns: Vec::new(),
            split_key: Vec::new(),
            split_key_is_primary: false,
            est_rows: 10_000_000,
            est_bytes: 0,
            avg_row_len: 1024,
        };
        assert_eq!(rows_per_chunk(&meta, Some(5000), 64), 5000);
        assert_eq!(rows_per_chunk(&meta, None, 64), 65_536);
        // Never fewer than 1000 rows; `rows: 0` is unset.
        assert_eq!(rows_per_chunk(&meta, Some(0), 1), 1024);
        let wide = TableMeta {
            avg_row_len: 1 << 20,
            ..meta.clone()
        };
        assert_eq!(rows_per_chunk(&wide, None, 1), 1000);
        // `chunk-filesize: 0` without `rows`: no limit, one chunk per table.
        assert_eq!(rows_per_chunk(&meta, None, 0), u64::MAX);
        assert_eq!(rows_per_chunk(&meta, Some(200), 0), 200);
    }

    #[test]
    fn integer_ranges_cover_everything_once() {
        let b = integer_boundaries(1, 1_000_000, 1_000_000, 200_000);
        assert_eq!(b, vec![200_000, 400_000, 600_000, 800_000]);
        let b = integer_boundaries(-10, 10, 21, 5);
        assert_eq!(b.len(), 4);
        assert!(b.windows(2).all(|w| w[0] < w[1]));
        assert!(integer_boundaries(5, 5, 1, 10).is_empty());
        // unsigned BIGINT extremes do not overflow
        let b = integer_boundaries(0, u64::MAX as i128, 10, 5);
        assert_eq!(b.len(), 1);
    }

    #[test]
    fn more_chunks_than_keys_is_capped() {
        let b = integer_boundaries(1, 3, 1_000_000, 1);
        assert_eq!(b, vec![1, 2]);
    }
}
