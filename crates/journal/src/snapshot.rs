//! The snapshot file: the caller's serialized state as of a log index.
//!
//! ```text
//! [magic "FMQSNAP1"][index u64 LE][term u64 LE][data_len u64 LE]
//! [data_crc32c u32 LE][header_crc32c u32 LE (bytes 0..36)][data]
//! ```
//! Written to `snapshot.tmp`, fdatasync'd, renamed over `snapshot`, then the
//! directory is fsync'd: a crash leaves either the old or the new snapshot.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;

use bytes::Bytes;

use crate::error::JournalError;
use crate::record::{read_u32, read_u64};

/// File name of the snapshot.
pub(crate) const SNAPSHOT_FILE: &str = "snapshot";
/// File name the next snapshot is written to before the rename.
pub(crate) const SNAPSHOT_TMP: &str = "snapshot.tmp";
const MAGIC: &[u8; 8] = b"FMQSNAP1";
const HEADER_LEN: usize = 40;

/// The log position a snapshot covers: every entry up to `index` (whose term
/// is `term`) is reflected in its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SnapshotMeta {
    pub index: u64,
    pub term: u64,
}

fn header(meta: SnapshotMeta, data: &[u8]) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[0..8].copy_from_slice(MAGIC);
    h[8..16].copy_from_slice(&meta.index.to_le_bytes());
    h[16..24].copy_from_slice(&meta.term.to_le_bytes());
    h[24..32].copy_from_slice(&(data.len() as u64).to_le_bytes());
    h[32..36].copy_from_slice(&crc32c::crc32c(data).to_le_bytes());
    let hcrc = crc32c::crc32c(&h[0..36]);
    h[36..40].copy_from_slice(&hcrc.to_le_bytes());
    h
}

/// Parsed header: meta, data length, data crc.
fn parse_header(path: &Path, h: &[u8]) -> Result<(SnapshotMeta, u64, u32), JournalError> {
    if h.len() < HEADER_LEN {
        return Err(JournalError::corrupt(path, 0, "snapshot header truncated"));
    }
    if &h[0..8] != MAGIC {
        return Err(JournalError::corrupt(path, 0, "bad snapshot magic"));
    }
    if read_u32(h, 36) != Some(crc32c::crc32c(&h[0..36])) {
        return Err(JournalError::corrupt(
            path,
            36,
            "snapshot header crc mismatch",
        ));
    }
    let (Some(index), Some(term), Some(len), Some(crc)) = (
        read_u64(h, 8),
        read_u64(h, 16),
        read_u64(h, 24),
        read_u32(h, 32),
    ) else {
        return Err(JournalError::corrupt(path, 0, "snapshot header truncated"));
    };
    Ok((SnapshotMeta { index, term }, len, crc))
}

/// Removes a leftover `snapshot.tmp` and reads the current snapshot's header
/// (checking its CRC and the file length). Returns the meta and file size.
pub(crate) fn load_meta(dir: &Path) -> Result<Option<(SnapshotMeta, u64)>, JournalError> {
    let tmp = dir.join(SNAPSHOT_TMP);
    match std::fs::remove_file(&tmp) {
        Ok(()) => tracing::warn!(path = %tmp.display(), "journal: removed unfinished snapshot"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(JournalError::io(&tmp, e)),
    }
    let path = dir.join(SNAPSHOT_FILE);
    let mut file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(JournalError::io(&path, e)),
    };
    let size = file
        .metadata()
        .map_err(|e| JournalError::io(&path, e))?
        .len();
    let mut h = Vec::with_capacity(HEADER_LEN);
    (&mut file)
        .take(HEADER_LEN as u64)
        .read_to_end(&mut h)
        .map_err(|e| JournalError::io(&path, e))?;
    let (meta, len, _) = parse_header(&path, &h)?;
    if size != HEADER_LEN as u64 + len {
        return Err(JournalError::corrupt(
            &path,
            size,
            format!(
                "snapshot file is {size} bytes, header says {}",
                HEADER_LEN as u64 + len
            ),
        ));
    }
    Ok(Some((meta, size)))
}

/// A snapshot file is fsynced after every this many bytes of its body.
const SYNC_EVERY: usize = 8 << 20;

/// Writes a snapshot atomically; returns the new file's size.
pub(crate) fn write(
    dir: &Path,
    meta: SnapshotMeta,
    data: &[u8],
    sync: bool,
) -> Result<u64, JournalError> {
    let tmp = dir.join(SNAPSHOT_TMP);
    let path = dir.join(SNAPSHOT_FILE);
    {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(|e| JournalError::io(&tmp, e))?;
        file.write_all(&header(meta, data))
            .map_err(|e| JournalError::io(&tmp, e))?;
        // Synced a piece at a time: one fsync of a large snapshot at the end flushes it all
        // at once and stalls every other fsync on the disk meanwhile (the log's, which
        // answers producers and, in a cluster, Raft's heartbeats) for as long.
        for (i, piece) in data.chunks(SYNC_EVERY).enumerate() {
            if sync && i > 0 {
                file.sync_data().map_err(|e| JournalError::io(&tmp, e))?;
            }
            file.write_all(piece)
                .map_err(|e| JournalError::io(&tmp, e))?;
        }
        if sync {
            file.sync_data().map_err(|e| JournalError::io(&tmp, e))?;
        }
    }
    std::fs::rename(&tmp, &path).map_err(|e| JournalError::io(&path, e))?;
    if sync {
        sync_dir(dir)?;
    }
    Ok((HEADER_LEN + data.len()) as u64)
}

/// Reads and CRC-checks the snapshot.
pub(crate) fn read(dir: &Path) -> Result<Option<(SnapshotMeta, Bytes)>, JournalError> {
    let path = dir.join(SNAPSHOT_FILE);
    let buf = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(JournalError::io(&path, e)),
    };
    let (meta, len, crc) = parse_header(&path, &buf)?;
    if buf.len() as u64 != HEADER_LEN as u64 + len {
        return Err(JournalError::corrupt(
            &path,
            buf.len() as u64,
            "snapshot length does not match its header",
        ));
    }
    if crc32c::crc32c(&buf[HEADER_LEN..]) != crc {
        return Err(JournalError::corrupt(
            &path,
            HEADER_LEN as u64,
            "snapshot data crc mismatch",
        ));
    }
    let mut bytes = Bytes::from(buf);
    Ok(Some((meta, bytes.split_off(HEADER_LEN))))
}

/// fsync a directory (makes creations, renames and deletions durable).
pub(crate) fn sync_dir(dir: &Path) -> Result<(), JournalError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| JournalError::io(dir, e))
}
