//! Struct member offsets from the running kernel's BTF (`/sys/kernel/btf/vmlinux`), for the
//! LSM program's [`LsmLayout`]. Rust BPF programs have no CO-RE relocations, so the offsets are
//! looked up here and set as a global at load, the way tracepoint offsets come from tracefs.
//!
//! A minimal reader of the BTF type section: only what finding `struct X { ... member ... }`
//! needs (struct/union members, including members of anonymous nested structs and unions).

use innerwarden_common::LsmLayout;

const BTF_MAGIC: u16 = 0xeb9f;
const KIND_STRUCT: u32 = 4;
const KIND_UNION: u32 = 5;

/// One type: its kind, name offset, `info`, and where its trailing data starts.
#[derive(Clone, Copy)]
struct Ty {
    kind: u32,
    name_off: u32,
    info: u32,
    data: usize,
}

/// A parsed BTF blob (little-endian, as on every host this agent targets).
pub struct Btf<'a> {
    types_sec: &'a [u8],
    strs: &'a [u8],
    /// Index = type id - 1.
    types: Vec<Ty>,
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

impl<'a> Btf<'a> {
    pub fn parse(raw: &'a [u8]) -> Option<Btf<'a>> {
        let magic = u16::from_le_bytes(raw.get(0..2)?.try_into().ok()?);
        if magic != BTF_MAGIC {
            return None;
        }
        let hdr_len = u32_at(raw, 4)? as usize;
        let (type_off, type_len) = (u32_at(raw, 8)? as usize, u32_at(raw, 12)? as usize);
        let (str_off, str_len) = (u32_at(raw, 16)? as usize, u32_at(raw, 20)? as usize);
        let types_sec = raw.get(hdr_len + type_off..hdr_len + type_off + type_len)?;
        let strs = raw.get(hdr_len + str_off..hdr_len + str_off + str_len)?;
        let mut types = Vec::new();
        let mut at = 0;
        while at + 12 <= types_sec.len() {
            let name_off = u32_at(types_sec, at)?;
            let info = u32_at(types_sec, at + 4)?;
            let kind = (info >> 24) & 0x1f;
            let vlen = (info & 0xffff) as usize;
            let data = at + 12;
            let extra = match kind {
                1 | 14 | 17 => 4,          // INT, VAR, DECL_TAG
                3 => 12,                   // ARRAY
                4 | 5 => 12 * vlen,        // STRUCT, UNION
                6 | 13 => 8 * vlen,        // ENUM, FUNC_PROTO
                15 | 19 => 12 * vlen,      // DATASEC, ENUM64
                2 | 7..=12 | 16 | 18 => 0, // PTR, FWD, TYPEDEF, quals, FUNC, FLOAT, TYPE_TAG
                _ => return None,          // unknown kind: cannot walk further
            };
            types.push(Ty {
                kind,
                name_off,
                info,
                data,
            });
            at = data + extra;
        }
        Some(Btf {
            types_sec,
            strs,
            types,
        })
    }

    fn name(&self, off: u32) -> &[u8] {
        let s = self.strs.get(off as usize..).unwrap_or_default();
        &s[..s.iter().position(|&c| c == 0).unwrap_or(s.len())]
    }

    fn ty(&self, id: u32) -> Option<Ty> {
        self.types.get((id as usize).checked_sub(1)?).copied()
    }

    /// Bit offset of `member` in the struct/union `ty`, looking into anonymous members.
    fn member_bits(&self, ty: Ty, member: &str, depth: u32) -> Option<u32> {
        if depth > 8 || !(ty.kind == KIND_STRUCT || ty.kind == KIND_UNION) {
            return None;
        }
        let bitfields = ty.info >> 31 == 1;
        for i in 0..(ty.info & 0xffff) as usize {
            let m = ty.data + 12 * i;
            let name_off = u32_at(self.types_sec, m)?;
            let mty = u32_at(self.types_sec, m + 4)?;
            let raw = u32_at(self.types_sec, m + 8)?;
            let bits = if bitfields { raw & 0xff_ffff } else { raw };
            if name_off == 0 {
                if let Some(inner) = self
                    .ty(mty)
                    .and_then(|t| self.member_bits(t, member, depth + 1))
                {
                    return Some(bits + inner);
                }
            } else if self.name(name_off) == member.as_bytes() {
                return Some(bits);
            }
        }
        None
    }

    /// Byte offset of `member` in `struct name` (the first struct of that name with the member).
    pub fn member_offset(&self, name: &str, member: &str) -> Option<u32> {
        self.types
            .iter()
            .filter(|t| t.kind == KIND_STRUCT && self.name(t.name_off) == name.as_bytes())
            .find_map(|t| self.member_bits(*t, member, 0))
            .map(|bits| bits / 8)
    }

    /// The offsets the exec-deny program reads; `Err` names the first one missing.
    pub fn lsm_layout(&self) -> Result<LsmLayout, String> {
        let off = |s: &str, m: &str| {
            self.member_offset(s, m)
                .ok_or_else(|| format!("struct {s}.{m} not in kernel BTF"))
        };
        Ok(LsmLayout {
            bprm_file: off("linux_binprm", "file")?,
            file_inode: off("file", "f_inode")?,
            inode_ino: off("inode", "i_ino")?,
            inode_sb: off("inode", "i_sb")?,
            sb_dev: off("super_block", "s_dev")?,
            inode_nlink: off("inode", "__i_nlink")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_garbage() {
        assert!(Btf::parse(b"not btf at all, not at all").is_none());
    }

    #[test]
    fn reads_the_host_kernel_layout() {
        let Ok(raw) = std::fs::read("/sys/kernel/btf/vmlinux") else {
            println!("skipped: no /sys/kernel/btf/vmlinux");
            return;
        };
        let btf = Btf::parse(&raw).expect("kernel BTF parses");
        let l = btf.lsm_layout().expect("layout");
        println!("{l:?}");
        assert!(l.bprm_file > 0 && l.file_inode > 0 && l.inode_ino > 0 && l.inode_sb > 0);
        // The link count sits in an anonymous union: both names give the same offset.
        assert!(l.inode_nlink > 0);
        assert_eq!(btf.member_offset("inode", "i_nlink"), Some(l.inode_nlink));
        // `struct super_block` starts with `struct list_head s_list` (16 bytes), then s_dev.
        assert_eq!(l.sb_dev, 16);
        assert_eq!(btf.member_offset("list_head", "next"), Some(0));
        assert_eq!(btf.member_offset("list_head", "prev"), Some(8));
        assert_eq!(btf.member_offset("list_head", "nope"), None);
    }
}
