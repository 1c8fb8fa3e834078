//! OpenWire (work in progress).
