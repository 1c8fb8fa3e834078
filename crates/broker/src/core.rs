//! The state machine the store applies committed entries to, and the lock around
//! [`State`].

use crate::state::State;
use crate::store::{SnapshotImage, StateMachine, StoreOp};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{mpsc, Notify};

/// Owns the broker state. Every access goes through [`Core::with_state`], which releases
/// the lock before anything else happens (store writes, wake-ups).
pub struct Core {
    state: Mutex<State>,
    deferred_tx: mpsc::UnboundedSender<Vec<StoreOp>>,
    deferred_rx: Mutex<Option<mpsc::UnboundedReceiver<Vec<StoreOp>>>>,
    memory_limit: usize,
    pub(crate) memory_freed: Notify,
}

impl Core {
    pub fn new(max_redeliveries: u32, memory_limit: usize) -> Arc<Core> {
        // Unbounded on purpose: it carries store ops the broker itself generates (DLQ moves,
        // expiries), at most one per message the broker already holds, and it is fed from
        // under the state lock where waiting is not allowed.
        let (tx, rx) = mpsc::unbounded_channel();
        Arc::new(Core {
            state: Mutex::new(State::new(max_redeliveries, memory_limit)),
            deferred_tx: tx,
            deferred_rx: Mutex::new(Some(rx)),
            memory_limit,
            memory_freed: Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every State method leaves it consistent between statements that can panic only
        // on bugs; continuing with the data is better than taking the broker down.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` under the state lock, then hands any store ops it caused to the writer.
    pub(crate) fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let (result, deferred, below_limit) = {
            let mut s = self.lock();
            let r = f(&mut s);
            let d = std::mem::take(&mut s.deferred);
            (r, d, s.memory_used < self.memory_limit)
        };
        if !deferred.is_empty() {
            // The receiver only goes away at shutdown, when nothing more needs writing.
            let _ = self.deferred_tx.send(deferred);
        }
        if below_limit {
            self.memory_freed.notify_waiters();
        }
        result
    }

    pub(crate) fn take_deferred_receiver(&self) -> Option<mpsc::UnboundedReceiver<Vec<StoreOp>>> {
        self.deferred_rx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    pub(crate) fn memory_limit(&self) -> usize {
        self.memory_limit
    }

    /// Empties the state before a snapshot from a Raft leader replaces it.
    pub fn reset(&self) {
        let mut s = self.lock();
        let fresh = State::new(s.max_redeliveries, s.memory_limit);
        let reader = s.body_reader.take();
        *s = fresh;
        s.body_reader = reader;
    }

    /// This node stopped being the master: every connection is gone (their deliveries back
    /// in the queues) and messages whose acks never committed are queued again.
    pub fn step_down(&self) {
        self.with_state(|s| s.step_down());
    }

    pub fn memory_used(&self) -> usize {
        self.lock().memory_used
    }

    pub fn last_applied(&self) -> u64 {
        self.lock().last_applied
    }
}

impl StateMachine for Core {
    fn apply(&self, index: u64, ops: &[StoreOp]) {
        self.with_state(|s| s.apply(index, ops));
    }

    fn snapshot(&self) -> SnapshotImage {
        self.lock().snapshot()
    }

    fn snapshot_size_hint(&self) -> u64 {
        self.memory_used() as u64
    }

    fn attach_body_reader(&self, reader: Arc<dyn crate::store::BodyReader>) {
        self.lock().body_reader = Some(reader);
    }
}
