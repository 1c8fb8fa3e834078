//! Keep-alive: a JMS client that vanishes without closing (frozen with SIGSTOP: its socket
//! stays open, it just stops talking) is detected by the inactivity monitor, and what it
//! held unacknowledged is redelivered to another consumer.

use crate::broker::Broker;
use crate::java::JavaProcess;
use std::process::Command;
use std::time::Duration;
use stomp::{ConnectOptions, StompClient};

/// Inactivity window the frozen client negotiates (the broker closes after 1.5×).
const INACTIVITY_MS: u64 = 1000;
/// Generous bound for detection plus redelivery.
const DETECT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vanished_client_is_detected_and_its_messages_redelivered() {
    let broker = Broker::start();
    let mut stomp = StompClient::connect(&broker.stomp_addr(), ConnectOptions::default())
        .await
        .expect("stomp connect");
    stomp
        .send("/queue/ka", "held", &[("persistent", "true")], true)
        .await
        .expect("send");

    eprintln!("--- a CLIENT_ACK JMS consumer takes the message and freezes");
    let url = format!(
        "tcp://{}?wireFormat.maxInactivityDuration={INACTIVITY_MS}",
        broker.openwire_addr()
    );
    let mut holder = JavaProcess::spawn("CrossProtocol", &["hold", &url, "ka"]);
    let got = tokio::task::block_in_place(|| {
        holder.wait_for_line("holding held", Duration::from_secs(60))
    });
    assert!(got, "the JMS consumer did not receive the message");
    let stopped = Command::new("kill")
        .args(["-STOP", &holder.pid().to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(stopped, "cannot SIGSTOP the JVM");

    eprintln!("--- the broker must notice the silence and give the message to someone else");
    stomp
        .subscribe("s", "/queue/ka", "client-individual", &[])
        .await
        .expect("subscribe");
    let m = stomp.recv(DETECT).await.expect("recv");
    let _ = Command::new("kill")
        .args(["-CONT", &holder.pid().to_string()])
        .status();
    drop(holder);
    let m = m.expect("the frozen client's message was not redelivered");
    assert_eq!(&m.body[..], b"held");
    assert_eq!(m.header("redelivered"), Some("true"));
}
