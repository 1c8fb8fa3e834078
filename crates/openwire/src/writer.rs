//! `WireWriter`: appends loose-encoded fields to a `BytesMut`.

use bytes::{BufMut, BytesMut};

use crate::{mutf8, OpenWireError};

/// Appends big-endian loose-encoded fields. Fallible only where Java's format has a hard limit
/// (strings ≤ 65535 encoded bytes, arrays ≤ 32767 elements, blobs ≤ 2 GiB).
#[derive(Debug)]
pub(crate) struct WireWriter<'a> {
    buf: &'a mut BytesMut,
    stack_trace_enabled: bool,
}

impl<'a> WireWriter<'a> {
    pub(crate) fn new(buf: &'a mut BytesMut, stack_trace_enabled: bool) -> Self {
        Self {
            buf,
            stack_trace_enabled,
        }
    }

    pub(crate) fn stack_trace_enabled(&self) -> bool {
        self.stack_trace_enabled
    }

    #[inline]
    pub(crate) fn u8(&mut self, v: u8) {
        self.buf.put_u8(v);
    }

    #[inline]
    pub(crate) fn bool(&mut self, v: bool) {
        self.buf.put_u8(u8::from(v));
    }

    #[inline]
    pub(crate) fn i8(&mut self, v: i8) {
        self.buf.put_i8(v);
    }

    #[inline]
    pub(crate) fn i16(&mut self, v: i16) {
        self.buf.put_i16(v);
    }

    #[inline]
    pub(crate) fn u16(&mut self, v: u16) {
        self.buf.put_u16(v);
    }

    #[inline]
    pub(crate) fn i32(&mut self, v: i32) {
        self.buf.put_i32(v);
    }

    #[inline]
    pub(crate) fn i64(&mut self, v: i64) {
        self.buf.put_i64(v);
    }

    #[inline]
    pub(crate) fn f32(&mut self, v: f32) {
        self.buf.put_f32(v);
    }

    #[inline]
    pub(crate) fn f64(&mut self, v: f64) {
        self.buf.put_f64(v);
    }

    #[inline]
    pub(crate) fn raw(&mut self, v: &[u8]) {
        self.buf.put_slice(v);
    }

    /// `int32 length` + bytes.
    pub(crate) fn i32_prefixed(
        &mut self,
        v: &[u8],
        what: &'static str,
    ) -> Result<(), OpenWireError> {
        let len = i32::try_from(v.len()).map_err(|_| OpenWireError::TooLongToEncode {
            what,
            length: v.len(),
        })?;
        self.buf.put_i32(len);
        self.buf.put_slice(v);
        Ok(())
    }

    /// `uint16 length` + modified UTF-8 (`writeUTF`).
    pub(crate) fn utf(&mut self, s: &str, what: &'static str) -> Result<(), OpenWireError> {
        if mutf8::is_plain_ascii(s.as_bytes()) {
            // Ids and names: one check, one copy.
            let len16 = u16::try_from(s.len()).map_err(|_| OpenWireError::TooLongToEncode {
                what,
                length: s.len(),
            })?;
            self.buf.put_u16(len16);
            self.buf.put_slice(s.as_bytes());
            return Ok(());
        }
        let len = mutf8::encoded_len(s);
        let len16 =
            u16::try_from(len).map_err(|_| OpenWireError::TooLongToEncode { what, length: len })?;
        self.buf.put_u16(len16);
        mutf8::encode_into(s, self.buf);
        Ok(())
    }

    /// `int32 length` + modified UTF-8 (`writeUTF8`).
    pub(crate) fn utf_i32(&mut self, s: &str, what: &'static str) -> Result<(), OpenWireError> {
        let len = mutf8::encoded_len(s);
        let len32 =
            i32::try_from(len).map_err(|_| OpenWireError::TooLongToEncode { what, length: len })?;
        self.buf.put_i32(len32);
        mutf8::encode_into(s, self.buf);
        Ok(())
    }

    pub(crate) fn opt_string(
        &mut self,
        v: Option<&str>,
        what: &'static str,
    ) -> Result<(), OpenWireError> {
        match v {
            Some(s) => {
                self.bool(true);
                self.utf(s, what)
            }
            None => {
                self.bool(false);
                Ok(())
            }
        }
    }

    pub(crate) fn opt_bytes(
        &mut self,
        v: Option<&[u8]>,
        what: &'static str,
    ) -> Result<(), OpenWireError> {
        match v {
            Some(b) => {
                self.bool(true);
                self.i32_prefixed(b, what)
            }
            None => {
                self.bool(false);
                Ok(())
            }
        }
    }
}
