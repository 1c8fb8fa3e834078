//! `WireFormat`: one side's WireFormatInfo preferences and the negotiation rules of
//! `OpenWireFormat.renegotiateWireFormat` / `InactivityMonitor` (notes §1.3, §1.4).

use crate::primitive_map::{PrimitiveMap, PrimitiveValue};
use crate::wire_format_info::{WireFormatInfo, MAGIC};
use crate::OpenWireError;

/// The protocol version this crate implements (activemq-client 5.17 advertises 12).
pub const OPENWIRE_VERSION: i32 = 12;

/// Lowest negotiated version accepted: v10–v12 are byte-identical for every JMS command.
pub const MIN_SUPPORTED_VERSION: i32 = 10;

/// WireFormatInfo property keys (note the typo in `MaxInactivityDurationInitalDelay`).
pub mod keys {
    /// boolean.
    pub const TIGHT_ENCODING_ENABLED: &str = "TightEncodingEnabled";
    /// boolean.
    pub const CACHE_ENABLED: &str = "CacheEnabled";
    /// int32.
    pub const CACHE_SIZE: &str = "CacheSize";
    /// boolean.
    pub const STACK_TRACE_ENABLED: &str = "StackTraceEnabled";
    /// boolean.
    pub const SIZE_PREFIX_DISABLED: &str = "SizePrefixDisabled";
    /// boolean.
    pub const TCP_NO_DELAY_ENABLED: &str = "TcpNoDelayEnabled";
    /// int64 ms.
    pub const MAX_INACTIVITY_DURATION: &str = "MaxInactivityDuration";
    /// int64 ms (sic).
    pub const MAX_INACTIVITY_DURATION_INITIAL_DELAY: &str = "MaxInactivityDurationInitalDelay";
    /// int64 bytes.
    pub const MAX_FRAME_SIZE: &str = "MaxFrameSize";
    /// boolean, local only.
    pub const MAX_FRAME_SIZE_ENABLED: &str = "MaxFrameSizeEnabled";
    /// string.
    pub const HOST: &str = "Host";
    /// string.
    pub const PROVIDER_NAME: &str = "ProviderName";
    /// string.
    pub const PROVIDER_VERSION: &str = "ProviderVersion";
    /// string.
    pub const PLATFORM_DETAILS: &str = "PlatformDetails";
}

/// What one side advertises. Absent booleans read as false and absent numbers as 0, exactly as
/// the Java getters do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireFormat {
    /// Protocol version.
    pub version: i32,
    /// Tight encoding wanted (this crate only does loose: keep false).
    pub tight_encoding_enabled: bool,
    /// Marshal cache wanted (not implemented: keep false).
    pub cache_enabled: bool,
    /// Cache slots.
    pub cache_size: i32,
    /// Throwables carry stack traces.
    pub stack_trace_enabled: bool,
    /// TCP_NODELAY (ANDed: advertise true or the client enables Nagle).
    pub tcp_no_delay_enabled: bool,
    /// No size prefix (not implemented: keep false).
    pub size_prefix_disabled: bool,
    /// Inactivity monitor period in ms; 0 disables it.
    pub max_inactivity_duration: i64,
    /// Delay before the first inactivity check, ms.
    pub max_inactivity_duration_initial_delay: i64,
    /// Max frame size; ≤ 0 = no limit.
    pub max_frame_size: i64,
    /// Informational.
    pub host: Option<String>,
    /// Informational.
    pub provider_name: Option<String>,
    /// Informational.
    pub provider_version: Option<String>,
    /// Informational.
    pub platform_details: Option<String>,
}

/// The outcome of negotiation, as both sides compute it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NegotiatedWireFormat {
    /// min of the two (≤ 0 ignored).
    pub version: i32,
    /// AND.
    pub stack_trace_enabled: bool,
    /// AND: set TCP_NODELAY on the socket if true.
    pub tcp_no_delay_enabled: bool,
    /// min; 0 = the inactivity monitor is off (no keep-alives expected or needed).
    pub max_inactivity_duration: i64,
    /// min.
    pub max_inactivity_duration_initial_delay: i64,
    /// min (≤ 0 ignored); `None` = no limit.
    pub max_frame_size: Option<u64>,
}

impl Default for WireFormat {
    fn default() -> Self {
        Self::broker_default()
    }
}

impl WireFormat {
    /// The recommended broker WireFormatInfo (notes §1.4): v12, loose, no cache, no stack
    /// traces, TCP_NODELAY, 30 s inactivity / 10 s initial delay, 100 MiB frames.
    pub fn broker_default() -> Self {
        Self {
            version: OPENWIRE_VERSION,
            tight_encoding_enabled: false,
            cache_enabled: false,
            cache_size: 0,
            stack_trace_enabled: false,
            tcp_no_delay_enabled: true,
            size_prefix_disabled: false,
            max_inactivity_duration: 30_000,
            max_inactivity_duration_initial_delay: 10_000,
            max_frame_size: 100 * 1024 * 1024,
            host: None,
            provider_name: Some("ferromq".into()),
            provider_version: Some(env!("CARGO_PKG_VERSION").into()),
            platform_details: Some("Rust".into()),
        }
    }

    /// The WireFormatInfo to send, properties in the order of notes Appendix A.1.
    ///
    /// # Errors
    ///
    /// Informational strings longer than 65535 encoded bytes.
    pub fn to_info(&self) -> Result<WireFormatInfo, OpenWireError> {
        use PrimitiveValue::{Boolean, Int, Long};
        let mut m = PrimitiveMap::new();
        m.insert(
            keys::TIGHT_ENCODING_ENABLED,
            Boolean(self.tight_encoding_enabled),
        );
        m.insert(keys::CACHE_ENABLED, Boolean(self.cache_enabled));
        m.insert(keys::STACK_TRACE_ENABLED, Boolean(self.stack_trace_enabled));
        m.insert(
            keys::SIZE_PREFIX_DISABLED,
            Boolean(self.size_prefix_disabled),
        );
        m.insert(
            keys::TCP_NO_DELAY_ENABLED,
            Boolean(self.tcp_no_delay_enabled),
        );
        m.insert(
            keys::MAX_INACTIVITY_DURATION,
            Long(self.max_inactivity_duration),
        );
        m.insert(
            keys::MAX_INACTIVITY_DURATION_INITIAL_DELAY,
            Long(self.max_inactivity_duration_initial_delay),
        );
        m.insert(keys::CACHE_SIZE, Int(self.cache_size));
        m.insert(keys::MAX_FRAME_SIZE, Long(self.max_frame_size));
        for (key, value) in [
            (keys::HOST, &self.host),
            (keys::PROVIDER_NAME, &self.provider_name),
            (keys::PROVIDER_VERSION, &self.provider_version),
            (keys::PLATFORM_DETAILS, &self.platform_details),
        ] {
            if let Some(v) = value {
                m.insert(key, PrimitiveValue::String(v.clone()));
            }
        }
        WireFormatInfo::new(self.version, &m)
    }

    /// Reads a peer's preferences from its WireFormatInfo.
    ///
    /// # Errors
    ///
    /// Bad magic, a malformed property map, or a property with the wrong primitive type.
    pub fn from_info(info: &WireFormatInfo) -> Result<Self, OpenWireError> {
        if info.magic != MAGIC {
            return Err(OpenWireError::BadMagic { magic: info.magic });
        }
        let m = info.properties()?;
        let boolean = |key: &'static str| match m.get(key) {
            None => Ok(false),
            Some(PrimitiveValue::Boolean(b)) => Ok(*b),
            Some(_) => Err(OpenWireError::PropertyType {
                key,
                expected: "boolean",
            }),
        };
        let long = |key: &'static str| match m.get(key) {
            None => Ok(0),
            Some(PrimitiveValue::Long(v)) => Ok(*v),
            Some(_) => Err(OpenWireError::PropertyType {
                key,
                expected: "long",
            }),
        };
        let string = |key: &'static str| match m.get(key) {
            Some(PrimitiveValue::String(s)) => Some(s.clone()),
            _ => None,
        };
        Ok(Self {
            version: info.version,
            tight_encoding_enabled: boolean(keys::TIGHT_ENCODING_ENABLED)?,
            cache_enabled: boolean(keys::CACHE_ENABLED)?,
            cache_size: match m.get(keys::CACHE_SIZE) {
                None => 0,
                Some(PrimitiveValue::Int(v)) => *v,
                Some(_) => {
                    return Err(OpenWireError::PropertyType {
                        key: keys::CACHE_SIZE,
                        expected: "int",
                    })
                }
            },
            stack_trace_enabled: boolean(keys::STACK_TRACE_ENABLED)?,
            tcp_no_delay_enabled: boolean(keys::TCP_NO_DELAY_ENABLED)?,
            size_prefix_disabled: boolean(keys::SIZE_PREFIX_DISABLED)?,
            max_inactivity_duration: long(keys::MAX_INACTIVITY_DURATION)?,
            max_inactivity_duration_initial_delay: long(
                keys::MAX_INACTIVITY_DURATION_INITIAL_DELAY,
            )?,
            max_frame_size: long(keys::MAX_FRAME_SIZE)?,
            host: string(keys::HOST),
            provider_name: string(keys::PROVIDER_NAME),
            provider_version: string(keys::PROVIDER_VERSION),
            platform_details: string(keys::PLATFORM_DETAILS),
        })
    }

    /// Negotiates our preferences (`self`) with the peer's WireFormatInfo.
    ///
    /// # Errors
    ///
    /// Whatever [`WireFormat::from_info`] rejects, a negotiated version below
    /// [`MIN_SUPPORTED_VERSION`], or a negotiated tight encoding / cache / missing size prefix,
    /// none of which this crate implements.
    pub fn negotiate(
        &self,
        remote: &WireFormatInfo,
    ) -> Result<NegotiatedWireFormat, OpenWireError> {
        let peer = Self::from_info(remote)?;
        let min_ignoring_nonpositive = |a: i64, b: i64| match (a > 0, b > 0) {
            (true, true) => a.min(b),
            (true, false) => a,
            (false, true) => b,
            (false, false) => 0,
        };
        let version = min_ignoring_nonpositive(i64::from(self.version), i64::from(peer.version));
        let version = i32::try_from(version).unwrap_or(i32::MAX);
        if version < MIN_SUPPORTED_VERSION {
            return Err(OpenWireError::UnsupportedWireFormat {
                reason: format!("version {version} (need {MIN_SUPPORTED_VERSION}..=12)"),
            });
        }
        for (negotiated, what) in [
            (
                self.tight_encoding_enabled && peer.tight_encoding_enabled,
                "tight encoding",
            ),
            (self.cache_enabled && peer.cache_enabled, "marshal cache"),
            (
                self.size_prefix_disabled && peer.size_prefix_disabled,
                "size prefix disabled",
            ),
        ] {
            if negotiated {
                return Err(OpenWireError::UnsupportedWireFormat {
                    reason: what.to_owned(),
                });
            }
        }
        let max_frame_size = min_ignoring_nonpositive(self.max_frame_size, peer.max_frame_size);
        Ok(NegotiatedWireFormat {
            version,
            stack_trace_enabled: self.stack_trace_enabled && peer.stack_trace_enabled,
            tcp_no_delay_enabled: self.tcp_no_delay_enabled && peer.tcp_no_delay_enabled,
            max_inactivity_duration: self
                .max_inactivity_duration
                .min(peer.max_inactivity_duration),
            max_inactivity_duration_initial_delay: self
                .max_inactivity_duration_initial_delay
                .min(peer.max_inactivity_duration_initial_delay),
            max_frame_size: u64::try_from(max_frame_size).ok().filter(|m| *m > 0),
        })
    }
}
