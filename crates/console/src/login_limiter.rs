//! Rate limiting of wrong passwords, per client address.
//!
//! After [`MAX_FAILURES`] wrong passwords in a row, an address is locked out for
//! [`FIRST_LOCKOUT`], doubling with each further failure up to [`MAX_LOCKOUT`]. While
//! locked out its requests are refused before any password is checked, so guessing costs
//! the attacker time and the broker no argon2 work. A right password clears the record.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Wrong passwords allowed in a row before a lockout.
pub const MAX_FAILURES: u32 = 5;
pub const FIRST_LOCKOUT: Duration = Duration::from_secs(30);
pub const MAX_LOCKOUT: Duration = Duration::from_secs(15 * 60);
/// Addresses remembered at most (oldest lockouts dropped first past it).
const MAX_TRACKED: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    locked_until: Option<Instant>,
}

#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<IpAddr, Failures>>,
}

impl LoginLimiter {
    /// How long this address must still wait, if it is locked out.
    pub fn locked_for(&self, addr: IpAddr) -> Option<Duration> {
        let map = self.lock();
        let until = map.get(&addr)?.locked_until?;
        until.checked_duration_since(Instant::now())
    }

    pub fn record_failure(&self, addr: IpAddr) {
        let mut map = self.lock();
        if map.len() >= MAX_TRACKED && !map.contains_key(&addr) {
            let now = Instant::now();
            map.retain(|_, f| f.locked_until.is_some_and(|t| t > now));
        }
        let f = map.entry(addr).or_insert(Failures {
            count: 0,
            locked_until: None,
        });
        f.count = f.count.saturating_add(1);
        if f.count >= MAX_FAILURES {
            let doublings = (f.count - MAX_FAILURES).min(10);
            let lockout = (FIRST_LOCKOUT * 2u32.pow(doublings)).min(MAX_LOCKOUT);
            f.locked_until = Some(Instant::now() + lockout);
            tracing::warn!(client = %addr, failures = f.count, lockout_s = lockout.as_secs(), "console: too many wrong passwords, locking out");
        }
    }

    pub fn record_success(&self, addr: IpAddr) {
        self.lock().remove(&addr);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Failures>> {
        // Each operation leaves the map consistent; a poisoned lock is still usable.
        self.failures.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_out_after_max_failures_and_success_clears() {
        let l = LoginLimiter::default();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..MAX_FAILURES - 1 {
            l.record_failure(a);
        }
        assert!(l.locked_for(a).is_none());
        l.record_failure(a);
        assert!(l.locked_for(a).is_some_and(|d| d > FIRST_LOCKOUT / 2));
        assert!(l.locked_for(b).is_none());
        l.record_success(a);
        assert!(l.locked_for(a).is_none());
    }
}
