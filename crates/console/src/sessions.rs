//! Browser sessions: a random id in an HttpOnly, SameSite=Strict cookie, mapped to the
//! user and the session's CSRF token (which every form that changes something carries).

use crate::error::ConsoleError;
use crate::users::random_token;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The session cookie's name.
pub const COOKIE: &str = "ferromq_session";
/// A session not used for this long is gone.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Live sessions at most; past it the least recently used go first.
const MAX_SESSIONS: usize = 10_000;

#[derive(Debug, Clone)]
pub struct Session {
    pub user: String,
    pub csrf: String,
    last_used: Instant,
}

#[derive(Debug, Default)]
pub struct Sessions {
    by_id: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// Opens a session for `user`; returns its id (for the cookie).
    ///
    /// # Errors
    /// No randomness for the tokens.
    pub fn open(&self, user: &str) -> Result<String, ConsoleError> {
        let id = random_token()?;
        let session = Session {
            user: user.to_string(),
            csrf: random_token()?,
            last_used: Instant::now(),
        };
        let mut map = self.lock();
        let now = Instant::now();
        map.retain(|_, s| now.duration_since(s.last_used) < IDLE_TIMEOUT);
        if map.len() >= MAX_SESSIONS {
            if let Some(oldest) = map
                .iter()
                .min_by_key(|(_, s)| s.last_used)
                .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        map.insert(id.clone(), session);
        Ok(id)
    }

    /// The live session with this id, marked as used now.
    pub fn get(&self, id: &str) -> Option<Session> {
        let mut map = self.lock();
        let s = map.get_mut(id)?;
        if s.last_used.elapsed() >= IDLE_TIMEOUT {
            map.remove(id);
            return None;
        }
        s.last_used = Instant::now();
        Some(s.clone())
    }

    pub fn close(&self, id: &str) {
        self.lock().remove(id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // Each operation leaves the map consistent; a poisoned lock is still usable.
        self.by_id.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Compares secrets without stopping at the first difference.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_open_get_close() {
        let s = Sessions::default();
        let id = s.open("ops").unwrap();
        let got = s.get(&id).unwrap();
        assert_eq!(got.user, "ops");
        assert_eq!(got.csrf.len(), 64);
        assert!(s.get("nope").is_none());
        s.close(&id);
        assert!(s.get(&id).is_none());
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
    }
}
