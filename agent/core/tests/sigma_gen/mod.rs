//! Event generation for the Sigma self-check: from a loaded rule's selections, build an event
//! (with process and user tables) that carries the values the selections ask for.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use innerwarden_core::event::{Event, EventKind, Exec, FileWrite, LogLine, Source, TcpConn};
use innerwarden_core::proctable::{ProcInfo, ProcessTable};
use innerwarden_core::sigma::field::Field;
use innerwarden_core::sigma::value::{GlobTok, Pattern};
use innerwarden_core::sigma::{Category, LogScope, SigmaRule};

/// How a generated text must satisfy one pattern.
pub enum Need {
    Exact(String),
    Prefix(String),
    Middle(String),
    Suffix(String),
    Absent,
}

fn need(p: &Pattern) -> Option<Need> {
    Some(match p {
        Pattern::Exact { s, .. } => Need::Exact(s.clone()),
        Pattern::Contains { s, .. } => Need::Middle(s.clone()),
        Pattern::StartsWith { s, .. } => Need::Prefix(s.clone()),
        Pattern::EndsWith { s, .. } => Need::Suffix(s.clone()),
        Pattern::Glob { toks, .. } => {
            let text: String = toks
                .iter()
                .map(|t| match t {
                    GlobTok::Lit(l) => l.iter().collect(),
                    GlobTok::Star => String::new(),
                    GlobTok::One => "x".to_owned(),
                })
                .collect();
            match (toks.first(), toks.last()) {
                (Some(GlobTok::Star), Some(GlobTok::Star)) => Need::Middle(text),
                (Some(GlobTok::Star), _) => Need::Suffix(text),
                (_, Some(GlobTok::Star)) => Need::Prefix(text),
                _ => Need::Exact(text),
            }
        }
        Pattern::Cidr { net, .. } => Need::Exact(net.to_string()),
        Pattern::Null | Pattern::Exists(false) => Need::Absent,
        Pattern::Exists(true) => Need::Exact("x".to_owned()),
        Pattern::Regex(r) => return regex_sample(r.as_str()),
    })
}

/// A regex cannot be inverted in general: these are hand-written samples for the patterns of
/// the dev rules (the detector run below proves each one matches).
fn regex_sample(re: &str) -> Option<Need> {
    Some(match re {
        "(.){200,}" => Need::Middle("a".repeat(200)),
        r"(?:\s-[^-\s]{0,20}i|\s--inode\s)" => Need::Middle(" -i ".into()),
        r"(?:\s-[^-\s]{0,20}d|\s--directory\s)" => Need::Middle(" -d ".into()),
        r#"-(W|R)\s?(\s|"|')([0-9a-fA-F]{2}\s?){2,20}(\s|"|')"# => Need::Middle("-W 'aabb'".into()),
        "-D" => Need::Middle("-D".into()),
        r"\s-O\s" => Need::Middle(" -O ".into()),
        r"\s-[FTd]\s" => Need::Middle(" -F ".into()),
        r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}" => Need::Middle("1.2.3.4".into()),
        r"/mail/tmp/[a-zA-Z0-9]{3}[0-9]{3}\.tar\.gz" => {
            Need::Middle("/mail/tmp/abc123.tar.gz".into())
        }
        r"https://[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}" => {
            Need::Middle("https://1.2.3.4".into())
        }
        r"(?i)/lib/python3\.([5-9]|[0-9]{2})/site-packages/" => {
            Need::Middle("/lib/python3.11/site-packages/".into())
        }
        "[^/]{100,}$" => Need::Suffix("a".repeat(100)),
        _ => return None,
    })
}

/// One text satisfying every need of a field, or None (absent) — or Err when impossible.
fn build(needs: &[Need]) -> Result<Option<String>, ()> {
    if needs.iter().any(|n| matches!(n, Need::Absent)) {
        return if needs.len() == 1 { Ok(None) } else { Err(()) };
    }
    if let Some(Need::Exact(e)) = needs.iter().find(|n| matches!(n, Need::Exact(_))) {
        return Ok(Some(e.clone()));
    }
    let mut out = String::new();
    for n in needs {
        if let Need::Prefix(p) = n {
            out.push_str(p);
        }
    }
    for n in needs {
        if let Need::Middle(m) = n {
            out.push(' ');
            out.push_str(m);
        }
    }
    out.push(' ');
    for n in needs {
        if let Need::Suffix(x) = n {
            out.push_str(x);
        }
    }
    Ok(Some(out))
}

pub type Wanted = HashMap<Field, Vec<Need>>;

pub fn wanted(rule: &SigmaRule, sels: &[usize]) -> Option<Wanted> {
    let mut w: Wanted = HashMap::new();
    for &i in sels {
        for (field, patterns, all) in rule.first_alternative(i) {
            let chosen: Vec<&Pattern> = if all {
                patterns.iter().collect()
            } else {
                patterns.iter().take(1).collect()
            };
            for p in chosen {
                w.entry(field).or_default().push(need(p)?);
            }
        }
    }
    Some(w)
}

pub fn ts() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-22T04:53:40Z")
        .expect("valid literal")
        .with_timezone(&Utc)
}

/// An event (and process table and user table) carrying the wanted field values.
pub fn synthesize(
    rule: &SigmaRule,
    w: &Wanted,
) -> Option<(Event, ProcessTable, HashMap<u32, String>)> {
    let cat = rule.category;
    let mut vals: HashMap<Field, Option<String>> = HashMap::new();
    for (f, needs) in w {
        vals.insert(*f, build(needs).ok()?);
    }
    let val = |f: Field| vals.get(&f).cloned().flatten();
    let mut procs = ProcessTable::default();
    let mut users = HashMap::new();
    if let Some(u) = val(Field::User) {
        users.insert(0, u);
    }
    let parent_argv: Vec<String> = val(Field::ParentCommandLine)
        .map(|c| c.split(' ').map(str::to_owned).collect())
        .unwrap_or_default();
    if vals.get(&Field::ParentImage) != Some(&None) {
        procs.insert(ProcInfo {
            pid: 10,
            ppid: 1,
            exe: val(Field::ParentImage).unwrap_or_else(|| "/usr/sbin/parentd".into()),
            argv: parent_argv,
            ..ProcInfo::default()
        });
    }
    let image = val(Field::Image).unwrap_or_else(|| "/usr/bin/sample".into());
    let kind = match cat {
        Category::ProcessCreation => {
            let argv = val(Field::CommandLine)
                .map(|c| c.split(' ').map(str::to_owned).collect())
                .unwrap_or_else(|| vec![image.clone()]);
            EventKind::Exec(Exec {
                pid: 20,
                ppid: 10,
                uid: 0,
                gid: 0,
                comm: "sample".into(),
                filename: image,
                argv,
                argv_truncated: false,
                cgroup_id: 0,
            })
        }
        Category::FileEvent => {
            procs.insert(ProcInfo {
                pid: 20,
                ppid: 10,
                exe: image,
                ..ProcInfo::default()
            });
            EventKind::FileWrite(FileWrite {
                pid: 20,
                uid: 0,
                comm: "sample".into(),
                path: val(Field::TargetFilename).unwrap_or_else(|| "/tmp/sample".into()),
                flags: 0,
            })
        }
        Category::NetworkConnection => {
            procs.insert(ProcInfo {
                pid: 20,
                ppid: 10,
                exe: image,
                ..ProcInfo::default()
            });
            let c = TcpConn {
                pid: Some(20),
                comm: "sample".into(),
                saddr: val(Field::SourceIp)
                    .unwrap_or_else(|| "192.0.2.1".into())
                    .parse()
                    .ok()?,
                sport: val(Field::SourcePort)
                    .unwrap_or_else(|| "40000".into())
                    .parse()
                    .ok()?,
                daddr: val(Field::DestinationIp)
                    .unwrap_or_else(|| "198.51.100.9".into())
                    .parse()
                    .ok()?,
                dport: val(Field::DestinationPort)
                    .unwrap_or_else(|| "443".into())
                    .parse()
                    .ok()?,
            };
            if val(Field::Initiated).as_deref() == Some("false") {
                EventKind::TcpAccept(c)
            } else {
                EventKind::TcpConnect(c)
            }
        }
        Category::LogLine => {
            let (service, facility) = match rule.scope? {
                LogScope::Programs(p) => (p.first()?.to_string(), None),
                LogScope::AuthFacility => ("sshd".to_owned(), Some(4)),
                LogScope::OtherFacility | LogScope::Any => ("kernel".to_owned(), Some(0)),
            };
            let text = val(Field::Message).unwrap_or_default();
            let message = match val(Field::SudoUser) {
                Some(u) => format!("{text}alice : TTY=pts/0 ; PWD=/ ; USER={u} ; COMMAND=/bin/id"),
                None => text,
            };
            EventKind::LogLine(LogLine {
                service,
                pid: None,
                facility,
                message,
            })
        }
    };
    let ev = Event::new(ts(), Source::Ebpf, kind);
    procs.apply_before_detect(&ev);
    Some((ev, procs, users))
}

/// Candidate selection sets: each selection alone, then every non-filter selection together,
/// then every selection (a rule may name a required selection `filter`: `tools and filter`).
pub fn candidates(rule: &SigmaRule) -> Vec<Vec<usize>> {
    let names = rule.selection_names();
    let mut c: Vec<Vec<usize>> = (0..names.len()).map(|i| vec![i]).collect();
    c.push(
        (0..names.len())
            .filter(|i| !names[*i].starts_with("filter"))
            .collect(),
    );
    c.push((0..names.len()).collect());
    c
}
