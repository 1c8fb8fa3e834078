//! Filtering, sorting and paging of the lists (queues, topics, durable subscriptions),
//! shared by the API and the pages: one [`select`] over any [`Listed`] row.

use broker::introspect::{DurableInfo, TopicInfo};
use broker::{Destination, QueueInfo};
use serde::Deserialize;

/// Most rows one page may have.
pub const MAX_LIMIT: usize = 1000;
pub const DEFAULT_LIMIT: usize = 100;

/// A row of a list: a name to filter and sort by, and numbers to sort by.
pub trait Listed {
    /// The numeric columns a list may be sorted by (besides `name`, the default).
    const SORT_KEYS: &'static [&'static str];
    fn name(&self) -> &str;
    /// The value of one of [`SORT_KEYS`](Self::SORT_KEYS).
    fn sort_value(&self, key: &str) -> u64;
    /// Whether the row passes `?filter=` (by default: its name contains it).
    fn matches(&self, filter: &str) -> bool {
        self.name().contains(filter)
    }
}

impl Listed for QueueInfo {
    const SORT_KEYS: &'static [&'static str] = &["pending", "consumers", "enqueued", "dequeued"];

    fn name(&self) -> &str {
        self.destination.name()
    }

    fn sort_value(&self, key: &str) -> u64 {
        match key {
            "pending" => self.pending as u64,
            "consumers" => self.consumers as u64,
            "enqueued" => self.counters.enqueued,
            "dequeued" => self.counters.dequeued,
            _ => 0,
        }
    }
}

impl Listed for TopicInfo {
    const SORT_KEYS: &'static [&'static str] = &["enqueued", "consumers", "durables"];

    fn name(&self) -> &str {
        &self.name
    }

    fn sort_value(&self, key: &str) -> u64 {
        match key {
            "enqueued" => self.enqueued,
            "consumers" => self.consumers as u64,
            "durables" => self.durables as u64,
            _ => 0,
        }
    }
}

/// Durable subscriptions sort by subscription name (then client id, so pages are stable)
/// and match a filter on the client id, the name or the topic.
impl Listed for DurableInfo {
    const SORT_KEYS: &'static [&'static str] = &["pending"];

    fn name(&self) -> &str {
        &self.name
    }

    fn sort_value(&self, key: &str) -> u64 {
        match key {
            "pending" => self.pending as u64,
            _ => 0,
        }
    }

    fn matches(&self, filter: &str) -> bool {
        self.name.contains(filter) || self.client_id.contains(filter) || self.topic.contains(filter)
    }
}

/// `?filter=&sort=&order=&offset=&limit=`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    /// Only names containing this text.
    pub filter: Option<String>,
    /// `name` (default) or one of the row's [`Listed::SORT_KEYS`].
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

    /// The column rows of type `T` are sorted by: the asked one if `T` has it, else `name`.
    pub fn sort_key<T: Listed>(&self) -> &'static str {
        self.sort
            .as_deref()
            .and_then(|asked| T::SORT_KEYS.iter().find(|k| **k == asked))
            .copied()
            .unwrap_or("name")
    }
}

/// One page of `rows` and how many matched in all. Ties in a numeric column go by name,
/// so pages do not overlap.
pub fn select<T: Listed>(rows: Vec<T>, q: &ListQuery) -> (usize, Vec<T>) {
    let filter = q.filter.as_deref().unwrap_or("");
    let mut rows: Vec<T> = rows.into_iter().filter(|r| r.matches(filter)).collect();
    match q.sort_key::<T>() {
        "name" => rows.sort_by(|a, b| a.name().cmp(b.name())),
        key => {
            rows.sort_by(|a, b| (a.sort_value(key), a.name()).cmp(&(b.sort_value(key), b.name())))
        }
    }
    if q.descending() {
        rows.reverse();
    }
    let total = rows.len();
    let page = rows.into_iter().skip(q.offset()).take(q.limit()).collect();
    (total, page)
}

/// One page of (non-temporary) queues and how many matched in all.
pub fn select_queues(all: Vec<QueueInfo>, q: &ListQuery) -> (usize, Vec<QueueInfo>) {
    let queues = all
        .into_iter()
        .filter(|i| matches!(i.destination, Destination::Queue(_)))
        .collect();
    select(queues, q)
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

    fn topic(name: &str, enqueued: u64) -> TopicInfo {
        TopicInfo {
            name: name.into(),
            enqueued,
            consumers: 0,
            durables: 0,
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

    /// A column one kind of row lacks sorts by name; equal numbers go by name.
    #[test]
    fn unknown_columns_sort_by_name_and_ties_by_name() {
        let q = |sort: &str| ListQuery {
            sort: Some(sort.into()),
            ..ListQuery::default()
        };
        assert_eq!(q("pending").sort_key::<TopicInfo>(), "name");
        assert_eq!(q("durables").sort_key::<TopicInfo>(), "durables");
        assert_eq!(q("durables").sort_key::<QueueInfo>(), "name");
        let rows = vec![topic("c", 1), topic("b", 2), topic("a", 1)];
        let (_, page) = select(rows, &q("enqueued"));
        let names: Vec<&str> = page.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["a", "c", "b"]);
    }
}
