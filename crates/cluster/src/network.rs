//! Raft RPCs over TCP between the nodes.
//!
//! A frame is `[u32 BE length][u8 type][u32 BE header length][JSON header][raw bytes]`.
//! Entry payloads and snapshot chunks travel as raw bytes after the header (no JSON
//! number arrays), everything else as JSON. Each side of a connection handles one request
//! at a time; a client keeps one connection per peer, reconnects on the next call after
//! any error, and bounds every call by openraft's RPC deadline.
//!
//! A client opens every connection with a `HELLO` frame (sent with its first request, so
//! it costs no round trip) naming the node it meant to reach and its cluster (name and
//! node ids). The server serves Raft RPCs only after a `HELLO` that names it and its own
//! cluster; otherwise it answers with the reason and closes. So a node never takes
//! votes, entries or snapshots from another cluster, or from a node that dialled the wrong
//! address (a port reused by another cluster's node on the same host).
//!
//! The same port answers a `STATUS` request (empty header) with the node's
//! [`NodeStatus`] as JSON, on any connection: [`query_status`] asks it, without a node of
//! its own (`ferromq cluster status`).

use crate::log_store::LogShared;
use crate::store::{node_status, ClusterError, NodeStatus};
use crate::types::{
    entry_to_record, record_to_entry, Entry, NodeId, Raft, RaftLogId, SnapshotMeta, TypeConfig,
    Vote,
};
use bytes::Bytes;
use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{Backoff, RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::BasicNode;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const APPEND: u8 = 1;
const VOTE: u8 = 2;
const SNAPSHOT: u8 = 3;
/// A node's [`NodeStatus`] (empty request header; JSON reply).
const STATUS: u8 = 4;
/// Who the connection is meant for ([`Hello`]); answered only when refused.
const HELLO: u8 = 5;
const RESPONSE: u8 = 0x80;
/// Largest frame accepted (a batch of entries or a snapshot chunk).
const MAX_FRAME: usize = 512 << 20;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Serialize, Deserialize)]
struct AppendHeader {
    vote: Vote,
    prev_log_id: Option<RaftLogId>,
    leader_commit: Option<RaftLogId>,
    /// `(term, index, kind, payload length)` per entry; payloads follow the header.
    entries: Vec<(u64, u64, u8, u32)>,
}

#[derive(Serialize, Deserialize)]
struct SnapshotHeader {
    vote: Vote,
    meta: SnapshotMeta,
    offset: u64,
    done: bool,
}

/// The opening frame of a replication connection: the sender, the node it meant to
/// reach, and the cluster it belongs to (its name and every node's id).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
struct Hello {
    from: NodeId,
    to: NodeId,
    cluster: String,
    ids: Vec<NodeId>,
}

/// This node's place in its cluster: its id, the cluster's name, every node's id.
/// Addresses are not part of it: one node may reach another through an address of its
/// own (a proxy, NAT, another host name).
#[derive(Debug)]
pub(crate) struct Identity {
    id: NodeId,
    cluster: String,
    ids: Vec<NodeId>,
    /// When a refusal was last logged, by who refused whom (`(true, peer)`: this node
    /// refused `peer`; `(false, target)`: `target` refused this node). A misdirected peer
    /// retries every 100 ms, and openraft makes a new client for every election and
    /// replication stream: one line per [`REFUSAL_LOG_EVERY`] and pair is enough.
    refusals_logged:
        std::sync::Mutex<std::collections::HashMap<(bool, NodeId), std::time::Instant>>,
}

const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(10);
/// Largest frame read before the connection's [`Hello`] was accepted: a hello or a status
/// request is small, and nothing bigger is allocated for a peer that has not said whom it
/// is for.
const MAX_FRAME_BEFORE_HELLO: usize = 64 << 10;

impl Identity {
    pub(crate) fn new(id: NodeId, cluster: &str, ids: impl IntoIterator<Item = NodeId>) -> Self {
        let mut ids: Vec<NodeId> = ids.into_iter().collect();
        ids.sort_unstable();
        Identity {
            id,
            cluster: cluster.to_string(),
            ids,
            refusals_logged: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    fn hello_to(&self, to: NodeId) -> Hello {
        Hello {
            from: self.id,
            to,
            cluster: self.cluster.clone(),
            ids: self.ids.clone(),
        }
    }

    /// Why this node refuses a connection that opened with `hello`, if it does.
    fn refuses(&self, hello: &Hello) -> Option<String> {
        if hello.cluster != self.cluster {
            return Some(format!(
                "node {} of cluster {:?} reached node {} of cluster {:?} (two clusters share \
                 an address, or cluster_name differs between nodes)",
                hello.from, hello.cluster, self.id, self.cluster
            ));
        }
        if hello.to != self.id {
            return Some(format!(
                "node {} dialled node {} but reached node {} (an address in its peers \
                 list belongs to another node)",
                hello.from, hello.to, self.id
            ));
        }
        if hello.ids != self.ids {
            return Some(format!(
                "node {} lists nodes {:?} but node {} lists {:?}: every node must list \
                 the same node ids",
                hello.from, hello.ids, self.id, self.ids
            ));
        }
        None
    }

    /// Whether to log a refusal between this node and `node` now (`by_us`: this node
    /// refused it): at most once per [`REFUSAL_LOG_EVERY`] for each.
    fn log_refusal_now(&self, by_us: bool, node: NodeId) -> bool {
        let now = std::time::Instant::now();
        let mut logged = self
            .refusals_logged
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let due = logged
            .get(&(by_us, node))
            .is_none_or(|at| now.duration_since(*at) >= REFUSAL_LOG_EVERY);
        if due {
            logged.insert((by_us, node), now);
        }
        due
    }
}

/// Whether an I/O error means nobody is there: the connection was refused, or closed or
/// reset without an answer.
pub(crate) fn peer_gone(kind: std::io::ErrorKind) -> bool {
    use std::io::ErrorKind as K;
    matches!(
        kind,
        K::ConnectionRefused
            | K::ConnectionReset
            | K::ConnectionAborted
            | K::UnexpectedEof
            | K::BrokenPipe
    )
}

fn invalid(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string())
}

fn frame(kind: u8, header: &[u8], raw: &[&[u8]]) -> Vec<u8> {
    let raw_len: usize = raw.iter().map(|r| r.len()).sum();
    let len = 1 + 4 + header.len() + raw_len;
    let mut out = Vec::with_capacity(4 + len);
    out.extend_from_slice(&(len as u32).to_be_bytes());
    out.push(kind);
    out.extend_from_slice(&(header.len() as u32).to_be_bytes());
    out.extend_from_slice(header);
    for r in raw {
        out.extend_from_slice(r);
    }
    out
}

/// Reads one frame of at most `max` bytes: `(type, header, raw)`.
async fn read_frame(stream: &mut TcpStream, max: usize) -> std::io::Result<(u8, Bytes, Bytes)> {
    let len = stream.read_u32().await? as usize;
    if !(5..=max).contains(&len) {
        return Err(invalid(format!("bad frame length {len}")));
    }
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).await?;
    let body = Bytes::from(body);
    let kind = body[0];
    let hlen = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
    if 5 + hlen > len {
        return Err(invalid("header longer than frame"));
    }
    Ok((kind, body.slice(5..5 + hlen), body.slice(5 + hlen..)))
}

fn encode_append(rpc: &AppendEntriesRequest<TypeConfig>) -> std::io::Result<Vec<u8>> {
    let mut entries = Vec::with_capacity(rpc.entries.len());
    let mut payloads = Vec::with_capacity(rpc.entries.len());
    for e in &rpc.entries {
        let (term, index, kind, payload) = entry_to_record(e).map_err(invalid)?;
        entries.push((term, index, kind, payload.len() as u32));
        payloads.push(payload);
    }
    let header = serde_json::to_vec(&AppendHeader {
        vote: rpc.vote,
        prev_log_id: rpc.prev_log_id,
        leader_commit: rpc.leader_commit,
        entries,
    })?;
    let raw: Vec<&[u8]> = payloads.iter().map(|p| &p[..]).collect();
    Ok(frame(APPEND, &header, &raw))
}

fn decode_append(header: &[u8], raw: &Bytes) -> std::io::Result<AppendEntriesRequest<TypeConfig>> {
    let h: AppendHeader = serde_json::from_slice(header)?;
    let mut entries: Vec<Entry> = Vec::with_capacity(h.entries.len());
    let mut at = 0usize;
    for (term, index, kind, len) in h.entries {
        let end = at + len as usize;
        if end > raw.len() {
            return Err(invalid("entry payload past the end of the frame"));
        }
        entries.push(record_to_entry(term, index, kind, raw.slice(at..end)).map_err(invalid)?);
        at = end;
    }
    Ok(AppendEntriesRequest {
        vote: h.vote,
        prev_log_id: h.prev_log_id,
        leader_commit: h.leader_commit,
        entries,
    })
}

/// Serves the Raft RPCs of the other nodes, and status requests, on `listener` until the
/// task is aborted. `address` is this node's replication address (for its status).
pub(crate) async fn serve(
    listener: TcpListener,
    raft: Raft,
    address: String,
    identity: Arc<Identity>,
) {
    let address: std::sync::Arc<str> = address.into();
    let mut conns = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let raft = raft.clone();
                    let address = address.clone();
                    let identity = identity.clone();
                    conns.spawn(async move {
                        let mut leader = None;
                        let served =
                            serve_conn(stream, peer, &raft, &address, &identity, &mut leader);
                        if let Err(e) = served.await {
                            tracing::debug!(%peer, error = %e, "raft connection closed");
                        }
                        if let Some(leader) = leader {
                            crate::failover::leader_link_closed(raft, leader).await;
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "raft listener accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

/// Serves one peer connection. `leader` is set to the node that sent appends with a
/// committed vote on it (the leader's replication link), for fast failover when it ends.
async fn serve_conn(
    mut stream: TcpStream,
    peer: std::net::SocketAddr,
    raft: &Raft,
    address: &str,
    identity: &Identity,
    leader: &mut Option<NodeId>,
) -> std::io::Result<()> {
    let mut greeted = false;
    loop {
        let max = if greeted {
            MAX_FRAME
        } else {
            MAX_FRAME_BEFORE_HELLO
        };
        let (kind, header, raw) = match read_frame(&mut stream, max).await {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e),
        };
        if kind == HELLO {
            let hello: Hello = serde_json::from_slice(&header)?;
            if let Some(why) = identity.refuses(&hello) {
                if identity.log_refusal_now(true, hello.from) {
                    tracing::error!(%peer, "replication connection refused: {why}");
                }
                let reply = serde_json::to_vec(&why)?;
                stream
                    .write_all(&frame(HELLO | RESPONSE, &reply, &[]))
                    .await?;
                return Ok(());
            }
            greeted = true;
            continue;
        }
        if !greeted && kind != STATUS {
            // Not a ferromq node of this version (or not a ferromq node at all); 0: its id
            // is unknown.
            if identity.log_refusal_now(true, 0) {
                tracing::warn!(
                    %peer,
                    "replication connection closed: request type {kind} before a hello \
                     saying whom it is for"
                );
            }
            return Err(invalid(format!(
                "request type {kind} before the connection said whom it is for"
            )));
        }
        let reply = match kind {
            APPEND => {
                let rpc = decode_append(&header, &raw)?;
                if rpc.vote.is_committed() {
                    *leader = rpc.vote.leader_id().voted_for();
                }
                serde_json::to_vec(&raft.append_entries(rpc).await)?
            }
            VOTE => {
                let rpc: VoteRequest<NodeId> = serde_json::from_slice(&header)?;
                serde_json::to_vec(&raft.vote(rpc).await)?
            }
            SNAPSHOT => {
                let h: SnapshotHeader = serde_json::from_slice(&header)?;
                let rpc = InstallSnapshotRequest {
                    vote: h.vote,
                    meta: h.meta,
                    offset: h.offset,
                    data: raw.to_vec(),
                    done: h.done,
                };
                serde_json::to_vec(&raft.install_snapshot(rpc).await)?
            }
            STATUS => serde_json::to_vec(&node_status(raft, address))?,
            other => return Err(invalid(format!("unknown request type {other}"))),
        };
        stream
            .write_all(&frame(kind | RESPONSE, &reply, &[]))
            .await?;
    }
}

/// The commit index a leader may tell its followers: openraft's, but no further than the
/// leader's own disk (openraft counts the leader in a quorum before its fsync; see
/// log_store). Every entry up to the leader's durable one is in its log, so an index below
/// openraft's commit is itself committed.
fn clamp_commit(commit: Option<RaftLogId>, durable: Option<RaftLogId>) -> Option<RaftLogId> {
    match commit {
        Some(c) if durable.is_none_or(|d| d.index < c.index) => durable,
        other => other,
    }
}

/// Creates a [`PeerClient`] per target.
#[derive(Clone)]
pub struct TcpNetwork {
    log: Arc<LogShared>,
    identity: Arc<Identity>,
}

impl TcpNetwork {
    /// Clients of node `identity` that never tell a follower of a commit beyond what `log`
    /// holds on disk.
    pub(crate) fn new(log: Arc<LogShared>, identity: Arc<Identity>) -> TcpNetwork {
        TcpNetwork { log, identity }
    }
}

impl RaftNetworkFactory<TypeConfig> for TcpNetwork {
    type Network = PeerClient;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> PeerClient {
        let hello = match serde_json::to_vec(&self.identity.hello_to(target)) {
            Ok(h) => frame(HELLO, &h, &[]),
            // A struct of integers and strings always serializes; without a hello the peer
            // would close the connection at the first request.
            Err(_) => Vec::new(),
        };
        PeerClient {
            target,
            addr: crate::types::strip_scheme(&node.addr).to_string(),
            hello,
            identity: self.identity.clone(),
            conn: None,
            log: self.log.clone(),
            replicates: false,
            acked: None,
        }
    }
}

/// How long after a real exchange a replication stream answers an empty AppendEntries
/// itself (see [`PeerClient::answers_heartbeat_itself`]). Well below the followers'
/// election timeout: a follower still hears from its leader at least every this plus
/// one heartbeat interval.
const HEARTBEAT_DEFER: Duration = Duration::from_millis(20);

enum CallError {
    Connect(std::io::Error),
    Io(std::io::Error),
    /// The node at the address refused the connection's [`Hello`], saying why.
    Refused(String),
}

/// What a peer acknowledged: the vote and last log id of an AppendEntries it answered
/// with `Success`, and when that request was sent.
type Acked = (Vote, Option<RaftLogId>, std::time::Instant);

/// Whether `rpc` is an empty AppendEntries that only repeats what the peer acknowledged
/// (`acked`: same vote, nothing past the log id it matched) less than [`HEARTBEAT_DEFER`]
/// before `now`.
///
/// openraft 0.9's replication stream follows every commit with an empty AppendEntries
/// that only carries the new commit index, and keeps one request in flight: with one
/// producer, each round was two exchanges per follower, and the next entry waited for
/// the second. A follower does not need the commit index at once (it applies later; the
/// next entries or heartbeat carry it), so a replication stream answers such a request
/// itself: that `Success` states nothing the peer has not said. A change of leader or any
/// failed exchange clears `acked`.
fn repeats_ack(
    acked: Option<Acked>,
    rpc: &AppendEntriesRequest<TypeConfig>,
    now: std::time::Instant,
) -> bool {
    rpc.entries.is_empty()
        && acked.is_some_and(|(vote, last, at)| {
            vote == rpc.vote
                && last == rpc.prev_log_id
                && now.saturating_duration_since(at) < HEARTBEAT_DEFER
        })
}

/// One peer's RPC client: one connection, opened on demand and again after an error.
pub struct PeerClient {
    target: NodeId,
    addr: String,
    /// The [`Hello`] frame that opens each connection.
    hello: Vec<u8>,
    /// This node's identity (where refusals by the target are rate-limited in the log).
    identity: Arc<Identity>,
    conn: Option<TcpStream>,
    log: Arc<LogShared>,
    /// This client has sent entries: it is a leader's replication stream to the peer (the
    /// leader's quorum checks use a new client each, which only ever sends one empty
    /// AppendEntries).
    replicates: bool,
    /// What the peer acknowledged in the last exchange, if it answered `Success`.
    acked: Option<Acked>,
}

impl PeerClient {
    /// Whether to answer this AppendEntries with `Success` without sending it: see
    /// [`repeats_ack`]. Only a replication stream does; the leader's quorum checks are
    /// always sent (their clients never `replicate`).
    fn answers_heartbeat_itself(
        &self,
        rpc: &AppendEntriesRequest<TypeConfig>,
        now: std::time::Instant,
    ) -> bool {
        self.replicates && repeats_ack(self.acked, rpc, now)
    }

    /// One request and its reply. Cancellation-safe: the connection is taken out of
    /// `self.conn` for the exchange and put back only after a whole reply, so a caller's
    /// timeout that drops this future (openraft wraps every call in one) closes the
    /// connection instead of leaving half a frame in it for the next request to follow.
    async fn exchange(&mut self, request: &[u8], kind: u8) -> Result<Bytes, CallError> {
        let fresh = self.conn.is_none();
        let mut stream = match self.conn.take() {
            Some(stream) => stream,
            None => {
                let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&self.addr))
                    .await
                    .map_err(|_| {
                        CallError::Connect(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            format!("connecting to {} timed out", self.addr),
                        ))
                    })?
                    .map_err(CallError::Connect)?;
                let _ = stream.set_nodelay(true);
                stream
            }
        };
        // A peer that accepts and closes before answering its first request (a proxy in
        // front of a dead node) is unreachable, not a broken link: openraft then backs off
        // instead of retrying at once.
        let failed = |e: std::io::Error| {
            if fresh && peer_gone(e.kind()) {
                CallError::Connect(e)
            } else {
                CallError::Io(e)
            }
        };
        if fresh {
            // One write, so the hello and the first request leave in one segment.
            let mut first = Vec::with_capacity(self.hello.len() + request.len());
            first.extend_from_slice(&self.hello);
            first.extend_from_slice(request);
            stream.write_all(&first).await.map_err(failed)?;
        } else {
            stream.write_all(request).await.map_err(failed)?;
        }
        let (got, header, _) = read_frame(&mut stream, MAX_FRAME).await.map_err(failed)?;
        if got == HELLO | RESPONSE {
            let why: String = serde_json::from_slice(&header).unwrap_or_default();
            return Err(CallError::Refused(why));
        }
        if got != kind | RESPONSE {
            return Err(CallError::Io(invalid(format!(
                "unexpected response type {got}"
            ))));
        }
        self.conn = Some(stream);
        Ok(header)
    }

    /// Sends a request and decodes the JSON reply, within `ttl`.
    async fn call<T, E>(
        &mut self,
        kind: u8,
        request: std::io::Result<Vec<u8>>,
        ttl: Duration,
    ) -> Result<T, RPCError<NodeId, BasicNode, E>>
    where
        T: serde::de::DeserializeOwned,
        E: std::error::Error + serde::de::DeserializeOwned,
    {
        let request = request.map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let result = tokio::time::timeout(ttl, self.exchange(&request, kind)).await;
        let header = match result {
            Ok(Ok(h)) => h,
            Ok(Err(CallError::Refused(why))) => {
                self.conn = None;
                if self.identity.log_refusal_now(false, self.target) {
                    tracing::error!(
                        "node {} at {} refused this node's connection: {why}",
                        self.target,
                        self.addr
                    );
                }
                let e = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, why);
                return Err(RPCError::Unreachable(Unreachable::new(&e)));
            }
            Ok(Err(CallError::Connect(e))) => {
                self.conn = None;
                return Err(RPCError::Unreachable(Unreachable::new(&e)));
            }
            Ok(Err(CallError::Io(e))) => {
                self.conn = None;
                return Err(RPCError::Network(NetworkError::new(&e)));
            }
            Err(_) => {
                self.conn = None;
                let e = std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!(
                        "rpc to node {} at {} timed out after {ttl:?}",
                        self.target, self.addr
                    ),
                );
                return Err(RPCError::Network(NetworkError::new(&e)));
            }
        };
        let reply: Result<T, E> = serde_json::from_slice(&header).map_err(|e| {
            self.conn = None;
            RPCError::Network(NetworkError::new(&e))
        })?;
        reply.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

impl RaftNetwork<TypeConfig> for PeerClient {
    async fn append_entries(
        &mut self,
        mut rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        rpc.leader_commit = clamp_commit(rpc.leader_commit, self.log.durable().log_id);
        let started = std::time::Instant::now();
        if self.answers_heartbeat_itself(&rpc, started) {
            return Ok(AppendEntriesResponse::Success);
        }
        let last = rpc.entries.last().map(|e| e.log_id).or(rpc.prev_log_id);
        self.replicates |= !rpc.entries.is_empty();
        let reply = self
            .call(APPEND, encode_append(&rpc), option.hard_ttl())
            .await;
        self.acked = match reply {
            Ok(AppendEntriesResponse::Success) => Some((rpc.vote, last, started)),
            _ => None,
        };
        reply
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, BasicNode, RaftError<NodeId, InstallSnapshotError>>,
    > {
        let header = serde_json::to_vec(&SnapshotHeader {
            vote: rpc.vote,
            meta: rpc.meta,
            offset: rpc.offset,
            done: rpc.done,
        })
        .map(|h| frame(SNAPSHOT, &h, &[&rpc.data]))
        .map_err(std::io::Error::from);
        self.call(SNAPSHOT, header, option.hard_ttl()).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        let request = serde_json::to_vec(&rpc)
            .map(|h| frame(VOTE, &h, &[]))
            .map_err(std::io::Error::from);
        self.call(VOTE, request, option.hard_ttl()).await
    }

    fn backoff(&self) -> Backoff {
        Backoff::new(std::iter::repeat(Duration::from_millis(100)))
    }
}

/// Asks the node listening on `addr` (its replication address, `host:port` or
/// `tcp://host:port`) for its [`NodeStatus`]: connect, one request, one reply, all within
/// `timeout`. Needs no node of its own.
///
/// # Errors
/// [`ClusterError::Io`] when the node cannot be reached within `timeout` (the error kind
/// is `TimedOut` then), closes the connection, or answers with something other than a
/// status.
pub async fn query_status(addr: &str, timeout: Duration) -> Result<NodeStatus, ClusterError> {
    let addr = crate::types::strip_scheme(addr);
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        let _ = stream.set_nodelay(true);
        stream.write_all(&frame(STATUS, &[], &[])).await?;
        let (kind, header, _) = read_frame(&mut stream, MAX_FRAME).await?;
        if kind != STATUS | RESPONSE {
            return Err(invalid(format!("unexpected response type {kind}")));
        }
        serde_json::from_slice::<NodeStatus>(&header).map_err(invalid)
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(ClusterError::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no status from {addr} within {timeout:?}"),
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::{clamp_commit, repeats_ack, Identity, HEARTBEAT_DEFER};
    use crate::types::{log_id, Vote};
    use openraft::raft::AppendEntriesRequest;
    use std::time::{Duration, Instant};

    #[test]
    fn only_an_empty_append_repeating_a_fresh_ack_is_answered_locally() {
        let vote = Vote::new_committed(3, 1);
        let heartbeat = |prev| AppendEntriesRequest {
            vote,
            prev_log_id: prev,
            leader_commit: Some(log_id(3, 9)),
            entries: vec![],
        };
        let t = Instant::now();
        let acked = Some((vote, Some(log_id(3, 9)), t));
        let soon = t + HEARTBEAT_DEFER / 2;
        assert!(repeats_ack(acked, &heartbeat(Some(log_id(3, 9))), soon));
        // Nothing acknowledged, or not what this request assumes: sent.
        assert!(!repeats_ack(None, &heartbeat(Some(log_id(3, 9))), soon));
        assert!(!repeats_ack(acked, &heartbeat(Some(log_id(3, 8))), soon));
        let other_vote = Some((Vote::new_committed(4, 2), Some(log_id(3, 9)), t));
        assert!(!repeats_ack(
            other_vote,
            &heartbeat(Some(log_id(3, 9))),
            soon
        ));
        // Too long ago: the follower must hear from its leader.
        let late = t + HEARTBEAT_DEFER + Duration::from_millis(1);
        assert!(!repeats_ack(acked, &heartbeat(Some(log_id(3, 9))), late));
        // Entries always go out.
        let mut append = heartbeat(Some(log_id(3, 9)));
        append.entries.push(openraft::Entry {
            log_id: log_id(3, 10),
            payload: openraft::EntryPayload::Blank,
        });
        assert!(!repeats_ack(acked, &append, soon));
    }

    #[test]
    fn followers_learn_no_commit_past_the_leaders_disk() {
        let c = Some(log_id(2, 10));
        assert_eq!(clamp_commit(c, Some(log_id(2, 12))), c);
        assert_eq!(clamp_commit(c, Some(log_id(2, 10))), c);
        assert_eq!(clamp_commit(c, Some(log_id(1, 7))), Some(log_id(1, 7)));
        assert_eq!(clamp_commit(c, None), None);
        assert_eq!(clamp_commit(None, Some(log_id(2, 12))), None);
    }

    #[test]
    fn a_connection_is_served_only_when_meant_for_this_node_of_this_cluster() {
        let node2 = Identity::new(2, "ferromq", [3, 1, 2]);
        let from1 = Identity::new(1, "ferromq", [1, 2, 3]);
        assert_eq!(node2.refuses(&from1.hello_to(2)), None);
        let wrong_node = node2.refuses(&from1.hello_to(3)).unwrap();
        assert!(
            wrong_node.contains("dialled node 3 but reached node 2"),
            "{wrong_node}"
        );
        let other_cluster = Identity::new(1, "orders", [1, 2, 3]);
        let why = node2.refuses(&other_cluster.hello_to(2)).unwrap();
        assert!(why.contains("cluster \"orders\" reached node 2"), "{why}");
        let other_ids = Identity::new(1, "ferromq", [1, 2, 4]);
        let why = node2.refuses(&other_ids.hello_to(2)).unwrap();
        assert!(why.contains("same node ids"), "{why}");
    }
}
