//! `WireFormatInfo` (type 1): the handshake frame (notes §1.2). No command header.

use bytes::Bytes;

use crate::primitive_map::PrimitiveMap;
use crate::reader::WireReader;
use crate::writer::WireWriter;
use crate::OpenWireError;

/// The 8 magic bytes every WireFormatInfo starts with.
pub const MAGIC: [u8; 8] = *b"ActiveMQ";

/// A WireFormatInfo frame. Properties stay raw so that a received frame re-encodes exactly;
/// [`WireFormatInfo::properties`] decodes them and [`crate::WireFormat`] interprets them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireFormatInfo {
    /// Must be [`MAGIC`].
    pub magic: [u8; 8],
    /// Protocol version (12 for activemq-client 5.17).
    pub version: i32,
    /// Raw primitive map.
    pub marshalled_properties: Option<Bytes>,
}

impl Default for WireFormatInfo {
    fn default() -> Self {
        Self {
            magic: MAGIC,
            version: 0,
            marshalled_properties: None,
        }
    }
}

impl WireFormatInfo {
    /// A WireFormatInfo with the given version and properties.
    ///
    /// # Errors
    ///
    /// A property that cannot be encoded.
    pub fn new(version: i32, properties: &PrimitiveMap) -> Result<Self, OpenWireError> {
        Ok(Self {
            magic: MAGIC,
            version,
            marshalled_properties: Some(properties.encode()?),
        })
    }

    /// The decoded properties (empty if absent).
    ///
    /// # Errors
    ///
    /// A malformed property blob.
    pub fn properties(&self) -> Result<PrimitiveMap, OpenWireError> {
        match &self.marshalled_properties {
            Some(b) => PrimitiveMap::decode(b.clone()),
            None => Ok(PrimitiveMap::new()),
        }
    }

    pub(crate) fn read_body(r: &mut WireReader) -> Result<Self, OpenWireError> {
        let raw = r.raw(8, "magic")?;
        let mut magic = [0u8; 8];
        magic.copy_from_slice(&raw);
        Ok(Self {
            magic,
            version: r.i32("version")?,
            marshalled_properties: r.opt_bytes("properties")?,
        })
    }

    pub(crate) fn write_body(&self, w: &mut WireWriter<'_>) -> Result<(), OpenWireError> {
        w.raw(&self.magic);
        w.i32(self.version);
        w.opt_bytes(self.marshalled_properties.as_deref(), "properties")
    }
}
