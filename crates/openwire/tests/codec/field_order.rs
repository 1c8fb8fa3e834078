//! Hand-built frames, one per command, with a distinct value in every field: decoding must put
//! each value in the right field (the order is the notes §3 table), and re-encoding must give
//! the same bytes back.

use bytes::{Bytes, BytesMut};
use openwire::*;

/// Builds a loose-encoded frame body by hand.
#[derive(Default)]
struct B(Vec<u8>);

impl B {
    fn new(type_code: u8) -> Self {
        B(vec![type_code])
    }
    fn header(self, command_id: i32, response_required: bool) -> Self {
        self.i32(command_id).bool(response_required)
    }
    fn u8(mut self, v: u8) -> Self {
        self.0.push(v);
        self
    }
    fn bool(self, v: bool) -> Self {
        self.u8(u8::from(v))
    }
    fn i16(mut self, v: i16) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn i32(mut self, v: i32) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn i64(mut self, v: i64) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn str(mut self, v: Option<&str>) -> Self {
        match v {
            None => self.u8(0),
            Some(s) => {
                self.0.push(1);
                self.0.extend_from_slice(&(s.len() as u16).to_be_bytes());
                self.0.extend_from_slice(s.as_bytes());
                self
            }
        }
    }
    fn bytes(mut self, v: Option<&[u8]>) -> Self {
        match v {
            None => self.u8(0),
            Some(b) => {
                self.0.push(1);
                self.0.extend_from_slice(&(b.len() as i32).to_be_bytes());
                self.0.extend_from_slice(b);
                self
            }
        }
    }
    fn null(self) -> Self {
        self.u8(0)
    }
    /// Non-null nested object: flag + type + body.
    fn obj(self, type_code: u8, body: impl FnOnce(B) -> B) -> Self {
        body(self.u8(1).u8(type_code))
    }
    fn conn_id(self, v: &str) -> Self {
        self.obj(120, |b| b.str(Some(v)))
    }
    fn consumer_id(self, c: &str, s: i64, v: i64) -> Self {
        self.obj(122, |b| b.str(Some(c)).i64(s).i64(v))
    }
    fn producer_id(self, c: &str, v: i64, s: i64) -> Self {
        self.obj(123, |b| b.str(Some(c)).i64(v).i64(s))
    }
    fn queue(self, name: &str) -> Self {
        self.obj(100, |b| b.str(Some(name)))
    }
    fn message_id(self, producer: (&str, i64, i64), seq: i64, broker_seq: i64) -> Self {
        self.obj(110, |b| {
            b.null()
                .producer_id(producer.0, producer.1, producer.2)
                .i64(seq)
                .i64(broker_seq)
        })
    }
}

/// Decodes, checks the whole body was used, re-encodes to the same bytes.
fn decode(b: B, stack_traces: bool) -> Command {
    let cmd = Command::decode(Bytes::from(b.0.clone()), stack_traces).unwrap();
    let mut out = BytesMut::new();
    cmd.encode(&mut out, stack_traces).unwrap();
    assert_eq!(&out[..], &b.0[..], "re-encode of {}", cmd.name());
    cmd
}

#[test]
fn connection_info_fields_in_order() {
    let f = B::new(3)
        .header(1, true)
        .conn_id("ID:c")
        .str(Some("client"))
        .str(Some("pw"))
        .str(Some("user"))
        .null()
        .bool(false)
        .bool(true)
        .bool(true)
        .bool(false)
        .bool(true)
        .str(None);
    let Command::ConnectionInfo(c) = decode(f, false) else {
        panic!()
    };
    assert_eq!((c.command_id, c.response_required), (1, true));
    assert_eq!(c.connection_id, Some(ConnectionId::new("ID:c")));
    assert_eq!(c.client_id.as_deref(), Some("client"));
    assert_eq!(c.password.as_deref(), Some("pw"));
    assert_eq!(c.user_name.as_deref(), Some("user"));
    assert!(!c.broker_master_connector && c.manageable && c.client_master);
    assert!(!c.fault_tolerant && c.failover_reconnect && c.client_ip.is_none());
}

#[test]
fn session_info_fields_in_order() {
    let f = B::new(4)
        .header(2, false)
        .obj(121, |b| b.str(Some("ID:c")).i64(7));
    let Command::SessionInfo(s) = decode(f, false) else {
        panic!()
    };
    assert_eq!(s.session_id.unwrap().to_string(), "ID:c:7");
}

#[test]
fn consumer_info_fields_in_order() {
    let f = B::new(5)
        .header(3, true)
        .consumer_id("ID:c", 1, 2)
        .bool(true)
        .queue("Q")
        .i32(1000)
        .i32(5)
        .bool(true)
        .str(Some("a > 1"))
        .str(Some("cid"))
        .str(Some("sub"))
        .bool(true)
        .bool(false)
        .bool(true)
        .u8(0xfe)
        .null()
        .null()
        .bool(false)
        .bool(true)
        .bool(false)
        .null();
    let Command::ConsumerInfo(c) = decode(f, false) else {
        panic!()
    };
    let id = c.consumer_id.clone().unwrap();
    assert_eq!((id.session_id, id.value), (1, 2));
    assert!(c.browser);
    assert_eq!(c.destination, Some(Destination::queue("Q")));
    assert_eq!(
        (c.prefetch_size, c.maximum_pending_message_limit),
        (1000, 5)
    );
    assert!(c.dispatch_async);
    assert_eq!(c.selector.as_deref(), Some("a > 1"));
    assert_eq!(c.client_id.as_deref(), Some("cid"));
    assert_eq!(c.subscription_name.as_deref(), Some("sub"));
    assert!(c.no_local && !c.exclusive && c.retroactive);
    assert_eq!(c.priority, -2);
    assert!(!c.network_subscription && c.optimized_acknowledge && !c.no_range_acks);
}

#[test]
fn producer_info_and_producer_id_order() {
    let f = B::new(6)
        .header(4, true)
        .producer_id("ID:c", 9, 3)
        .obj(101, |b| b.str(Some("T")))
        .null()
        .bool(true)
        .i32(1024);
    let Command::ProducerInfo(p) = decode(f, false) else {
        panic!()
    };
    let id = p.producer_id.clone().unwrap();
    assert_eq!((id.value, id.session_id), (9, 3));
    assert_eq!(id.to_string(), "ID:c:3:9");
    assert_eq!(p.destination, Some(Destination::topic("T")));
    assert!(p.dispatch_async);
    assert_eq!(p.window_size, 1024);
}

#[test]
fn transaction_info_local_and_xa() {
    let f = B::new(7)
        .header(5, true)
        .conn_id("ID:c")
        .obj(111, |b| b.i64(3).conn_id("ID:c"))
        .u8(2);
    let Command::TransactionInfo(t) = decode(f, false) else {
        panic!()
    };
    assert_eq!(t.transaction_type, TransactionInfo::COMMIT_ONE_PHASE);
    assert_eq!(t.transaction_id.unwrap().to_string(), "TX:ID:c:3");

    let f = B::new(7)
        .header(6, true)
        .conn_id("ID:c")
        .obj(112, |b| b.i32(0x1234).bytes(Some(b"g")).bytes(Some(b"q")))
        .u8(1);
    let Command::TransactionInfo(t) = decode(f, false) else {
        panic!()
    };
    let Some(TransactionId::Xa(x)) = t.transaction_id else {
        panic!()
    };
    assert_eq!(x.format_id, 0x1234);
    assert_eq!(x.global_transaction_id.as_deref(), Some(&b"g"[..]));
    assert_eq!(x.branch_qualifier.as_deref(), Some(&b"q"[..]));
}

#[test]
fn destination_info_and_remove_subscription() {
    let f = B::new(8)
        .header(7, true)
        .conn_id("ID:c")
        .obj(102, |b| b.str(Some("ID:c:1")))
        .u8(1)
        .i64(99)
        .null();
    let Command::DestinationInfo(d) = decode(f, false) else {
        panic!()
    };
    assert_eq!(d.destination.unwrap().kind, DestinationKind::TempQueue);
    assert_eq!((d.operation_type, d.timeout), (DestinationInfo::REMOVE, 99));

    let f = B::new(9)
        .header(8, true)
        .conn_id("ID:c")
        .str(Some("sub"))
        .str(Some("cid"));
    let Command::RemoveSubscriptionInfo(r) = decode(f, false) else {
        panic!()
    };
    assert_eq!(r.subscription_name.as_deref(), Some("sub"));
    assert_eq!(r.client_id.as_deref(), Some("cid"));
}

#[test]
fn header_only_commands() {
    for (code, want) in [
        (10u8, "KeepAliveInfo"),
        (11, "ShutdownInfo"),
        (15, "FlushCommand"),
    ] {
        let cmd = decode(B::new(code).header(0, true), false);
        assert_eq!(cmd.name(), want);
        assert!(cmd.response_required());
    }
}

#[test]
fn remove_info_holds_any_id() {
    let f = B::new(12)
        .header(9, false)
        .consumer_id("ID:c", 1, 2)
        .i64(-2);
    let Command::RemoveInfo(r) = decode(f, false) else {
        panic!()
    };
    assert!(matches!(r.object_id, Some(DataStructure::ConsumerId(_))));
    assert_eq!(r.last_delivered_sequence_id, -2);
}

#[test]
fn connection_error_and_control() {
    let f = B::new(16)
        .header(0, false)
        .u8(1)
        .str(Some("javax.jms.JMSException"))
        .str(Some("boom"))
        .conn_id("ID:c");
    let Command::ConnectionError(e) = decode(f, false) else {
        panic!()
    };
    let t = e.exception.unwrap();
    assert_eq!(t.class_name.as_deref(), Some("javax.jms.JMSException"));
    assert_eq!(t.message.as_deref(), Some("boom"));
    assert_eq!(e.connection_id, Some(ConnectionId::new("ID:c")));

    let f = B::new(18)
        .header(0, false)
        .bool(true)
        .bool(false)
        .bool(true)
        .bool(false)
        .bool(true)
        .str(Some("tcp://a"))
        .str(Some(""))
        .bool(true)
        .bytes(Some(&[1, 2]));
    let Command::ConnectionControl(c) = decode(f, false) else {
        panic!()
    };
    assert!(c.close && !c.exit && c.fault_tolerant && !c.resume && c.suspend);
    assert_eq!(c.connected_brokers.as_deref(), Some("tcp://a"));
    assert_eq!(c.reconnect_to.as_deref(), Some(""));
    assert!(c.rebalance_connection);
    assert_eq!(c.token.as_deref(), Some(&[1u8, 2][..]));
}

#[test]
fn consumer_control_fields_in_order() {
    let f = B::new(17)
        .header(0, false)
        .queue("Q")
        .bool(false)
        .consumer_id("ID:c", 1, 5)
        .i32(42)
        .bool(true)
        .bool(false)
        .bool(true);
    let Command::ConsumerControl(c) = decode(f, false) else {
        panic!()
    };
    assert!(!c.close && c.flush && !c.start && c.stop);
    assert_eq!(c.prefetch, 42);
    assert_eq!(c.consumer_id.unwrap().value, 5);
}

#[test]
fn producer_ack_pull_and_ack() {
    let f = B::new(19)
        .header(0, false)
        .producer_id("ID:c", 1, 1)
        .i32(512);
    let Command::ProducerAck(p) = decode(f, false) else {
        panic!()
    };
    assert_eq!(p.size, 512);

    let f = B::new(20)
        .header(10, false)
        .consumer_id("ID:c", 1, 1)
        .queue("Q")
        .i64(-1)
        .str(None)
        .null();
    let Command::MessagePull(p) = decode(f, false) else {
        panic!()
    };
    assert_eq!(p.timeout, -1);

    let f = B::new(22)
        .header(11, false)
        .queue("Q")
        .null()
        .consumer_id("ID:c", 1, 1)
        .u8(2)
        .message_id(("ID:p", 1, 1), 1, 10)
        .message_id(("ID:p", 1, 1), 5, 14)
        .i32(5)
        .null();
    let Command::MessageAck(a) = decode(f, false) else {
        panic!()
    };
    assert_eq!(a.ack_type, MessageAck::STANDARD);
    assert_eq!(a.first_message_id.unwrap().broker_sequence_id, 10);
    let last = a.last_message_id.unwrap();
    assert_eq!(
        (last.producer_sequence_id, last.broker_sequence_id),
        (5, 14)
    );
    assert_eq!(last.to_string(), "ID:p:1:1:5");
    assert_eq!(a.message_count, 5);
}

/// A poison ack with a stack trace and a cause, as in poison.jsonl (StackTraceEnabled on).
#[test]
fn poison_ack_with_stack_trace_and_cause() {
    let f = B::new(22)
        .header(12, false)
        .queue("Q")
        .null()
        .consumer_id("ID:c", 1, 1)
        .u8(1)
        .null()
        .null()
        .i32(1)
        .u8(1)
        .str(Some("java.lang.Throwable"))
        .str(Some("outer"))
        .i16(1)
        .str(Some("A"))
        .str(Some("m"))
        .str(Some("A.java"))
        .i32(12)
        .u8(1)
        .str(Some("java.lang.RuntimeException"))
        .str(None)
        .i16(0)
        .u8(0);
    let Command::MessageAck(a) = decode(f, true) else {
        panic!()
    };
    let t = a.poison_cause.unwrap();
    assert_eq!(t.stack_trace.len(), 1);
    assert_eq!(t.stack_trace[0].line_number, 12);
    let cause = t.cause.unwrap();
    assert_eq!(
        cause.class_name.as_deref(),
        Some("java.lang.RuntimeException")
    );
    assert!(cause.cause.is_none());
}

#[test]
fn message_dispatch_with_text_message() {
    let f = B::new(21)
        .header(0, false)
        .consumer_id("ID:c", 1, 1)
        .queue("Q")
        .obj(28, |b| {
            b.header(5, true)
                .producer_id("ID:p", 1, 1)
                .queue("Q")
                .null()
                .null()
                .message_id(("ID:p", 1, 1), 1, 77)
                .null()
                .str(Some("grp"))
                .i32(3)
                .str(Some("corr"))
                .bool(true)
                .i64(1000)
                .u8(4)
                .obj(102, |b| b.str(Some("ID:c:1")))
                .i64(123)
                .str(Some("type"))
                .bytes(Some(&[0, 0, 0, 2, b'h', b'i']))
                .bytes(Some(&[0, 0, 0, 1, 0, 1, b'k', 5, 0, 0, 0, 7]))
                .null()
                .null()
                .bool(false)
                .i32(0)
                .null()
                .i64(0)
                .str(Some("me"))
                .bool(false)
                .bool(false)
                .null()
                .i64(1)
                .i64(2)
                .bool(true)
        })
        .i32(2);
    let Command::MessageDispatch(d) = decode(f, false) else {
        panic!()
    };
    assert_eq!(d.redelivery_counter, 2);
    let m = d.message.unwrap();
    assert_eq!(m.kind, MessageKind::Text);
    assert_eq!((m.command_id, m.response_required), (5, true));
    assert_eq!(m.group_id.as_deref(), Some("grp"));
    assert_eq!(m.group_sequence, 3);
    assert_eq!(m.correlation_id.as_deref(), Some("corr"));
    assert!(m.persistent);
    assert_eq!((m.expiration, m.priority, m.timestamp), (1000, 4, 123));
    assert_eq!(
        m.reply_to.as_ref().unwrap().kind,
        DestinationKind::TempQueue
    );
    assert_eq!(m.jms_type.as_deref(), Some("type"));
    assert_eq!(m.text().unwrap().as_deref(), Some("hi"));
    assert_eq!(
        m.properties().unwrap().get("k"),
        Some(&PrimitiveValue::Int(7))
    );
    assert_eq!(m.user_id.as_deref(), Some("me"));
    assert_eq!((m.broker_in_time, m.broker_out_time), (1, 2));
    assert!(m.jmsx_group_first_for_consumer);
    assert_eq!(m.message_id.as_ref().unwrap().broker_sequence_id, 77);
}

#[test]
fn blob_message_has_three_extra_fields() {
    let mut m = Message::new(MessageKind::Blob);
    m.blob = Some(BlobFields {
        remote_blob_url: Some("http://x".into()),
        mime_type: None,
        deleted_by_broker: true,
    });
    let cmd = Command::Message(Box::new(m.clone()));
    let mut out = BytesMut::new();
    cmd.encode(&mut out, false).unwrap();
    assert!(out.ends_with(&[1, 0, 8, b'h', b't', b't', b'p', b':', b'/', b'/', b'x', 0, 1]));
    assert_eq!(Command::decode(out.freeze(), false).unwrap(), cmd);
}

#[test]
fn responses() {
    let Command::Response(r) = decode(B::new(30).header(0, false).i32(17), false) else {
        panic!()
    };
    assert_eq!(r.correlation_id, 17);

    let f = B::new(31)
        .header(0, false)
        .i32(18)
        .u8(1)
        .str(Some("javax.jms.InvalidClientIDException"))
        .str(Some("dup"));
    let Command::ExceptionResponse(e) = decode(f, false) else {
        panic!()
    };
    assert_eq!(e.correlation_id, 18);
    assert_eq!(e.exception.unwrap().message.as_deref(), Some("dup"));

    let f = B::new(33)
        .header(0, false)
        .i32(19)
        .u8(1)
        .i16(1)
        .obj(112, |b| b.i32(1).bytes(Some(b"g")).bytes(Some(b"b")));
    let Command::DataArrayResponse(d) = decode(f, false) else {
        panic!()
    };
    assert_eq!(d.data.unwrap().len(), 1);

    let Command::IntegerResponse(i) = decode(B::new(34).header(0, false).i32(20).i32(3), false)
    else {
        panic!()
    };
    assert_eq!((i.correlation_id, i.result), (20, 3));

    let f = B::new(32).header(0, false).i32(21).conn_id("ID:c");
    let Command::DataResponse(d) = decode(f, false) else {
        panic!()
    };
    assert!(matches!(d.data, Some(DataStructure::ConnectionId(_))));
}

#[test]
fn broker_info_fields_in_order() {
    let f = B::new(2)
        .header(0, false)
        .obj(124, |b| b.str(Some("ID:b")))
        .str(Some("tcp://h:61616"))
        .null()
        .str(Some("ferro"))
        .bool(false)
        .bool(true)
        .bool(false)
        .bool(true)
        .bool(false)
        .i64(5)
        .str(None)
        .str(Some("np"));
    let Command::BrokerInfo(b) = decode(f, false) else {
        panic!()
    };
    assert_eq!(b.broker_id.unwrap().value, "ID:b");
    assert_eq!(b.broker_url.as_deref(), Some("tcp://h:61616"));
    assert_eq!(b.broker_name.as_deref(), Some("ferro"));
    assert!(!b.slave_broker && b.master_broker && b.duplex_connection);
    assert_eq!(b.connection_id, 5);
    assert_eq!(b.network_properties.as_deref(), Some("np"));
}

#[test]
fn control_command() {
    let Command::ControlCommand(c) = decode(B::new(14).header(0, false).str(Some("x")), false)
    else {
        panic!()
    };
    assert_eq!(c.command.as_deref(), Some("x"));
}

#[test]
fn exception_stack_trace_layout_follows_the_codec_setting() {
    let cmd = Command::exception_response(3, "javax.jms.JMSException", "no");
    let mut off = BytesMut::new();
    cmd.encode(&mut off, false).unwrap();
    let mut on = BytesMut::new();
    cmd.encode(&mut on, true).unwrap();
    // On: int16 0 elements + null cause after the message.
    assert_eq!(&on[..off.len()], &off[..]);
    assert_eq!(&on[off.len()..], &[0, 0, 0]);
}

#[test]
fn wrong_nested_type_and_unknown_types_error() {
    // ConnectionInfo whose connectionId is a queue.
    let f = B::new(3).header(1, true).queue("Q");
    let err = Command::decode(Bytes::from(f.0), false).unwrap_err();
    assert!(err.to_string().contains("expected ConnectionId"), "{err}");
    // Unknown command type.
    assert!(matches!(
        Command::decode(Bytes::from_static(&[0x5a, 0, 0, 0, 0, 0]), false),
        Err(OpenWireError::UnknownType { type_code: 0x5a })
    ));
    // Trailing bytes after a complete KeepAliveInfo.
    assert!(Command::decode(Bytes::from_static(&[10, 0, 0, 0, 0, 0, 9]), false).is_err());
}
