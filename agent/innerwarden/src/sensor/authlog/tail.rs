//! A rotation-safe, restartable tail of one text file, read by polling.
//!
//! - Position: `{dev, inode, offset}` where `offset` is the end of the last *complete* line
//!   handed out. A partial last line is kept until its newline arrives (or until rotation, when
//!   the writer has moved on and it is handed out as is).
//! - Rotation (the path names a different inode): the old file is drained to EOF, then the new
//!   one is read from 0.
//! - copytruncate (the open file is shorter than our offset): restart at 0.
//! - First start without a saved position: at the end of the file (`StartAt::End`, the default:
//!   history was already there before the agent, and replaying it would re-raise old alerts), or
//!   at 0 with `StartAt::Beginning`. A file that does not exist yet is read from 0 when it
//!   appears. A saved position for another inode (rotated while the agent was down) reads the
//!   current file from 0; the lines of the rotated file written while the agent was down are
//!   not read (it no longer has the name we follow).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Where a tail with no saved position starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartAt {
    /// At the current end of the file (default).
    #[default]
    End,
    /// At byte 0.
    Beginning,
}

/// A saved tail position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilePosition {
    pub dev: u64,
    pub ino: u64,
    pub offset: u64,
}

impl FilePosition {
    /// `dev:ino:offset`, the form kept in the position store.
    pub fn encode(&self) -> String {
        format!("{}:{}:{}", self.dev, self.ino, self.offset)
    }

    /// The inverse of [`Self::encode`]; `None` for anything else.
    pub fn decode(s: &str) -> Option<Self> {
        let mut it = s.split(':').map(str::parse::<u64>);
        let (Some(Ok(dev)), Some(Ok(ino)), Some(Ok(offset)), None) =
            (it.next(), it.next(), it.next(), it.next())
        else {
            return None;
        };
        Some(Self { dev, ino, offset })
    }
}

/// What one poll observed besides lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollStats {
    pub rotated: bool,
    pub truncated: bool,
    /// Lines cut at `max_line` bytes.
    pub oversized: u64,
}

/// The tail itself. Blocking I/O: the sensor runs [`Tail::poll`] on the blocking pool.
#[derive(Debug)]
pub struct Tail {
    path: PathBuf,
    file: Option<(File, u64, u64)>,
    /// Bytes of the open file consumed (complete lines + `partial`).
    read_pos: u64,
    partial: Vec<u8>,
    start_at: StartAt,
    saved: Option<FilePosition>,
    max_line: usize,
    max_batch: usize,
}

impl Tail {
    /// A tail of `path` resuming from `saved` when it names the file's current inode.
    pub fn new(path: impl Into<PathBuf>, saved: Option<FilePosition>, start_at: StartAt) -> Self {
        Self {
            path: path.into(),
            file: None,
            read_pos: 0,
            partial: Vec::new(),
            start_at,
            saved,
            max_line: 64 * 1024,
            max_batch: 4 * 1024 * 1024,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The position to save: after the last complete line handed out. `None` before the file
    /// was first opened.
    pub fn position(&self) -> Option<FilePosition> {
        let (_, dev, ino) = self.file.as_ref()?;
        Some(FilePosition {
            dev: *dev,
            ino: *ino,
            offset: self.read_pos - self.partial.len() as u64,
        })
    }

    /// Read what is new. Returns complete lines (without `\n`), at most ~`max_batch` bytes per
    /// call; call again while it returns lines. A missing file is not an error (it may be
    /// between rotation steps); other I/O errors are.
    pub fn poll(&mut self, out: &mut Vec<String>) -> io::Result<PollStats> {
        let mut stats = PollStats::default();
        if self.file.is_none() && !self.open()? {
            // Absent now: when it appears, everything in it is new, so read it from 0.
            if self.saved.is_none() {
                self.start_at = StartAt::Beginning;
            }
            return Ok(stats);
        }
        let Some((file, _, ino)) = self.file.as_mut() else {
            return Ok(stats);
        };
        let (open_ino, len) = (*ino, file.metadata()?.len());
        if len < self.read_pos {
            // copytruncate: the file was emptied under us.
            file.seek(SeekFrom::Start(0))?;
            self.read_pos = 0;
            self.partial.clear();
            stats.truncated = true;
        }
        let got = self.read_available(out, &mut stats)?;
        if got >= self.max_batch {
            return Ok(stats); // more to read: the caller polls again before checking rotation
        }
        match std::fs::metadata(&self.path) {
            Ok(meta) if meta.ino() != open_ino || meta.dev() != self.file_dev() => {
                // Rotated: drain the old file to EOF, hand out its partial line, switch.
                while self.read_available(out, &mut stats)? >= self.max_batch {}
                self.flush_partial(out);
                self.file = None;
                self.read_pos = 0;
                self.saved = None;
                self.start_at = StartAt::Beginning;
                stats.rotated = true;
                if self.open()? {
                    self.read_available(out, &mut stats)?;
                }
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {} // renamed, not yet recreated
            Err(e) => return Err(e),
        }
        Ok(stats)
    }

    fn file_dev(&self) -> u64 {
        self.file.as_ref().map_or(0, |(_, dev, _)| *dev)
    }

    /// Open the path and seek to where reading starts. Returns false when it does not exist.
    fn open(&mut self) -> io::Result<bool> {
        let mut file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        let meta = file.metadata()?;
        let start = match self.saved.take() {
            Some(p) if p.dev == meta.dev() && p.ino == meta.ino() && p.offset <= meta.len() => {
                p.offset
            }
            Some(_) => 0,
            None => match self.start_at {
                StartAt::End => meta.len(),
                StartAt::Beginning => 0,
            },
        };
        file.seek(SeekFrom::Start(start))?;
        self.read_pos = start;
        self.partial.clear();
        self.file = Some((file, meta.dev(), meta.ino()));
        Ok(true)
    }

    /// Read up to `max_batch` bytes; split complete lines into `out`. Returns bytes read.
    fn read_available(
        &mut self,
        out: &mut Vec<String>,
        stats: &mut PollStats,
    ) -> io::Result<usize> {
        let Some((file, _, _)) = self.file.as_mut() else {
            return Ok(0);
        };
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0;
        while total < self.max_batch {
            let n = match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            total += n;
            self.read_pos += n as u64;
            let mut rest = &buf[..n];
            while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
                self.partial.extend_from_slice(&rest[..nl]);
                out.push(take_line(&mut self.partial));
                rest = &rest[nl + 1..];
            }
            self.partial.extend_from_slice(rest);
            if self.partial.len() > self.max_line {
                stats.oversized += 1;
                out.push(take_line(&mut self.partial));
            }
        }
        Ok(total)
    }

    fn flush_partial(&mut self, out: &mut Vec<String>) {
        if !self.partial.is_empty() {
            out.push(take_line(&mut self.partial));
        }
    }
}

fn take_line(buf: &mut Vec<u8>) -> String {
    let line = String::from_utf8_lossy(buf)
        .trim_end_matches('\r')
        .to_owned();
    buf.clear();
    line
}
