//! [`IdStr`]: the shared, immutable string of an identifier (a connection id inside every
//! session, consumer, producer and message id) or a destination name.
//!
//! These strings repeat in every frame of a connection and are copied into every ack, every
//! delivery and every message id a client or the broker builds, so a clone is a reference
//! count instead of an allocation, and decoding one reuses the string a recent frame on this
//! thread already decoded ([`IdStr::decode`]) instead of validating and allocating it again.

use std::borrow::Borrow;
use std::cell::RefCell;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use crate::{mutf8, OpenWireError};

/// An identifier string, shared: cloning it copies a pointer.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdStr(Arc<str>);

/// How many recently decoded strings each thread remembers (a producer's and a consumer's
/// connection ids and a few destination names cover a busy connection's frames).
const RECENT: usize = 8;

thread_local! {
    /// The wire bytes and the strings of the last [`RECENT`] decodes on this thread, newest
    /// first.
    static RECENT_DECODED: RefCell<Vec<(Box<[u8]>, IdStr)>> = const { RefCell::new(Vec::new()) };
}

impl IdStr {
    /// The string of `raw` (modified UTF-8 as on the wire): a recent decode of the same bytes
    /// on this thread if there is one, else a new string.
    ///
    /// # Errors
    ///
    /// `raw` is not valid modified UTF-8.
    pub(crate) fn decode(raw: &[u8]) -> Result<IdStr, OpenWireError> {
        let hit = RECENT_DECODED.with(|recent| {
            let recent = recent.borrow();
            recent
                .iter()
                .find(|(bytes, _)| **bytes == *raw)
                .map(|(_, s)| s.clone())
        });
        if let Some(s) = hit {
            return Ok(s);
        }
        let s = IdStr::from(mutf8::decode(raw)?);
        RECENT_DECODED.with(|recent| {
            let mut recent = recent.borrow_mut();
            if recent.len() == RECENT {
                recent.pop();
            }
            recent.insert(0, (raw.into(), s.clone()));
        });
        Ok(s)
    }

    /// The string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for IdStr {
    fn default() -> Self {
        IdStr::from("")
    }
}

impl Deref for IdStr {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for IdStr {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for IdStr {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for IdStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for IdStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for IdStr {
    fn from(s: String) -> Self {
        IdStr(Arc::from(s))
    }
}

impl From<&String> for IdStr {
    fn from(s: &String) -> Self {
        IdStr(Arc::from(s.as_str()))
    }
}

/// The shared string itself, for owners outside this crate (the broker's destination names):
/// no copy either way.
impl From<IdStr> for Arc<str> {
    fn from(s: IdStr) -> Self {
        s.0
    }
}

impl From<Arc<str>> for IdStr {
    fn from(s: Arc<str>) -> Self {
        IdStr(s)
    }
}

impl From<&str> for IdStr {
    fn from(s: &str) -> Self {
        IdStr(Arc::from(s))
    }
}

impl From<IdStr> for String {
    fn from(s: IdStr) -> Self {
        s.0.to_string()
    }
}

impl PartialEq<str> for IdStr {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for IdStr {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for IdStr {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<IdStr> for str {
    fn eq(&self, other: &IdStr) -> bool {
        *self == *other.0
    }
}

impl PartialEq<IdStr> for &str {
    fn eq(&self, other: &IdStr) -> bool {
        **self == *other.0
    }
}

impl PartialEq<IdStr> for String {
    fn eq(&self, other: &IdStr) -> bool {
        **self == *other.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_decode_shares_the_first_string() {
        let a = IdStr::decode(b"ID:host-1234-1:1").expect("decode");
        let b = IdStr::decode(b"ID:host-1234-1:1").expect("decode");
        assert!(
            Arc::ptr_eq(&a.0, &b.0),
            "the second decode reused the first"
        );
        let c = IdStr::decode(b"ID:host-1234-1:2").expect("decode");
        assert_eq!(c, "ID:host-1234-1:2");
        assert!(!Arc::ptr_eq(&a.0, &c.0));
    }

    #[test]
    fn the_cache_keeps_only_recent_strings_and_stays_correct() {
        let names: Vec<String> = (0..3 * RECENT).map(|i| format!("queue.{i}")).collect();
        for _ in 0..2 {
            for n in &names {
                assert_eq!(IdStr::decode(n.as_bytes()).expect("decode"), *n);
            }
        }
        RECENT_DECODED.with(|r| assert_eq!(r.borrow().len(), RECENT));
    }

    #[test]
    fn bad_modified_utf8_is_an_error_and_is_not_remembered() {
        assert!(IdStr::decode(&[0xC0]).is_err());
        RECENT_DECODED.with(|r| assert!(r.borrow().iter().all(|(b, _)| **b != [0xC0])));
    }
}
