//! Property tests: decoding arbitrary or corrupted bytes never panics; generated messages
//! (properties of every primitive type, every message kind) survive encode → decode.

use bytes::{Bytes, BytesMut};
use openwire::*;
use proptest::prelude::*;
use tokio_util::codec::Decoder;

fn java_string() -> impl Strategy<Value = String> {
    // Includes NUL, 2/3-byte chars and supplementary characters (emoji).
    let ch = prop_oneof![
        Just('\0'),
        Just('😀'),
        Just('é'),
        Just('世'),
        any::<char>(),
        proptest::char::range('a', 'z'),
    ];
    prop::collection::vec(ch, 0..12).prop_map(String::from_iter)
}

fn opt_string() -> impl Strategy<Value = Option<String>> {
    prop::option::of(java_string())
}

fn scalar() -> impl Strategy<Value = PrimitiveValue> {
    prop_oneof![
        Just(PrimitiveValue::Null),
        any::<bool>().prop_map(PrimitiveValue::Boolean),
        any::<i8>().prop_map(PrimitiveValue::Byte),
        any::<u16>().prop_map(PrimitiveValue::Char),
        any::<i16>().prop_map(PrimitiveValue::Short),
        any::<i32>().prop_map(PrimitiveValue::Int),
        any::<i64>().prop_map(PrimitiveValue::Long),
        (-1e300f64..1e300).prop_map(PrimitiveValue::Double),
        (-1e30f32..1e30).prop_map(PrimitiveValue::Float),
        java_string().prop_map(PrimitiveValue::String),
        prop::collection::vec(any::<u8>(), 0..16).prop_map(|v| PrimitiveValue::Bytes(v.into())),
    ]
}

fn value() -> impl Strategy<Value = PrimitiveValue> {
    scalar().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(PrimitiveValue::List),
            prop::collection::vec((java_string(), inner), 0..4)
                .prop_map(|kv| PrimitiveValue::Map(kv.into_iter().collect())),
        ]
    })
}

fn map() -> impl Strategy<Value = PrimitiveMap> {
    prop::collection::vec((java_string(), value()), 0..10).prop_map(|kv| kv.into_iter().collect())
}

fn producer_id() -> impl Strategy<Value = ProducerId> {
    (java_string(), any::<i64>(), any::<i64>()).prop_map(|(c, v, s)| ProducerId {
        connection_id: c.into(),
        value: v,
        session_id: s,
    })
}

fn destination() -> impl Strategy<Value = Destination> {
    (0u8..4, java_string()).prop_map(|(k, n)| {
        Destination::new(
            DestinationKind::from_type_code(100 + k).unwrap_or_default(),
            n,
        )
    })
}

fn transaction_id() -> impl Strategy<Value = TransactionId> {
    prop_oneof![
        (any::<i64>(), prop::option::of(java_string())).prop_map(|(v, c)| {
            TransactionId::Local(LocalTransactionId {
                value: v,
                connection_id: c.map(ConnectionId::new),
            })
        }),
        (any::<i32>(), prop::collection::vec(any::<u8>(), 0..8)).prop_map(|(f, g)| {
            TransactionId::Xa(XaTransactionId {
                format_id: f,
                global_transaction_id: Some(g.into()),
                branch_qualifier: None,
            })
        }),
    ]
}

fn message() -> impl Strategy<Value = Message> {
    let kind = (23u8..30).prop_map(|c| MessageKind::from_type_code(c).unwrap_or_default());
    (
        (
            kind,
            any::<i32>(),
            any::<bool>(),
            prop::option::of(producer_id()),
        ),
        (
            prop::option::of(destination()),
            prop::option::of(transaction_id()),
            prop::option::of(destination()),
        ),
        (
            opt_string(),
            any::<i32>(),
            opt_string(),
            any::<bool>(),
            any::<i64>(),
            any::<i8>(),
        ),
        (
            map(),
            opt_string(),
            prop::collection::vec(any::<u8>(), 0..32),
        ),
        (any::<i64>(), any::<i64>(), any::<bool>(), opt_string()),
    )
        .prop_map(
            |(
                (kind, command_id, response_required, producer_id),
                (destination, transaction_id, reply_to),
                (group_id, group_sequence, correlation_id, persistent, expiration, priority),
                (props, text, raw),
                (broker_in_time, timestamp, first, user_id),
            )| {
                let mut m = Message::new(kind);
                m.command_id = command_id;
                m.response_required = response_required;
                m.message_id = producer_id.clone().map(|p| MessageId {
                    text_view: None,
                    producer_id: Some(p),
                    producer_sequence_id: i64::from(command_id),
                    broker_sequence_id: broker_in_time,
                });
                m.producer_id = producer_id;
                m.destination = destination;
                m.transaction_id = transaction_id;
                m.reply_to = reply_to;
                m.group_id = group_id;
                m.group_sequence = group_sequence;
                m.correlation_id = correlation_id;
                m.persistent = persistent;
                m.expiration = expiration;
                m.priority = priority;
                m.timestamp = timestamp;
                m.broker_in_time = broker_in_time;
                m.jmsx_group_first_for_consumer = first;
                m.user_id = user_id;
                m.set_properties(&props).unwrap();
                match kind {
                    MessageKind::Text => m.set_text(text.as_deref()).unwrap(),
                    MessageKind::Map => m.set_map_body(&props).unwrap(),
                    MessageKind::Blob => {
                        m.blob = Some(BlobFields {
                            remote_blob_url: text,
                            mime_type: None,
                            deleted_by_broker: persistent,
                        })
                    }
                    _ => m.content = Some(Bytes::from(raw)),
                }
                m
            },
        )
}

fn round_trip(cmd: &Command, stack_traces: bool) -> Command {
    let mut buf = BytesMut::new();
    cmd.encode(&mut buf, stack_traces).unwrap();
    Command::decode(buf.freeze(), stack_traces).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decoding_arbitrary_bytes_never_panics(body in prop::collection::vec(any::<u8>(), 0..256), st in any::<bool>()) {
        let _ = Command::decode(Bytes::from(body.clone()), st);
        let _ = PrimitiveMap::decode(Bytes::from(body.clone()));
        let _ = PrimitiveValue::decode_sequence(Bytes::from(body.clone()));
        let _ = mutf8::decode(&body);
        let mut codec = OpenWireCodec::new(4096);
        codec.set_stack_trace_enabled(st);
        let mut buf = BytesMut::from(&body[..]);
        while let Ok(Some(_)) = codec.decode(&mut buf) {}
    }

    /// Typed frames with random field bytes: start from a valid type byte so that the decoder
    /// gets deep into command bodies.
    #[test]
    fn decoding_typed_garbage_never_panics(code in prop::sample::select(vec![1u8,2,3,4,5,6,7,8,9,10,11,12,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34]),
                                            tail in prop::collection::vec(prop_oneof![Just(0u8), Just(1u8), any::<u8>()], 0..200),
                                            st in any::<bool>()) {
        let mut body = vec![code];
        body.extend_from_slice(&tail);
        if let Ok(cmd) = Command::decode(Bytes::from(body), st) {
            // Whatever decodes must re-encode and decode to the same command.
            prop_assert_eq!(round_trip(&cmd, st), cmd);
        }
    }

    #[test]
    fn generated_messages_round_trip(m in message(), st in any::<bool>()) {
        let cmd = Command::Message(Box::new(m.clone()));
        let back = round_trip(&cmd, st);
        prop_assert_eq!(&back, &cmd);
        let Command::Message(back) = back else { unreachable!() };
        prop_assert_eq!(back.properties().unwrap(), m.properties().unwrap());
        if m.kind == MessageKind::Text {
            prop_assert_eq!(back.text().unwrap(), m.text().unwrap());
        }
    }

    #[test]
    fn generated_dispatches_round_trip(m in message(), redeliveries in any::<i32>()) {
        let cmd = Command::MessageDispatch(Box::new(MessageDispatch {
            consumer_id: Some(ConsumerId { connection_id: "ID:c".into(), session_id: 1, value: 2 }),
            destination: m.destination.clone(),
            message: Some(Box::new(m)),
            redelivery_counter: redeliveries,
            ..MessageDispatch::default()
        }));
        prop_assert_eq!(round_trip(&cmd, false), cmd);
    }

    #[test]
    fn property_maps_round_trip(m in map()) {
        let enc = m.encode().unwrap();
        prop_assert_eq!(PrimitiveMap::decode(enc).unwrap(), m);
    }

    #[test]
    fn modified_utf8_round_trips(s in java_string()) {
        let enc = mutf8::encode(&s);
        prop_assert_eq!(enc.len(), mutf8::encoded_len(&s));
        prop_assert!(!enc.contains(&0));
        prop_assert!(!enc.iter().any(|b| *b >= 0xF0), "never 4-byte sequences");
        prop_assert_eq!(mutf8::decode(&enc).unwrap(), s);
    }
}

/// Corrupting single bytes of real frames never panics (and never hangs).
#[test]
fn corrupted_captured_frames_never_panic() {
    let Ok(text) = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/openwire-captures/basic.jsonl"
    )) else {
        return;
    };
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let Some(hex) = v.get("hex").and_then(|h| h.as_str()) else {
            continue;
        };
        let body: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        for i in 0..body.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut b = body.clone();
                b[i] ^= flip;
                let _ = Command::decode(Bytes::from(b), true);
            }
        }
    }
}

/// Keys that collide often, one of them non-ASCII and one with a NUL (two bytes in modified
/// UTF-8).
const KEYS: [&str; 5] = ["a", "ts", "é", "k\u{0}", "JMSXGroupID"];

proptest! {
    /// `PrimitiveMap::lookup` and `encode_with` on the wire bytes agree with decoding the
    /// whole map.
    #[test]
    fn raw_lookup_and_insert_agree_with_the_decoded_map(
        entries in prop::collection::vec((0..KEYS.len(), value()), 0..5),
        key in 0..KEYS.len(),
        new in value(),
    ) {
        let map: PrimitiveMap =
            entries.into_iter().map(|(k, v)| (KEYS[k].to_string(), v)).collect();
        let blob = map.encode().unwrap();
        for k in KEYS {
            prop_assert_eq!(PrimitiveMap::lookup(&blob, k).unwrap(), map.get(k).cloned());
        }
        let mut changed = map.clone();
        changed.insert(KEYS[key], new.clone());
        prop_assert_eq!(
            PrimitiveMap::encode_with(Some(&blob), KEYS[key], &new).unwrap(),
            changed.encode().unwrap()
        );
        // Any truncation: an error or an answer, never a panic.
        for cut in 0..blob.len() {
            let short = blob.slice(..cut);
            let _ = PrimitiveMap::lookup(&short, KEYS[key]);
            let _ = PrimitiveMap::encode_with(Some(&short), KEYS[key], &new);
        }
    }
}

proptest! {
    /// `PrimitiveMap::is_plain_properties` says yes exactly for a non-empty map of scalar
    /// JMS values (no char, byte array, map, list or null) whose keys `keep` accepts, and
    /// then the map decodes; a damaged blob is a no, never a panic.
    #[test]
    fn plain_properties_are_exactly_the_scalar_maps(
        entries in prop::collection::vec(
            (0..KEYS.len(), prop_oneof![4 => scalar(), 1 => value()]),
            0..5,
        ),
        banned in 0..KEYS.len(),
    ) {
        let m: PrimitiveMap =
            entries.into_iter().map(|(k, v)| (KEYS[k].to_string(), v)).collect();
        let blob = m.encode().unwrap();
        let scalar = |v: &PrimitiveValue| matches!(
            v,
            PrimitiveValue::Boolean(_)
                | PrimitiveValue::Byte(_)
                | PrimitiveValue::Short(_)
                | PrimitiveValue::Int(_)
                | PrimitiveValue::Long(_)
                | PrimitiveValue::Float(_)
                | PrimitiveValue::Double(_)
                | PrimitiveValue::String(_)
        );
        let entries = m.clone().into_entries();
        let want = !entries.is_empty()
            && entries.iter().all(|(k, v)| scalar(v) && k != KEYS[banned]);
        let got = PrimitiveMap::is_plain_properties(&blob, |k| k != KEYS[banned]);
        prop_assert_eq!(got, want);
        if got {
            prop_assert_eq!(PrimitiveMap::decode(blob.clone()).unwrap(), m);
        }
        for cut in 0..blob.len() {
            let short = blob.slice(..cut);
            if PrimitiveMap::is_plain_properties(&short, |_| true) {
                prop_assert!(PrimitiveMap::decode(short).is_ok());
            }
        }
    }
}

/// A string value or key that is not valid modified UTF-8 is not plain (decoding it would
/// fail), though the map's structure is sound.
#[test]
fn plain_properties_check_the_text() {
    let good: PrimitiveMap = [("k".to_string(), PrimitiveValue::String("ab".into()))]
        .into_iter()
        .collect();
    let blob = good.encode().unwrap();
    assert!(PrimitiveMap::is_plain_properties(&blob, |_| true));
    // count(4) + key len(2) + "k" + tag(1) + len(2) + "ab": break the value's first byte.
    let mut bad = blob.to_vec();
    let at = bad.len() - 2;
    bad[at] = 0xff;
    let bad = Bytes::from(bad);
    assert!(PrimitiveMap::decode(bad.clone()).is_err());
    assert!(!PrimitiveMap::is_plain_properties(&bad, |_| true));
    // The key's byte instead.
    let mut bad_key = blob.to_vec();
    bad_key[6] = 0xff;
    let bad_key = Bytes::from(bad_key);
    assert!(PrimitiveMap::decode(bad_key.clone()).is_err());
    assert!(!PrimitiveMap::is_plain_properties(&bad_key, |_| true));
}
