//! OpenWire codec suite: captured real conversations, field order, limits, negotiation and
//! property maps. One test binary (linking is slow on 2 cores).

mod captures;
mod field_order;
mod limits;
mod negotiation;
mod properties;
