//! uid → user name for the Sigma `User` field, from passwd-format text the edge reads
//! (`/etc/passwd`). Malformed lines are skipped; the first name of a uid wins, as in getpwuid.

use std::collections::HashMap;

/// Parse `name:x:uid:gid:gecos:home:shell` lines.
pub fn users_from_passwd(text: &str) -> HashMap<u32, String> {
    let mut out = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.split(':');
        let (Some(name), Some(_pw), Some(uid)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let Ok(uid) = uid.parse::<u32>() else {
            continue;
        };
        if name.is_empty() {
            continue;
        }
        out.entry(uid).or_insert_with(|| name.to_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_names_and_skips_junk() {
        let u = users_from_passwd(
            "root:x:0:0:root:/root:/bin/bash\n# comment\nbroken\nalice:x:1000:1000::/home/alice:/bin/sh\n\
             toor:x:0:0::/root:/bin/sh\nbad:x:notanumber:0::/:/bin/sh\n",
        );
        assert_eq!(u.get(&0).map(String::as_str), Some("root"));
        assert_eq!(u.get(&1000).map(String::as_str), Some("alice"));
        assert_eq!(u.len(), 2);
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,200}") {
            let _ = users_from_passwd(&s);
        }
    }
}
