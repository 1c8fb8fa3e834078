//! Journal recovery over arbitrary bytes: the record decoder must never
//! panic, and `Journal::open` over an arbitrary segment file must either fail
//! cleanly or yield a log whose every entry reads back.
#![no_main]

use journal::{decode_record, encoded_len, Journal, JournalConfig, RecordParse};
use libfuzzer_sys::fuzz_target;

const MAX_RECORD: u32 = 1 << 16;

fuzz_target!(|data: &[u8]| {
    // 1. The pure decoder, record after record.
    let mut rest = data;
    let mut first_index = None;
    while let RecordParse::Complete { entry, consumed } = decode_record(rest, MAX_RECORD) {
        assert!(consumed <= rest.len());
        assert_eq!(consumed, encoded_len(entry.payload.len()));
        first_index.get_or_insert(entry.index);
        rest = &rest[consumed..];
    }

    // 2. The same bytes as a segment file, recovered by `Journal::open`.
    // Name the segment after the first record's index so recovery gets past
    // the contiguity check when the input starts with a valid record.
    let first_index = first_index
        .filter(|&i| i > 0 && i < u64::MAX / 2)
        .unwrap_or(1);
    let Ok(dir) = tempfile::tempdir() else { return };
    let name = format!("{first_index:020}.log");
    if std::fs::write(dir.path().join(name), data).is_err() {
        return;
    }
    let mut config = JournalConfig::new(dir.path());
    config.sync = false;
    config.max_record_size = MAX_RECORD;
    config.segment_size = 4096;
    let Ok(mut journal) = Journal::open(config.clone()) else {
        return;
    };

    // Whatever recovery kept must read back, by index and by position.
    let reader = journal.reader();
    let mut count = 0u64;
    let iter = journal.entries(0).expect("entries on a recovered journal");
    for item in iter {
        let (entry, position) = item.expect("recovered entry unreadable");
        assert_eq!(entry.index, journal.first_index() + count);
        let payload = reader.read_payload(position).expect("payload by position");
        assert_eq!(payload, entry.payload);
        let by_index = journal.read(entry.index).expect("read by index");
        assert_eq!(by_index.as_ref(), Some(&entry));
        count += 1;
    }
    assert_eq!(journal.first_index() + count, journal.last_index() + 1);

    // It stays writable, and a reopen sees the same log.
    let last = journal.last_index();
    let appended = journal
        .append(1, &[(0, b"after recovery")])
        .expect("append after recovery");
    assert_eq!(appended[0].0, last + 1);
    drop(journal);
    let journal = Journal::open(config).expect("reopen after recovery");
    assert_eq!(journal.last_index(), last + 1);
});
