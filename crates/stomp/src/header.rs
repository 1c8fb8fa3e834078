//! Header value escaping and unescaping per STOMP version.
//!
//! * 1.0: no escaping at all.
//! * 1.1: `\\` `\n` `\c` (backslash, LF, colon).
//! * 1.2: as 1.1 plus `\r` (CR).
//!
//! Any other escape sequence (or a trailing lone backslash) is an error in 1.1/1.2.
//! CONNECT/STOMP/CONNECTED frames are never escaped; callers check
//! [`Command::is_escape_exempt`](crate::Command::is_escape_exempt).

use std::borrow::Cow;

use bytes::BufMut;

use crate::{StompError, Version};

/// Decodes escape sequences in a header name or value for `version`.
pub fn unescape(raw: &str, version: Version) -> Result<Cow<'_, str>, StompError> {
    if version == Version::V1_0 || !raw.contains('\\') {
        return Ok(Cow::Borrowed(raw));
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('c') => out.push(':'),
            Some('\\') => out.push('\\'),
            Some('r') if version == Version::V1_2 => out.push('\r'),
            _ => return Err(StompError::InvalidEscape(truncate(raw, 256))),
        }
    }
    Ok(Cow::Owned(out))
}

/// Appends `value` to `out`, escaped for `version`.
pub fn escape_into<B: BufMut>(value: &str, version: Version, out: &mut B) {
    if version == Version::V1_0 || !value.bytes().any(needs_escape) {
        out.put_slice(value.as_bytes());
        return;
    }
    for b in value.bytes() {
        match b {
            b'\\' => out.put_slice(b"\\\\"),
            b'\n' => out.put_slice(b"\\n"),
            b':' => out.put_slice(b"\\c"),
            b'\r' if version == Version::V1_2 => out.put_slice(b"\\r"),
            _ => out.put_u8(b),
        }
    }
}

/// Escapes `value` for `version` into a new string.
pub fn escape(value: &str, version: Version) -> Cow<'_, str> {
    if version == Version::V1_0 || !value.bytes().any(needs_escape) {
        return Cow::Borrowed(value);
    }
    let mut out = Vec::with_capacity(value.len() + 8);
    escape_into(value, version, &mut out);
    // Escaping only replaces ASCII bytes with ASCII bytes, so the result stays UTF-8.
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

fn needs_escape(b: u8) -> bool {
    matches!(b, b'\\' | b'\n' | b':' | b'\r')
}

/// Truncates `s` to at most `max` bytes on a char boundary (for error messages).
pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v10_is_verbatim() {
        assert_eq!(unescape("a\\nb\\x", Version::V1_0).unwrap(), "a\\nb\\x");
        assert_eq!(escape("a:b\nc\\", Version::V1_0), "a:b\nc\\");
    }

    #[test]
    fn v11_sequences() {
        assert_eq!(
            unescape("a\\nb\\cc\\\\d", Version::V1_1).unwrap(),
            "a\nb:c\\d"
        );
        assert!(matches!(
            unescape("a\\rb", Version::V1_1),
            Err(StompError::InvalidEscape(_))
        ));
        assert_eq!(escape("a\nb:c\\d", Version::V1_1), "a\\nb\\cc\\\\d");
        // 1.1 has no \r escape: CR is written raw.
        assert_eq!(escape("a\rb", Version::V1_1), "a\rb");
    }

    #[test]
    fn v12_sequences() {
        assert_eq!(unescape("x\\ry\\n", Version::V1_2).unwrap(), "x\ry\n");
        assert_eq!(escape("x\ry:", Version::V1_2), "x\\ry\\c");
    }

    #[test]
    fn invalid_escapes() {
        for v in [Version::V1_1, Version::V1_2] {
            for bad in ["\\t", "abc\\", "\\", "\\\\\\", "\\C", "\\é"] {
                assert!(
                    matches!(unescape(bad, v), Err(StompError::InvalidEscape(_))),
                    "{bad:?} {v:?}"
                );
            }
        }
    }

    #[test]
    fn unicode_passes_through() {
        let s = "héllo:wörld\n☃";
        for v in [Version::V1_1, Version::V1_2] {
            assert_eq!(unescape(&escape(s, v), v).unwrap(), s);
        }
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("ééé", 3), "é");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
