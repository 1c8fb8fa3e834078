//! OpenWire suite: the real ActiveMQ Classic 5.17 Java client against real `ferromq` processes.
//!
//! The Java programs live in `interop/java/` (plain JMS 1.1 on `ActiveMQConnectionFactory`);
//! this binary compiles them once with `javac` against Debian's `libactivemq-java` jars,
//! starts brokers with `testkit` and runs the programs with a timeout each (a JVM that
//! overruns is killed and the test fails). A missing JDK or missing jars are a failure,
//! never a skip.
//!
//! - `seed`: the seed's producer and consumer over `failover:`, five messages in order.
//! - `suite`: `JmsSuite`, the JMS feature suite (message types, headers, acknowledgement
//!   modes, transactions, prefetch, browsing, DLQ, temp destinations, durable subscribers).
//! - `failover`: a producer and a consumer whose connections a proxy cuts mid-stream; no
//!   sent message is lost.
//! - `bad_input`: garbage on the OpenWire port closes that connection only.
//! - `cross_protocol`: STOMP ⇄ JMS text, bytes and properties.
//! - `dedupe`: a resent persistent message (same producer id and sequence) is answered but
//!   not stored twice, even after the original was consumed.
//! - `keepalive`: a frozen client is detected and its messages go to another consumer.
//! - `flow_control`: a producer past `memory_limit` waits, and finishes promptly once a
//!   consumer drains (our Rust client).
//!
//! `OPENWIRE_TEST_BROKER=HOST:PORT` points every test at an already running broker instead
//! (e.g. ActiveMQ 5.17 from `/work/shared/tools/activemq`, to check the tests themselves);
//! run with `--test-threads=1` then, as the seed test uses the fixed queue `cluster-queue-01`.

mod bad_input;
mod broker;
mod cross_protocol;
mod dedupe;
mod failover;
mod flow_control;
mod java;
mod keepalive;
mod seed;
mod suite;
