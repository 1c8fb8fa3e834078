//! The on-disk record format and its pure encoder/decoder.
//!
//! ```text
//! [len u32 LE][crc32c u32 LE][kind u8][term u64 LE][index u64 LE][payload]
//! ```
//! `len` counts the bytes after the crc field (`kind + term + index + payload`,
//! so at least [`BODY_FIXED`]); the crc covers exactly those bytes.

use bytes::Bytes;

/// Bytes before the part covered by the CRC: `len` + `crc`.
pub const PREFIX_LEN: usize = 8;
/// Fixed part covered by the CRC before the payload: `kind + term + index`.
pub const BODY_FIXED: usize = 17;
/// Bytes of a record before its payload.
pub const HEADER_LEN: usize = PREFIX_LEN + BODY_FIXED;

/// One log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Raft term of the leader that created it (0 on a single node).
    pub term: u64,
    /// Position in the log; contiguous, starting at 1.
    pub index: u64,
    /// Opaque record type, chosen by the caller.
    pub kind: u8,
    /// Opaque record body.
    pub payload: Bytes,
}

/// Where a record lives, for reading its payload back later (paging).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// First index of the segment file holding the record.
    pub segment: u64,
    /// File offset of the payload.
    pub offset: u64,
    /// Payload length.
    pub len: u32,
}

/// Result of [`decode_record`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordParse {
    /// A whole, CRC-valid record was decoded from the start of the buffer;
    /// it took `consumed` bytes.
    Complete { entry: Entry, consumed: usize },
    /// The buffer ends before the record does (a torn write if at end of file).
    Incomplete,
    /// The bytes cannot be a record: a bad length or a CRC mismatch.
    Corrupt(String),
}

/// Decodes the record at the start of `buf`. Pure, never panics; used by
/// recovery, by iteration and by the fuzz target.
pub fn decode_record(buf: &[u8], max_record_size: u32) -> RecordParse {
    let Some(len) = read_u32(buf, 0) else {
        return RecordParse::Incomplete;
    };
    let len = len as usize;
    if len < BODY_FIXED {
        return RecordParse::Corrupt(format!("record length {len} shorter than {BODY_FIXED}"));
    }
    let payload_len = len - BODY_FIXED;
    if payload_len > max_record_size as usize {
        return RecordParse::Corrupt(format!(
            "payload length {payload_len} exceeds max_record_size {max_record_size}"
        ));
    }
    let Some(crc) = read_u32(buf, 4) else {
        return RecordParse::Incomplete;
    };
    let Some(body) = buf.get(PREFIX_LEN..PREFIX_LEN + len) else {
        return RecordParse::Incomplete;
    };
    let actual = crc32c::crc32c(body);
    if actual != crc {
        return RecordParse::Corrupt(format!(
            "crc mismatch: stored {crc:#010x}, computed {actual:#010x}"
        ));
    }
    let kind = body[0];
    let (Some(term), Some(index)) = (read_u64(body, 1), read_u64(body, 9)) else {
        // Unreachable: body holds at least BODY_FIXED bytes.
        return RecordParse::Corrupt("short record body".to_string());
    };
    RecordParse::Complete {
        entry: Entry {
            term,
            index,
            kind,
            payload: Bytes::copy_from_slice(&body[BODY_FIXED..]),
        },
        consumed: PREFIX_LEN + len,
    }
}

/// Cheap plausibility check used when looking for valid data after a bad
/// record: returns the record's index if a CRC-valid record starts at
/// `buf[0]` and its index lies in `min_index..=max_index`.
pub(crate) fn probe_record(
    buf: &[u8],
    max_record_size: u32,
    min_index: u64,
    max_index: u64,
) -> Option<u64> {
    let len = read_u32(buf, 0)? as usize;
    if len < BODY_FIXED || len - BODY_FIXED > max_record_size as usize {
        return None;
    }
    let body = buf.get(PREFIX_LEN..PREFIX_LEN + len)?;
    let index = read_u64(body, 9)?;
    if index < min_index || index > max_index {
        return None;
    }
    let crc = read_u32(buf, 4)?;
    (crc32c::crc32c(body) == crc).then_some(index)
}

/// Appends the encoding of one record to `out`.
pub fn encode_record(out: &mut Vec<u8>, kind: u8, term: u64, index: u64, payload: &[u8]) {
    let len = BODY_FIXED + payload.len();
    let start = out.len();
    out.reserve(PREFIX_LEN + len);
    out.extend_from_slice(&(len as u32).to_le_bytes());
    out.extend_from_slice(&[0u8; 4]);
    out.push(kind);
    out.extend_from_slice(&term.to_le_bytes());
    out.extend_from_slice(&index.to_le_bytes());
    out.extend_from_slice(payload);
    let crc = crc32c::crc32c(&out[start + PREFIX_LEN..]);
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// Size of the encoding of a record with `payload_len` payload bytes.
pub fn encoded_len(payload_len: usize) -> usize {
    HEADER_LEN + payload_len
}

pub(crate) fn read_u32(buf: &[u8], at: usize) -> Option<u32> {
    let b = buf.get(at..at + 4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

pub(crate) fn read_u64(buf: &[u8], at: usize) -> Option<u64> {
    let b: [u8; 8] = buf.get(at..at + 8)?.try_into().ok()?;
    Some(u64::from_le_bytes(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn roundtrip() {
        let mut buf = Vec::new();
        encode_record(&mut buf, 7, 3, 42, b"hello");
        assert_eq!(buf.len(), encoded_len(5));
        match decode_record(&buf, 1024) {
            RecordParse::Complete { entry, consumed } => {
                assert_eq!(consumed, buf.len());
                assert_eq!(entry.kind, 7);
                assert_eq!(entry.term, 3);
                assert_eq!(entry.index, 42);
                assert_eq!(&entry.payload[..], b"hello");
            }
            other => panic!("{other:?}"),
        }
        for cut in 0..buf.len() {
            assert_eq!(decode_record(&buf[..cut], 1024), RecordParse::Incomplete);
        }
        let mut bad = buf.clone();
        bad[20] ^= 1;
        assert!(matches!(decode_record(&bad, 1024), RecordParse::Corrupt(_)));
        assert!(matches!(decode_record(&buf, 4), RecordParse::Corrupt(_)));
        assert!(matches!(
            decode_record(&[1, 0, 0, 0, 0, 0, 0, 0], 4),
            RecordParse::Corrupt(_)
        ));
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_record(&bytes, 64);
            let _ = probe_record(&bytes, 64, 0, u64::MAX);
        }

        #[test]
        fn encode_decode(kind: u8, term: u64, index: u64,
                         payload in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut buf = Vec::new();
            encode_record(&mut buf, kind, term, index, &payload);
            buf.extend_from_slice(b"trailing");
            match decode_record(&buf, 300) {
                RecordParse::Complete { entry, consumed } => {
                    prop_assert_eq!(consumed, encoded_len(payload.len()));
                    prop_assert_eq!(entry, Entry { term, index, kind, payload: Bytes::from(payload) });
                }
                other => prop_assert!(false, "{:?}", other),
            }
        }
    }
}
