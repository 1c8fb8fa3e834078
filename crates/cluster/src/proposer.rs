//! Group commit at the Raft level: appends become Raft entries in call order, one entry in
//! flight (proposed, not yet committed) at a time; appends that arrive meanwhile wait and go
//! into the next entry together.
//!
//! Without it every append is its own entry, and under a deep pipeline thousands of writes
//! queue in the Raft core ahead of the master's quorum checks (which then time out).
//!
//! When an entry commits, the next one waits (at most [`MAX_LINGER`]) until as many appends
//! are waiting as the committed entry carried plus those that were already waiting.
//! Producers that wait for each send's answer (a JMS persistent send is synchronous) come
//! back right after it: without the wait the first of them would go alone into the next
//! round while the rest missed it, and the producers settled into two groups, each in its
//! own half-full round, instead of one full round per send (each round is an fsync and a
//! network exchange on every node). Counting those already waiting merges two such groups.
//! A lone producer's entries carry one append and nothing waits meanwhile, so it never
//! waits. When the expected appends do not come in time (a producer stopped, or sends that
//! do not wait for answers), the expectation drops to what came.
//!
//! No task sits in the middle: an append that finds nothing waiting, nothing in flight and
//! no batch expected is proposed by its caller at once and its future awaits the Raft
//! answer itself; the completion of an entry proposes what waited meanwhile. So a lone
//! producer's send costs no extra task hand-off on either side of the commit (each is a
//! wake-up and a context switch, and they dominate a commit round's cost on a small
//! machine: see `docs/benchmarks.md`).

use crate::store::master_name;
use crate::types::{NodeId, OpsPayload, Raft};
use broker::op_codec::encode_ops;
use broker::store::{StoreError, StoreOp};
use futures_util::FutureExt;
use openraft::error::ClientWriteError;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Raft entries proposed and not yet committed. Measured with 8 producers waiting for a
/// receipt per send, before the linger: 1 or 2 in flight ≈ 3,250 msg/s, 4 ≈ 2,200, 16 ≈
/// 2,300 (appends spread over many small entries, each a round). With the linger, one.
const MAX_ENTRIES_IN_FLIGHT: usize = 1;
/// How long an entry waits at most for the appends the previous entry leads it to expect.
/// Only when they do not come (a producer stopped, sends that do not wait for answers) is
/// the whole wait paid, and the expectation then drops to what came.
const MAX_LINGER: Duration = Duration::from_micros(300);
/// Ops per entry at most (message keys keep 16 bits for the op's position).
const MAX_OPS_PER_ENTRY: usize = 1024;
/// Approximate bytes per entry at most (one append alone may be larger). Small enough that
/// an AppendEntries of `MAX_ENTRIES_PER_RPC` entries reaches a follower and is fsynced
/// within openraft's RPC timeout, which is the heartbeat interval.
const MAX_BYTES_PER_ENTRY: usize = 256 << 10;

/// What one entry's appends learn: its index, or why it did not commit.
type Outcome = Pin<Box<dyn Future<Output = Result<u64, StoreError>> + Send>>;

/// One append waiting for an entry.
struct Waiting {
    ops: Vec<StoreOp>,
    done: tokio::sync::oneshot::Sender<Result<u64, StoreError>>,
}

#[derive(Default)]
struct Slots {
    waiting: VecDeque<Waiting>,
    in_flight: usize,
    /// Appends the last entry carried: how many the next one waits for.
    expected: usize,
    /// A linger timer is running.
    lingering: bool,
}

/// Proposes appends to the Raft core as entries (see the module docs).
pub(crate) struct Proposer {
    raft: Raft,
    id: NodeId,
    slots: Mutex<Slots>,
}

fn approx_size(ops: &[StoreOp]) -> usize {
    ops.iter()
        .map(|op| match op {
            StoreOp::AddMessage { message } => 256 + message.body.len(),
            StoreOp::Ack { keys, .. } => 64 + 8 * keys.len(),
            _ => 128,
        })
        .sum()
}

impl Proposer {
    pub(crate) fn new(raft: Raft, id: NodeId) -> Arc<Proposer> {
        Arc::new(Proposer {
            raft,
            id,
            slots: Mutex::new(Slots::default()),
        })
    }

    fn slots(&self) -> MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `ops` as one atomic part of an entry, in call order; resolves with the
    /// entry's index once it is committed and applied.
    pub(crate) fn append(self: &Arc<Self>, ops: Vec<StoreOp>) -> Outcome {
        let mut slots = self.slots();
        if slots.waiting.is_empty()
            && slots.in_flight < MAX_ENTRIES_IN_FLIGHT
            && slots.expected <= 1
        {
            // Nothing ahead of it: proposed now, and the caller awaits the answer itself.
            slots.in_flight += 1;
            slots.expected = 1;
            let outcome = self.propose(&ops);
            drop(slots);
            let entry = InFlight {
                proposer: self.clone(),
                outcome: Some(outcome),
            };
            return Box::pin(entry.wait());
        }
        let (done, result) = tokio::sync::oneshot::channel();
        slots.waiting.push_back(Waiting { ops, done });
        self.propose_waiting(slots, false);
        Box::pin(async move { result.await.unwrap_or(Err(StoreError::Closed)) })
    }

    /// Hands one entry to the Raft core (called with the slots locked, so entries keep
    /// call order). The core's queue is unbounded: the send completes at once.
    fn propose(&self, ops: &[StoreOp]) -> Outcome {
        let payload = OpsPayload(encode_ops(ops));
        let id = self.id;
        match self.raft.client_write_ff(payload).now_or_never() {
            Some(Ok(receiver)) => Box::pin(async move {
                match receiver.await {
                    Ok(Ok(response)) => Ok(response.log_id.index),
                    Ok(Err(ClientWriteError::ForwardToLeader(f))) => {
                        tracing::debug!(node = id, leader = ?f.leader_id, "append refused: leadership lost");
                        let leader = match (f.leader_id, f.leader_node) {
                            (Some(l), Some(node)) => Some(master_name(l, &node.addr)),
                            _ => None,
                        };
                        Err(StoreError::NotMaster { leader })
                    }
                    Ok(Err(e)) => Err(StoreError::Io(e.to_string())),
                    Err(_) => Err(StoreError::Closed),
                }
            }),
            // The core has stopped (the send failed; waiting for its reason is pointless).
            _ => Box::pin(std::future::ready(Err(StoreError::Closed))),
        }
    }

    /// An entry committed (or failed): its slot is free, so what waited is proposed.
    fn entry_done(self: &Arc<Self>) {
        let mut slots = self.slots();
        slots.in_flight = slots.in_flight.saturating_sub(1);
        // Those it answered come back, and those waiting now stay: the next entry waits
        // for all of them (two groups of producers merge into one round).
        slots.expected += slots.waiting.len();
        self.propose_waiting(slots, false);
    }

    /// Proposes what waits, as few entries as the limits allow, if a slot is free and as
    /// many appends wait as expected (or `linger_over`); otherwise makes sure a linger
    /// timer will come back to them.
    fn propose_waiting(self: &Arc<Self>, mut slots: MutexGuard<'_, Slots>, linger_over: bool) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // Torn down outside a runtime: nobody can await new entries; the waiting
            // appends' senders go, so they see `Closed`.
            slots.waiting.clear();
            return;
        };
        if slots.in_flight >= MAX_ENTRIES_IN_FLIGHT || slots.waiting.is_empty() {
            return;
        }
        if !linger_over && slots.waiting.len() < slots.expected {
            if !slots.lingering {
                slots.lingering = true;
                let proposer = self.clone();
                runtime.spawn(async move {
                    // tokio's timer ticks in milliseconds; a sleeping blocking-pool thread
                    // keeps the wait as short as it says.
                    let _ = tokio::task::spawn_blocking(|| std::thread::sleep(MAX_LINGER)).await;
                    let mut slots = proposer.slots();
                    slots.lingering = false;
                    proposer.propose_waiting(slots, true);
                });
            }
            return;
        }
        let mut proposed = Vec::new();
        let mut carried = 0;
        while slots.in_flight < MAX_ENTRIES_IN_FLIGHT {
            let Some(first) = slots.waiting.pop_front() else {
                break;
            };
            let mut ops = first.ops;
            let mut waiters = vec![first.done];
            let mut bytes = approx_size(&ops);
            while let Some(next) = slots.waiting.front() {
                let size = approx_size(&next.ops);
                if ops.len() + next.ops.len() > MAX_OPS_PER_ENTRY
                    || bytes + size > MAX_BYTES_PER_ENTRY
                {
                    break;
                }
                let Some(next) = slots.waiting.pop_front() else {
                    break;
                };
                bytes += size;
                ops.extend(next.ops);
                waiters.push(next.done);
            }
            carried += waiters.len();
            slots.in_flight += 1;
            let entry = InFlight {
                proposer: self.clone(),
                outcome: Some(self.propose(&ops)),
            };
            proposed.push((entry, waiters));
        }
        slots.expected = carried;
        drop(slots);
        // Outside the lock: a task per entry hands its answer to the appends it carries.
        for (entry, waiters) in proposed {
            runtime.spawn(async move {
                let result = entry.wait().await;
                for w in waiters {
                    let _ = w.send(result.clone());
                }
            });
        }
    }
}

/// One proposed entry whose answer someone awaits. If that someone goes away first (a
/// client disconnected), the answer is still awaited in the background, so the slot is
/// freed only when the entry is really done.
struct InFlight {
    proposer: Arc<Proposer>,
    outcome: Option<Outcome>,
}

impl InFlight {
    async fn wait(mut self) -> Result<u64, StoreError> {
        let result = match self.outcome.as_mut() {
            Some(outcome) => outcome.await,
            None => Err(StoreError::Closed),
        };
        self.outcome = None;
        result
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let proposer = self.proposer.clone();
        match (self.outcome.take(), tokio::runtime::Handle::try_current()) {
            (Some(outcome), Ok(runtime)) => {
                runtime.spawn(async move {
                    let _ = outcome.await;
                    proposer.entry_done();
                });
            }
            _ => proposer.entry_done(),
        }
    }
}
