//! Tracepoint field offsets.
//!
//! The `sched` and `sock` tracepoint records are laid out by the kernel build; their offsets are
//! published in tracefs (`events/<category>/<name>/format`). Userspace reads them there and sets
//! [`TpLayout`] as the global [`crate::GLOBAL_TP_LAYOUT`] before load. The defaults are the layout
//! of mainline kernels 5.8 through 6.18 and are only used when tracefs cannot be read.
//! Syscall tracepoints (`syscalls/sys_enter_*`) need no entry: their layout is fixed by the
//! `SYSCALL_DEFINE` macro (argument `i` at `16 + 8 * i`).

/// Byte offsets of the tracepoint fields the programs read.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TpLayout {
    /// `sched/sched_process_exec`: `__data_loc char[] filename`.
    pub exec_filename: u32,
    pub exec_pid: u32,
    pub exec_old_pid: u32,
    /// `sched/sched_process_fork`.
    pub fork_parent_pid: u32,
    pub fork_child_pid: u32,
    /// `sched/sched_process_exit`.
    pub exit_pid: u32,
    /// `sock/inet_sock_set_state`.
    pub sk_skaddr: u32,
    pub sk_oldstate: u32,
    pub sk_newstate: u32,
    pub sk_sport: u32,
    pub sk_dport: u32,
    pub sk_family: u32,
    pub sk_protocol: u32,
    pub sk_saddr: u32,
    pub sk_daddr: u32,
    pub sk_saddr_v6: u32,
    pub sk_daddr_v6: u32,
    /// `module/module_load`: `__data_loc char[] name`.
    pub module_name: u32,
}
const _: () = assert!(core::mem::size_of::<TpLayout>() == 72);

impl TpLayout {
    /// Mainline layout (5.8 .. 6.18).
    pub const DEFAULT: TpLayout = TpLayout {
        exec_filename: 8,
        exec_pid: 12,
        exec_old_pid: 16,
        fork_parent_pid: 12,
        fork_child_pid: 20,
        exit_pid: 24,
        sk_skaddr: 8,
        sk_oldstate: 16,
        sk_newstate: 20,
        sk_sport: 24,
        sk_dport: 26,
        sk_family: 28,
        sk_protocol: 30,
        sk_saddr: 32,
        sk_daddr: 36,
        sk_saddr_v6: 40,
        sk_daddr_v6: 56,
        module_name: 12,
    };
}

impl Default for TpLayout {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The offset of `field` in a tracefs `format` file's text, e.g. for
/// `\tfield:pid_t pid;\toffset:12;\tsize:4;\tsigned:1;` and `field == "pid"`, `Some(12)`.
pub fn format_field_offset(format: &str, field: &str) -> Option<u32> {
    for line in format.lines() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("field:") else {
            continue;
        };
        let Some((decl, tail)) = rest.split_once(';') else {
            continue;
        };
        // The declaration's last word is the name, possibly with an array suffix.
        let name = decl.rsplit([' ', '\t']).next().unwrap_or("");
        let name = name.split('[').next().unwrap_or("");
        if name != field {
            continue;
        }
        let off = tail.trim().strip_prefix("offset:")?;
        let off = off.split(';').next()?;
        return off.trim().parse().ok();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_offsets_from_format_text() {
        let text = "name: inet_sock_set_state\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\n\tfield:__u16 sport;\toffset:24;\tsize:2;\tsigned:0;\n\tfield:__u8 saddr_v6[16];\toffset:40;\tsize:16;\tsigned:0;\n\tfield:__data_loc char[] filename;\toffset:8;\tsize:4;\tsigned:0;\n";
        assert_eq!(format_field_offset(text, "sport"), Some(24));
        assert_eq!(format_field_offset(text, "saddr_v6"), Some(40));
        assert_eq!(format_field_offset(text, "filename"), Some(8));
        assert_eq!(format_field_offset(text, "dport"), None);
    }
}
