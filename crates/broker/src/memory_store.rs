//! A store that keeps nothing across restarts: for tests and for brokers that are
//! configured without persistence. It keeps the ops it was given so that `recover_into`
//! can replay them (the conformance suite checks this like for any other store).

use crate::store::{AppendFuture, StateMachine, Store, StoreError, StoreOp, StoreStats};
use std::sync::{Arc, Mutex};

pub struct MemoryStore {
    inner: Mutex<Log>,
    machine: Arc<dyn StateMachine>,
}

struct Log {
    entries: Vec<(u64, Vec<StoreOp>)>,
    last_index: u64,
    closed: bool,
}

impl MemoryStore {
    pub fn new(machine: Arc<dyn StateMachine>) -> MemoryStore {
        MemoryStore {
            inner: Mutex::new(Log {
                entries: Vec::new(),
                last_index: 0,
                closed: false,
            }),
            machine,
        }
    }

    /// Replays every entry appended so far into another state machine.
    pub fn recover_into(&self, machine: &dyn StateMachine) {
        let log = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        for (index, ops) in &log.entries {
            machine.apply(*index, ops);
        }
    }
}

impl Store for MemoryStore {
    fn append(&self, ops: Vec<StoreOp>) -> AppendFuture {
        // Applying under the log lock keeps applies in index order and never concurrent.
        let result = {
            let mut log = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            if log.closed {
                Err(StoreError::Closed)
            } else {
                log.last_index += 1;
                let index = log.last_index;
                self.machine.apply(index, &ops);
                log.entries.push((index, ops));
                Ok(index)
            }
        };
        Box::pin(async move { result })
    }

    fn stats(&self) -> StoreStats {
        let log = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        StoreStats {
            last_index: log.last_index,
            ..StoreStats::default()
        }
    }

    fn close(&self) {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).closed = true;
    }
}
