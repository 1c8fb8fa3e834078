//! Fuzz the OpenWire decoder: arbitrary bytes as a framed stream (default and tiny frame
//! limits, StackTraceEnabled on and off, whole-buffer and two-chunk feeding) and as a bare frame
//! body. Must never panic or hang; whatever decodes must re-encode and decode to the same
//! command, and the body/property accessors must not panic either.
#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use openwire::{Command, OpenWireCodec, WireFormat};
use tokio_util::codec::Decoder;

/// Exercises a decoded command: accessors, negotiation, and the re-encode invariant.
fn check(cmd: &Command, stack_traces: bool) {
    match cmd {
        Command::Message(m) => {
            let _ = m.properties();
            let _ = m.text();
            let _ = m.map_body();
            let _ = m.stream_body();
        }
        Command::MessageDispatch(d) => {
            if let Some(m) = &d.message {
                let _ = m.properties();
                let _ = m.text();
            }
        }
        Command::WireFormatInfo(info) => {
            let _ = info.properties();
            let _ = WireFormat::broker_default().negotiate(info);
        }
        _ => {}
    }
    // Encoding may legitimately fail (a lenient decode can grow a string past 65535 bytes);
    // when it succeeds, the result must decode to the same command.
    let mut out = BytesMut::new();
    if cmd.encode(&mut out, stack_traces).is_ok() {
        match Command::decode(out.freeze(), stack_traces) {
            Ok(again) => assert_eq!(&again, cmd, "re-encoded command differs"),
            Err(e) => panic!("re-encoded {} does not decode: {e}", cmd.name()),
        }
    }
}

fn run_stream(data: &[u8], max_frame_size: usize, stack_traces: bool, split: usize) {
    let mut codec = OpenWireCodec::new(max_frame_size);
    codec.set_stack_trace_enabled(stack_traces);
    let split = split.min(data.len());
    let mut buf = BytesMut::from(&data[..split]);
    // Every Ok(Some) consumes a whole frame, so these loops terminate.
    loop {
        match codec.decode(&mut buf) {
            Ok(Some(cmd)) => check(&cmd, stack_traces),
            Ok(None) => break,
            Err(_) => return,
        }
    }
    buf.extend_from_slice(&data[split..]);
    loop {
        match codec.decode_eof(&mut buf) {
            Ok(Some(cmd)) => check(&cmd, stack_traces),
            Ok(None) | Err(_) => return,
        }
    }
}

fuzz_target!(|data: &[u8]| {
    // The first byte (when present) picks a split point for the two-chunk run.
    let split = data.first().map_or(0, |b| usize::from(*b));
    for stack_traces in [false, true] {
        for max in [openwire::DEFAULT_MAX_FRAME_SIZE, 256] {
            run_stream(data, max, stack_traces, data.len());
            run_stream(data, max, stack_traces, split);
        }
        // The input as one frame body (type byte first).
        if let Ok(cmd) = Command::decode(Bytes::copy_from_slice(data), stack_traces) {
            check(&cmd, stack_traces);
        }
    }
});
