//! Prometheus `/metrics` (text format 0.0.4): broker-wide counters and gauges, the
//! journal's fsync latency histogram, Raft numbers, per-queue and per-topic series,
//! connections. HTTP Basic auth like the API.

use crate::auth::ApiUser;
use crate::console_state::Shared;
use crate::escape::label;
use crate::latency_histogram::LatencyHistogram;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use std::fmt::Write;

/// One labelled series: name, type, help, and how to read it from a row.
type Series<T> = (&'static str, &'static str, &'static str, fn(&T) -> u64);

/// Writes each series with one sample per row, labelled `key="name of the row"`.
fn labelled<T>(
    out: &mut String,
    series: &[Series<T>],
    key: &str,
    rows: &[T],
    name: fn(&T) -> &str,
) {
    for (metric_name, kind, help, value) in series {
        metric(out, metric_name, kind, help);
        for row in rows {
            let _ = writeln!(
                out,
                "{metric_name}{{{key}=\"{}\"}} {}",
                label(name(row)),
                value(row)
            );
        }
    }
}

pub async fn metrics(_user: ApiUser, State(state): State<Shared>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render(&state),
    )
}

fn metric(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Writes a histogram: `NAME_bucket{le=...}` (cumulative, ending with `+Inf`), `NAME_sum`,
/// `NAME_count`.
fn histogram(out: &mut String, name: &str, help: &str, h: &LatencyHistogram) {
    metric(out, name, "histogram", help);
    for (le, n) in &h.buckets {
        let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {n}");
    }
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", h.count);
    let _ = writeln!(out, "{name}_sum {}", h.sum_seconds);
    let _ = writeln!(out, "{name}_count {}", h.count);
}

pub fn render(state: &Shared) -> String {
    let b = &state.broker;
    let o = b.overview();
    let mut out = String::new();
    let role = state.cluster.role();
    let simple: [(&str, &str, &str, u64); 11] = [
        (
            "ferromq_uptime_seconds",
            "gauge",
            "Seconds since the broker started.",
            o.uptime.as_secs(),
        ),
        (
            "ferromq_connections",
            "gauge",
            "Open client connections.",
            o.connections as u64,
        ),
        (
            "ferromq_consumers",
            "gauge",
            "Open consumers.",
            o.consumers as u64,
        ),
        (
            "ferromq_messages_in_total",
            "counter",
            "Messages producers sent since start.",
            o.messages_in,
        ),
        (
            "ferromq_messages_out_total",
            "counter",
            "Messages handed to consumers since start.",
            o.messages_out,
        ),
        (
            "ferromq_memory_used_bytes",
            "gauge",
            "Message data held in memory.",
            o.memory_used as u64,
        ),
        (
            "ferromq_memory_limit_bytes",
            "gauge",
            "Configured memory limit.",
            o.memory_limit as u64,
        ),
        (
            "ferromq_store_disk_bytes",
            "gauge",
            "Disk used by the store.",
            o.store.disk_bytes,
        ),
        (
            "ferromq_store_last_index",
            "gauge",
            "Index of the last store entry.",
            o.store.last_index,
        ),
        (
            "ferromq_store_syncs_total",
            "counter",
            "Store fsyncs since start.",
            o.store.syncs,
        ),
        (
            "ferromq_store_snapshots_total",
            "counter",
            "Store snapshots since start.",
            o.store.snapshots,
        ),
    ];
    for (name, kind, help, value) in simple {
        metric(&mut out, name, kind, help);
        let _ = writeln!(out, "{name} {value}");
    }
    if let Some(read) = &state.fsync_latency {
        histogram(
            &mut out,
            "ferromq_journal_fsync_seconds",
            "Duration of the journal's fsyncs (group commit, segment roll, truncation).",
            &read(),
        );
    }
    metric(&mut out, "ferromq_role", "gauge", "1 for this node's role.");
    let _ = writeln!(out, "ferromq_role{{role=\"{}\"}} 1", label(&role));
    if let Some(raft) = state.cluster.local() {
        let raft_series: [(&str, &str, &str, u64); 5] = [
            (
                "ferromq_raft_term",
                "gauge",
                "Raft term this node is in.",
                raft.term,
            ),
            (
                "ferromq_raft_last_log_index",
                "gauge",
                "Index of this node's last log entry.",
                raft.last_log_index,
            ),
            (
                "ferromq_raft_applied_index",
                "gauge",
                "Index of the last entry this node applied.",
                raft.applied_index,
            ),
            (
                "ferromq_raft_apply_lag",
                "gauge",
                "Entries in this node's log not yet applied.",
                raft.last_log_index.saturating_sub(raft.applied_index),
            ),
            (
                "ferromq_raft_is_master",
                "gauge",
                "1 when this node is the Raft leader (master).",
                u64::from(raft.is_master),
            ),
        ];
        for (name, kind, help, value) in raft_series {
            metric(&mut out, name, kind, help);
            let _ = writeln!(out, "{name}{{node_id=\"{}\"}} {value}", raft.node_id);
        }
    }

    let queues: Vec<broker::QueueInfo> = b
        .queues()
        .into_iter()
        .filter(|q| matches!(q.destination, broker::Destination::Queue(_)))
        .collect();
    let per_queue: [Series<broker::QueueInfo>; 6] = [
        (
            "ferromq_queue_pending",
            "gauge",
            "Messages waiting in a queue.",
            |i| i.pending as u64,
        ),
        (
            "ferromq_queue_inflight",
            "gauge",
            "Messages delivered and not yet acknowledged.",
            |i| i.inflight as u64,
        ),
        (
            "ferromq_queue_consumers",
            "gauge",
            "Consumers of a queue.",
            |i| i.consumers as u64,
        ),
        (
            "ferromq_queue_enqueued_total",
            "counter",
            "Messages added to a queue.",
            |i| i.counters.enqueued,
        ),
        (
            "ferromq_queue_dequeued_total",
            "counter",
            "Messages removed from a queue.",
            |i| i.counters.dequeued,
        ),
        (
            "ferromq_queue_expired_total",
            "counter",
            "Messages expired in a queue.",
            |i| i.counters.expired,
        ),
    ];
    labelled(&mut out, &per_queue, "queue", &queues, |q| {
        q.destination.name()
    });
    let per_topic: [Series<broker::introspect::TopicInfo>; 2] = [
        (
            "ferromq_topic_enqueued_total",
            "counter",
            "Messages published to a topic.",
            |t| t.enqueued,
        ),
        (
            "ferromq_topic_consumers",
            "gauge",
            "Subscribers of a topic.",
            |t| t.consumers as u64,
        ),
    ];
    labelled(&mut out, &per_topic, "topic", &b.topics(), |t| &t.name);
    out
}
