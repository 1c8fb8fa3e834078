//! Fast failover (ARCHITECTURE decision 7): a follower whose replication link to the
//! leader closes, and whose leader then refuses new connections, elects at once instead
//! of waiting out the election timeout.
//!
//! A process killed with SIGKILL has its sockets closed by the kernel: the followers see
//! the leader's connection end, and a status request to its replication port is refused
//! (no listener) or closed unanswered (a proxy in front of it). Both facts together mean
//! the leader process is gone. A closed link alone does not: a live leader drops a
//! connection after an RPC timeout and reconnects; it still answers its status, and then
//! nothing happens here. A silent leader (host gone, partition) neither closes nor
//! refuses: the request times out, and openraft's election timeout handles it as before.
//!
//! Why the retries: openraft 0.9 refuses votes while the voter's leader lease runs
//! (`election_timeout_max` since the last heartbeat), so the first candidate is refused
//! by a survivor that still holds a committed vote. Once both survivors have started an
//! election, neither vote is committed any more and the lease no longer applies: the next
//! round wins. The survivors retry at different delays (by rank among the survivors) so
//! their rounds do not keep splitting the vote. Typical time from the kill to a leader:
//! two rounds, a few tens of milliseconds on loopback.

use crate::types::{NodeId, Raft};
use openraft::ServerState;
use std::time::Duration;

/// How long a status request to the old leader may take before we stop calling it dead.
const PROBE_TIMEOUT: Duration = Duration::from_millis(100);
/// Rounds before leaving it to openraft's own election timer.
const MAX_ROUNDS: u32 = 12;

/// Outcome of probing the old leader's replication port.
#[derive(Debug, PartialEq, Eq)]
enum Probe {
    /// The port refuses connections, or the connection closes unanswered: gone.
    Refused,
    /// It answered, or we could not tell (timeout, garbage).
    AliveOrUnknown,
}

async fn probe(addr: &str) -> Probe {
    use std::io::ErrorKind as K;
    match crate::network::query_status(addr, PROBE_TIMEOUT).await {
        Err(crate::ClusterError::Io(e))
            if matches!(
                e.kind(),
                K::ConnectionRefused
                    | K::ConnectionReset
                    | K::ConnectionAborted
                    | K::UnexpectedEof
                    | K::BrokenPipe
            ) =>
        {
            Probe::Refused
        }
        _ => Probe::AliveOrUnknown,
    }
}

/// Called when a connection on which `leader` sent appends (with a committed vote) ends.
pub(crate) async fn leader_link_closed(raft: Raft, leader: NodeId) {
    let (me, addr, rank) = {
        let m = raft.metrics();
        let m = m.borrow();
        if m.state != ServerState::Follower || m.current_leader != Some(leader) {
            return;
        }
        let membership = m.membership_config.membership();
        let Some(node) = membership.get_node(&leader) else {
            return;
        };
        let survivors: Vec<NodeId> = membership.voter_ids().filter(|v| *v != leader).collect();
        let rank = survivors.iter().position(|v| *v == m.id).unwrap_or(0) as u64;
        (m.id, node.addr.clone(), rank)
    };
    if probe(crate::types::strip_scheme(&addr)).await != Probe::Refused {
        tracing::debug!(leader, %addr, "leader link closed but its port did not refuse: not electing early");
        return;
    }
    tracing::info!(leader, %addr, "the leader's link closed and its port refuses connections: electing now");
    for round in 0..MAX_ROUNDS {
        {
            let m = raft.metrics();
            let m = m.borrow();
            let settled = m.state == ServerState::Leader
                || matches!(m.current_leader, Some(l) if l != leader);
            if settled {
                tracing::info!(
                    node = me,
                    new_leader = ?m.current_leader,
                    term = m.current_term,
                    rounds = round,
                    "fast failover done"
                );
                return;
            }
        }
        if let Err(e) = raft.trigger().elect().await {
            tracing::warn!(error = %e, "cannot start an election");
            return;
        }
        tokio::time::sleep(retry_delay(rank)).await;
    }
    tracing::info!(
        node = me,
        "fast failover gave up; openraft's election timer takes over"
    );
}

/// Delay between rounds: the lower-ranked survivor retries first; a little jitter from the
/// clock keeps two equal ranks (a membership change in flight) apart.
fn retry_delay(rank: u64) -> Duration {
    let jitter = u64::from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_micros())
            % 8,
    );
    Duration::from_millis(8 + rank.min(4) * 16 + jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn probe_tells_a_gone_process_from_a_silent_one() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        // Accepts (the kernel's backlog) but never answers: a silent peer, not a dead one.
        assert_eq!(probe(&addr).await, Probe::AliveOrUnknown);
        // Accepts and closes unanswered: what a proxy in front of a dead node does.
        let closer = tokio::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                drop(s);
            }
        });
        assert_eq!(probe(&addr).await, Probe::Refused);
        closer.abort();
        let _ = closer.await;
        // Nobody listening.
        assert_eq!(probe(&addr).await, Probe::Refused);
    }

    #[test]
    fn survivors_retry_at_different_delays() {
        for _ in 0..100 {
            assert!(retry_delay(0) < retry_delay(1));
        }
    }
}
