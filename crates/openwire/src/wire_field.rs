//! `WireField`: how each Rust field type maps onto a loose-encoded OpenWire field, and the
//! `wire_struct!` macro that derives a structure's marshaller from its field list, so that the
//! decode and encode orders can never disagree.

use bytes::Bytes;

use crate::reader::WireReader;
use crate::throwable::Throwable;
use crate::writer::WireWriter;
use crate::IdStr;
use crate::OpenWireError;

/// One loose-encoded field.
///
/// | Rust type | wire type (notes §2.1) |
/// |---|---|
/// | `bool`, `i8`, `i32`, `i64` | bool, byte, int32, int64 |
/// | `Option<String>` | string (nullable) |
/// | `String` | string that must not be null |
/// | `IdStr` | the same, shared (ids' connection ids) |
/// | `Option<Bytes>` | bytes / ByteSequence |
/// | `Option<T: Nested>` | object<T> (cached objects are identical with caching off) |
/// | `Option<Vec<T: Nested>>` | array<T> |
/// | `Option<Throwable>` | throwable |
pub(crate) trait WireField: Sized {
    fn read(r: &mut WireReader) -> Result<Self, OpenWireError>;
    fn write(&self, w: &mut WireWriter<'_>) -> Result<(), OpenWireError>;
}

/// A data structure that can appear as a nested object: identified by a type byte.
pub(crate) trait Nested: Sized {
    /// Decodes the body of a structure whose type byte was `type_code`.
    fn read_typed(type_code: u8, r: &mut WireReader) -> Result<Self, OpenWireError>;
    /// The same, into a box (a large structure may decode in place there instead of being
    /// moved into it).
    fn read_typed_boxed(type_code: u8, r: &mut WireReader) -> Result<Box<Self>, OpenWireError> {
        Self::read_typed(type_code, r).map(Box::new)
    }
    /// The type byte this value is written with.
    fn type_code(&self) -> u8;
    /// Encodes the body (everything after the type byte).
    fn write_body(&self, w: &mut WireWriter<'_>) -> Result<(), OpenWireError>;
}

impl<T: Nested> Nested for Box<T> {
    fn read_typed(type_code: u8, r: &mut WireReader) -> Result<Self, OpenWireError> {
        T::read_typed_boxed(type_code, r)
    }
    fn type_code(&self) -> u8 {
        (**self).type_code()
    }
    fn write_body(&self, w: &mut WireWriter<'_>) -> Result<(), OpenWireError> {
        (**self).write_body(w)
    }
}

/// Reads `type byte` + body of a non-null nested object, one nesting level deeper.
pub(crate) fn read_nested<T: Nested>(r: &mut WireReader) -> Result<T, OpenWireError> {
    let code = r.u8("type code")?;
    r.enter()?;
    let v = T::read_typed(code, r);
    r.leave();
    v
}

pub(crate) fn write_nested<T: Nested>(v: &T, w: &mut WireWriter<'_>) -> Result<(), OpenWireError> {
    w.u8(v.type_code());
    v.write_body(w)
}

impl WireField for bool {
    #[inline]
    fn read(r: &mut WireReader) -> Result<Self, OpenWireError> {
        r.bool("bool")
    }
    #[inline]
    fn write(&self, w: &mut WireWriter<'_>) -> Result<(), OpenWireError> {
        w.bool(*self);
        Ok(())
    }
}

impl WireField for i8 {
    #[inline]
    fn read(r: &mut WireReader) -> Result<Self, OpenWireError> {
        r.i8("byte")
    }
    #[inline]
    fn write(&self, w: &mut WireWriter<'_>) -> Result<(), OpenWireError> {
        w.i8(*self);
        Ok(())
    }
}

impl WireField for i32 {
    #[inline]
    fn read(r: &mut WireReader) -> Result<Self, OpenWireError> {
        r.i32("int32")
    }
    #[inline]
    fn write(&self, w: &mut WireWriter<'_>) -> Result<(), OpenWireError> {
        w.i32(*self);
        Ok(())
    }
}

impl WireField for i64 {
    #[inline]
    fn read(r: &mut WireReader) -> Result<Self, OpenWireError> {
        r.i64("int64")
    }
    #[inline]
    fn write(&self, w: &mut WireWriter<'_>) -> Result<(), OpenWireError> {
        w.i64(*self);
        Ok(())
    }
}

impl WireField for Option<String> {
    #[inline]
    fn read(r: &mut WireReader) -> Result<Self, OpenWireError> {
        r.opt_string("string")
    }
    #[inline]
    fn write(&self, w: &mut WireWriter<'_>) -> Result<(), OpenWireError> {
        w.opt_string(self.as_deref(), "string")
    }
}

impl WireField for String {
    #[inline]
    fn read(r: &mut WireReader) -> Result<Self, OpenWireError> {
        r.opt_string("string")?.ok_or(OpenWireError::NullField {
            what: "identifier string",
        })
    }
    #[inline]
    fn write(&self, w: &mut WireWriter<'_>) -> Result<(), OpenWireError> {
        w.opt_string(Some(self), "string")
    }
}

impl WireField for IdStr {
    #[inline]
    fn read(r: &mut WireReader) -> Result<Self, OpenWireError> {
        r.opt_id("string")?.ok_or(OpenWireError::NullField {
            what: "identifier string",
        })
    }
    #[inline]
    fn write(&self, w: &mut WireWriter<'_>) -> Result<(), OpenWireError> {
        w.opt_string(Some(self), "string")
    }
}

impl WireField for Option<Bytes> {
    #[inline]
    fn read(r: &mut WireReader) -> Result<Self, OpenWireError> {
        r.opt_bytes("byte array")
    }
    #[inline]
    fn write(&self, w: &mut WireWriter<'_>) -> Result<(), OpenWireError> {
        w.opt_bytes(self.as_deref(), "byte array")
    }
}

impl<T: Nested> WireField for Option<T> {
    // Inlined: most optional fields of a message are null, and the flag is all that is
    // read then (no call, no result moved through memory).
    #[inline]
    fn read(r: &mut WireReader) -> Result<Self, OpenWireError> {
        if r.bool("object flag")? {
            Ok(Some(read_nested(r)?))
        } else {
            Ok(None)
        }
    }
    #[inline]
    fn write(&self, w: &mut WireWriter<'_>) -> Result<(), OpenWireError> {
        match self {
            Some(v) => {
                w.bool(true);
                write_nested(v, w)
            }
            None => {
                w.bool(false);
                Ok(())
            }
        }
    }
}

impl<T: Nested> WireField for Option<Vec<T>> {
    // The null check inlined, as for `Option<T>`; the array itself is read out of line.
    #[inline]
    fn read(r: &mut WireReader) -> Result<Self, OpenWireError> {
        if r.bool("array flag")? {
            read_array(r).map(Some)
        } else {
            Ok(None)
        }
    }
    fn write(&self, w: &mut WireWriter<'_>) -> Result<(), OpenWireError> {
        match self {
            Some(items) => {
                let count =
                    i16::try_from(items.len()).map_err(|_| OpenWireError::TooLongToEncode {
                        what: "array",
                        length: items.len(),
                    })?;
                w.bool(true);
                w.i16(count);
                for item in items {
                    w.bool(true);
                    write_nested(item, w)?;
                }
                Ok(())
            }
            None => {
                w.bool(false);
                Ok(())
            }
        }
    }
}

/// A non-null array of nested objects (after its flag).
fn read_array<T: Nested>(r: &mut WireReader) -> Result<Vec<T>, OpenWireError> {
    let count = r.i16("array count")?;
    // Each element is at least its notNull flag.
    let n = r.check_count(i64::from(count), 1, "array")?;
    let mut items = Vec::with_capacity(n);
    for _ in 0..n {
        // Java's looseUnmarsalNestedObject: a null element is legal on the wire; the
        // arrays a client sends never contain one, so it is rejected rather than modelled.
        if !r.bool("array element flag")? {
            return Err(OpenWireError::NullField {
                what: "array element",
            });
        }
        items.push(read_nested(r)?);
    }
    Ok(items)
}

impl WireField for Option<Throwable> {
    fn read(r: &mut WireReader) -> Result<Self, OpenWireError> {
        Throwable::read_opt(r)
    }
    fn write(&self, w: &mut WireWriter<'_>) -> Result<(), OpenWireError> {
        Throwable::write_opt(self.as_ref(), w)
    }
}

/// Declares a struct whose fields are all [`WireField`]s, in wire order, and derives
/// `read_body` / `write_body` from that order.
macro_rules! wire_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl $name {
            #[allow(unused_variables)]
            pub(crate) fn read_body(
                r: &mut $crate::reader::WireReader,
            ) -> Result<Self, $crate::OpenWireError> {
                Ok(Self {
                    $( $field: $crate::wire_field::WireField::read(r)?, )*
                })
            }

            #[allow(unused_variables)]
            pub(crate) fn write_body(
                &self,
                w: &mut $crate::writer::WireWriter<'_>,
            ) -> Result<(), $crate::OpenWireError> {
                $( $crate::wire_field::WireField::write(&self.$field, w)?; )*
                Ok(())
            }
        }
    };
}

/// Implements [`Nested`] for a `wire_struct!` type that has exactly one type code.
macro_rules! nested_single {
    ($name:ident, $code:expr) => {
        impl $crate::wire_field::Nested for $name {
            fn read_typed(
                type_code: u8,
                r: &mut $crate::reader::WireReader,
            ) -> Result<Self, $crate::OpenWireError> {
                if type_code == $code {
                    Self::read_body(r)
                } else if $crate::data_structure::DataStructure::is_known_type(type_code) {
                    Err($crate::OpenWireError::UnexpectedType {
                        expected: stringify!($name),
                        found: type_code,
                    })
                } else {
                    Err($crate::OpenWireError::UnknownType { type_code })
                }
            }
            fn type_code(&self) -> u8 {
                $code
            }
            fn write_body(
                &self,
                w: &mut $crate::writer::WireWriter<'_>,
            ) -> Result<(), $crate::OpenWireError> {
                $name::write_body(self, w)
            }
        }
    };
}

pub(crate) use nested_single;
pub(crate) use wire_struct;
