//! Round-trip of every captured frame: decode → encode must reproduce the captured bytes.
//!
//! Corpus: `testdata/openwire-captures/*.jsonl (copied from shared/)` (notes Appendix D). `hex` is the frame
//! without its size prefix. In the real-broker captures StackTraceEnabled negotiated to true;
//! in the `mini-*` ones (test broker) to false — the codec is configured accordingly.

use std::path::{Path, PathBuf};

use bytes::{BufMut, Bytes, BytesMut};
use openwire::{Command, OpenWireCodec};
use tokio_util::codec::{Decoder, Encoder};

fn captures_dir() -> Option<PathBuf> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    [here.join("../../testdata/openwire-captures")]
        .into_iter()
        .find(|p| p.is_dir())
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// One capture file: its name and its frames as (direction, body).
type Capture = (String, Vec<(String, Vec<u8>)>);

fn load() -> Vec<Capture> {
    let Some(dir) = captures_dir() else {
        panic!("capture corpus not found");
    };
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let frames = std::fs::read_to_string(&p)
                .unwrap()
                .lines()
                .filter_map(|l| {
                    let v: serde_json::Value = serde_json::from_str(l).unwrap();
                    let hex = v.get("hex")?.as_str()?;
                    Some((v["dir"].as_str().unwrap_or("?").to_owned(), unhex(hex)))
                })
                .collect();
            (name, frames)
        })
        .collect()
}

/// Every frame of all 27 captures decodes and re-encodes to exactly the captured bytes, both
/// through `Command::decode/encode` and through the framed codec.
#[test]
fn every_captured_frame_round_trips_exactly() {
    let files = load();
    assert_eq!(files.len(), 27, "expected the 27 capture files");
    let mut total = 0;
    let mut failures = Vec::new();
    for (name, frames) in &files {
        let stack_traces = !name.starts_with("mini-");
        let mut ok = 0;
        for (i, (dir, body)) in frames.iter().enumerate() {
            let result = Command::decode(Bytes::from(body.clone()), stack_traces).and_then(|cmd| {
                let mut out = BytesMut::new();
                cmd.encode(&mut out, stack_traces)?;
                Ok((cmd, out))
            });
            match result {
                Ok((_, out)) if out[..] == body[..] => ok += 1,
                Ok((cmd, out)) => failures.push(format!(
                    "{name} frame {i} ({dir}, {}): re-encoded differs\n  want {}\n  got  {}",
                    cmd.name(),
                    hex(body),
                    hex(&out)
                )),
                Err(e) => failures.push(format!("{name} frame {i} ({dir}): {e}")),
            }

            // Through the codec: size prefix + body in, same bytes out.
            let mut codec = OpenWireCodec::default();
            codec.set_stack_trace_enabled(stack_traces);
            let mut wire = BytesMut::new();
            wire.put_u32(body.len() as u32);
            wire.put_slice(body);
            let framed = wire.clone();
            if let Ok(Some(cmd)) = codec.decode(&mut wire) {
                assert!(wire.is_empty());
                let mut out = BytesMut::new();
                codec.encode(&cmd, &mut out).unwrap();
                assert_eq!(out, framed, "{name} frame {i} through the codec");
            }
        }
        println!("{name:24} {ok:3}/{:3} frames round-trip", frames.len());
        total += frames.len();
    }
    println!("total {total} frames");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(total, 871);
}

/// Frames arriving split at every byte boundary decode to the same commands, with the
/// default read room and with a client's larger one (there before a read whenever the read
/// before it filled the buffer).
#[test]
fn byte_by_byte_stream_decodes_every_frame() {
    for (name, frames) in load().iter().filter(|(n, _)| n == "basic.jsonl") {
        let mut stream = BytesMut::new();
        for (_, body) in frames {
            stream.put_u32(body.len() as u32);
            stream.put_slice(body);
        }
        for chunk in [0, openwire::CLIENT_READ_CHUNK] {
            let mut codec = OpenWireCodec::default().with_read_chunk(chunk);
            codec.set_stack_trace_enabled(true);
            let mut buf = BytesMut::new();
            let mut decoded = 0;
            let mut full_reads = 0;
            for b in stream.iter() {
                buf.put_u8(*b);
                loop {
                    // The read that brought the last byte filled all the room it had.
                    let full = buf.len() == buf.capacity();
                    if codec.decode(&mut buf).unwrap().is_some() {
                        decoded += 1;
                        continue;
                    }
                    if full {
                        full_reads += 1;
                        let room = buf.capacity() - buf.len();
                        assert!(room >= chunk, "{name}: {room} bytes of room, want {chunk}");
                    }
                    break;
                }
            }
            assert!(full_reads > 0, "{name}: the buffer never filled");
            assert_eq!(decoded, frames.len(), "{name}");
            assert!(buf.is_empty());
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
