//! WireFormatInfo negotiation against the captured handshakes (notes §1.3, Appendix A.1/B).

use bytes::{Bytes, BytesMut};
use openwire::*;

fn first_frame(file: &str, dir: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../testdata/openwire-captures/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(path).unwrap();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v.get("dir").and_then(|d| d.as_str()) == Some(dir) {
            let hex = v["hex"].as_str().unwrap();
            return (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
        }
    }
    panic!("no {dir} frame in {file}");
}

fn wfi(body: Vec<u8>) -> WireFormatInfo {
    match Command::decode(Bytes::from(body), false).unwrap() {
        Command::WireFormatInfo(w) => w,
        other => panic!("{other:?}"),
    }
}

/// Our recommended WFI, with the test broker's informational strings, is byte for byte the one
/// the 5.17.2 client accepted in the mini-* captures (notes Appendix A.1).
#[test]
fn broker_default_matches_the_verified_wire_format_info() {
    let ours = WireFormat {
        provider_name: Some("minibroker".into()),
        provider_version: Some("0.1".into()),
        platform_details: Some("Python".into()),
        ..WireFormat::broker_default()
    };
    let mut out = BytesMut::new();
    Command::WireFormatInfo(ours.to_info().unwrap())
        .encode(&mut out, false)
        .unwrap();
    assert_eq!(&out[..], &first_frame("mini-basic.jsonl", "B>C")[..]);
}

#[test]
fn client_preferences_are_read_with_their_types() {
    let client = WireFormat::from_info(&wfi(first_frame("basic.jsonl", "C>B"))).unwrap();
    assert_eq!(client.version, 12);
    assert!(client.tight_encoding_enabled && client.cache_enabled && client.stack_trace_enabled);
    assert_eq!(client.cache_size, 1024);
    assert!(client.tcp_no_delay_enabled && !client.size_prefix_disabled);
    assert_eq!(client.max_inactivity_duration, 30_000);
    assert_eq!(client.max_inactivity_duration_initial_delay, 10_000);
    assert_eq!(client.max_frame_size, i64::MAX);
    assert_eq!(client.provider_version.as_deref(), Some("5.17.2"));
    assert_eq!(client.platform_details.as_deref(), Some("Java"));
}

#[test]
fn negotiation_with_a_default_client_goes_loose_without_stack_traces() {
    let client = wfi(first_frame("basic.jsonl", "C>B"));
    let n = WireFormat::broker_default().negotiate(&client).unwrap();
    assert_eq!(
        n,
        NegotiatedWireFormat {
            version: 12,
            stack_trace_enabled: false,
            tcp_no_delay_enabled: true,
            max_inactivity_duration: 30_000,
            max_inactivity_duration_initial_delay: 10_000,
            max_frame_size: Some(100 * 1024 * 1024),
        }
    );
    let mut codec = OpenWireCodec::new(usize::MAX);
    codec.apply(&n);
    assert_eq!(codec.max_frame_size(), 100 * 1024 * 1024);
    assert!(!codec.stack_trace_enabled());
}

#[test]
fn negotiation_rules() {
    let ours = WireFormat::broker_default();
    let peer = |f: &dyn Fn(&mut WireFormat)| {
        let mut w = WireFormat::broker_default();
        f(&mut w);
        w.to_info().unwrap()
    };
    // Version: min, ≤ 0 ignored; below 10 refused.
    assert_eq!(
        ours.negotiate(&peer(&|w| w.version = 11)).unwrap().version,
        11
    );
    assert_eq!(
        ours.negotiate(&peer(&|w| w.version = 0)).unwrap().version,
        12
    );
    assert!(matches!(
        ours.negotiate(&peer(&|w| w.version = 9)),
        Err(OpenWireError::UnsupportedWireFormat { .. })
    ));
    // Inactivity: plain min, 0 disables.
    let n = ours
        .negotiate(&peer(&|w| w.max_inactivity_duration = 0))
        .unwrap();
    assert_eq!(n.max_inactivity_duration, 0);
    // Frame size: min, ≤ 0 ignored.
    let n = ours.negotiate(&peer(&|w| w.max_frame_size = 0)).unwrap();
    assert_eq!(n.max_frame_size, Some(100 * 1024 * 1024));
    let unlimited = WireFormat {
        max_frame_size: 0,
        ..WireFormat::broker_default()
    };
    assert_eq!(
        unlimited
            .negotiate(&peer(&|w| w.max_frame_size = -1))
            .unwrap()
            .max_frame_size,
        None
    );
    // Booleans: AND.
    let n = ours
        .negotiate(&peer(&|w| w.tcp_no_delay_enabled = false))
        .unwrap();
    assert!(!n.tcp_no_delay_enabled);
    // Tight encoding we never offer is never negotiated; if we did, it is refused.
    let tight = WireFormat {
        tight_encoding_enabled: true,
        ..WireFormat::broker_default()
    };
    assert!(tight
        .negotiate(&peer(&|w| w.tight_encoding_enabled = true))
        .is_err());
}

#[test]
fn bad_magic_and_wrong_property_types_are_rejected() {
    let mut info = WireFormat::broker_default().to_info().unwrap();
    info.magic = *b"ActiveMX";
    assert!(matches!(
        WireFormat::broker_default().negotiate(&info),
        Err(OpenWireError::BadMagic { .. })
    ));

    let mut m = PrimitiveMap::new();
    m.insert(keys::MAX_INACTIVITY_DURATION, PrimitiveValue::Int(30_000));
    let info = WireFormatInfo::new(12, &m).unwrap();
    assert!(matches!(
        WireFormat::from_info(&info),
        Err(OpenWireError::PropertyType {
            key: "MaxInactivityDuration",
            ..
        })
    ));
}

/// An empty property map means everything off (Java: absent booleans are false).
#[test]
fn absent_properties_read_as_false_and_zero() {
    let info = WireFormatInfo {
        version: 12,
        ..WireFormatInfo::default()
    };
    let n = WireFormat::broker_default().negotiate(&info).unwrap();
    assert!(!n.tcp_no_delay_enabled);
    assert_eq!(n.max_inactivity_duration, 0);
}
