//! Property tests for the codec: no panics on arbitrary input, encode→decode round
//! trips, and independence from how the input is split.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use stomp::{Command, Frame, Item, Limits, StompCodec, StompError, Version};
use tokio_util::codec::{Decoder, Encoder};

const VERSIONS: [Version; 3] = [Version::V1_0, Version::V1_1, Version::V1_2];

fn codec(v: Version, limits: Limits) -> StompCodec {
    let mut c = StompCodec::new(limits);
    c.set_version(v);
    c
}

fn decode_all(c: &mut StompCodec, buf: &mut BytesMut) -> Result<Vec<Item>, StompError> {
    let mut out = Vec::new();
    while let Some(item) = c.decode(buf)? {
        out.push(item);
    }
    Ok(out)
}

fn frames_only(items: Vec<Item>) -> Vec<Frame> {
    items
        .into_iter()
        .filter_map(|i| match i {
            Item::Frame(f) => Some(f),
            Item::HeartBeat => None,
        })
        .collect()
}

/// Raw input biased towards STOMP structure.
fn stompish_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        prop::sample::select(vec![
            &b"SEND\n"[..],
            b"MESSAGE\r\n",
            b"CONNECT\n",
            b"\n",
            b"\r\n",
            b"\r",
            b":",
            b"\\",
            b"\\c",
            b"\\r",
            b"\0",
            b"content-length:",
            b"content-length:3\n",
            b"content-length:99999999999999999999\n",
            b"-1",
            b"7",
            b"a",
            b"\xff",
            b"\xc3\xa9",
        ])
        .prop_map(|s| s.to_vec()),
        prop::collection::vec(any::<u8>(), 0..8),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

fn small_limits() -> Limits {
    Limits {
        max_frame_size: 16,
        max_header_size: 32,
        max_headers: 3,
    }
}

/// Characters that stress escaping, mixed with arbitrary ones.
fn header_string() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            prop::sample::select(vec![':', '\n', '\\', '\r', 'c', 'n', 'r', ' ', 'é', '\0']),
            any::<char>(),
        ],
        0..10,
    )
    .prop_map(|v| v.into_iter().collect())
}

/// Removes what the given version/command cannot carry in a header.
fn representable(s: &str, v: Version, escaped: bool, is_name: bool) -> String {
    s.chars()
        .filter(|c| match c {
            '\0' => false,
            '\r' => escaped && v == Version::V1_2,
            '\n' => escaped,
            ':' => escaped || !is_name,
            _ => true,
        })
        .collect()
}

#[derive(Debug, Clone)]
struct RawFrame {
    command: Command,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    content_length: bool,
}

fn raw_frame() -> impl Strategy<Value = RawFrame> {
    (
        prop::sample::select(Command::ALL.to_vec()),
        prop::collection::vec((header_string(), header_string()), 0..6),
        prop::collection::vec(prop_oneof![Just(0u8), Just(b'\n'), any::<u8>()], 0..40),
        any::<bool>(),
    )
        .prop_map(|(command, headers, body, content_length)| RawFrame {
            command,
            headers,
            body,
            content_length,
        })
}

fn make_frame(raw: &RawFrame, v: Version) -> Frame {
    let escaped = v != Version::V1_0 && !raw.command.is_escape_exempt();
    let mut f = Frame::new(raw.command).with_body(Bytes::from(raw.body.clone()));
    for (n, val) in &raw.headers {
        let n = representable(n, v, escaped, true);
        if n == "content-length" {
            continue;
        }
        f.push_header(n, representable(val, v, escaped, false));
    }
    if raw.content_length || raw.body.contains(&0) {
        f.set_content_length();
    }
    f
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn decode_never_panics(data in stompish_bytes(), raw in prop::collection::vec(any::<u8>(), 0..256)) {
        for v in VERSIONS {
            for limits in [Limits::default(), small_limits()] {
                for input in [&data, &raw] {
                    let mut c = codec(v, limits);
                    let mut buf = BytesMut::from(&input[..]);
                    let _ = decode_all(&mut c, &mut buf);
                    let mut c = codec(v, limits);
                    let mut buf = BytesMut::from(&input[..]);
                    while let Ok(Some(_)) = c.decode_eof(&mut buf) {}
                }
            }
        }
    }

    #[test]
    fn encode_decode_round_trips(frames in prop::collection::vec(raw_frame(), 1..5), hb in any::<bool>()) {
        for v in VERSIONS {
            let mut c = codec(v, Limits::default());
            let expected: Vec<Frame> = frames.iter().map(|r| make_frame(r, v)).collect();
            let mut buf = BytesMut::new();
            for f in &expected {
                c.encode(f.clone(), &mut buf).unwrap();
                if hb {
                    c.encode(Item::HeartBeat, &mut buf).unwrap();
                }
            }
            let items = decode_all(&mut c, &mut buf).unwrap();
            prop_assert!(buf.is_empty());
            prop_assert_eq!(frames_only(items), expected);
        }
    }

    #[test]
    fn split_points_do_not_matter(
        frames in prop::collection::vec(raw_frame(), 1..4),
        mut splits in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        for v in VERSIONS {
            let mut c = codec(v, Limits::default());
            let mut wire = BytesMut::new();
            for f in frames.iter().map(|r| make_frame(r, v)) {
                c.encode(f, &mut wire).unwrap();
                c.encode(Item::HeartBeat, &mut wire).unwrap();
            }
            let wire = wire.freeze();
            let whole = frames_only(decode_all(&mut codec(v, Limits::default()), &mut BytesMut::from(&wire[..])).unwrap());
            let mut points: Vec<usize> = splits.iter_mut().map(|i| i.index(wire.len() + 1)).collect();
            points.sort_unstable();
            points.push(wire.len());
            let mut c = codec(v, Limits::default());
            let mut buf = BytesMut::new();
            let mut items = Vec::new();
            let mut from = 0;
            for p in points {
                buf.extend_from_slice(&wire[from..p]);
                from = p;
                items.extend(decode_all(&mut c, &mut buf).unwrap());
            }
            prop_assert!(buf.is_empty());
            prop_assert_eq!(frames_only(items), whole);
        }
    }
}
