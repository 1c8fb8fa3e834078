//! [`AckMerger`]: the connection writer's way of sending one MessageAck where several
//! queued together.
//!
//! An AUTO session acknowledges every message before `recv` returns it. Those join the
//! acknowledgement queued just before them while it waits for the writer
//! (`Inner::send_auto_ack`); what still arrives as separate acks (one AUTO range after
//! another, a browser's or a prefetch window's DELIVERED acks) meets here. When the writer
//! finds several of them waiting, consecutive acknowledgements of the same kind by the same
//! consumer cover consecutive deliveries, so one ack of the whole range with the summed
//! count says the same to the broker (ActiveMQ's and ours) as the single ones would, and
//! costs both sides one frame instead of many. Nothing waits for company: only acks that
//! are already queued behind each other merge, so every ack still leaves with the write it
//! would have left with.

use openwire::{Command, MessageAck};

/// Holds the newest mergeable MessageAck while the writer drains its queue.
#[derive(Default)]
pub(crate) struct AckMerger {
    held: Option<Box<MessageAck>>,
}

/// Whether `ack` may absorb later acks, or be absorbed: a standard or delivered ack of a
/// range, outside a transaction, that asks for no answer.
fn mergeable(ack: &MessageAck) -> bool {
    matches!(ack.ack_type, MessageAck::STANDARD | MessageAck::DELIVERED)
        && ack.transaction_id.is_none()
        && !ack.response_required
        && ack.poison_cause.is_none()
        && ack.last_message_id.is_some()
        && ack.message_count > 0
}

impl AckMerger {
    /// Takes the next queued command; returns what to write now, in order (the held ack
    /// goes out before anything it cannot absorb).
    pub(crate) fn push(&mut self, command: Command) -> [Option<Command>; 2] {
        let Command::MessageAck(ack) = command else {
            return [self.take(), Some(command)];
        };
        if !mergeable(&ack) {
            return [self.take(), Some(Command::MessageAck(ack))];
        }
        if let Some(held) = self.held.as_mut() {
            if held.ack_type == ack.ack_type
                && held.consumer_id == ack.consumer_id
                && held.destination == ack.destination
            {
                held.last_message_id = ack.last_message_id;
                held.message_count = held.message_count.saturating_add(ack.message_count);
                return [None, None];
            }
        }
        [self.held.replace(ack).map(Command::MessageAck), None]
    }

    /// The held ack, if any (the queue is drained: write it).
    pub(crate) fn take(&mut self) -> Option<Command> {
        self.held.take().map(Command::MessageAck)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openwire::{ConsumerId, Destination, MessageId, ProducerId};

    fn id(seq: i64) -> MessageId {
        MessageId {
            producer_id: Some(ProducerId {
                connection_id: "ID:p-1".into(),
                session_id: 1,
                value: 1,
            }),
            producer_sequence_id: seq,
            broker_sequence_id: seq,
            ..Default::default()
        }
    }

    fn ack(kind: i8, consumer: i64, seq: i64) -> Command {
        Command::MessageAck(Box::new(MessageAck {
            consumer_id: Some(ConsumerId {
                connection_id: "ID:c-1".into(),
                session_id: 1,
                value: consumer,
            }),
            destination: Some(Destination::queue("q")),
            ack_type: kind,
            first_message_id: Some(id(seq)),
            last_message_id: Some(id(seq)),
            message_count: 1,
            ..Default::default()
        }))
    }

    /// Runs `commands` through a merger as the writer does; what it writes.
    fn written(commands: Vec<Command>) -> Vec<Command> {
        let mut m = AckMerger::default();
        let mut out: Vec<Command> = Vec::new();
        for c in commands {
            out.extend(m.push(c).into_iter().flatten());
        }
        out.extend(m.take());
        out
    }

    fn range(c: &Command) -> (i8, i64, i64, i64, i32) {
        let Command::MessageAck(a) = c else {
            panic!("not an ack: {}", c.name());
        };
        let seq = |m: &Option<MessageId>| m.as_ref().map_or(-1, |m| m.producer_sequence_id);
        let consumer = a.consumer_id.as_ref().map_or(-1, |c| c.value);
        (
            a.ack_type,
            consumer,
            seq(&a.first_message_id),
            seq(&a.last_message_id),
            a.message_count,
        )
    }

    #[test]
    fn consecutive_acks_of_one_consumer_become_one_range() {
        let out = written((1..=5).map(|s| ack(MessageAck::STANDARD, 7, s)).collect());
        assert_eq!(out.len(), 1);
        assert_eq!(range(&out[0]), (MessageAck::STANDARD, 7, 1, 5, 5));
    }

    #[test]
    fn order_is_kept_across_other_commands_kinds_and_consumers() {
        let out = written(vec![
            ack(MessageAck::STANDARD, 7, 1),
            ack(MessageAck::STANDARD, 7, 2),
            ack(MessageAck::EXPIRED, 7, 3),
            ack(MessageAck::STANDARD, 7, 4),
            ack(MessageAck::STANDARD, 8, 1),
            Command::keep_alive(),
            ack(MessageAck::STANDARD, 8, 2),
            ack(MessageAck::DELIVERED, 8, 3),
            ack(MessageAck::DELIVERED, 8, 4),
        ]);
        let shape: Vec<_> = out
            .iter()
            .map(|c| match c {
                Command::MessageAck(_) => Some(range(c)),
                _ => None,
            })
            .collect();
        assert_eq!(
            shape,
            vec![
                Some((MessageAck::STANDARD, 7, 1, 2, 2)),
                Some((MessageAck::EXPIRED, 7, 3, 3, 1)),
                Some((MessageAck::STANDARD, 7, 4, 4, 1)),
                Some((MessageAck::STANDARD, 8, 1, 1, 1)),
                None,
                Some((MessageAck::STANDARD, 8, 2, 2, 1)),
                Some((MessageAck::DELIVERED, 8, 3, 4, 2)),
            ]
        );
    }

    #[test]
    fn transacted_and_answered_acks_stay_single() {
        let mut tx = ack(MessageAck::STANDARD, 7, 2);
        if let Command::MessageAck(a) = &mut tx {
            a.transaction_id = Some(openwire::TransactionId::Local(
                openwire::LocalTransactionId {
                    value: 1,
                    connection_id: None,
                },
            ));
        }
        let mut answered = ack(MessageAck::STANDARD, 7, 4);
        if let Command::MessageAck(a) = &mut answered {
            a.response_required = true;
        }
        let out = written(vec![
            ack(MessageAck::STANDARD, 7, 1),
            tx,
            ack(MessageAck::STANDARD, 7, 3),
            answered,
        ]);
        assert_eq!(out.len(), 4);
    }
}
