//! Encoding of snapshots (a checksummed header line, then the JSON body) and
//! journal lines (`<crc32> <json>`).

use serde::{Deserialize, Serialize};

use super::StateError;
use super::model::{JournalEntry, Snapshot};

const FORMAT: &str = "mkso-snapshot";
/// 2: secrets per property (`secret_inputs`/`secret_outputs`, values sealed
/// one by one). Version 1 snapshots read as before; an older mkso refuses a
/// version 2 snapshot instead of taking its sealed values for plain ones.
const VERSION: u32 = 2;

#[derive(Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
    crc32: String,
    length: usize,
}

/// A writer that hands what is written to it to `F` and keeps nothing: for
/// hashing or measuring a serialization without holding it.
pub(crate) struct Feed<F: FnMut(&[u8])>(pub(crate) F);

impl<F: FnMut(&[u8])> std::io::Write for Feed<F> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        (self.0)(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Encodes a snapshot: a header line with the body's length and CRC-32, then
/// the body. The body is serialized twice, once to measure it and once into
/// a buffer of exactly its size: a large state never sits in memory as a
/// growing buffer plus a copy.
pub fn encode_snapshot<S: Serialize>(s: &S) -> Vec<u8> {
    let (mut crc, mut len) = (crc32fast::Hasher::new(), 0);
    let measure = Feed(|b: &[u8]| {
        crc.update(b);
        len += b.len();
    });
    serde_json::to_writer(measure, s).expect("a snapshot always serializes");
    let header = Header {
        format: FORMAT.into(),
        version: VERSION,
        crc32: format!("{:08x}", crc.finalize()),
        length: len,
    };
    let header = serde_json::to_vec(&header).expect("header serializes");
    let mut out = Vec::with_capacity(header.len() + len + 2);
    out.extend_from_slice(&header);
    out.push(b'\n');
    serde_json::to_writer(&mut out, s).expect("a snapshot always serializes");
    out.push(b'\n');
    debug_assert_eq!(out.len(), header.len() + len + 2);
    out
}

/// Decodes and verifies a snapshot; `location` names it in errors.
pub fn decode_snapshot(bytes: &[u8], location: &str) -> Result<Snapshot, StateError> {
    let corrupt = |reason: String| StateError::CorruptSnapshot {
        location: location.to_string(),
        reason,
    };
    let nl = bytes
        .iter()
        .position(|b| *b == b'\n')
        .ok_or_else(|| corrupt("no header line: the file is truncated or not a snapshot".into()))?;
    let header: Header = serde_json::from_slice(&bytes[..nl])
        .map_err(|e| corrupt(format!("unreadable header: {e}")))?;
    if header.format != FORMAT {
        return Err(corrupt(format!(
            "format `{}` is not {FORMAT}",
            header.format
        )));
    }
    if header.version > VERSION {
        return Err(corrupt(format!(
            "version {} was written by a newer mkso (this one reads {VERSION})",
            header.version
        )));
    }
    let rest = &bytes[nl + 1..];
    let body = rest.strip_suffix(b"\n").unwrap_or(rest);
    if body.len() != header.length {
        return Err(corrupt(format!(
            "body is {} bytes, the header says {} (truncated?)",
            body.len(),
            header.length
        )));
    }
    let crc = format!("{:08x}", crc32fast::hash(body));
    if crc != header.crc32 {
        return Err(corrupt(format!(
            "checksum {crc} does not match the header's {}",
            header.crc32
        )));
    }
    // Recorded inputs and outputs stay text until read (see `Recorded`).
    let mut snap: Snapshot = super::read_as_text(|| serde_json::from_slice(body))
        .map_err(|e| corrupt(format!("unreadable body: {e}")))?;
    snap.resolve_refs();
    Ok(snap)
}

/// Encodes one journal entry as a line.
pub fn encode_journal_entry(e: &JournalEntry, out: &mut Vec<u8>) {
    let json = serde_json::to_vec(e).expect("a journal entry always serializes");
    out.extend_from_slice(format!("{:08x} ", crc32fast::hash(&json)).as_bytes());
    out.extend_from_slice(&json);
    out.push(b'\n');
}

/// Decodes a journal. A damaged *last* line is a write cut off by a crash and
/// is dropped (its step never counted as done); damage anywhere else is an error.
/// Returns the entries and whether a torn tail was dropped.
pub fn decode_journal(
    bytes: &[u8],
    location: &str,
) -> Result<(Vec<JournalEntry>, bool), StateError> {
    let mut entries = Vec::new();
    let lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    // The split leaves an empty last piece when the journal ends with a newline.
    let complete = bytes.last().is_none_or(|b| *b == b'\n');
    let n = lines.len();
    let mut torn = false;
    for (i, line) in lines.into_iter().enumerate() {
        let is_last_piece = i + 1 == n;
        if line.is_empty() && is_last_piece {
            continue;
        }
        let parsed = parse_line(line);
        match parsed {
            Ok(e) if !is_last_piece || complete => entries.push(e),
            Ok(_) => torn = true,
            Err(reason) => {
                let last_line = is_last_piece || (i + 2 == n && complete);
                if last_line {
                    torn = true;
                } else {
                    return Err(StateError::CorruptJournal {
                        location: location.to_string(),
                        line: i + 1,
                        reason,
                    });
                }
            }
        }
    }
    Ok((entries, torn))
}

fn parse_line(line: &[u8]) -> Result<JournalEntry, String> {
    if line.len() < 10 || line[8] != b' ' {
        return Err("not a journal line".into());
    }
    let crc = std::str::from_utf8(&line[..8]).map_err(|_| "bad checksum field".to_string())?;
    let json = &line[9..];
    if format!("{:08x}", crc32fast::hash(json)) != crc {
        return Err("checksum mismatch".into());
    }
    let mut e: JournalEntry =
        serde_json::from_slice(json).map_err(|e| format!("unreadable entry: {e}"))?;
    e.resolve_refs();
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::StackName;
    use crate::state::model::StateView;

    fn snap() -> Snapshot {
        StateView::empty(StackName::new("a.Dev").unwrap()).to_snapshot(3)
    }

    #[test]
    fn snapshot_roundtrip_and_corruption() {
        let s = snap();
        let bytes = encode_snapshot(&s);
        assert_eq!(decode_snapshot(&bytes, "x").unwrap(), s);
        let truncated = &bytes[..bytes.len() - 5];
        let e = decode_snapshot(truncated, "snap.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("snap.json") && e.contains("truncated"), "{e}");
        let mut flipped = bytes.clone();
        let last = flipped.len() - 3;
        flipped[last] ^= 0x01;
        let e = decode_snapshot(&flipped, "snap.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("checksum"), "{e}");
        assert!(decode_snapshot(b"", "x").is_err());
    }

    #[test]
    fn journal_torn_tail_is_dropped_but_middle_damage_is_an_error() {
        let mut bytes = Vec::new();
        encode_journal_entry(
            &JournalEntry::Base {
                serial: 1,
                project: None,
            },
            &mut bytes,
        );
        encode_journal_entry(&JournalEntry::Ended { op_id: 4 }, &mut bytes);
        let (e, torn) = decode_journal(&bytes, "j").unwrap();
        assert_eq!(e.len(), 2);
        assert!(!torn);
        let cut = &bytes[..bytes.len() - 4];
        let (e, torn) = decode_journal(cut, "j").unwrap();
        assert_eq!(e.len(), 1);
        assert!(torn);
        let mut bad = bytes.clone();
        bad[12] ^= 0x01;
        let err = decode_journal(&bad, "journal.log").unwrap_err().to_string();
        assert!(
            err.contains("journal.log") && err.contains("line 1"),
            "{err}"
        );
    }
}
