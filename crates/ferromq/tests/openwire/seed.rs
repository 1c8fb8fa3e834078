//! The seed's two programs, unchanged but for the host and port.

use crate::broker::Broker;
use crate::java;
use std::time::Duration;

/// Budget per seed program; the consumer alone waits 10 s for the message that never comes.
pub const SEED_PROGRAM_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs SeedProducer then SeedConsumer against `broker` and asserts the consumer printed
/// exactly `cluster-queue-msg-1` … `5`, in order.
pub fn assert_seed_programs_deliver(broker: &Broker) {
    let url = broker.failover_url();
    let producer = java::run("SeedProducer", &[&url], SEED_PROGRAM_TIMEOUT);
    assert!(
        producer.success() && producer.lines.iter().any(|l| l == "publishing succeeded"),
        "the seed producer failed\n{}",
        producer.report()
    );
    let consumer = java::run("SeedConsumer", &[&url], SEED_PROGRAM_TIMEOUT);
    assert!(
        consumer.success(),
        "the seed consumer failed\n{}",
        consumer.report()
    );
    let received: Vec<&str> = consumer
        .lines
        .iter()
        .filter_map(|l| l.strip_prefix("received: "))
        .collect();
    let expected: Vec<String> = (1..=5).map(|i| format!("cluster-queue-msg-{i}")).collect();
    assert_eq!(
        received,
        expected,
        "the seed consumer must print the five messages in order\n{}",
        consumer.report()
    );
}

/// The seed's proof, steps 1 and 2: a JMS producer on `failover:(tcp://…)?randomize=false`
/// sends five TextMessages to `cluster-queue-01`, and a consumer with the same URL receives
/// all five, in order, and nothing else.
#[test]
fn seed_programs_deliver_five_messages_in_order() {
    eprintln!("--- starting a broker");
    let broker = Broker::start();
    eprintln!(
        "--- seed producer, then seed consumer, over {}",
        broker.failover_url()
    );
    assert_seed_programs_deliver(&broker);
}
