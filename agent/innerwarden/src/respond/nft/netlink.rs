//! Set elements over raw nf_tables netlink: one `NFNL_MSG_BATCH_BEGIN`, one
//! `NFT_MSG_NEWSETELEM` / `NFT_MSG_DELSETELEM` per set (chunked), `NFNL_MSG_BATCH_END`, sent in one
//! `sendmsg` so the kernel commits it as one transaction; then every message's ACK is read.
//!
//! Encoding follows what `nft --debug=mnl` shows nft 1.0.6 sending:
//! - hash sets (`ratelimit_*`): one element, `NFTA_SET_ELEM_KEY{NFTA_DATA_VALUE=addr}` and
//!   `NFTA_SET_ELEM_TIMEOUT` (u64 milliseconds, big-endian);
//! - interval sets (`block_*`, rbtree): a prefix is the half-open range [start, end): a start
//!   element (key, timeout) and an end element (key = last address + 1,
//!   `NFTA_SET_ELEM_FLAGS = NFT_SET_ELEM_INTERVAL_END`, no timeout); a /32 is [a, a+1). When
//!   end overflows (the range reaches the top of the address space) only the start is sent,
//!   with nft's `interval open` userdata so `nft list` prints it as nft would.
//!
//! Only element writes live here; the table itself is set up through `nft -j` (`ruleset`).

use std::io;
use std::mem;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::NftError;
use super::elements::ElementSpec;
use super::ruleset::TABLE;

const NETLINK_NETFILTER: libc::c_int = 12;
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;
const NFT_MSG_NEWSETELEM: u16 = 12;
const NFT_MSG_DELSETELEM: u16 = 14;
const NFPROTO_INET: u8 = 1;

const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
const NFTA_SET_ELEM_LIST_SET: u16 = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_SET_ELEM_KEY: u16 = 1;
const NFTA_SET_ELEM_FLAGS: u16 = 3;
const NFTA_SET_ELEM_TIMEOUT: u16 = 4;
const NFTA_SET_ELEM_USERDATA: u16 = 6;
const NFTA_DATA_VALUE: u16 = 1;
const NFT_SET_ELEM_INTERVAL_END: u32 = 1;
const NLA_F_NESTED: u16 = 0x8000;
/// nft's element userdata: `NFTNL_UDATA_SET_ELEM_FLAGS` (1), length 4, `INTERVAL_OPEN` (1).
const UDATA_INTERVAL_OPEN: [u8; 6] = [1, 4, 1, 0, 0, 0];
const SOL_NETLINK: libc::c_int = 270;
const NETLINK_CAP_ACK: libc::c_int = 10;

/// Elements per message: the elements list is one attribute, whose length is a u16.
const CHUNK: usize = 400;

/// A netlink socket on the calling thread's network namespace.
pub struct NlSocket {
    fd: OwnedFd,
    seq: u32,
}

fn os_err(op: &'static str) -> NftError {
    NftError::Netlink {
        op,
        source: io::Error::last_os_error(),
    }
}

fn setsockopt_int(fd: &OwnedFd, level: libc::c_int, name: libc::c_int, v: libc::c_int) -> i32 {
    // SAFETY: passes a pointer to a live c_int and its exact size.
    unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&v as *const libc::c_int).cast(),
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    }
}

impl NlSocket {
    pub fn open() -> Result<NlSocket, NftError> {
        // SAFETY: plain socket(2) call; the returned fd is owned below.
        let raw = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                NETLINK_NETFILTER,
            )
        };
        if raw < 0 {
            return Err(os_err("opening a NETLINK_NETFILTER socket"));
        }
        // SAFETY: `raw` is a fresh fd nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: sockaddr_nl is plain data; zeroed is a valid "kernel assigns the port id".
        let mut addr: libc::sockaddr_nl = unsafe { mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: pointer and size describe `addr`.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_nl).cast(),
                mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(os_err("binding the netlink socket"));
        }
        // Short ACKs (no echo of the request) and room for big batches; best effort.
        setsockopt_int(&fd, SOL_NETLINK, NETLINK_CAP_ACK, 1);
        setsockopt_int(&fd, libc::SOL_SOCKET, libc::SO_SNDBUFFORCE, 8 << 20);
        setsockopt_int(&fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, 1 << 20);
        let tv = libc::timeval {
            tv_sec: 5,
            tv_usec: 0,
        };
        // SAFETY: pointer and size describe `tv`.
        unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&tv as *const libc::timeval).cast(),
                mem::size_of::<libc::timeval>() as libc::socklen_t,
            );
        }
        Ok(NlSocket { fd, seq: 1 })
    }

    /// Add (with timeouts) or delete `specs` in one transaction; `Ok` once every message is
    /// acknowledged. The first kernel error is returned as `NftError::Netlink` carrying the
    /// errno (ENOENT: an element to delete is absent; the whole batch is then void).
    pub fn write_elements(&mut self, specs: &[ElementSpec], add: bool) -> Result<(), NftError> {
        let mut buf = Vec::with_capacity(64 + specs.len() * 80);
        let mut acks = Vec::new();
        let begin = self.next_seq();
        put_batch_marker(&mut buf, NFNL_MSG_BATCH_BEGIN, begin);
        let mut sets: Vec<_> = specs.iter().map(|s| s.set).collect();
        sets.sort_by_key(|s| s.as_str());
        sets.dedup();
        for set in sets {
            let of_set: Vec<&ElementSpec> = specs.iter().filter(|s| s.set == set).collect();
            for chunk in of_set.chunks(CHUNK) {
                let seq = self.next_seq();
                acks.push(seq);
                put_setelem_msg(&mut buf, seq, add, set.as_str(), chunk);
            }
        }
        let end = self.next_seq();
        put_batch_marker(&mut buf, NFNL_MSG_BATCH_END, end);
        // SAFETY: pointer and length describe `buf`.
        let sent = unsafe { libc::send(self.fd.as_raw_fd(), buf.as_ptr().cast(), buf.len(), 0) };
        if sent < 0 {
            return Err(os_err("sending the batch"));
        }
        self.read_acks(&acks, begin, end)
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    fn read_acks(&mut self, expect: &[u32], begin: u32, end: u32) -> Result<(), NftError> {
        let mut pending: Vec<u32> = expect.to_vec();
        let mut first_err: Option<i32> = None;
        let mut buf = vec![0u8; 1 << 16];
        while !pending.is_empty() {
            // SAFETY: pointer and length describe `buf`.
            let n =
                unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 {
                return Err(os_err("reading the ACKs"));
            }
            let mut rest = &buf[..n as usize];
            while rest.len() >= 16 {
                let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
                let kind = u16::from_ne_bytes([rest[4], rest[5]]);
                let seq = u32::from_ne_bytes([rest[8], rest[9], rest[10], rest[11]]);
                if len < 16 || len > rest.len() {
                    break;
                }
                let ours = seq == begin || seq == end || expect.contains(&seq);
                if kind == libc::NLMSG_ERROR as u16 && rest.len() >= 20 && ours {
                    let code = i32::from_ne_bytes([rest[16], rest[17], rest[18], rest[19]]);
                    if code != 0 && first_err.is_none() {
                        first_err = Some(-code);
                    }
                    if (seq == begin || seq == end) && code != 0 {
                        // The batch itself was refused: no per-message ACKs follow.
                        pending.clear();
                    }
                    pending.retain(|s| *s != seq);
                }
                rest = &rest[align4(len).min(rest.len())..];
            }
        }
        match first_err {
            None => Ok(()),
            Some(errno) => Err(NftError::Netlink {
                op: "committing set elements",
                source: io::Error::from_raw_os_error(errno),
            }),
        }
    }
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Start a netlink message; returns its offset for [`finish_msg`].
fn start_msg(buf: &mut Vec<u8>, kind: u16, flags: u16, seq: u32, family: u8, res_id: u16) -> usize {
    let at = buf.len();
    buf.extend_from_slice(&0u32.to_ne_bytes()); // length, patched by finish_msg
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(&flags.to_ne_bytes());
    buf.extend_from_slice(&seq.to_ne_bytes());
    buf.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills it
    buf.extend_from_slice(&[family, 0]); // nfgenmsg: family, NFNETLINK_V0
    buf.extend_from_slice(&res_id.to_be_bytes());
    at
}

fn finish_msg(buf: &mut [u8], at: usize) {
    let len = (buf.len() - at) as u32;
    buf[at..at + 4].copy_from_slice(&len.to_ne_bytes());
}

/// Open an attribute; returns its offset for [`close_attr`].
fn open_attr(buf: &mut Vec<u8>, kind: u16) -> usize {
    let at = buf.len();
    buf.extend_from_slice(&[0, 0]);
    buf.extend_from_slice(&kind.to_ne_bytes());
    at
}

fn close_attr(buf: &mut Vec<u8>, at: usize) {
    let len = buf.len() - at;
    // A chunk of CHUNK elements stays far below 64 KiB.
    let len16 = u16::try_from(len).unwrap_or(u16::MAX);
    buf[at..at + 2].copy_from_slice(&len16.to_ne_bytes());
    buf.resize(align4(buf.len()), 0);
}

fn put_attr(buf: &mut Vec<u8>, kind: u16, data: &[u8]) {
    let at = open_attr(buf, kind);
    buf.extend_from_slice(data);
    close_attr(buf, at);
}

fn put_batch_marker(buf: &mut Vec<u8>, kind: u16, seq: u32) {
    let at = start_msg(
        buf,
        kind,
        libc::NLM_F_REQUEST as u16,
        seq,
        0,
        NFNL_SUBSYS_NFTABLES,
    );
    finish_msg(buf, at);
}

fn cstr(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

fn put_setelem_msg(buf: &mut Vec<u8>, seq: u32, add: bool, set: &str, specs: &[&ElementSpec]) {
    let (kind, flags) = if add {
        (NFT_MSG_NEWSETELEM, libc::NLM_F_CREATE as u16)
    } else {
        (NFT_MSG_DELSETELEM, 0)
    };
    let flags = flags | libc::NLM_F_REQUEST as u16 | libc::NLM_F_ACK as u16;
    let at = start_msg(
        buf,
        (NFNL_SUBSYS_NFTABLES << 8) | kind,
        flags,
        seq,
        NFPROTO_INET,
        0,
    );
    put_attr(buf, NFTA_SET_ELEM_LIST_TABLE, &cstr(TABLE));
    put_attr(buf, NFTA_SET_ELEM_LIST_SET, &cstr(set));
    let list = open_attr(buf, NFTA_SET_ELEM_LIST_ELEMENTS | NLA_F_NESTED);
    for spec in specs {
        let timeout = add.then_some(u64::from(spec.timeout_secs) * 1000);
        if spec.set.interval() {
            let end = range_end(spec);
            put_elem(buf, &key_bytes(spec.addr), timeout, None, end.is_none());
            if let Some(end) = end {
                put_elem(buf, &end, None, Some(NFT_SET_ELEM_INTERVAL_END), false);
            }
        } else {
            put_elem(buf, &key_bytes(spec.addr), timeout, None, false);
        }
    }
    close_attr(buf, list);
    finish_msg(buf, at);
}

fn put_elem(
    buf: &mut Vec<u8>,
    key: &[u8],
    timeout_ms: Option<u64>,
    flags: Option<u32>,
    open: bool,
) {
    let elem = open_attr(buf, NFTA_LIST_ELEM | NLA_F_NESTED);
    if let Some(ms) = timeout_ms {
        put_attr(buf, NFTA_SET_ELEM_TIMEOUT, &ms.to_be_bytes());
    }
    if let Some(f) = flags {
        put_attr(buf, NFTA_SET_ELEM_FLAGS, &f.to_be_bytes());
    }
    let k = open_attr(buf, NFTA_SET_ELEM_KEY | NLA_F_NESTED);
    put_attr(buf, NFTA_DATA_VALUE, key);
    close_attr(buf, k);
    if open {
        put_attr(buf, NFTA_SET_ELEM_USERDATA, &UDATA_INTERVAL_OPEN);
    }
    close_attr(buf, elem);
}

fn key_bytes(addr: IpAddr) -> Vec<u8> {
    match addr {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// First address past the prefix, `None` when that overflows the address space.
fn range_end(spec: &ElementSpec) -> Option<Vec<u8>> {
    match spec.addr {
        IpAddr::V4(a) => {
            let size = 1u64 << (32 - u32::from(spec.prefix));
            let end = u64::from(u32::from(a)) + size;
            u32::try_from(end).ok().map(|e| e.to_be_bytes().to_vec())
        }
        IpAddr::V6(a) => {
            let size = 1u128.checked_shl(128 - u32::from(spec.prefix))?;
            u128::from(a)
                .checked_add(size)
                .map(|e| e.to_be_bytes().to_vec())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::respond::nft::ruleset::SetName;

    fn spec(a: &str, prefix: u8) -> ElementSpec {
        ElementSpec {
            set: SetName::BlockV4,
            addr: a.parse().unwrap(),
            prefix,
            timeout_secs: 50,
        }
    }

    #[test]
    fn interval_end_is_last_address_plus_one() {
        assert_eq!(range_end(&spec("10.3.3.3", 32)), Some(vec![10, 3, 3, 4]));
        assert_eq!(range_end(&spec("10.2.0.0", 24)), Some(vec![10, 2, 1, 0]));
        assert_eq!(range_end(&spec("255.255.255.0", 24)), None);
    }

    #[test]
    fn element_message_matches_what_nft_sends() {
        // The elements `nft --debug=mnl add element inet innerwarden block_v4
        // { 10.3.3.3 timeout 50s }` printed, except that libnftnl numbers the list entries
        // 1, 2, ... where we send NFTA_LIST_ELEM each time (the kernel ignores the type).
        let mut buf = Vec::new();
        put_setelem_msg(&mut buf, 7, true, "block_v4", &[&spec("10.3.3.3", 32)]);
        let elements: Vec<u8> = [
            &[56u8, 0, 3, 0x80][..],
            &[28, 0, 1, 0x80, 12, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0xc3, 0x50],
            &[12, 0, 1, 0x80, 8, 0, 1, 0, 10, 3, 3, 3],
            &[24, 0, 1, 0x80, 8, 0, 3, 0, 0, 0, 0, 1],
            &[12, 0, 1, 0x80, 8, 0, 1, 0, 10, 3, 3, 4],
        ]
        .concat();
        assert!(buf.ends_with(&elements), "{buf:02x?}");
        assert_eq!(u16::from_ne_bytes([buf[4], buf[5]]), 0x0a0c);
        assert_eq!(
            buf.len(),
            u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize
        );
    }
}
