//! Paging over journal records, for every store whose log is a `journal::Journal` (the
//! single-node journal store and the replicated store's Raft log): where a message's body
//! sits in the record of the entry that added it ([`decode_entry`]), reading it back
//! ([`JournalBodyReader`]), which entries must stay on disk for that ([`oldest_body_ref`]),
//! and putting bodies back into ops that leave this node ([`inline_paged_bodies`]).

use crate::op_codec::decode_ops;
use crate::store::{BodyReader, BodyRef, StoreError, StoreOp};
use journal::{JournalError, JournalReader, Position};
use std::sync::Arc;

/// Reads paged-out bodies from journal records.
pub struct JournalBodyReader {
    reader: JournalReader,
}

impl JournalBodyReader {
    pub fn new(reader: JournalReader) -> JournalBodyReader {
        JournalBodyReader { reader }
    }
}

fn io(e: JournalError) -> StoreError {
    match e {
        JournalError::Closed => StoreError::Closed,
        other => StoreError::Io(other.to_string()),
    }
}

impl BodyReader for JournalBodyReader {
    fn read_body(&self, body: &BodyRef) -> Result<bytes::Bytes, StoreError> {
        let record = self
            .reader
            .read_payload(Position {
                segment: body.segment,
                offset: body.record_offset,
                len: body.record_len,
            })
            .map_err(io)?;
        let start = body.body_offset as usize;
        let end = start + body.body_len as usize;
        if end > record.len() {
            return Err(StoreError::Corrupt {
                index: body.index,
                reason: format!(
                    "body {start}..{end} outside a record of {} bytes",
                    record.len()
                ),
            });
        }
        Ok(record.slice(start..end))
    }
}

/// Decodes an entry whose record payload is `payload` at `position`, and notes on every
/// message it adds where its body sits in the record, so the state machine may page the
/// body out and read it back later.
///
/// # Errors
/// The payload does not decode as ops.
pub fn decode_entry(
    index: u64,
    payload: &bytes::Bytes,
    position: Position,
) -> Result<Vec<StoreOp>, StoreError> {
    let mut ops = decode_ops(payload).map_err(|e| StoreError::Corrupt {
        index,
        reason: e.to_string(),
    })?;
    let base = payload.as_ptr() as usize;
    for op in &mut ops {
        if let StoreOp::AddMessage { message } = op {
            if message.body.is_empty() {
                continue;
            }
            // Bodies are zero-copy slices of the payload: their address tells the offset.
            let offset = (message.body.as_ptr() as usize).wrapping_sub(base);
            let (Ok(body_offset), Ok(body_len)) =
                (u32::try_from(offset), u32::try_from(message.body.len()))
            else {
                continue;
            };
            if offset + message.body.len() > payload.len() {
                continue;
            }
            message.body_ref = Some(BodyRef {
                index,
                segment: position.segment,
                record_offset: position.offset,
                record_len: position.len,
                body_offset,
                body_len,
            });
        }
    }
    Ok(ops)
}

/// The oldest entry a snapshot's paged messages still read their bodies from: the log
/// must keep it (and everything after it) while the snapshot is the latest.
pub fn oldest_body_ref(ops: &[StoreOp]) -> Option<u64> {
    ops.iter()
        .filter_map(|op| match op {
            StoreOp::Restore { message, .. } => message.paged_body_index(),
            _ => None,
        })
        .min()
}

/// Reads every paged body of `ops` back into its message and drops the body refs: for
/// ops that leave this node (a snapshot sent to another node, whose journal differs).
///
/// # Errors
/// A body cannot be read back.
pub fn inline_paged_bodies(
    ops: &mut [StoreOp],
    reader: &Arc<dyn BodyReader>,
) -> Result<(), StoreError> {
    for op in ops.iter_mut() {
        let message = match op {
            StoreOp::Restore { message, .. } | StoreOp::AddMessage { message } => message,
            _ => continue,
        };
        if let Some(r) = message.body_ref {
            if message.is_paged() {
                message.body = reader.read_body(&r)?;
            }
            message.body_ref = None;
        }
    }
    Ok(())
}
