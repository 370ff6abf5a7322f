//! Parsing the `struct inotify_event` records that one `read(2)` of an inotify fd returns.

/// One inotify event: `wd`, `mask`, `cookie` and the entry name (empty for the watched
/// directory itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEvent {
    pub wd: i32,
    pub mask: u32,
    pub cookie: u32,
    pub name: String,
}

/// Size of the fixed part: `int wd; uint32_t mask, cookie, len;`.
pub const HEADER: usize = 16;

/// Split a read buffer into events. A record whose declared name runs past the buffer ends the
/// parse (the kernel never writes one; a short buffer is not a reason to panic).
pub fn parse(buf: &[u8]) -> Vec<RawEvent> {
    let mut out = Vec::new();
    let mut at = 0;
    while buf.len().saturating_sub(at) >= HEADER {
        let word = |i: usize| {
            let b = &buf[at + 4 * i..at + 4 * i + 4];
            u32::from_ne_bytes([b[0], b[1], b[2], b[3]])
        };
        let (wd, mask, cookie, len) = (word(0) as i32, word(1), word(2), word(3) as usize);
        let Some(end) = (at + HEADER).checked_add(len).filter(|e| *e <= buf.len()) else {
            break;
        };
        let raw = &buf[at + HEADER..end];
        // The name is NUL-padded to an alignment boundary.
        let name_end = raw.iter().position(|b| *b == 0).unwrap_or(raw.len());
        out.push(RawEvent {
            wd,
            mask,
            cookie,
            name: String::from_utf8_lossy(&raw[..name_end]).into_owned(),
        });
        at = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn record(wd: i32, mask: u32, cookie: u32, name: &str) -> Vec<u8> {
        let mut padded = name.as_bytes().to_vec();
        if !name.is_empty() {
            padded.push(0);
            while !padded.len().is_multiple_of(16) {
                padded.push(0);
            }
        }
        let mut v = Vec::new();
        v.extend_from_slice(&wd.to_ne_bytes());
        v.extend_from_slice(&mask.to_ne_bytes());
        v.extend_from_slice(&cookie.to_ne_bytes());
        v.extend_from_slice(&(padded.len() as u32).to_ne_bytes());
        v.extend_from_slice(&padded);
        v
    }

    #[test]
    fn parses_back_to_back_records() {
        let mut buf = record(1, 0x8, 0, "crontab");
        buf.extend(record(2, 0x40, 7, "x"));
        buf.extend(record(2, 0x4000, 0, ""));
        let evs = parse(&buf);
        assert_eq!(evs.len(), 3);
        assert_eq!(evs[0].name, "crontab");
        assert_eq!((evs[1].wd, evs[1].mask, evs[1].cookie), (2, 0x40, 7));
        assert_eq!(evs[2].name, "");
    }

    #[test]
    fn a_record_running_past_the_buffer_ends_the_parse() {
        let mut buf = record(1, 0x8, 0, "ok");
        let mut bad = record(1, 0x8, 0, "cut");
        bad.truncate(bad.len() - 4);
        buf.extend(bad);
        assert_eq!(parse(&buf).len(), 1);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(&buf);
        }

        #[test]
        fn round_trips(names in proptest::collection::vec("[a-zA-Z0-9._-]{0,40}", 0..10)) {
            let mut buf = Vec::new();
            for (i, n) in names.iter().enumerate() {
                buf.extend(record(i as i32, 2, 0, n));
            }
            let evs = parse(&buf);
            prop_assert_eq!(evs.len(), names.len());
            for (e, n) in evs.iter().zip(&names) {
                prop_assert_eq!(&e.name, n);
            }
        }
    }
}
