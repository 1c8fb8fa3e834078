//! Binary encoding of [`StoreOp`]s for log entries and snapshots.
//!
//! Little-endian, length-prefixed; the decoder checks every length against the bytes that
//! are actually there before it allocates, so a corrupt record is an error, never a panic
//! or a huge allocation.

use crate::destination::Destination;
use crate::message::{BodyKind, Message, PropertyValue};
use crate::store::{BodyRef, DurableName, QueueRef, SnapshotImage, StoreOp};
use bytes::{BufMut, Bytes, BytesMut};

/// Version byte at the start of every encoded entry, so the format can evolve.
const FORMAT_VERSION: u8 = 1;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("cannot decode store entry: {0}")]
pub struct DecodeError(pub String);

pub fn encode_ops(ops: &[StoreOp]) -> Bytes {
    let mut w = BytesMut::with_capacity(64 + ops.iter().map(op_size_hint).sum::<usize>());
    put_header(&mut w, ops.len());
    for op in ops {
        encode_op(&mut w, op);
    }
    w.freeze()
}

/// Roughly how many bytes [`encode_image`] will append for `image`.
pub fn image_size_hint(image: &SnapshotImage) -> usize {
    let ops = image.head.iter().chain(&image.tail).map(op_size_hint);
    let messages = image.messages.iter().map(|(_, _, m)| message_size_hint(m));
    64 + ops.chain(messages).sum::<usize>()
}

/// Appends the image's ops to `w`, as [`encode_ops`] would encode them (messages as
/// `Restore` ops in key order), without copying a message first.
pub fn encode_image(w: &mut BytesMut, mut image: SnapshotImage) {
    image.sort();
    put_header(w, image.len());
    for op in &image.head {
        encode_op(w, op);
    }
    for (queue, key, message) in &image.messages {
        // A body in memory is written inline, so its old record may be purged: the ref goes.
        put_restore(
            w,
            &image.queues[*queue as usize],
            *key,
            message,
            message.is_paged(),
        );
    }
    for op in &image.tail {
        encode_op(w, op);
    }
}

fn put_header(w: &mut BytesMut, ops: usize) {
    w.put_u8(FORMAT_VERSION);
    w.put_u32_le(ops as u32);
}

fn op_size_hint(op: &StoreOp) -> usize {
    match op {
        StoreOp::AddMessage { message } | StoreOp::Restore { message, .. } => {
            message_size_hint(message)
        }
        _ => 64,
    }
}

fn message_size_hint(message: &Message) -> usize {
    message.body.len() + 256
}

fn encode_op(w: &mut BytesMut, op: &StoreOp) {
    match op {
        StoreOp::AddMessage { message } => {
            w.put_u8(1);
            put_message(w, message, true);
        }
        StoreOp::Ack { queue, keys } => {
            w.put_u8(2);
            put_queue_ref(w, queue);
            w.put_u32_le(keys.len() as u32);
            for k in keys {
                w.put_u64_le(*k);
            }
        }
        StoreOp::AddSubscription {
            name,
            topic,
            selector,
            no_local,
        } => {
            w.put_u8(3);
            put_durable(w, name);
            put_dest(w, topic);
            put_opt_str(w, selector.as_deref());
            w.put_u8(u8::from(*no_local));
        }
        StoreOp::RemoveSubscription { name } => {
            w.put_u8(4);
            put_durable(w, name);
        }
        StoreOp::AddDestination { destination } => {
            w.put_u8(5);
            put_dest(w, destination);
        }
        StoreOp::RemoveDestination { destination } => {
            w.put_u8(6);
            put_dest(w, destination);
        }
        StoreOp::ProducerMark { producer, seq } => {
            w.put_u8(7);
            put_str(w, producer);
            w.put_u64_le(*seq);
        }
        StoreOp::Restore {
            queue,
            key,
            message,
        } => put_restore(w, queue, *key, message, true),
    }
}

fn put_restore(w: &mut BytesMut, queue: &QueueRef, key: u64, message: &Message, body_ref: bool) {
    w.put_u8(8);
    put_queue_ref(w, queue);
    w.put_u64_le(key);
    put_message(w, message, body_ref);
}

fn put_str(w: &mut BytesMut, s: &str) {
    w.put_u32_le(s.len() as u32);
    w.put_slice(s.as_bytes());
}

fn put_opt_str(w: &mut BytesMut, s: Option<&str>) {
    match s {
        Some(s) => {
            w.put_u8(1);
            put_str(w, s);
        }
        None => w.put_u8(0),
    }
}

fn put_dest(w: &mut BytesMut, d: &Destination) {
    let tag = match d {
        Destination::Queue(_) => 0,
        Destination::Topic(_) => 1,
        Destination::TempQueue(_) => 2,
        Destination::TempTopic(_) => 3,
    };
    w.put_u8(tag);
    put_str(w, d.name());
}

fn put_durable(w: &mut BytesMut, d: &DurableName) {
    put_str(w, &d.client_id);
    put_str(w, &d.name);
}

fn put_queue_ref(w: &mut BytesMut, q: &QueueRef) {
    match q {
        QueueRef::Queue(name) => {
            w.put_u8(0);
            put_str(w, name);
        }
        QueueRef::Durable(d) => {
            w.put_u8(1);
            put_durable(w, d);
        }
    }
}

/// `body_ref`: whether to write the message's body ref (if it has one) or none.
fn put_message(w: &mut BytesMut, m: &Message, body_ref: bool) {
    put_str(w, &m.id);
    put_dest(w, &m.destination);
    w.put_u8(u8::from(m.persistent));
    w.put_u8(m.priority);
    w.put_i64_le(m.timestamp);
    w.put_i64_le(m.expiration);
    put_opt_str(w, m.correlation_id.as_deref());
    match &m.reply_to {
        Some(d) => {
            w.put_u8(1);
            put_dest(w, d);
        }
        None => w.put_u8(0),
    }
    put_opt_str(w, m.jms_type.as_deref());
    w.put_u32_le(m.properties.len() as u32);
    for (k, v) in &m.properties {
        put_str(w, k);
        match v {
            PropertyValue::Bool(b) => {
                w.put_u8(0);
                w.put_u8(u8::from(*b));
            }
            PropertyValue::Byte(x) => {
                w.put_u8(1);
                w.put_i8(*x);
            }
            PropertyValue::Short(x) => {
                w.put_u8(2);
                w.put_i16_le(*x);
            }
            PropertyValue::Int(x) => {
                w.put_u8(3);
                w.put_i32_le(*x);
            }
            PropertyValue::Long(x) => {
                w.put_u8(4);
                w.put_i64_le(*x);
            }
            PropertyValue::Float(x) => {
                w.put_u8(5);
                w.put_f32_le(*x);
            }
            PropertyValue::Double(x) => {
                w.put_u8(6);
                w.put_f64_le(*x);
            }
            PropertyValue::String(s) => {
                w.put_u8(7);
                put_str(w, s);
            }
        }
    }
    w.put_u8(m.body_kind.code());
    w.put_u32_le(m.body.len() as u32);
    w.put_slice(&m.body);
    match m.body_ref.filter(|_| body_ref) {
        Some(r) => {
            w.put_u8(1);
            w.put_u64_le(r.index);
            w.put_u64_le(r.segment);
            w.put_u64_le(r.record_offset);
            w.put_u32_le(r.record_len);
            w.put_u32_le(r.body_offset);
            w.put_u32_le(r.body_len);
        }
        None => w.put_u8(0),
    }
}

/// Decodes what [`encode_ops`] wrote. Bodies are zero-copy slices of `buf`.
///
/// # Errors
/// [`DecodeError`] on any truncation, unknown tag or invalid UTF-8.
pub fn decode_ops(buf: &Bytes) -> Result<Vec<StoreOp>, DecodeError> {
    let mut r = Reader { buf, pos: 0 };
    let version = r.u8()?;
    if version != FORMAT_VERSION {
        return Err(DecodeError(format!("unknown format version {version}")));
    }
    let count = r.u32()? as usize;
    // Every op takes at least 2 bytes: a count larger than that is corrupt.
    if count > r.remaining() / 2 + 1 {
        return Err(DecodeError(format!("op count {count} exceeds entry size")));
    }
    let mut ops = Vec::with_capacity(count);
    for _ in 0..count {
        ops.push(r.op()?);
    }
    if r.remaining() != 0 {
        return Err(DecodeError(format!("{} trailing bytes", r.remaining())));
    }
    Ok(ops)
}

struct Reader<'a> {
    buf: &'a Bytes,
    pos: usize,
}

impl Reader<'_> {
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        if n > self.remaining() {
            return Err(DecodeError(format!(
                "truncated: need {n} bytes at offset {}, have {}",
                self.pos,
                self.remaining()
            )));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }
    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    fn bool(&mut self) -> Result<bool, DecodeError> {
        Ok(self.u8()? != 0)
    }

    fn string(&mut self) -> Result<String, DecodeError> {
        let len = self.u32()? as usize;
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError("invalid UTF-8".into()))
    }

    fn opt_string(&mut self) -> Result<Option<String>, DecodeError> {
        if self.bool()? {
            Ok(Some(self.string()?))
        } else {
            Ok(None)
        }
    }

    fn dest(&mut self) -> Result<Destination, DecodeError> {
        let tag = self.u8()?;
        let name = self.string()?;
        Ok(match tag {
            0 => Destination::Queue(name.into()),
            1 => Destination::Topic(name.into()),
            2 => Destination::TempQueue(name.into()),
            3 => Destination::TempTopic(name.into()),
            t => return Err(DecodeError(format!("unknown destination tag {t}"))),
        })
    }

    fn durable(&mut self) -> Result<DurableName, DecodeError> {
        Ok(DurableName {
            client_id: self.string()?,
            name: self.string()?,
        })
    }

    fn queue_ref(&mut self) -> Result<QueueRef, DecodeError> {
        match self.u8()? {
            0 => Ok(QueueRef::Queue(self.string()?.into())),
            1 => Ok(QueueRef::Durable(self.durable()?)),
            t => Err(DecodeError(format!("unknown queue tag {t}"))),
        }
    }

    fn message(&mut self) -> Result<Message, DecodeError> {
        let id = self.string()?;
        let destination = self.dest()?;
        let persistent = self.bool()?;
        let priority = self.u8()?;
        let timestamp = self.i64()?;
        let expiration = self.i64()?;
        let correlation_id = self.opt_string()?;
        let reply_to = if self.bool()? {
            Some(self.dest()?)
        } else {
            None
        };
        let jms_type = self.opt_string()?;
        let count = self.u32()? as usize;
        if count > self.remaining() / 6 + 1 {
            return Err(DecodeError(format!("property count {count} exceeds entry")));
        }
        let mut properties = Vec::with_capacity(count);
        for _ in 0..count {
            let k = self.string()?;
            let v = match self.u8()? {
                0 => PropertyValue::Bool(self.bool()?),
                1 => PropertyValue::Byte(i8::from_le_bytes(self.array()?)),
                2 => PropertyValue::Short(i16::from_le_bytes(self.array()?)),
                3 => PropertyValue::Int(i32::from_le_bytes(self.array()?)),
                4 => PropertyValue::Long(self.i64()?),
                5 => PropertyValue::Float(f32::from_le_bytes(self.array()?)),
                6 => PropertyValue::Double(f64::from_le_bytes(self.array()?)),
                7 => PropertyValue::String(self.string()?),
                t => return Err(DecodeError(format!("unknown property tag {t}"))),
            };
            properties.push((k, v));
        }
        let kind_code = self.u8()?;
        let body_kind = BodyKind::from_code(kind_code)
            .ok_or_else(|| DecodeError(format!("unknown body kind {kind_code}")))?;
        let len = self.u32()? as usize;
        if len > self.remaining() {
            return Err(DecodeError(format!("body of {len} bytes exceeds entry")));
        }
        let body = self.buf.slice(self.pos..self.pos + len);
        self.pos += len;
        let body_ref = if self.bool()? {
            Some(BodyRef {
                index: self.u64()?,
                segment: self.u64()?,
                record_offset: self.u64()?,
                record_len: self.u32()?,
                body_offset: self.u32()?,
                body_len: self.u32()?,
            })
        } else {
            None
        };
        Ok(Message {
            id,
            destination,
            persistent,
            priority,
            timestamp,
            expiration,
            correlation_id,
            reply_to,
            jms_type,
            properties: properties.into(),
            body_kind,
            body,
            body_ref,
            encoded: None,
        })
    }

    fn op(&mut self) -> Result<StoreOp, DecodeError> {
        Ok(match self.u8()? {
            1 => StoreOp::AddMessage {
                message: self.message()?,
            },
            2 => {
                let queue = self.queue_ref()?;
                let n = self.u32()? as usize;
                if n > self.remaining() / 8 {
                    return Err(DecodeError(format!("ack count {n} exceeds entry")));
                }
                let mut keys = Vec::with_capacity(n);
                for _ in 0..n {
                    keys.push(self.u64()?);
                }
                StoreOp::Ack { queue, keys }
            }
            3 => StoreOp::AddSubscription {
                name: self.durable()?,
                topic: self.dest()?,
                selector: self.opt_string()?,
                no_local: self.bool()?,
            },
            4 => StoreOp::RemoveSubscription {
                name: self.durable()?,
            },
            5 => StoreOp::AddDestination {
                destination: self.dest()?,
            },
            6 => StoreOp::RemoveDestination {
                destination: self.dest()?,
            },
            7 => StoreOp::ProducerMark {
                producer: self.string()?,
                seq: self.u64()?,
            },
            8 => StoreOp::Restore {
                queue: self.queue_ref()?,
                key: self.u64()?,
                message: self.message()?,
            },
            t => return Err(DecodeError(format!("unknown op tag {t}"))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::Arc;

    fn sample_message() -> Message {
        let mut m = Message::new(
            "ID:b-1:1:1:7".into(),
            Destination::Queue("orders".into()),
            BodyKind::Bytes,
            Bytes::from_static(b"a\0b"),
        );
        m.persistent = true;
        m.priority = 9;
        m.timestamp = 1234;
        m.expiration = 99999;
        m.correlation_id = Some("corr".into());
        m.reply_to = Some(Destination::TempQueue("ID:x:1".into()));
        m.jms_type = Some("t".into());
        m.properties = vec![
            ("b".into(), PropertyValue::Bool(true)),
            ("i8".into(), PropertyValue::Byte(-3)),
            ("i16".into(), PropertyValue::Short(300)),
            ("i32".into(), PropertyValue::Int(-70000)),
            ("i64".into(), PropertyValue::Long(1 << 40)),
            ("f".into(), PropertyValue::Float(1.5)),
            ("d".into(), PropertyValue::Double(-2.25)),
            ("s".into(), PropertyValue::String("héllo".into())),
        ]
        .into();
        m
    }

    #[test]
    fn every_op_round_trips() {
        let durable = DurableName {
            client_id: "c".into(),
            name: "s".into(),
        };
        let ops = vec![
            StoreOp::AddMessage {
                message: sample_message(),
            },
            StoreOp::Ack {
                queue: QueueRef::Queue("orders".into()),
                keys: vec![1, 2, 3],
            },
            StoreOp::Ack {
                queue: QueueRef::Durable(durable.clone()),
                keys: vec![],
            },
            StoreOp::AddSubscription {
                name: durable.clone(),
                topic: Destination::Topic("t.>".into()),
                selector: Some("a > 1".into()),
                no_local: true,
            },
            StoreOp::RemoveSubscription { name: durable },
            StoreOp::AddDestination {
                destination: Destination::Queue("q".into()),
            },
            StoreOp::RemoveDestination {
                destination: Destination::Topic("t".into()),
            },
            StoreOp::ProducerMark {
                producer: "ID:p:1:1".into(),
                seq: 42,
            },
            StoreOp::Restore {
                queue: QueueRef::Queue("orders".into()),
                key: 77 << 16,
                message: sample_message(),
            },
        ];
        let bytes = encode_ops(&ops);
        assert_eq!(decode_ops(&bytes), Ok(ops));
    }

    /// The ops an image stands for, each message copied as a `Restore` in key order; the
    /// body ref of a message whose body is in memory is dropped (written inline, so its old
    /// record may be purged).
    fn image_ops(mut image: SnapshotImage) -> Vec<StoreOp> {
        image.sort();
        let mut ops = image.head;
        for (queue, key, message) in image.messages {
            let mut message = Message::clone(&message);
            if !message.is_paged() {
                message.body_ref = None;
            }
            ops.push(StoreOp::Restore {
                queue: image.queues[queue as usize].clone(),
                key,
                message,
            });
        }
        ops.extend(image.tail);
        ops
    }

    /// An image encodes as its ops would: messages in key order, a body ref kept only for
    /// a paged-out body.
    #[test]
    fn an_image_encodes_like_its_ops() {
        let body_ref = |index| BodyRef {
            index,
            segment: 1,
            record_offset: 8,
            record_len: 40,
            body_offset: 12,
            body_len: 3,
        };
        let mut in_memory = sample_message();
        in_memory.body_ref = Some(body_ref(5));
        let mut paged = sample_message();
        paged.body = Bytes::new();
        paged.body_ref = Some(body_ref(3));
        let durable = QueueRef::Durable(DurableName {
            client_id: "c".into(),
            name: "s".into(),
        });
        let image = || SnapshotImage {
            head: vec![StoreOp::AddDestination {
                destination: Destination::Queue("orders".into()),
            }],
            queues: vec![QueueRef::Queue("orders".into()), durable.clone()],
            messages: vec![
                (0, 9 << 16, Arc::new(in_memory.clone())),
                (1, 3 << 16, Arc::new(paged.clone())),
                (0, 3 << 16 | 1, Arc::new(sample_message())),
            ],
            tail: vec![StoreOp::ProducerMark {
                producer: "p".into(),
                seq: 4,
            }],
        };
        assert_eq!(image().oldest_body_ref(), Some(3));
        let ops = image_ops(image());
        let keys: Vec<_> = ops
            .iter()
            .filter_map(|op| match op {
                StoreOp::Restore { key, message, .. } => Some((*key, message.body_ref)),
                _ => None,
            })
            .collect();
        assert_eq!(
            keys,
            vec![
                (3 << 16, Some(body_ref(3))),
                (3 << 16 | 1, None),
                (9 << 16, None)
            ]
        );
        assert!(matches!(ops.first(), Some(StoreOp::AddDestination { .. })));
        assert!(matches!(ops.last(), Some(StoreOp::ProducerMark { .. })));
        let mut w = BytesMut::new();
        encode_image(&mut w, image());
        assert_eq!(w.freeze(), encode_ops(&ops));
        assert_eq!(image().encode(), encode_ops(&ops));
    }

    #[test]
    fn truncation_is_an_error_at_every_length() {
        let bytes = encode_ops(&[StoreOp::AddMessage {
            message: sample_message(),
        }]);
        for len in 0..bytes.len() {
            assert!(decode_ops(&bytes.slice(..len)).is_err(), "len {len}");
        }
    }

    proptest! {
        #[test]
        fn decode_never_panics(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode_ops(&Bytes::from(data));
        }
    }
}
