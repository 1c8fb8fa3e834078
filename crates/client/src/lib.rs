//! Rust client (work in progress, issue 5).
