//! `innerwarden events`: the most recent raw events in the store.

use std::process::ExitCode;

use innerwarden_core::event::EventKind;

use super::{Cli, load_config, table};
use crate::recorder::open_store;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// How many events, newest first.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Only this kind (exec, tcp_connect, auth_failure, loss, ...).
    #[arg(long)]
    pub kind: Option<String>,
    /// One JSON object per line (the event contract) instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<ExitCode> {
    let cfg = load_config(cli)?;
    let store = open_store(&cfg.agent.state_dir)?;
    let events = store.recent_events(args.limit, args.kind.as_deref())?;
    if args.json {
        for e in &events {
            println!("{}", serde_json::to_string(&e.event)?);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|s| {
            let e = &s.event;
            vec![
                e.ts.format("%Y-%m-%d %H:%M:%S%.3f").to_string(),
                e.source.to_string(),
                e.kind.name().to_owned(),
                e.kind.pid().map_or_else(String::new, |p| p.to_string()),
                describe(&e.kind),
            ]
        })
        .collect();
    table::print(&["TIME", "SOURCE", "KIND", "PID", "DETAIL"], &rows);
    Ok(ExitCode::SUCCESS)
}

/// One line about an event for the table.
pub fn describe(k: &EventKind) -> String {
    fn opt<T: ToString>(v: &Option<T>) -> String {
        v.as_ref()
            .map_or_else(|| "-".to_owned(), ToString::to_string)
    }
    match k {
        EventKind::Exec(e) => format!("uid={} {}", e.uid, e.cmdline()),
        EventKind::Fork(f) => format!("parent={} child={}", f.parent_pid, f.child_pid),
        EventKind::Exit(x) => format!("code={}", x.code),
        EventKind::TcpConnect(c) | EventKind::TcpAccept(c) => {
            format!(
                "{}:{} -> {}:{} {}",
                c.saddr, c.sport, c.daddr, c.dport, c.comm
            )
        }
        EventKind::TcpListen(l) => format!("{}:{} {}", l.addr, l.port, l.comm),
        EventKind::FileWrite(w) => format!("uid={} {} {}", w.uid, w.comm, w.path),
        EventKind::AuthFailure(f) => format!(
            "{:?} {:?} user={} from={} x{}",
            f.service,
            f.reason,
            opt(&f.user),
            opt(&f.src),
            f.count
        ),
        EventKind::AuthSuccess(s) => {
            format!(
                "{:?} user={} from={} {}",
                s.service,
                s.user,
                opt(&s.src),
                opt(&s.method)
            )
        }
        EventKind::Sudo(s) => format!(
            "{} -> {} {} {}",
            s.user,
            s.target_user,
            if s.allowed { "allowed" } else { "REFUSED" },
            s.command
        ),
        EventKind::Su(s) => format!(
            "{} -> {} {}",
            s.user,
            s.target_user,
            if s.success { "ok" } else { "FAILED" }
        ),
        EventKind::FileRead(r) => format!("uid={} {} read {}", r.uid, r.comm, r.path),
        EventKind::FileChange(c) => format!(
            "uid={} {} {} {}{}{}",
            c.uid,
            c.comm,
            c.op.as_str(),
            c.path,
            c.new_path
                .as_ref()
                .map_or_else(String::new, |n| format!(" -> {n}")),
            c.mode.map_or_else(String::new, |m| format!(" mode={m:o}"))
        ),
        EventKind::Ptrace(p) => format!(
            "uid={} {} request={} target={}",
            p.uid, p.comm, p.request, p.target_pid
        ),
        EventKind::CredChange(c) => format!(
            "uid={} {} {} uid->{} gid->{}",
            c.uid,
            c.comm,
            c.syscall,
            opt(&c.new_uid),
            opt(&c.new_gid)
        ),
        EventKind::MemfdCreate(m) => format!("uid={} {} name={:?}", m.uid, m.comm, m.name),
        EventKind::FdDup(d) => format!(
            "{} {} -> {} socket={}",
            d.comm,
            d.oldfd,
            d.newfd,
            opt(&d.socket)
        ),
        EventKind::MemExec(m) => format!(
            "{} {} prot={:#x} anonymous={}",
            m.comm, m.syscall, m.prot, m.anonymous
        ),
        EventKind::Mount(m) => format!(
            "uid={} {} {} on {} ({})",
            m.uid, m.comm, m.device, m.target, m.fstype
        ),
        EventKind::Namespace(n) => format!(
            "uid={} {} {} flags={:#x}",
            n.uid, n.comm, n.syscall, n.flags
        ),
        EventKind::BpfLoad(b) => format!("uid={} {} prog_type={}", b.uid, b.comm, b.prog_type),
        EventKind::Signal(g) => {
            format!("uid={} {} sig={} -> {}", g.uid, g.comm, g.sig, g.target_pid)
        }
        EventKind::ModuleLoad(m) => format!("{} loaded {}", m.comm, m.name),
        EventKind::LogLine(l) => format!("{}: {}", l.service, l.message),
        EventKind::Loss(l) => format!("{:?} {} lost {}", l.point, l.stage, l.count),
    }
}
