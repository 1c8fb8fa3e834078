//! Filtering, sorting and paging of the queue list (shared by the API and the pages).

use broker::{Destination, QueueInfo};
use serde::Deserialize;

/// Most rows one page may have.
pub const MAX_LIMIT: usize = 1000;
pub const DEFAULT_LIMIT: usize = 100;

/// `?filter=&sort=&order=&offset=&limit=`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    /// Only names containing this text.
    pub filter: Option<String>,
    /// `name` (default), `pending`, `consumers`, `enqueued` or `dequeued`.
    pub sort: Option<String>,
    /// `asc` (default) or `desc`.
    pub order: Option<String>,
    pub offset: Option<usize>,
    pub limit: Option<usize>,
}

impl ListQuery {
    pub fn offset(&self) -> usize {
        self.offset.unwrap_or(0)
    }

    pub fn limit(&self) -> usize {
        self.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
    }

    pub fn descending(&self) -> bool {
        self.order.as_deref() == Some("desc")
    }

    pub fn sort_key(&self) -> &str {
        match self.sort.as_deref() {
            Some(k @ ("pending" | "consumers" | "enqueued" | "dequeued")) => k,
            _ => "name",
        }
    }
}

/// One page of (non-temporary) queues and how many matched in all.
pub fn select_queues(all: Vec<QueueInfo>, q: &ListQuery) -> (usize, Vec<QueueInfo>) {
    let filter = q.filter.as_deref().unwrap_or("");
    let mut rows: Vec<QueueInfo> = all
        .into_iter()
        .filter(|i| matches!(i.destination, Destination::Queue(_)))
        .filter(|i| i.destination.name().contains(filter))
        .collect();
    match q.sort_key() {
        "pending" => rows.sort_by_key(|i| i.pending),
        "consumers" => rows.sort_by_key(|i| i.consumers),
        "enqueued" => rows.sort_by_key(|i| i.counters.enqueued),
        "dequeued" => rows.sort_by_key(|i| i.counters.dequeued),
        _ => rows.sort_by(|a, b| a.destination.name().cmp(b.destination.name())),
    }
    if q.descending() {
        rows.reverse();
    }
    let total = rows.len();
    let page = rows.into_iter().skip(q.offset()).take(q.limit()).collect();
    (total, page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use broker::QueueCounters;

    fn info(name: &str, pending: usize) -> QueueInfo {
        QueueInfo {
            destination: Destination::Queue(name.into()),
            pending,
            inflight: 0,
            consumers: 0,
            counters: QueueCounters::default(),
        }
    }

    #[test]
    fn filters_sorts_and_pages() {
        let all = vec![info("b.orders", 5), info("a.orders", 9), info("c.other", 1)];
        let q = ListQuery {
            filter: Some("orders".into()),
            sort: Some("pending".into()),
            order: Some("desc".into()),
            offset: Some(0),
            limit: Some(1),
        };
        let (total, page) = select_queues(all, &q);
        assert_eq!(total, 2);
        assert_eq!(page.len(), 1);
        assert_eq!(page[0].destination.name(), "a.orders");
    }
}
