//! MySQL protocol packets on a byte buffer: a 3-byte little-endian payload length, a sequence
//! number, the payload. A payload of 16 MiB - 1 bytes or more is split into chunks of that
//! size, closed by a shorter chunk (maybe empty).
//!
//! [`take_packet`] hands a payload out of the read buffer without copying it when it arrived
//! in one chunk (every binlog event below 16 MiB): the event bytes the decoder reads and the
//! relay log stores are a slice of the buffer the socket filled.

use bytes::{Buf, Bytes, BytesMut};

/// Largest payload of one chunk; a chunk this long is continued by the next one.
pub(super) const MAX_CHUNK: usize = 0xFF_FFFF;

/// Header bytes before each chunk.
const HEADER: usize = 4;

/// A packet's sequence number was not the one expected: bytes were lost or the stream is not
/// the MySQL protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("packet out of order: sequence number {got}, expected {expected}")]
pub(crate) struct OutOfOrder {
    pub(crate) got: u8,
    pub(crate) expected: u8,
}

/// Takes the next whole packet's payload out of `buf`, checking (and advancing) the sequence
/// number `seq`; `None` (nothing consumed) until every chunk of it is in `buf`.
pub(super) fn take_packet(buf: &mut BytesMut, seq: &mut u8) -> Result<Option<Bytes>, OutOfOrder> {
    // Find the end of the packet (its last chunk) without consuming anything.
    let mut end = 0;
    let mut chunks = 0usize;
    let mut expected = *seq;
    loop {
        let Some(head) = buf.get(end..end + HEADER) else {
            return Ok(None);
        };
        let len = usize::from(head[0]) | usize::from(head[1]) << 8 | usize::from(head[2]) << 16;
        if head[3] != expected {
            return Err(OutOfOrder {
                got: head[3],
                expected,
            });
        }
        expected = expected.wrapping_add(1);
        if buf.len() < end + HEADER + len {
            return Ok(None);
        }
        end += HEADER + len;
        chunks += 1;
        if len < MAX_CHUNK {
            break;
        }
    }
    *seq = expected;
    if chunks == 1 {
        let mut packet = buf.split_to(end).freeze();
        packet.advance(HEADER);
        return Ok(Some(packet));
    }
    let mut joined = BytesMut::with_capacity(end - chunks * HEADER);
    let mut rest = buf.split_to(end);
    while !rest.is_empty() {
        let len = usize::from(rest[0]) | usize::from(rest[1]) << 8 | usize::from(rest[2]) << 16;
        rest.advance(HEADER);
        joined.extend_from_slice(&rest.split_to(len));
    }
    Ok(Some(joined.freeze()))
}

/// Appends `payload` to `out` as one packet (chunked when long), numbering its chunks from
/// `seq` (advanced past them).
pub(super) fn put_packet(payload: &[u8], seq: &mut u8, out: &mut Vec<u8>) {
    let mut rest = payload;
    loop {
        let len = rest.len().min(MAX_CHUNK);
        // `len` fits 24 bits.
        out.extend_from_slice(&(len as u32).to_le_bytes()[..3]);
        out.push(*seq);
        *seq = seq.wrapping_add(1);
        out.extend_from_slice(&rest[..len]);
        rest = &rest[len..];
        // A chunk of exactly MAX_CHUNK bytes is followed by another one, maybe empty.
        if len < MAX_CHUNK {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packets(payloads: &[&[u8]], first_seq: u8) -> BytesMut {
        let mut out = Vec::new();
        let mut seq = first_seq;
        for p in payloads {
            put_packet(p, &mut seq, &mut out);
        }
        BytesMut::from(&out[..])
    }

    #[test]
    fn takes_packets_one_by_one_and_waits_for_a_partial_one() {
        let mut buf = packets(&[b"\x00first", b"", b"third"], 7);
        let mut seq = 7;
        assert_eq!(
            take_packet(&mut buf, &mut seq).unwrap().as_deref(),
            Some(&b"\x00first"[..])
        );
        assert_eq!(
            take_packet(&mut buf, &mut seq).unwrap().as_deref(),
            Some(&b""[..])
        );
        // Only part of the third packet has arrived: nothing is taken.
        let whole = buf.clone();
        buf.truncate(whole.len() - 2);
        assert_eq!(take_packet(&mut buf, &mut seq).unwrap(), None);
        assert_eq!(seq, 9);
        buf = whole;
        assert_eq!(
            take_packet(&mut buf, &mut seq).unwrap().as_deref(),
            Some(&b"third"[..])
        );
        assert!(buf.is_empty());
        assert_eq!(seq, 10);
    }

    #[test]
    fn the_sequence_number_wraps_and_a_gap_is_an_error() {
        let mut buf = packets(&[b"a", b"b"], 255);
        let mut seq = 255;
        assert_eq!(
            take_packet(&mut buf, &mut seq).unwrap().as_deref(),
            Some(&b"a"[..])
        );
        assert_eq!(seq, 0);
        assert_eq!(
            take_packet(&mut buf, &mut seq).unwrap().as_deref(),
            Some(&b"b"[..])
        );

        let mut buf = packets(&[b"a"], 3);
        let mut seq = 2;
        assert_eq!(
            take_packet(&mut buf, &mut seq),
            Err(OutOfOrder {
                got: 3,
                expected: 2
            })
        );
    }

    #[test]
    fn long_payloads_are_chunked_and_joined_back() {
        for len in [MAX_CHUNK - 1, MAX_CHUNK, MAX_CHUNK + 5, 2 * MAX_CHUNK] {
            let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let mut buf = packets(&[&payload, b"next"], 0);
            let chunks = len / MAX_CHUNK + 1;
            assert_eq!(buf.len(), len + chunks * HEADER + HEADER + 4, "len {len}");
            let mut seq = 0;
            // Every chunk but the last one's final byte: not whole yet.
            let whole = buf.clone();
            buf.truncate(len + chunks * HEADER - 1);
            assert_eq!(take_packet(&mut buf, &mut seq).unwrap(), None, "len {len}");
            buf = whole;
            let got = take_packet(&mut buf, &mut seq).unwrap().unwrap();
            assert_eq!(got.len(), len);
            assert!(got[..] == payload[..], "len {len}");
            assert_eq!(seq as usize, chunks);
            assert_eq!(
                take_packet(&mut buf, &mut seq).unwrap().as_deref(),
                Some(&b"next"[..])
            );
        }
    }
}
