//! [`SessionDecoder`]: the auth decoder with a small memory of each sshd process's peer.
//!
//! sshd logs some failures without the peer (`Disconnecting: Too many authentication failures
//! for root [preauth]` before OpenSSH 6.8, `kex_exchange_identification: ...`, `fatal: Unable to
//! negotiate a key exchange method [preauth]`, `fatal: Read from socket failed: Connection reset
//! by peer [preauth]`); the peer was named earlier by the same process (`Connection from H port
//! P`, a `Failed ...` line, `SSH: Server;...;Remote: H-P`). sshd forks one process per
//! connection, so the pid identifies the connection.
//!
//! Rules:
//! - a peer-less failure whose pid has a known peer gets that peer as `src`;
//! - otherwise it is emitted at once without `src` (nothing is delayed), and the next line of the
//!   same pid that names a peer (`Connection closed by H port P`) emits it again with `src`, so
//!   [`crate::event::Event::failed_auth_host`] sees it exactly once.
//!
//! Memory is bounded: the least recently *inserted* pids are forgotten past `capacity`.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Utc};

use super::{
    Decoded, JournalEntry, LineContext, LineOutcome, decode, is_sshd, split_syslog, stamp,
};
use crate::event::{AuthFailure, Host, Source};

/// Default number of sshd pids remembered.
pub const DEFAULT_PEER_CAPACITY: usize = 4096;

#[derive(Debug, Default)]
struct Memo {
    host: Option<Host>,
    pending: Option<AuthFailure>,
}

/// Stateful auth-line decoder used by the sensors and by replay.
#[derive(Debug)]
pub struct SessionDecoder {
    ctx: LineContext,
    peers: HashMap<u32, Memo>,
    order: VecDeque<u32>,
    capacity: usize,
}

impl SessionDecoder {
    pub fn new(ctx: LineContext) -> Self {
        Self::with_capacity(ctx, DEFAULT_PEER_CAPACITY)
    }

    pub fn with_capacity(ctx: LineContext, capacity: usize) -> Self {
        Self {
            ctx,
            peers: HashMap::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// Move the reference time (the sensors call this once per batch).
    pub fn set_now(&mut self, now: DateTime<Utc>) {
        self.ctx.now = now;
    }

    pub fn context(&self) -> &LineContext {
        &self.ctx
    }

    /// Decode one raw syslog line.
    pub fn decode_line(&mut self, line: &str) -> LineOutcome {
        match split_syslog(line, &self.ctx) {
            Ok(l) => {
                let source = self.ctx.source;
                self.decode_message(l.program, l.pid, l.message, l.ts, source)
            }
            Err(reason) => LineOutcome::Unparsed { reason },
        }
    }

    /// Decode one message whose program and pid are known.
    pub fn decode_message(
        &mut self,
        program: &str,
        pid: Option<u32>,
        msg: &str,
        ts: DateTime<Utc>,
        source: Source,
    ) -> LineOutcome {
        let decoded = self.remember(program, pid, decode(program, msg));
        stamp(decoded, pid, ts, source)
    }

    /// Decode one journal entry.
    pub fn decode_entry(&mut self, e: &JournalEntry) -> LineOutcome {
        let decoded = self.remember(&e.identifier, e.pid, e.decoded());
        stamp(decoded, e.pid, e.ts, Source::Journald)
    }

    fn memo(&mut self, pid: u32) -> &mut Memo {
        if !self.peers.contains_key(&pid) {
            self.order.push_back(pid);
            while self.order.len() > self.capacity {
                if let Some(old) = self.order.pop_front() {
                    self.peers.remove(&old);
                }
            }
        }
        self.peers.entry(pid).or_default()
    }

    fn remember(&mut self, program: &str, pid: Option<u32>, decoded: Decoded) -> Decoded {
        let Some(pid) = pid.filter(|_| is_sshd(program)) else {
            return decoded;
        };
        match decoded {
            Decoded::Failure(mut f) => {
                let memo = self.memo(pid);
                match (&f.src, &memo.host) {
                    (Some(src), _) => {
                        memo.host = Some(src.clone());
                        memo.pending = None;
                    }
                    (None, Some(known)) => f.src = Some(known.clone()),
                    (None, None) => memo.pending = Some(f.clone()),
                }
                Decoded::Failure(f)
            }
            Decoded::Success(s) => {
                let memo = self.memo(pid);
                memo.host.clone_from(&s.src);
                memo.pending = None;
                Decoded::Success(s)
            }
            Decoded::Peer(h) => {
                let memo = self.memo(pid);
                memo.host = Some(h.clone());
                match memo.pending.take() {
                    Some(mut f) => {
                        f.src = Some(h);
                        Decoded::Failure(f)
                    }
                    None => Decoded::Peer(h),
                }
            }
            other => other,
        }
    }
}
