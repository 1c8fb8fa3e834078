//! Fuzz the STOMP decoder: arbitrary bytes, every protocol version, default and tiny
//! limits, whole-buffer and two-chunk feeding. Must never panic or hang.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use stomp::{Limits, StompCodec, Version};
use tokio_util::codec::Decoder;

fn run(data: &[u8], version: Version, limits: Limits, split: usize) {
    let mut codec = StompCodec::new(limits);
    codec.set_version(version);
    let split = split.min(data.len());
    let mut buf = BytesMut::from(&data[..split]);
    // Every successful decode consumes input or changes state, so this terminates.
    loop {
        match codec.decode(&mut buf) {
            Ok(Some(_)) => continue,
            Ok(None) => break,
            Err(_) => return,
        }
    }
    buf.extend_from_slice(&data[split..]);
    loop {
        match codec.decode_eof(&mut buf) {
            Ok(Some(_)) => continue,
            Ok(None) | Err(_) => return,
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let tiny = Limits {
        max_frame_size: 64,
        max_header_size: 64,
        max_headers: 4,
    };
    // The first byte (when present) picks a split point for the two-chunk run.
    let split = data.first().map_or(0, |b| usize::from(*b));
    for version in [Version::V1_0, Version::V1_1, Version::V1_2] {
        for limits in [Limits::default(), tiny] {
            run(data, version, limits, data.len());
            run(data, version, limits, split);
        }
    }
});
