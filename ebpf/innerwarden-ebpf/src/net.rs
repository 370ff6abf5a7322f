//! TCP connect, accept and listen from `sock/inet_sock_set_state`.

use aya_ebpf::{macros::tracepoint, programs::TracePointContext};
use innerwarden_common::{AF_INET, AF_INET6, Kind, Prog, TCP_PROCESS_KNOWN, TcpRecord};

use crate::maps::{CONNECTING, Error, fill_header, output, tp};
use crate::process::zero_header;

const IPPROTO_TCP: u16 = 6;
const TCP_ESTABLISHED: i32 = 1;
const TCP_SYN_SENT: i32 = 2;
const TCP_SYN_RECV: i32 = 3;
const TCP_CLOSE: i32 = 7;
const TCP_LISTEN: i32 = 10;

/// `sock/inet_sock_set_state`: `(const struct sock *sk, const int oldstate, const int newstate)`,
/// format `skaddr, oldstate, newstate, sport, dport, family, protocol, saddr[4], daddr[4],
/// saddr_v6[16], daddr_v6[16]`. `CLOSE→SYN_SENT` runs in the connecting process and is
/// remembered; `SYN_SENT→ESTABLISHED` is a connect, `SYN_RECV→ESTABLISHED` an accept (softirq:
/// no process), `→LISTEN` a listen. Kernel ≥ 4.16.
#[tracepoint]
pub fn inet_sock_set_state(ctx: TracePointContext) -> u32 {
    let _ = try_set_state(&ctx);
    0
}

fn try_set_state(ctx: &TracePointContext) -> Result<(), Error> {
    // SAFETY (all reads here): offsets from the tracepoint format; reads are checked.
    let proto: u16 = unsafe { ctx.read_at(tp!(sk_protocol)) }.map_err(|_| Error::Read)?;
    if proto != IPPROTO_TCP {
        return Ok(());
    }
    let old: i32 = unsafe { ctx.read_at(tp!(sk_oldstate)) }.map_err(|_| Error::Read)?;
    let new: i32 = unsafe { ctx.read_at(tp!(sk_newstate)) }.map_err(|_| Error::Read)?;
    let sk: u64 = unsafe { ctx.read_at(tp!(sk_skaddr)) }.map_err(|_| Error::Read)?;

    let mut rec = TcpRecord {
        header: zero_header(),
        family: 0,
        sport: 0,
        dport: 0,
        _pad0: 0,
        flags: 0,
        _pad1: 0,
        saddr: [0; 16],
        daddr: [0; 16],
    };
    let size = core::mem::size_of::<TcpRecord>();
    match (old, new) {
        (TCP_CLOSE, TCP_SYN_SENT) => {
            let mut h = zero_header();
            fill_header(&mut h, Kind::TcpConnect, size);
            return CONNECTING.insert(sk, h, 0).map_err(|_| Error::Map);
        }
        (TCP_SYN_SENT, TCP_ESTABLISHED) => {
            // SAFETY: map lookup of a plain Header.
            match unsafe { CONNECTING.get(sk) } {
                Some(h) => {
                    rec.header = *h;
                    rec.flags = TCP_PROCESS_KNOWN;
                }
                None => fill_header(&mut rec.header, Kind::TcpConnect, size),
            }
            let _ = CONNECTING.remove(sk);
            rec.header.kind = Kind::TcpConnect as u32;
        }
        (TCP_SYN_SENT, _) => {
            let _ = CONNECTING.remove(sk);
            return Ok(());
        }
        (TCP_SYN_RECV, TCP_ESTABLISHED) => {
            fill_header(&mut rec.header, Kind::TcpAccept, size);
        }
        (_, TCP_LISTEN) => {
            fill_header(&mut rec.header, Kind::TcpListen, size);
            rec.flags = TCP_PROCESS_KNOWN;
        }
        _ => return Ok(()),
    }
    // The time of the transition, not of the connect() call.
    rec.header.ts_boot_ns = now_boot_ns();
    rec.family = unsafe { ctx.read_at(tp!(sk_family)) }.map_err(|_| Error::Read)?;
    rec.sport = unsafe { ctx.read_at(tp!(sk_sport)) }.map_err(|_| Error::Read)?;
    rec.dport = unsafe { ctx.read_at(tp!(sk_dport)) }.map_err(|_| Error::Read)?;
    if rec.family == AF_INET {
        let s: [u8; 4] = unsafe { ctx.read_at(tp!(sk_saddr)) }.map_err(|_| Error::Read)?;
        let d: [u8; 4] = unsafe { ctx.read_at(tp!(sk_daddr)) }.map_err(|_| Error::Read)?;
        rec.saddr[..4].copy_from_slice(&s);
        rec.daddr[..4].copy_from_slice(&d);
    } else if rec.family == AF_INET6 {
        rec.saddr = unsafe { ctx.read_at(tp!(sk_saddr_v6)) }.map_err(|_| Error::Read)?;
        rec.daddr = unsafe { ctx.read_at(tp!(sk_daddr_v6)) }.map_err(|_| Error::Read)?;
    } else {
        return Ok(());
    }
    output(Prog::Tcp, &rec)
}

#[inline(always)]
fn now_boot_ns() -> u64 {
    // SAFETY: no arguments.
    unsafe { aya_ebpf::helpers::generated::bpf_ktime_get_boot_ns() }
}
