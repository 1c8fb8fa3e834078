//! STOMP protocol suite: the real `ferromq` binary, raw sockets and the `stomp` client.
//! Bad input must close only the offending connection, with an ERROR frame.

mod bad_input;
mod protocol;
mod support;
