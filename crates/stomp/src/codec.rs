//! [`StompCodec`]: a sans-IO, incremental `tokio_util` codec for STOMP frames, with
//! [`Limits`] checked before anything peer-sized is allocated.
//!
//! Decoding proceeds in three states so that partial input is never rescanned:
//!
//! 1. *Idle*: leading EOLs (`\n` or `\r\n`) are heart-beats; a run of them yields one
//!    [`Item::HeartBeat`].
//! 2. *Head*: looking for the blank line that ends the header section, remembering how
//!    far we scanned and how many lines we saw (limits `max_header_size` and
//!    `max_headers` are enforced while scanning). Once found, the command and headers
//!    are parsed (and unescaped) at once, so header errors surface before the body.
//! 3. *Body*: with `content-length` (checked against `max_frame_size` before waiting
//!    for or reserving the body) wait for `len + 1` bytes and require a NUL; without it,
//!    search for the first NUL from where the previous call stopped.
//!
//! The decoded body is split off the read buffer without copying. After an error the
//! codec resets to *Idle* but the buffer is left as is: the connection should be closed.

use bytes::{Buf, BufMut, BytesMut};
use memchr::{memchr, memchr2};
use tokio_util::codec::{Decoder, Encoder};

use crate::header::{escape_into, truncate, unescape};
use crate::{Command, Frame, Item, StompError, Version};

/// Decoder limits. All are checked before buffering or allocating what they bound.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest accepted body, in bytes (ActiveMQ's default `maxFrameSize`: 100 MiB).
    pub max_frame_size: usize,
    /// Largest command line plus header lines (everything before the blank line).
    pub max_header_size: usize,
    /// Most header lines in one frame.
    pub max_headers: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_frame_size: 100 * 1024 * 1024,
            max_header_size: 64 * 1024,
            max_headers: 1000,
        }
    }
}

/// Most bytes reserved ahead at once for a `content-length` body still in flight.
const MAX_RESERVE: usize = 1024 * 1024;

#[derive(Debug)]
enum State {
    Idle,
    Head { pos: usize, lines: usize },
    Body(Pending),
}

#[derive(Debug)]
struct Pending {
    command: Command,
    headers: Vec<(String, String)>,
    /// Offset of the first body byte.
    header_end: usize,
    content_length: Option<usize>,
    /// Without content-length: where the NUL search resumes.
    scanned: usize,
}

enum HeadScan {
    Incomplete {
        pos: usize,
        lines: usize,
    },
    /// `text_end`: end of the last header line (before its EOL); `header_end`: first body byte.
    Done {
        text_end: usize,
        header_end: usize,
    },
}

/// STOMP codec: decodes [`Item`]s and encodes [`Item`]s or [`Frame`]s.
///
/// Starts at [`Version::V1_0`] (no header escaping); call [`StompCodec::set_version`]
/// once the version is negotiated.
#[derive(Debug)]
pub struct StompCodec {
    limits: Limits,
    version: Version,
    state: State,
}

impl StompCodec {
    pub fn new(limits: Limits) -> StompCodec {
        StompCodec {
            limits,
            version: Version::V1_0,
            state: State::Idle,
        }
    }

    /// Sets the version used for header escaping (both directions).
    pub fn set_version(&mut self, v: Version) {
        self.version = v;
    }

    pub fn version(&self) -> Version {
        self.version
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    fn decode_inner(&mut self, buf: &mut BytesMut) -> Result<Option<Item>, StompError> {
        if let State::Idle = self.state {
            if buf.is_empty() {
                return Ok(None);
            }
            let run = eol_run(buf);
            if run > 0 {
                buf.advance(run);
                tracing::trace!("stomp heart-beat received");
                return Ok(Some(Item::HeartBeat));
            }
            if buf[0] == b'\r' && buf.len() == 1 {
                // Could be the start of a "\r\n" heart-beat.
                return Ok(None);
            }
            self.state = State::Head { pos: 0, lines: 0 };
        }

        if let State::Head { pos, lines } = self.state {
            if buf.len() < pos {
                return Err(buffer_shrank());
            }
            match self.scan_head(buf, pos, lines)? {
                HeadScan::Incomplete { pos, lines } => {
                    self.state = State::Head { pos, lines };
                    return Ok(None);
                }
                HeadScan::Done {
                    text_end,
                    header_end,
                } => {
                    let pending = self.parse_head(&buf[..text_end], header_end)?;
                    self.state = State::Body(pending);
                }
            }
        }

        let State::Body(pending) = &mut self.state else {
            return Ok(None);
        };
        let header_end = pending.header_end;
        if buf.len() < pending.scanned {
            return Err(buffer_shrank());
        }
        let limit = self.limits.max_frame_size;
        let body_end = match pending.content_length {
            Some(len) => {
                let body_end = header_end
                    .checked_add(len)
                    .filter(|e| *e < usize::MAX)
                    .ok_or(StompError::FrameTooLarge { size: len, limit })?;
                if buf.len() <= body_end {
                    let missing = body_end + 1 - buf.len();
                    buf.reserve(missing.min(MAX_RESERVE));
                    return Ok(None);
                }
                if buf[body_end] != 0 {
                    return Err(StompError::MissingNul);
                }
                body_end
            }
            None => match memchr(0, &buf[pending.scanned..]) {
                Some(off) => {
                    let body_end = pending.scanned + off;
                    if body_end - header_end > limit {
                        return Err(StompError::FrameTooLarge {
                            size: body_end - header_end,
                            limit,
                        });
                    }
                    body_end
                }
                None => {
                    pending.scanned = buf.len();
                    let size = buf.len() - header_end;
                    if size > limit {
                        return Err(StompError::FrameTooLarge { size, limit });
                    }
                    return Ok(None);
                }
            },
        };

        let State::Body(pending) = std::mem::replace(&mut self.state, State::Idle) else {
            return Ok(None);
        };
        let raw = buf.split_to(body_end + 1).freeze();
        let frame = Frame {
            command: pending.command,
            headers: pending.headers,
            body: raw.slice(header_end..body_end),
        };
        tracing::debug!(
            command = %frame.command,
            headers = frame.headers.len(),
            body_len = frame.body.len(),
            "stomp frame decoded"
        );
        Ok(Some(Item::Frame(frame)))
    }

    /// Looks for the blank line ending the header section, resuming at `pos`.
    fn scan_head(
        &self,
        buf: &[u8],
        mut pos: usize,
        mut lines: usize,
    ) -> Result<HeadScan, StompError> {
        let limit = self.limits.max_header_size;
        loop {
            let Some(off) = memchr2(b'\n', 0, &buf[pos..]) else {
                if buf.len() > limit {
                    return Err(StompError::HeaderTooLarge { limit });
                }
                return Ok(HeadScan::Incomplete {
                    pos: buf.len(),
                    lines,
                });
            };
            let i = pos + off;
            if i > limit {
                return Err(StompError::HeaderTooLarge { limit });
            }
            if buf[i] == 0 {
                let start = memchr::memrchr(b'\n', &buf[..i]).map_or(0, |s| s + 1);
                let line = String::from_utf8_lossy(&buf[start..=i]);
                return Err(StompError::MalformedHeader(truncate(&line, 256)));
            }
            match buf.get(i + 1) {
                None => return Ok(HeadScan::Incomplete { pos: i, lines }),
                Some(b'\n') => {
                    return Ok(HeadScan::Done {
                        text_end: i,
                        header_end: i + 2,
                    })
                }
                Some(b'\r') => match buf.get(i + 2) {
                    None => return Ok(HeadScan::Incomplete { pos: i, lines }),
                    Some(b'\n') => {
                        return Ok(HeadScan::Done {
                            text_end: i,
                            header_end: i + 3,
                        })
                    }
                    Some(_) => {}
                },
                Some(_) => {}
            }
            // The newline at `i` ends the command line or a header line; a header follows.
            lines += 1;
            if lines > self.limits.max_headers {
                return Err(StompError::TooManyHeaders {
                    limit: self.limits.max_headers,
                });
            }
            pos = i + 1;
        }
    }

    /// Parses the command line and header lines (`text` excludes the final EOL).
    fn parse_head(&self, text: &[u8], header_end: usize) -> Result<Pending, StompError> {
        let mut lines = text.split(|b| *b == b'\n').map(strip_cr);
        let command_line = lines.next().unwrap_or_default();
        let command = Command::parse(command_line.trim_ascii()).ok_or_else(|| {
            StompError::UnknownCommand(truncate(&String::from_utf8_lossy(command_line), 64))
        })?;
        let version = if command.is_escape_exempt() {
            Version::V1_0
        } else {
            self.version
        };
        let mut headers = Vec::new();
        for line in lines {
            let Some(colon) = memchr(b':', line) else {
                return Err(StompError::MalformedHeader(truncate(
                    &String::from_utf8_lossy(line),
                    256,
                )));
            };
            let name = std::str::from_utf8(&line[..colon]).map_err(|_| StompError::InvalidUtf8)?;
            let value =
                std::str::from_utf8(&line[colon + 1..]).map_err(|_| StompError::InvalidUtf8)?;
            headers.push((
                unescape(name, version)?.into_owned(),
                unescape(value, version)?.into_owned(),
            ));
        }
        let content_length = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .map(|(_, v)| parse_content_length(v, self.limits.max_frame_size))
            .transpose()?;
        Ok(Pending {
            command,
            headers,
            header_end,
            content_length,
            scanned: header_end,
        })
    }

    fn encode_frame(&self, frame: &Frame, dst: &mut BytesMut) {
        let version = if frame.command.is_escape_exempt() {
            Version::V1_0
        } else {
            self.version
        };
        let headers_len: usize = frame
            .headers
            .iter()
            .map(|(n, v)| n.len() + v.len() + 2)
            .sum();
        dst.reserve(frame.command.as_str().len() + headers_len + frame.body.len() + 3);
        dst.put_slice(frame.command.as_str().as_bytes());
        dst.put_u8(b'\n');
        for (name, value) in &frame.headers {
            escape_into(name, version, dst);
            dst.put_u8(b':');
            escape_into(value, version, dst);
            dst.put_u8(b'\n');
        }
        dst.put_u8(b'\n');
        dst.put_slice(&frame.body);
        dst.put_u8(0);
        tracing::debug!(
            command = %frame.command,
            headers = frame.headers.len(),
            body_len = frame.body.len(),
            "stomp frame encoded"
        );
    }
}

impl Default for StompCodec {
    fn default() -> StompCodec {
        StompCodec::new(Limits::default())
    }
}

/// The caller removed bytes we had already scanned (API misuse, not peer input).
fn buffer_shrank() -> StompError {
    StompError::Io(std::io::Error::other(
        "read buffer shrank under a partially decoded frame",
    ))
}

/// Length of the run of `\n` / `\r\n` at the start of `buf`.
fn eol_run(buf: &[u8]) -> usize {
    let mut i = 0;
    loop {
        match buf.get(i) {
            Some(b'\n') => i += 1,
            Some(b'\r') if buf.get(i + 1) == Some(&b'\n') => i += 2,
            _ => return i,
        }
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn parse_content_length(value: &str, limit: usize) -> Result<usize, StompError> {
    let digits = value.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(StompError::InvalidContentLength(truncate(value, 64)));
    }
    let size = digits.bytes().fold(0usize, |acc, b| {
        acc.saturating_mul(10).saturating_add(usize::from(b - b'0'))
    });
    if size > limit {
        return Err(StompError::FrameTooLarge { size, limit });
    }
    Ok(size)
}

impl Decoder for StompCodec {
    type Item = Item;
    type Error = StompError;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Item>, StompError> {
        let result = self.decode_inner(buf);
        if let Err(e) = &result {
            tracing::debug!(error = %e, "stomp decode error");
            self.state = State::Idle;
        }
        result
    }
}

impl Encoder<Item> for StompCodec {
    type Error = StompError;

    fn encode(&mut self, item: Item, dst: &mut BytesMut) -> Result<(), StompError> {
        match item {
            Item::Frame(frame) => self.encode_frame(&frame, dst),
            Item::HeartBeat => {
                tracing::trace!("stomp heart-beat sent");
                dst.put_u8(b'\n');
            }
        }
        Ok(())
    }
}

impl Encoder<Frame> for StompCodec {
    type Error = StompError;

    fn encode(&mut self, frame: Frame, dst: &mut BytesMut) -> Result<(), StompError> {
        self.encode_frame(&frame, dst);
        Ok(())
    }
}

impl Encoder<&Frame> for StompCodec {
    type Error = StompError;

    fn encode(&mut self, frame: &Frame, dst: &mut BytesMut) -> Result<(), StompError> {
        self.encode_frame(frame, dst);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn codec(v: Version) -> StompCodec {
        let mut c = StompCodec::new(Limits::default());
        c.set_version(v);
        c
    }

    /// Decodes everything in `input`; returns the items, or the first error.
    fn decode_all(c: &mut StompCodec, input: &[u8]) -> Result<Vec<Item>, StompError> {
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        while let Some(item) = c.decode(&mut buf)? {
            out.push(item);
        }
        Ok(out)
    }

    fn one_frame(v: Version, input: &[u8]) -> Result<Frame, StompError> {
        let items = decode_all(&mut codec(v), input)?;
        let frames: Vec<Frame> = items
            .into_iter()
            .filter_map(|i| match i {
                Item::Frame(f) => Some(f),
                Item::HeartBeat => None,
            })
            .collect();
        assert_eq!(frames.len(), 1, "{frames:?}");
        Ok(frames.into_iter().next().unwrap())
    }

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    fn encode(c: &mut StompCodec, f: Frame) -> Vec<u8> {
        let mut dst = BytesMut::new();
        c.encode(f, &mut dst).unwrap();
        dst.to_vec()
    }

    const ALL: [Version; 3] = [Version::V1_0, Version::V1_1, Version::V1_2];

    #[test]
    fn simple_frame() {
        for v in ALL {
            let f = one_frame(v, b"SEND\ndestination:/queue/a\n\nhello\0").unwrap();
            assert_eq!(f.command, Command::Send);
            assert_eq!(f.headers, h(&[("destination", "/queue/a")]));
            assert_eq!(f.body, Bytes::from_static(b"hello"));
        }
    }

    #[test]
    fn no_headers_no_body() {
        let f = one_frame(Version::V1_2, b"DISCONNECT\n\n\0").unwrap();
        assert_eq!(f, Frame::new(Command::Disconnect));
    }

    #[test]
    fn crlf_accepted_in_all_versions() {
        for v in ALL {
            let f = one_frame(v, b"SEND\r\na:1\r\nb:2\r\n\r\nbody\0").unwrap();
            assert_eq!(f.headers, h(&[("a", "1"), ("b", "2")]));
            assert_eq!(f.body, Bytes::from_static(b"body"));
            let f = one_frame(v, b"SEND\r\n\r\n\0").unwrap();
            assert!(f.headers.is_empty());
        }
    }

    #[test]
    fn heart_beats_between_frames() {
        let mut c = codec(Version::V1_2);
        let items = decode_all(&mut c, b"\n\r\n\nSEND\n\n\0\nMESSAGE\n\nx\0\r\n").unwrap();
        assert_eq!(items.len(), 5);
        assert_eq!(items[0], Item::HeartBeat);
        assert!(matches!(&items[1], Item::Frame(f) if f.command == Command::Send));
        assert_eq!(items[2], Item::HeartBeat);
        assert!(matches!(&items[3], Item::Frame(f) if f.command == Command::Message));
        assert_eq!(items[4], Item::HeartBeat);
    }

    #[test]
    fn lone_cr_waits_for_lf() {
        let mut c = codec(Version::V1_2);
        let mut buf = BytesMut::from(&b"\r"[..]);
        assert_eq!(c.decode(&mut buf).unwrap(), None);
        buf.extend_from_slice(b"\n");
        assert_eq!(c.decode(&mut buf).unwrap(), Some(Item::HeartBeat));
        assert!(buf.is_empty());
    }

    #[test]
    fn header_split_at_first_colon() {
        let f = one_frame(Version::V1_0, b"SEND\nurl:http://x:80/\nempty:\n\n\0").unwrap();
        assert_eq!(f.headers, h(&[("url", "http://x:80/"), ("empty", "")]));
    }

    #[test]
    fn escaping_v10_is_verbatim() {
        let f = one_frame(Version::V1_0, b"SEND\na\\cb:x\\ny\\t\n\n\0").unwrap();
        assert_eq!(f.headers, h(&[("a\\cb", "x\\ny\\t")]));
    }

    #[test]
    fn escaping_v11() {
        let f = one_frame(Version::V1_1, b"SEND\na\\cb:x\\ny\\\\z\n\n\0").unwrap();
        assert_eq!(f.headers, h(&[("a:b", "x\ny\\z")]));
        assert!(matches!(
            one_frame(Version::V1_1, b"SEND\na:x\\ry\n\n\0"),
            Err(StompError::InvalidEscape(_))
        ));
    }

    #[test]
    fn escaping_v12() {
        let f = one_frame(Version::V1_2, b"SEND\na:x\\ry\\c\n\n\0").unwrap();
        assert_eq!(f.headers, h(&[("a", "x\ry:")]));
        for bad in [
            &b"SEND\na:\\t\n\n\0"[..],
            b"SEND\na\\:b\n\n\0",
            b"SEND\na:b\\\n\n\0",
        ] {
            assert!(matches!(
                one_frame(Version::V1_2, bad),
                Err(StompError::InvalidEscape(_))
            ));
        }
    }

    #[test]
    fn connect_frames_are_never_unescaped() {
        for cmd in ["CONNECT", "STOMP", "CONNECTED"] {
            let input = format!("{cmd}\npasscode:a\\tb\\c\n\n\0");
            let f = one_frame(Version::V1_2, input.as_bytes()).unwrap();
            assert_eq!(f.headers, h(&[("passcode", "a\\tb\\c")]));
        }
    }

    #[test]
    fn connect_frames_are_never_escaped() {
        let mut c = codec(Version::V1_2);
        for cmd in [Command::Connect, Command::Stomp, Command::Connected] {
            let out = encode(&mut c, Frame::new(cmd).with_header("x", "a\\b:c"));
            let expected = format!("{}\nx:a\\b:c\n\n\0", cmd.as_str());
            assert_eq!(out, expected.as_bytes());
        }
    }

    #[test]
    fn encoding_escapes_per_version() {
        let f = Frame::new(Command::Message).with_header("k:\\", "v\nw\r");
        assert_eq!(
            encode(&mut codec(Version::V1_0), f.clone()),
            b"MESSAGE\nk:\\:v\nw\r\n\n\0"
        );
        assert_eq!(
            encode(&mut codec(Version::V1_1), f.clone()),
            b"MESSAGE\nk\\c\\\\:v\\nw\r\n\n\0"
        );
        assert_eq!(
            encode(&mut codec(Version::V1_2), f),
            b"MESSAGE\nk\\c\\\\:v\\nw\\r\n\n\0"
        );
    }

    #[test]
    fn encode_body_and_heart_beat() {
        let mut c = codec(Version::V1_2);
        let mut f = Frame::new(Command::Send)
            .with_header("destination", "/q")
            .with_body(&b"a\0b"[..]);
        f.set_content_length();
        let mut dst = BytesMut::new();
        c.encode(&f, &mut dst).unwrap();
        c.encode(Item::HeartBeat, &mut dst).unwrap();
        c.encode(Item::Frame(f.clone()), &mut dst).unwrap();
        let single = b"SEND\ndestination:/q\ncontent-length:3\n\na\0b\0";
        let mut expected = single.to_vec();
        expected.push(b'\n');
        expected.extend_from_slice(single);
        assert_eq!(&dst[..], &expected[..]);
        let items = decode_all(&mut c, &dst).unwrap();
        assert_eq!(
            items,
            vec![Item::Frame(f.clone()), Item::HeartBeat, Item::Frame(f)]
        );
    }

    #[test]
    fn nul_in_body_with_content_length() {
        let f = one_frame(Version::V1_2, b"SEND\ncontent-length:5\n\na\0b\0c\0").unwrap();
        assert_eq!(f.body, Bytes::from_static(b"a\0b\0c"));
        // Whitespace around the number is tolerated, as ActiveMQ does.
        let f = one_frame(Version::V1_2, b"SEND\ncontent-length: 0 \n\n\0").unwrap();
        assert!(f.body.is_empty());
    }

    #[test]
    fn repeated_headers_first_wins() {
        let f = one_frame(
            Version::V1_2,
            b"SEND\nfoo:1\nfoo:2\ncontent-length:2\ncontent-length:9\n\nab\0",
        )
        .unwrap();
        assert_eq!(f.header("foo"), Some("1"));
        assert_eq!(f.headers.len(), 4, "all occurrences are kept in order");
        assert_eq!(f.body, Bytes::from_static(b"ab"));
    }

    #[test]
    fn body_is_not_copied() {
        let mut c = codec(Version::V1_2);
        let mut buf = BytesMut::from(&b"SEND\n\n0123456789\0"[..]);
        let start = buf.as_ptr() as usize;
        let end = start + buf.len();
        let Some(Item::Frame(f)) = c.decode(&mut buf).unwrap() else {
            panic!("no frame")
        };
        let p = f.body.as_ptr() as usize;
        assert!(p >= start && p + f.body.len() <= end);
    }

    #[test]
    fn unknown_command() {
        assert!(matches!(
            one_frame(Version::V1_2, b"FOO\n\n\0"),
            Err(StompError::UnknownCommand(c)) if c == "FOO"
        ));
        assert!(matches!(
            one_frame(Version::V1_2, b"send\n\n\0"),
            Err(StompError::UnknownCommand(_))
        ));
        // A stray NUL where a command should be.
        assert!(matches!(
            one_frame(Version::V1_2, b"\0\n\n"),
            Err(StompError::MalformedHeader(_))
        ));
    }

    #[test]
    fn command_line_whitespace_is_trimmed() {
        let f = one_frame(Version::V1_2, b"SEND \n\n\0").unwrap();
        assert_eq!(f.command, Command::Send);
    }

    #[test]
    fn malformed_header() {
        assert!(matches!(
            one_frame(Version::V1_2, b"SEND\nnocolon\n\n\0"),
            Err(StompError::MalformedHeader(l)) if l == "nocolon"
        ));
        // NUL before the blank line.
        assert!(matches!(
            one_frame(Version::V1_2, b"SEND\na:b\0"),
            Err(StompError::MalformedHeader(_))
        ));
    }

    #[test]
    fn invalid_utf8() {
        for input in [
            &b"SEND\n\xff:v\n\n\0"[..],
            b"SEND\nn:\xc3\x28\n\n\0",
            b"CONNECT\nlogin:\xfe\n\n\0",
        ] {
            assert!(matches!(
                one_frame(Version::V1_2, input),
                Err(StompError::InvalidUtf8)
            ));
        }
    }

    #[test]
    fn invalid_content_length() {
        for v in ["-1", "abc", "", "1.5", "0x10", "+"] {
            let input = format!("SEND\ncontent-length:{v}\n\n\0");
            assert!(
                matches!(
                    one_frame(Version::V1_2, input.as_bytes()),
                    Err(StompError::InvalidContentLength(_))
                ),
                "{v:?}"
            );
        }
    }

    #[test]
    fn missing_nul_after_content_length_body() {
        assert!(matches!(
            one_frame(Version::V1_2, b"SEND\ncontent-length:2\n\nabc\0"),
            Err(StompError::MissingNul)
        ));
    }

    #[test]
    fn huge_content_length_fails_before_allocating() {
        let limits = Limits {
            max_frame_size: 1024 * 1024,
            ..Limits::default()
        };
        for len in ["99999999999", "99999999999999999999999999999999"] {
            let mut c = StompCodec::new(limits);
            let header = format!("SEND\ncontent-length:{len}\n\n");
            let mut buf = BytesMut::from(header.as_bytes());
            let cap = buf.capacity();
            match c.decode(&mut buf) {
                Err(StompError::FrameTooLarge { size, limit }) => {
                    assert!(size > limit);
                    assert_eq!(limit, 1024 * 1024);
                }
                other => panic!("{other:?}"),
            }
            assert_eq!(buf.capacity(), cap, "nothing reserved");
        }
    }

    #[test]
    fn content_length_at_limit_is_fine_and_reserve_is_capped() {
        let limits = Limits {
            max_frame_size: 4 * 1024 * 1024,
            ..Limits::default()
        };
        let mut c = StompCodec::new(limits);
        let mut buf = BytesMut::from(&b"SEND\ncontent-length:4194304\n\n"[..]);
        assert_eq!(c.decode(&mut buf).unwrap(), None);
        assert!(buf.capacity() <= buf.len() + 2 * MAX_RESERVE);
        buf.extend_from_slice(&vec![7u8; 4 * 1024 * 1024]);
        buf.extend_from_slice(b"\0");
        let Some(Item::Frame(f)) = c.decode(&mut buf).unwrap() else {
            panic!()
        };
        assert_eq!(f.body.len(), 4 * 1024 * 1024);
        let mut c = StompCodec::new(limits);
        assert!(matches!(
            c.decode(&mut BytesMut::from(
                &b"SEND\ncontent-length:4194305\n\n"[..]
            )),
            Err(StompError::FrameTooLarge { size: 4194305, .. })
        ));
    }

    #[test]
    fn body_without_content_length_over_limit() {
        let limits = Limits {
            max_frame_size: 10,
            ..Limits::default()
        };
        // Incomplete and already over the limit.
        let mut c = StompCodec::new(limits);
        let mut buf = BytesMut::from(&b"SEND\n\n0123456789A"[..]);
        assert!(matches!(
            c.decode(&mut buf),
            Err(StompError::FrameTooLarge {
                size: 11,
                limit: 10
            })
        ));
        // Complete but over the limit.
        let mut c = StompCodec::new(limits);
        assert!(matches!(
            decode_all(&mut c, b"SEND\n\n0123456789A\0"),
            Err(StompError::FrameTooLarge {
                size: 11,
                limit: 10
            })
        ));
        // Exactly at the limit.
        let mut c = StompCodec::new(limits);
        assert_eq!(
            decode_all(&mut c, b"SEND\n\n0123456789\0").unwrap().len(),
            1
        );
    }

    #[test]
    fn header_too_large() {
        let limits = Limits {
            max_header_size: 16,
            ..Limits::default()
        };
        // Exactly 16 bytes of command + headers is fine.
        let mut c = StompCodec::new(limits);
        assert_eq!(
            decode_all(&mut c, b"SEND\na:23456789a\n\n\0")
                .unwrap()
                .len(),
            1
        );
        let mut c = StompCodec::new(limits);
        assert!(matches!(
            decode_all(&mut c, b"SEND\na:23456789ab\n\n\0"),
            Err(StompError::HeaderTooLarge { limit: 16 })
        ));
        // Incomplete: fails as soon as the limit is passed, without an EOL.
        let mut c = StompCodec::new(limits);
        let mut buf = BytesMut::from(&b"SEND\nxxxxxxxxxxxxxxxxxxxxx"[..]);
        assert!(matches!(
            c.decode(&mut buf),
            Err(StompError::HeaderTooLarge { limit: 16 })
        ));
    }

    #[test]
    fn too_many_headers() {
        let limits = Limits {
            max_headers: 2,
            ..Limits::default()
        };
        let mut c = StompCodec::new(limits);
        assert_eq!(
            decode_all(&mut c, b"SEND\na:1\nb:2\n\n\0").unwrap().len(),
            1
        );
        let mut c = StompCodec::new(limits);
        assert!(matches!(
            decode_all(&mut c, b"SEND\na:1\nb:2\nc:3\n\n\0"),
            Err(StompError::TooManyHeaders { limit: 2 })
        ));
        // Detected while the header section is still incomplete.
        let mut c = StompCodec::new(limits);
        let mut buf = BytesMut::from(&b"SEND\na:1\nb:2\nc:3\nd"[..]);
        assert!(matches!(
            c.decode(&mut buf),
            Err(StompError::TooManyHeaders { limit: 2 })
        ));
    }

    #[test]
    fn eof_with_partial_frame_is_io_error() {
        let mut c = codec(Version::V1_2);
        let mut buf = BytesMut::from(&b"SEND\n\npartial"[..]);
        assert!(matches!(c.decode_eof(&mut buf), Err(StompError::Io(_))));
    }

    #[test]
    fn partial_body_scan_resumes() {
        let mut c = codec(Version::V1_2);
        let mut buf = BytesMut::from(&b"SEND\n\nabc"[..]);
        assert_eq!(c.decode(&mut buf).unwrap(), None);
        assert!(matches!(&c.state, State::Body(p) if p.scanned == 9));
        buf.extend_from_slice(b"def");
        assert_eq!(c.decode(&mut buf).unwrap(), None);
        assert!(matches!(&c.state, State::Body(p) if p.scanned == 12));
        buf.extend_from_slice(b"\0");
        let Some(Item::Frame(f)) = c.decode(&mut buf).unwrap() else {
            panic!()
        };
        assert_eq!(f.body, Bytes::from_static(b"abcdef"));
        // Header scanning resumes too.
        let mut buf = BytesMut::from(&b"SEND\na:1"[..]);
        assert_eq!(c.decode(&mut buf).unwrap(), None);
        assert!(matches!(c.state, State::Head { pos: 8, lines: 1 }));
    }

    #[test]
    fn every_split_point_decodes_identically() {
        let input: &[u8] = b"\r\nCONNECT\r\naccept-version:1.2\r\nhost:h\r\n\r\n\0\n\
            SEND\ndestination:/queue/a\\cb\ncontent-length:4\n\n\0\n\r\0\0\n\
            MESSAGE\nx:y\n\nbody\0\r\n\nACK\r\nid:1\n\n\0";
        for v in ALL {
            let whole = decode_all(&mut codec(v), input);
            let Ok(whole) = whole else {
                // 1.0 keeps "\\c" verbatim; every version must decode this input.
                panic!("{v:?}: {whole:?}");
            };
            assert_eq!(
                whole.iter().filter(|i| matches!(i, Item::Frame(_))).count(),
                4
            );
            for split in 0..=input.len() {
                let mut c = codec(v);
                let mut buf = BytesMut::from(&input[..split]);
                let mut items = Vec::new();
                while let Some(i) = c.decode(&mut buf).unwrap() {
                    items.push(i);
                }
                buf.extend_from_slice(&input[split..]);
                while let Some(i) = c.decode(&mut buf).unwrap() {
                    items.push(i);
                }
                assert!(buf.is_empty());
                assert_eq!(
                    without_heart_beats(&items),
                    without_heart_beats(&whole),
                    "{v:?} split at {split}"
                );
            }
            // Byte by byte.
            let mut c = codec(v);
            let mut buf = BytesMut::new();
            let mut items = Vec::new();
            for b in input {
                buf.extend_from_slice(&[*b]);
                while let Some(i) = c.decode(&mut buf).unwrap() {
                    items.push(i);
                }
            }
            assert_eq!(without_heart_beats(&items), without_heart_beats(&whole));
        }
    }

    fn without_heart_beats(items: &[Item]) -> Vec<Item> {
        items
            .iter()
            .filter(|i| !matches!(i, Item::HeartBeat))
            .cloned()
            .collect()
    }

    #[test]
    fn shrunk_buffer_is_an_error_not_a_panic() {
        let mut c = codec(Version::V1_2);
        let mut buf = BytesMut::from(&b"SEND\n\nabc"[..]);
        assert_eq!(c.decode(&mut buf).unwrap(), None);
        buf.clear();
        assert!(matches!(c.decode(&mut buf), Err(StompError::Io(_))));
        let mut buf = BytesMut::from(&b"SEND\na:b"[..]);
        assert_eq!(c.decode(&mut buf).unwrap(), None);
        buf.truncate(2);
        assert!(matches!(c.decode(&mut buf), Err(StompError::Io(_))));
    }

    #[test]
    fn version_accessors() {
        let mut c = StompCodec::default();
        assert_eq!(c.version(), Version::V1_0);
        c.set_version(Version::V1_1);
        assert_eq!(c.version(), Version::V1_1);
        assert_eq!(c.limits().max_headers, 1000);
        let l = Limits::default();
        assert_eq!(l.max_frame_size, 100 * 1024 * 1024);
        assert_eq!(l.max_header_size, 64 * 1024);
    }
}
