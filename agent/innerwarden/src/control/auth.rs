//! Who may change the agent: uid 0 and the members of one admin group.
//!
//! The bus policy (`packaging/dbus/org.innerwarden.Agent1.conf`) already refuses mutating calls
//! from anyone else; this check is the second line, so a permissive or broken policy file does
//! not hand the firewall to every local user.
//!
//! The caller's uid comes from the bus (`GetConnectionUnixUser`), or from the socket's peer
//! credentials on a peer-to-peer connection. Group membership is read from `/etc/group` and
//! `/etc/passwd` on every check (a change to the group applies without a restart); the parsing
//! is pure and tested with fixture text.

use std::path::PathBuf;

use zbus::Connection;
use zbus::names::{BusName, OwnedUniqueName};

use super::ControlError;

/// The group allowed to call mutating methods, besides root (matches the bus policy).
pub const DEFAULT_ADMIN_GROUP: &str = "innerwarden-admin";

/// Who sent a method call: the connection it came in on and the sender's unique name.
#[derive(Debug, Clone)]
pub struct Caller {
    pub connection: Connection,
    pub sender: Option<OwnedUniqueName>,
}

/// How the caller's uid is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UidResolver {
    /// Ask the bus (`GetConnectionUnixUser`), or the socket's peer credentials on a
    /// peer-to-peer connection.
    Bus,
    /// Treat every caller as this uid. For tests, and for embedding behind a transport that
    /// authenticated the caller already.
    Fixed(u32),
}

/// The authorization policy for mutating methods.
#[derive(Debug, Clone)]
pub struct Authorizer {
    pub admin_group: Option<String>,
    pub group_file: PathBuf,
    pub passwd_file: PathBuf,
    pub resolver: UidResolver,
}

impl Authorizer {
    /// The system's policy: root plus members of `admin_group` (from `/etc/group`).
    pub fn system(admin_group: Option<String>) -> Self {
        Self {
            admin_group,
            group_file: PathBuf::from("/etc/group"),
            passwd_file: PathBuf::from("/etc/passwd"),
            resolver: UidResolver::Bus,
        }
    }

    /// The same policy with another way of finding the caller's uid.
    pub fn with_resolver(mut self, resolver: UidResolver) -> Self {
        self.resolver = resolver;
        self
    }

    /// The caller's uid.
    pub async fn caller_uid(&self, caller: &Caller) -> Result<u32, ControlError> {
        match self.resolver {
            UidResolver::Fixed(uid) => Ok(uid),
            UidResolver::Bus => bus_uid(caller).await,
        }
    }

    /// Resolve the caller and allow it only if it is an admin; returns its uid.
    pub async fn require_admin(&self, caller: &Caller) -> Result<u32, ControlError> {
        let uid = self.caller_uid(caller).await?;
        if self.is_admin(uid) {
            Ok(uid)
        } else {
            Err(ControlError::AccessDenied {
                uid,
                group: self
                    .admin_group
                    .clone()
                    .unwrap_or_else(|| "(none)".to_owned()),
            })
        }
    }

    /// Root, or a member of the admin group (listed in it, or having it as primary group).
    /// Unreadable account files deny: fail closed.
    pub fn is_admin(&self, uid: u32) -> bool {
        if uid == 0 {
            return true;
        }
        let Some(group) = &self.admin_group else {
            return false;
        };
        let (Ok(groups), Ok(passwd)) = (
            std::fs::read_to_string(&self.group_file),
            std::fs::read_to_string(&self.passwd_file),
        ) else {
            tracing::warn!("cannot read account files; denying non-root caller");
            return false;
        };
        is_member(&groups, &passwd, group, uid)
    }
}

async fn bus_uid(caller: &Caller) -> Result<u32, ControlError> {
    let failed = |e: &dyn std::fmt::Display| ControlError::Failed {
        message: format!("identifying the caller: {e}"),
    };
    if !caller.connection.is_bus() {
        let creds = caller
            .connection
            .peer_creds()
            .await
            .map_err(|e| failed(&e))?;
        return creds.unix_user_id().ok_or_else(|| ControlError::Failed {
            message: "peer credentials carry no uid".to_owned(),
        });
    }
    let sender = caller.sender.as_ref().ok_or_else(|| ControlError::Failed {
        message: "method call without a sender".to_owned(),
    })?;
    let proxy = zbus::fdo::DBusProxy::new(&caller.connection)
        .await
        .map_err(|e| failed(&e))?;
    proxy
        .get_connection_unix_user(BusName::Unique(sender.as_ref()))
        .await
        .map_err(|e| failed(&e))
}

/// One `/etc/group` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEntry<'a> {
    pub name: &'a str,
    pub gid: u32,
    pub members: Vec<&'a str>,
}

/// Find `name` in `/etc/group` text (`name:x:gid:user1,user2`). Malformed lines are skipped.
pub fn find_group<'a>(group_text: &'a str, name: &str) -> Option<GroupEntry<'a>> {
    group_text.lines().find_map(|line| {
        let mut f = line.split(':');
        let (n, _pw, gid, members) = (f.next()?, f.next()?, f.next()?, f.next()?);
        if n != name {
            return None;
        }
        Some(GroupEntry {
            name: n,
            gid: gid.trim().parse().ok()?,
            members: members
                .split(',')
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .collect(),
        })
    })
}

/// `(user name, primary gid)` of `uid` in `/etc/passwd` text (`name:x:uid:gid:...`).
pub fn find_user(passwd_text: &str, uid: u32) -> Option<(&str, u32)> {
    passwd_text.lines().find_map(|line| {
        let mut f = line.split(':');
        let (name, _pw, u, g) = (f.next()?, f.next()?, f.next()?, f.next()?);
        (u.trim().parse::<u32>().ok()? == uid).then_some(())?;
        Some((name, g.trim().parse().ok()?))
    })
}

/// Whether `uid` belongs to `group`: listed as a member, or the group is its primary group.
pub fn is_member(group_text: &str, passwd_text: &str, group: &str, uid: u32) -> bool {
    let (Some(g), Some((user, primary))) =
        (find_group(group_text, group), find_user(passwd_text, uid))
    else {
        return false;
    };
    primary == g.gid || g.members.contains(&user)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GROUP: &str = "root:x:0:\nadm:x:4:syslog\ninnerwarden-admin:x:990:alice, bob\n\
                         broken line\nops:x:991:\n";
    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n\
                          alice:x:1000:1000::/home/alice:/bin/sh\n\
                          bob:x:1001:1001::/home/bob:/bin/sh\n\
                          carol:x:1002:990::/home/carol:/bin/sh\n\
                          mallory:x:1003:1003::/home/m:/bin/sh\n";

    #[test]
    fn parses_group_lines() {
        let g = find_group(GROUP, "innerwarden-admin").expect("group");
        assert_eq!(g.gid, 990);
        assert_eq!(g.members, vec!["alice", "bob"]);
        assert_eq!(find_group(GROUP, "ops").expect("ops").members.len(), 0);
        assert!(find_group(GROUP, "missing").is_none());
        assert!(find_group(GROUP, "broken line").is_none());
    }

    #[test]
    fn membership_by_list_and_primary_group() {
        let g = "innerwarden-admin";
        assert!(is_member(GROUP, PASSWD, g, 1000), "listed");
        assert!(is_member(GROUP, PASSWD, g, 1001), "listed after a space");
        assert!(is_member(GROUP, PASSWD, g, 1002), "primary group");
        assert!(!is_member(GROUP, PASSWD, g, 1003), "not a member");
        assert!(!is_member(GROUP, PASSWD, g, 4242), "unknown uid");
        assert!(!is_member(GROUP, PASSWD, "nope", 1000), "unknown group");
        assert_eq!(find_user(PASSWD, 1002), Some(("carol", 990)));
    }

    #[test]
    fn root_always_admin_and_missing_files_fail_closed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut auth = Authorizer::system(Some("innerwarden-admin".into()));
        auth.group_file = dir.path().join("group");
        auth.passwd_file = dir.path().join("passwd");
        assert!(auth.is_admin(0));
        assert!(!auth.is_admin(1000), "unreadable files deny");
        std::fs::write(&auth.group_file, GROUP).expect("write");
        std::fs::write(&auth.passwd_file, PASSWD).expect("write");
        assert!(auth.is_admin(1000));
        assert!(!auth.is_admin(1003));
        auth.admin_group = None;
        assert!(!auth.is_admin(1000), "no admin group: root only");
    }
}
