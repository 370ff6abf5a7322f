//! Established TCP connections from /proc/net/tcp{,6}, and which of them are authenticated SSH
//! sessions: the peers the response guards must never block (an admin's own session).

use std::collections::{HashMap, HashSet};
use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

/// One established socket: peer address and the socket inode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Established {
    pub local_port: u16,
    pub peer: IpAddr,
    pub peer_port: u16,
    pub inode: u64,
}

/// Parse the text of /proc/net/tcp or /proc/net/tcp6, keeping ESTABLISHED (state 01) sockets.
pub fn parse_proc_net_tcp(text: &str) -> Vec<Established> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 10 || f[3] != "01" {
                return None;
            }
            let (_, lport) = parse_endpoint(f[1])?;
            let (peer, peer_port) = parse_endpoint(f[2])?;
            Some(Established {
                local_port: lport,
                peer: innerwarden_core::event::normalize_ip(peer),
                peer_port,
                inode: f[9].parse().ok()?,
            })
        })
        .collect()
}

/// `0100007F:0016` → 127.0.0.1:22; IPv6 is four little-endian 32-bit words.
fn parse_endpoint(s: &str) -> Option<(IpAddr, u16)> {
    let (addr, port) = s.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let ip = match addr.len() {
        8 => IpAddr::V4(Ipv4Addr::from(
            u32::from_str_radix(addr, 16).ok()?.swap_bytes(),
        )),
        32 => {
            let mut bytes = [0u8; 16];
            for (i, chunk) in bytes.chunks_mut(4).enumerate() {
                let word = u32::from_str_radix(addr.get(i * 8..i * 8 + 8)?, 16).ok()?;
                chunk.copy_from_slice(&word.swap_bytes().to_be_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some((ip, port))
}

/// An sshd process title after authentication: `sshd: alice@pts/0`, `sshd-session: root@notty`.
/// Before authentication it is `sshd: unknown [preauth]`, `sshd: root [priv]`, `[net]`, ...
pub fn is_authenticated_sshd_title(cmdline: &str) -> bool {
    let Some((prog, rest)) = cmdline.split_once(": ") else {
        return false;
    };
    matches!(prog, "sshd" | "sshd-session" | "sshd-auth")
        && rest
            .split_whitespace()
            .next()
            .is_some_and(|w| w.contains('@'))
}

/// SSH peers right now, from one read of /proc/net/tcp{,6}.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SshPeers {
    /// Peers (address and port) of every established connection to the SSH ports.
    pub established: Vec<(IpAddr, u16)>,
    /// Of those, the peers whose socket is held by an authenticated sshd process.
    pub authenticated: Vec<IpAddr>,
}

/// Established and authenticated SSH peers on `ports`.
pub fn ssh_peers(proc_root: &Path, ports: &[u16]) -> SshPeers {
    let mut conns = Vec::new();
    for f in ["net/tcp", "net/tcp6"] {
        if let Ok(text) = fs::read_to_string(proc_root.join(f)) {
            conns.extend(parse_proc_net_tcp(&text));
        }
    }
    conns.retain(|c| ports.contains(&c.local_port));
    let wanted: HashMap<u64, IpAddr> = conns.iter().map(|c| (c.inode, c.peer)).collect();
    let established = conns.iter().map(|c| (c.peer, c.peer_port)).collect();
    SshPeers {
        established,
        authenticated: authenticated_owners(proc_root, &wanted),
    }
}

/// The peers (by socket inode in `wanted`) whose socket an authenticated sshd process holds.
fn authenticated_owners(proc_root: &Path, wanted: &HashMap<u64, IpAddr>) -> Vec<IpAddr> {
    if wanted.is_empty() {
        return Vec::new();
    }
    let mut peers = HashSet::new();
    let Ok(dir) = fs::read_dir(proc_root) else {
        return Vec::new();
    };
    for pid in dir
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
    {
        let base = proc_root.join(pid.to_string());
        let title = fs::read(base.join("cmdline"))
            .map(|b| {
                String::from_utf8_lossy(&b)
                    .replace('\0', " ")
                    .trim()
                    .to_owned()
            })
            .unwrap_or_default();
        if !is_authenticated_sshd_title(&title) {
            continue;
        }
        let Ok(fds) = fs::read_dir(base.join("fd")) else {
            continue;
        };
        for fd in fds.filter_map(Result::ok) {
            let Ok(target) = fs::read_link(fd.path()) else {
                continue;
            };
            let t = target.to_string_lossy();
            if let Some(inode) = t.strip_prefix("socket:[").and_then(|r| r.strip_suffix(']'))
                && let Ok(inode) = inode.parse::<u64>()
                && let Some(peer) = wanted.get(&inode)
            {
                peers.insert(*peer);
            }
        }
    }
    peers.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_established_v4_and_v6() {
        let v4 = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:0016 0200A8C0:D431 01 00000000:00000000 00:00000000 00000000     0        0 4242 1 0\n   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 17 1 0\n";
        let c = parse_proc_net_tcp(v4);
        assert_eq!(c.len(), 1, "LISTEN is skipped");
        assert_eq!(c[0].local_port, 22);
        assert_eq!(c[0].peer, "192.168.0.2".parse::<IpAddr>().expect("ip"));
        assert_eq!(c[0].inode, 4242);
        let v6 = "  sl  local rem st\n   0: 00000000000000000000000001000000:0016 B80D0120000000000000000001000000:9C40 01 00000000:00000000 00:00000000 00000000     0        0 99 1 0\n";
        let c = parse_proc_net_tcp(v6);
        assert_eq!(c[0].peer, "2001:db8::1".parse::<IpAddr>().expect("ip"));
        assert!(parse_proc_net_tcp("garbage\nmore garbage").is_empty());
    }

    #[test]
    fn only_post_auth_sshd_titles_count() {
        assert!(is_authenticated_sshd_title("sshd: alice@pts/0"));
        assert!(is_authenticated_sshd_title("sshd-session: root@notty"));
        assert!(!is_authenticated_sshd_title("sshd: unknown [preauth]"));
        assert!(!is_authenticated_sshd_title("sshd: root [priv]"));
        assert!(!is_authenticated_sshd_title(
            "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups"
        ));
        assert!(!is_authenticated_sshd_title("bash"));
    }

    #[test]
    fn finds_the_peer_of_an_authenticated_session_in_a_fake_proc() {
        let root = tempfile::tempdir().expect("tempdir");
        let r = root.path();
        fs::create_dir_all(r.join("net")).expect("mkdir");
        fs::write(
            r.join("net/tcp"),
            "hdr\n 0: 0100007F:0016 0200A8C0:D431 01 0:0 0:0 0 0 0 4242 1 0\n 1: 0100007F:0016 0300A8C0:D432 01 0:0 0:0 0 0 0 4343 1 0\n",
        )
        .expect("tcp");
        fs::write(r.join("net/tcp6"), "hdr\n").expect("tcp6");
        // pid 10: an authenticated session holding socket 4242; pid 11: a preauth connection.
        for (pid, title, inode) in [
            (10, "sshd: alice@pts/0", 4242),
            (11, "sshd: unknown [preauth]", 4343),
        ] {
            let d = r.join(pid.to_string());
            fs::create_dir_all(d.join("fd")).expect("mkdir");
            fs::write(d.join("cmdline"), title).expect("cmdline");
            std::os::unix::fs::symlink(format!("socket:[{inode}]"), d.join("fd/3")).expect("link");
        }
        let peers = ssh_peers(r, &[22]).authenticated;
        assert_eq!(peers, vec!["192.168.0.2".parse::<IpAddr>().expect("ip")]);
        assert!(ssh_peers(r, &[2222]).authenticated.is_empty(), "other port");
        let both = ssh_peers(r, &[22]);
        assert_eq!(
            both.established.len(),
            2,
            "both connections are established"
        );
        assert_eq!(both.authenticated, peers);
    }
}
