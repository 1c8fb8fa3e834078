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
//! The rounds: openraft 0.9 refuses votes while the voter's leader lease runs
//! (`election_timeout_max` since the last heartbeat), so a first candidate is refused by a
//! survivor that still holds a committed vote. Both survivors therefore start an election
//! at once (dropping their committed votes, so the lease no longer applies), and then only
//! the lower-ranked survivor starts a second round a moment later, which the other
//! grants. A round is given time to finish (a vote is fsynced by the voter before it
//! answers, slow on a loaded disk) before another starts: a node that starts a new round
//! ignores the answers to its previous one, and two nodes doing that in turn never elect.
//! Before a round after the first, a survivor asks the others for their status: one whose
//! log is shorter than another survivor's cannot win (Raft grants votes only to a log at
//! least as up to date), and each of its rounds would only raise the term under the other's
//! election; it leaves the election to that survivor, and a survivor whose log is longer
//! than every other's takes the first-ranked survivor's early second round. (Seen on
//! 2026-12-04: the first-ranked survivor had the shorter log, and its rounds every 150 ms
//! outbid the other's until it gave up: a 980 ms election, a 1.3 s gap for the Java client.)
//! Typical time from the kill to a leader: a few tens of milliseconds on loopback.

use crate::types::{NodeId, Raft};
use openraft::ServerState;
use std::time::Duration;

/// How long a status request to the old leader may take before we stop calling it dead.
const PROBE_TIMEOUT: Duration = Duration::from_millis(100);
/// Rounds before leaving it to openraft's own election timer.
const MAX_ROUNDS: u32 = 6;
/// How long the second survivor waits for the first one's decisive round.
const FIRST_ROUND_DELAY: Duration = Duration::from_millis(20);
/// How long a round may take before the next one starts.
const ROUND_TIMEOUT: Duration = Duration::from_millis(150);

/// Outcome of probing the old leader's replication port.
#[derive(Debug, PartialEq, Eq)]
enum Probe {
    /// The port refuses connections, or the connection closes unanswered: gone.
    Refused,
    /// It answered, or we could not tell (timeout, garbage).
    AliveOrUnknown,
}

async fn probe(addr: &str) -> Probe {
    match crate::network::query_status(addr, PROBE_TIMEOUT).await {
        Err(crate::ClusterError::Io(e)) if crate::network::peer_gone(e.kind()) => Probe::Refused,
        _ => Probe::AliveOrUnknown,
    }
}

/// How this node's log compares with the other survivors' (at `others`, replication
/// addresses), as far as they answer within [`PROBE_TIMEOUT`].
#[derive(Debug, PartialEq, Eq)]
enum LogRank {
    /// A survivor reports a longer log: this node cannot win an election.
    Behind,
    /// Every survivor answered with a shorter log: only this node can win.
    Ahead,
    /// Equal, or not known.
    Even,
}

async fn log_rank(others: &[String], mine: u64) -> LogRank {
    let mut all_shorter = !others.is_empty();
    for addr in others {
        match crate::network::query_status(addr, PROBE_TIMEOUT).await {
            Ok(s) if s.last_log_index > mine => return LogRank::Behind,
            Ok(s) if s.last_log_index < mine => {}
            _ => all_shorter = false,
        }
    }
    if all_shorter {
        LogRank::Ahead
    } else {
        LogRank::Even
    }
}

type Metrics = tokio::sync::watch::Receiver<openraft::RaftMetrics<NodeId, openraft::BasicNode>>;

/// Waits until `settled` holds or `deadline` passes; false when Raft shut down meanwhile.
async fn settle_by(
    metrics: &mut Metrics,
    deadline: tokio::time::Instant,
    settled: &impl Fn(&openraft::RaftMetrics<NodeId, openraft::BasicNode>) -> bool,
) -> bool {
    while !settled(&metrics.borrow_and_update()) {
        match tokio::time::timeout_at(deadline, metrics.changed()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return false,
            Err(_) => break,
        }
    }
    true
}

/// Called when a connection on which `leader` sent appends (with a committed vote) ends.
pub(crate) async fn leader_link_closed(raft: Raft, leader: NodeId) {
    let (me, addr, rank, others) = {
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
        let others: Vec<String> = survivors
            .iter()
            .filter(|v| **v != m.id)
            .filter_map(|v| membership.get_node(v))
            .map(|n| crate::types::strip_scheme(&n.addr).to_string())
            .collect();
        (m.id, node.addr.clone(), rank, others)
    };
    if probe(crate::types::strip_scheme(&addr)).await != Probe::Refused {
        tracing::debug!(leader, %addr, "leader link closed but its port did not refuse: not electing early");
        return;
    }
    tracing::info!(leader, %addr, rank, "the leader's link closed and its port refuses connections: electing now");
    let settled = |m: &openraft::RaftMetrics<NodeId, openraft::BasicNode>| {
        m.state == ServerState::Leader || matches!(m.current_leader, Some(l) if l != leader)
    };
    // Round 0 on both survivors: drop the committed vote (and with it the lease).
    // Round 1 on the first survivor only, after a moment; more rounds, staggered by rank,
    // only if a round ended without a leader (a survivor with a shorter log loses).
    let mut metrics = raft.metrics();
    for round in 0..MAX_ROUNDS {
        if settled(&metrics.borrow()) {
            break;
        }
        let mine = metrics.borrow().last_log_index.unwrap_or(0);
        if round > 0 && log_rank(&others, mine).await == LogRank::Behind {
            tracing::info!(
                node = me,
                "another survivor holds a longer log: leaving the election to it"
            );
            let deadline = tokio::time::Instant::now() + ROUND_TIMEOUT * (MAX_ROUNDS - round);
            if !settle_by(&mut metrics, deadline, &settled).await {
                return; // raft shut down
            }
            break;
        }
        if let Err(e) = raft.trigger().elect().await {
            tracing::warn!(error = %e, "cannot start an election");
            return;
        }
        let wait = match (round, rank) {
            (0, 0) => FIRST_ROUND_DELAY,
            // The only survivor that can win goes first whatever its rank.
            (0, _) if log_rank(&others, mine).await == LogRank::Ahead => FIRST_ROUND_DELAY,
            (0, _) => ROUND_TIMEOUT + 3 * FIRST_ROUND_DELAY,
            _ => ROUND_TIMEOUT + Duration::from_millis(rank.min(4) * 40),
        };
        let deadline = tokio::time::Instant::now() + wait;
        if !settle_by(&mut metrics, deadline, &settled).await {
            return; // raft shut down
        }
    }
    let m = metrics.borrow();
    if settled(&m) {
        tracing::info!(node = me, new_leader = ?m.current_leader, term = m.current_term, "fast failover done");
    } else {
        tracing::info!(
            node = me,
            "fast failover gave up; openraft's election timer takes over"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_survivor_that_does_not_answer_neither_holds_back_nor_hands_over() {
        // Nobody else: no survivor can be ahead or behind.
        assert_eq!(log_rank(&[], 7).await, LogRank::Even);
        // A survivor that refuses its status is not known to be behind or ahead: this node
        // neither leaves the election to it nor claims the early round.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        drop(listener);
        assert_eq!(log_rank(&[addr], 7).await, LogRank::Even);
    }

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
}
