//! Size limits and malformed input: every peer-sent length is checked before allocation and
//! every failure is a typed error, never a panic.

use bytes::{BufMut, Bytes, BytesMut};
use openwire::*;
use tokio_util::codec::{Decoder, Encoder};

const MIB: usize = 1024 * 1024;

/// An announced 2 GiB frame with a 1 MiB limit errors on the 4-byte prefix alone, without
/// reserving memory for it.
#[test]
fn announced_two_gib_frame_errors_immediately() {
    let mut codec = OpenWireCodec::new(MIB);
    let mut buf = BytesMut::with_capacity(16);
    buf.put_u32(0x7fff_ffff);
    let err = codec.decode(&mut buf).unwrap_err();
    assert!(matches!(
        err,
        OpenWireError::FrameTooLarge {
            size: 0x7fff_ffff,
            max: MIB
        }
    ));
    assert!(
        buf.capacity() < 1024,
        "no allocation for the announced size"
    );
}

#[test]
fn negative_and_zero_sizes_are_rejected() {
    let mut codec = OpenWireCodec::new(MIB);
    for prefix in [0x8000_0000u32, 0xffff_ffff, 0] {
        let mut buf = BytesMut::new();
        buf.put_u32(prefix);
        assert!(matches!(
            codec.decode(&mut buf),
            Err(OpenWireError::InvalidFrameSize { .. })
        ));
    }
}

#[test]
fn partial_frames_wait_for_more() {
    let mut codec = OpenWireCodec::new(MIB);
    let mut buf = BytesMut::from(&[0u8, 0, 0][..]);
    assert!(codec.decode(&mut buf).unwrap().is_none());
    buf.put_u8(6);
    buf.put_slice(&[10, 0, 0, 0]);
    assert!(codec.decode(&mut buf).unwrap().is_none());
    buf.put_slice(&[0, 1]);
    let cmd = codec.decode(&mut buf).unwrap().unwrap();
    assert_eq!(cmd.name(), "KeepAliveInfo");
    assert!(cmd.response_required());
}

/// A string whose announced length is larger than the rest of the frame.
#[test]
fn string_longer_than_frame_errors() {
    // ConnectionInfo: header, connectionId object (120), string not-null, length 65535, "ab".
    let body = [3, 0, 0, 0, 1, 1, 1, 120, 1, 0xff, 0xff, b'a', b'b'];
    let err = Command::decode(Bytes::copy_from_slice(&body), false).unwrap_err();
    let OpenWireError::Command { source, .. } = err else {
        panic!("{err}")
    };
    assert!(
        matches!(
            *source,
            OpenWireError::LengthOutOfRange { length: 65535, .. }
        ),
        "{source}"
    );
}

#[test]
fn byte_array_and_array_counts_beyond_frame_error() {
    // ConnectionControl: header, 5 bools, 2 null strings, bool, token length 0x7fffffff.
    let body = [
        18, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff,
    ];
    assert!(Command::decode(Bytes::copy_from_slice(&body), false).is_err());
    // Negative length.
    let body = [
        18, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff,
    ];
    assert!(Command::decode(Bytes::copy_from_slice(&body), false).is_err());
    // ProducerInfo with brokerPath count 32767 and nothing after.
    let body = [6, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 0xff];
    let err = Command::decode(Bytes::copy_from_slice(&body), false).unwrap_err();
    assert!(err.to_string().contains("array length 32767"), "{err}");
}

#[test]
fn stack_trace_count_beyond_frame_errors() {
    // ExceptionResponse, stack traces on: class null, message null, 30000 elements.
    let body = [31, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0x75, 0x30];
    assert!(Command::decode(Bytes::copy_from_slice(&body), true).is_err());
}

#[test]
fn unknown_type_code_is_an_error_not_a_panic() {
    for code in [0u8, 13, 35, 40, 60, 90, 91, 92, 99, 125, 255] {
        let body = Bytes::from(vec![code, 0, 0, 0, 0, 0]);
        assert!(Command::decode(body, false).is_err(), "type {code}");
    }
}

/// Messages nesting messages (advisory payloads) are capped at `MAX_NESTING`.
#[test]
fn nesting_is_capped() {
    let mut m = Message::new(MessageKind::Message);
    for _ in 0..(MAX_NESTING + 5) {
        let mut outer = Message::new(MessageKind::Message);
        outer.data_structure = Some(DataStructure::Command(Box::new(Command::Message(
            Box::new(m),
        ))));
        m = outer;
    }
    let mut buf = BytesMut::new();
    Command::Message(Box::new(m))
        .encode(&mut buf, false)
        .unwrap();
    let err = Command::decode(buf.freeze(), false).unwrap_err();
    assert!(err.to_string().contains("nesting deeper"), "{err}");
}

#[test]
fn encoding_over_the_limit_errors_and_leaves_the_buffer_alone() {
    let mut codec = OpenWireCodec::new(1024);
    let mut m = Message::new(MessageKind::Bytes);
    m.content = Some(Bytes::from(vec![0u8; 4096]));
    let mut dst = BytesMut::from(&b"xy"[..]);
    let err = codec
        .encode(Command::Message(Box::new(m)), &mut dst)
        .unwrap_err();
    assert!(matches!(
        err,
        OpenWireError::FrameTooLarge { max: 1024, .. }
    ));
    assert_eq!(&dst[..], b"xy");
}

#[test]
fn strings_longer_than_65535_bytes_cannot_be_encoded() {
    let info = ConnectionInfo {
        client_id: Some("é".repeat(40_000)),
        ..ConnectionInfo::default()
    };
    let mut buf = BytesMut::new();
    let err = Command::ConnectionInfo(Box::new(info))
        .encode(&mut buf, false)
        .unwrap_err();
    assert!(matches!(
        err,
        OpenWireError::TooLongToEncode { length: 80_000, .. }
    ));
}

/// Every strict prefix of every captured frame is a clean error.
#[test]
fn every_truncation_of_captured_frames_errors() {
    let dir = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/openwire-captures"
    ));
    let Ok(text) = std::fs::read_to_string(dir.join("basic.jsonl")) else {
        return;
    };
    let mut checked = 0;
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let Some(hex) = v.get("hex").and_then(|h| h.as_str()) else {
            continue;
        };
        let body: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        for cut in 0..body.len() {
            assert!(
                Command::decode(Bytes::copy_from_slice(&body[..cut]), true).is_err(),
                "prefix {cut} of {hex}"
            );
        }
        checked += 1;
    }
    assert!(checked > 40);
}
