//! `WireReader`: a bounds-checked cursor over one frame body (or one blob inside it).

use bytes::{Buf, Bytes};

use crate::{mutf8, IdStr, OpenWireError};

/// Maximum nesting of objects, throwable causes and primitive maps. Deep enough for anything a
/// client sends (an advisory message nests a command that nests ids: depth 3), shallow enough
/// that recursion cannot exhaust the stack.
pub const MAX_NESTING: usize = 32;

/// Cursor over a fully received frame. Every length read from the peer is checked against the
/// bytes that are left *before* anything is allocated, so a frame can never make the decoder
/// allocate more than its own size.
#[derive(Debug)]
pub(crate) struct WireReader {
    buf: Bytes,
    depth: usize,
    stack_trace_enabled: bool,
}

impl WireReader {
    pub(crate) fn new(buf: Bytes, stack_trace_enabled: bool) -> Self {
        Self {
            buf,
            depth: 0,
            stack_trace_enabled,
        }
    }

    pub(crate) fn stack_trace_enabled(&self) -> bool {
        self.stack_trace_enabled
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// What is left to read, shared (for noting where a structure starts).
    pub(crate) fn rest(&self) -> &Bytes {
        &self.buf
    }

    #[inline]
    fn need(&self, n: usize, what: &'static str) -> Result<(), OpenWireError> {
        if self.buf.len() < n {
            Err(OpenWireError::truncated(what, n, self.buf.len()))
        } else {
            Ok(())
        }
    }

    /// Enters one nesting level; pair with [`WireReader::leave`].
    pub(crate) fn enter(&mut self) -> Result<(), OpenWireError> {
        if self.depth >= MAX_NESTING {
            return Err(OpenWireError::TooDeep { limit: MAX_NESTING });
        }
        self.depth += 1;
        Ok(())
    }

    pub(crate) fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    #[inline]
    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, OpenWireError> {
        self.need(1, what)?;
        Ok(self.buf.get_u8())
    }

    #[inline]
    pub(crate) fn bool(&mut self, what: &'static str) -> Result<bool, OpenWireError> {
        Ok(self.u8(what)? != 0)
    }

    #[inline]
    pub(crate) fn i8(&mut self, what: &'static str) -> Result<i8, OpenWireError> {
        self.need(1, what)?;
        Ok(self.buf.get_i8())
    }

    #[inline]
    pub(crate) fn i16(&mut self, what: &'static str) -> Result<i16, OpenWireError> {
        self.need(2, what)?;
        Ok(self.buf.get_i16())
    }

    #[inline]
    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16, OpenWireError> {
        self.need(2, what)?;
        Ok(self.buf.get_u16())
    }

    #[inline]
    pub(crate) fn i32(&mut self, what: &'static str) -> Result<i32, OpenWireError> {
        self.need(4, what)?;
        Ok(self.buf.get_i32())
    }

    #[inline]
    pub(crate) fn i64(&mut self, what: &'static str) -> Result<i64, OpenWireError> {
        self.need(8, what)?;
        Ok(self.buf.get_i64())
    }

    #[inline]
    pub(crate) fn f32(&mut self, what: &'static str) -> Result<f32, OpenWireError> {
        self.need(4, what)?;
        Ok(self.buf.get_f32())
    }

    #[inline]
    pub(crate) fn f64(&mut self, what: &'static str) -> Result<f64, OpenWireError> {
        self.need(8, what)?;
        Ok(self.buf.get_f64())
    }

    /// Exactly `n` bytes, zero-copy.
    pub(crate) fn raw(&mut self, n: usize, what: &'static str) -> Result<Bytes, OpenWireError> {
        self.need(n, what)?;
        Ok(self.buf.split_to(n))
    }

    /// Checks a count of items each at least `min_item_size` bytes long against what is left.
    pub(crate) fn check_count(
        &self,
        count: i64,
        min_item_size: usize,
        what: &'static str,
    ) -> Result<usize, OpenWireError> {
        let fits = usize::try_from(count)
            .ok()
            .filter(|c| c.saturating_mul(min_item_size) <= self.buf.len());
        fits.ok_or_else(|| OpenWireError::LengthOutOfRange {
            what,
            length: count,
            remaining: self.buf.len(),
        })
    }

    /// `int32 length` + bytes.
    pub(crate) fn i32_prefixed(&mut self, what: &'static str) -> Result<Bytes, OpenWireError> {
        let len = self.i32(what)?;
        let n = self.check_count(i64::from(len), 1, what)?;
        self.raw(n, what)
    }

    /// `uint16 length` + modified UTF-8 (`readUTF`), the encoded bytes.
    pub(crate) fn utf_bytes(&mut self, what: &'static str) -> Result<Bytes, OpenWireError> {
        let len = usize::from(self.u16(what)?);
        self.check_count(len as i64, 1, what)?;
        self.raw(len, what)
    }

    /// `uint16 length` + modified UTF-8 (`readUTF`), the encoded bytes handed to `f` in
    /// place (no shared slice of the frame is made, which costs two atomic reference
    /// count updates).
    fn with_utf<T>(
        &mut self,
        what: &'static str,
        f: impl FnOnce(&[u8]) -> Result<T, OpenWireError>,
    ) -> Result<T, OpenWireError> {
        let len = usize::from(self.u16(what)?);
        self.check_count(len as i64, 1, what)?;
        let v = f(&self.buf[..len])?;
        self.buf.advance(len);
        Ok(v)
    }

    /// `uint16 length` + modified UTF-8 (`readUTF`).
    pub(crate) fn utf(&mut self, what: &'static str) -> Result<String, OpenWireError> {
        self.with_utf(what, mutf8::decode)
    }

    /// `int32 length` + modified UTF-8 (`readUTF8`, big strings and text bodies).
    pub(crate) fn utf_i32(&mut self, what: &'static str) -> Result<String, OpenWireError> {
        let raw = self.i32_prefixed(what)?;
        mutf8::decode(&raw)
    }

    /// Loose nullable string: `bool notNull` [+ `readUTF`].
    #[inline]
    pub(crate) fn opt_string(
        &mut self,
        what: &'static str,
    ) -> Result<Option<String>, OpenWireError> {
        if self.bool(what)? {
            Ok(Some(self.utf(what)?))
        } else {
            Ok(None)
        }
    }

    /// Loose nullable identifier string: `bool notNull` [+ `readUTF`], shared with a recent
    /// decode of the same bytes ([`IdStr::decode`]).
    #[inline]
    pub(crate) fn opt_id(&mut self, what: &'static str) -> Result<Option<IdStr>, OpenWireError> {
        if !self.bool(what)? {
            return Ok(None);
        }
        self.with_utf(what, IdStr::decode).map(Some)
    }

    /// Loose nullable byte array: `bool notNull` [+ `int32 length` + bytes].
    #[inline]
    pub(crate) fn opt_bytes(&mut self, what: &'static str) -> Result<Option<Bytes>, OpenWireError> {
        if self.bool(what)? {
            Ok(Some(self.i32_prefixed(what)?))
        } else {
            Ok(None)
        }
    }
}
