//! Java "modified UTF-8" (`DataOutput.writeUTF`, `MarshallingSupport.writeUTF8`).
//!
//! Every UTF-16 code unit of the Java string is encoded on its own: U+0000 as `C0 80`,
//! U+0001..U+007F as one byte, up to U+07FF as two, everything else (including each half of a
//! surrogate pair, i.e. CESU-8) as three. The decoder additionally accepts standard 4-byte UTF-8
//! sequences and raw `00` bytes (Java's `readUTF` accepts the latter; the former are what
//! non-Java producers write) and turns unpaired surrogates into U+FFFD, since a Rust `String`
//! cannot hold them.

use bytes::{BufMut, BytesMut};

use crate::OpenWireError;

/// Number of bytes `s` takes in modified UTF-8.
pub fn encoded_len(s: &str) -> usize {
    if is_plain_ascii(s.as_bytes()) {
        return s.len();
    }
    s.encode_utf16()
        .map(|u| match u {
            0x0001..=0x007F => 1,
            0x0000 | 0x0080..=0x07FF => 2,
            _ => 3,
        })
        .sum()
}

/// ASCII without NUL: the same bytes in UTF-8 and modified UTF-8 (ids, names, most text).
pub(crate) fn is_plain_ascii(s: &[u8]) -> bool {
    // One pass over 1..=127 without an early exit, which the compiler vectorizes
    // (`all` would stop at the first miss, byte by byte); `is_ascii` and then a memchr for
    // NUL was two passes, and the memchr call alone cost more than the check on short ids.
    s.iter()
        .fold(true, |plain, &b| plain & (b.wrapping_sub(1) < 0x7f))
}

/// Appends `s` in modified UTF-8 (no length prefix).
pub fn encode_into(s: &str, out: &mut BytesMut) {
    if is_plain_ascii(s.as_bytes()) {
        out.put_slice(s.as_bytes());
        return;
    }
    out.reserve(encoded_len(s));
    for u in s.encode_utf16() {
        match u {
            0x0001..=0x007F => out.put_u8(u as u8),
            0x0000 | 0x0080..=0x07FF => {
                out.put_u8(0xC0 | (u >> 6) as u8);
                out.put_u8(0x80 | (u & 0x3F) as u8);
            }
            _ => {
                out.put_u8(0xE0 | (u >> 12) as u8);
                out.put_u8(0x80 | ((u >> 6) & 0x3F) as u8);
                out.put_u8(0x80 | (u & 0x3F) as u8);
            }
        }
    }
}

/// `s` in modified UTF-8 (no length prefix).
pub fn encode(s: &str) -> Vec<u8> {
    let mut out = BytesMut::with_capacity(encoded_len(s));
    encode_into(s, &mut out);
    out.to_vec()
}

/// Decodes modified UTF-8 (no length prefix).
///
/// # Errors
///
/// [`OpenWireError::InvalidUtf8`] for bytes that are not a 1/2/3/4-byte sequence.
pub fn decode(bytes: &[u8]) -> Result<String, OpenWireError> {
    // Anything std accepts decodes identically here (C0 80 and surrogates are what std rejects).
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok(s.to_owned());
    }
    let mut units: Vec<u16> = Vec::with_capacity(bytes.len());
    let mut i = 0;
    let cont = |j: usize| -> Result<u32, OpenWireError> {
        match bytes.get(j) {
            Some(&b) if b & 0xC0 == 0x80 => Ok(u32::from(b & 0x3F)),
            _ => Err(OpenWireError::InvalidUtf8 { offset: j }),
        }
    };
    while let Some(&b) = bytes.get(i) {
        if b < 0x80 {
            units.push(u16::from(b));
            i += 1;
        } else if b & 0xE0 == 0xC0 {
            let u = (u32::from(b & 0x1F) << 6) | cont(i + 1)?;
            units.push(u as u16);
            i += 2;
        } else if b & 0xF0 == 0xE0 {
            let u = (u32::from(b & 0x0F) << 12) | (cont(i + 1)? << 6) | cont(i + 2)?;
            units.push(u as u16);
            i += 3;
        } else if b & 0xF8 == 0xF0 {
            let cp = (u32::from(b & 0x07) << 18)
                | (cont(i + 1)? << 12)
                | (cont(i + 2)? << 6)
                | cont(i + 3)?;
            if !(0x10000..=0x10FFFF).contains(&cp) {
                return Err(OpenWireError::InvalidUtf8 { offset: i });
            }
            let v = cp - 0x10000;
            units.push(0xD800 | (v >> 10) as u16);
            units.push(0xDC00 | (v & 0x3FF) as u16);
            i += 4;
        } else {
            return Err(OpenWireError::InvalidUtf8 { offset: i });
        }
    }
    Ok(char::decode_utf16(units)
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emoji_is_a_surrogate_pair_of_three_byte_sequences() {
        assert_eq!(encode("😀"), [0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80]);
        assert_eq!(decode(&[0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80]).unwrap(), "😀");
    }

    #[test]
    fn nul_is_c0_80_and_round_trips() {
        assert_eq!(encode("a\0b"), [b'a', 0xC0, 0x80, b'b']);
        assert_eq!(decode(&[b'a', 0xC0, 0x80, b'b']).unwrap(), "a\0b");
        assert_eq!(encoded_len("\0"), 2);
    }

    #[test]
    fn captured_text_matches() {
        // notes §4.2: "hello é世😀"
        let want = [
            0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x20, 0xc3, 0xa9, 0xe4, 0xb8, 0x96, 0xed, 0xa0, 0xbd,
            0xed, 0xb8, 0x80,
        ];
        assert_eq!(encode("hello é世😀"), want);
        assert_eq!(decode(&want).unwrap(), "hello é世😀");
        assert_eq!(encoded_len("hello é世😀"), 17);
    }

    #[test]
    fn standard_four_byte_utf8_is_accepted() {
        assert_eq!(decode("x😀".as_bytes()).unwrap(), "x😀");
    }

    #[test]
    fn lone_surrogate_becomes_replacement() {
        assert_eq!(decode(&[0xED, 0xA0, 0xBD, b'x']).unwrap(), "\u{FFFD}x");
    }

    #[test]
    fn malformed_sequences_error() {
        assert!(matches!(
            decode(&[0xC3]),
            Err(OpenWireError::InvalidUtf8 { offset: 1 })
        ));
        assert!(decode(&[0xFF]).is_err());
        assert!(decode(&[0xE4, 0xB8]).is_err());
        assert!(decode(&[0xF8, 0x80, 0x80, 0x80]).is_err());
    }
}
