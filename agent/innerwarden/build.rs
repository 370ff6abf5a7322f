//! Embeds the eBPF object (`OUT_DIR/innerwarden.bpf.o`) into the agent.
//!
//! Order: `INNERWARDEN_EBPF_OBJ=path` (a prebuilt object, e.g. from a Nix derivation; an empty
//! value means "no object") wins;
//! otherwise `target/bpf/innerwarden.bpf.o`, rebuilt by `scripts/build-ebpf.sh` when it is
//! missing or older than the eBPF sources and the bpf toolchain is installed; otherwise an empty
//! object with a cargo warning, so `cargo build` works without the bpf toolchain and the agent
//! reports at runtime that the object was not built in.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

fn main() {
    // Cargo always sets both for build scripts.
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out =
        PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo")).join("innerwarden.bpf.o");
    let root = manifest.join("../..");
    let sources = [
        root.join("ebpf/innerwarden-ebpf/src"),
        root.join("ebpf/innerwarden-ebpf/Cargo.toml"),
        root.join("ebpf/innerwarden-common/src"),
        root.join("scripts/build-ebpf.sh"),
    ];
    println!("cargo:rerun-if-env-changed=INNERWARDEN_EBPF_OBJ");
    println!("cargo:rerun-if-env-changed=INNERWARDEN_TOOLS");
    for s in &sources {
        println!("cargo:rerun-if-changed={}", s.display());
    }

    if let Some(obj) = env::var_os("INNERWARDEN_EBPF_OBJ") {
        // An empty value asks for no object (a build without the kernel sensor).
        let bytes = if obj.is_empty() {
            println!(
                "cargo:warning=INNERWARDEN_EBPF_OBJ is empty: building without the eBPF object"
            );
            Vec::new()
        } else {
            let obj = PathBuf::from(obj);
            println!("cargo:rerun-if-changed={}", obj.display());
            fs::read(&obj).unwrap_or_else(|e| panic!("INNERWARDEN_EBPF_OBJ={}: {e}", obj.display()))
        };
        if let Err(e) = fs::write(&out, bytes) {
            panic!("writing {}: {e}", out.display());
        }
        return;
    }

    let built = root.join("target/bpf/innerwarden.bpf.o");
    println!("cargo:rerun-if-changed={}", built.display());
    let stale = match mtime(&built) {
        None => true,
        Some(t) => sources.iter().any(|s| newest(s).is_some_and(|n| n > t)),
    };
    if stale {
        if toolchain_present() {
            let status = Command::new(root.join("scripts/build-ebpf.sh"))
                .arg(&built)
                .env_remove("RUSTC")
                .env_remove("RUSTC_WRAPPER")
                .env_remove("CARGO_TARGET_DIR")
                .env_remove("CARGO_ENCODED_RUSTFLAGS")
                .status();
            match status {
                Ok(s) if s.success() => {}
                Ok(s) => println!("cargo:warning=scripts/build-ebpf.sh failed ({s})"),
                Err(e) => println!("cargo:warning=could not run scripts/build-ebpf.sh: {e}"),
            }
        } else if built.exists() {
            println!(
                "cargo:warning=eBPF object is older than its sources and the bpf toolchain is missing (scripts/install-bpf-toolchain.sh); embedding the old one"
            );
        }
    }

    if built.exists() {
        if let Err(e) = fs::copy(&built, &out) {
            panic!("copying {}: {e}", built.display());
        }
    } else {
        println!(
            "cargo:warning=eBPF object not built (run scripts/install-bpf-toolchain.sh, then scripts/build-ebpf.sh); the kernel sensor will be unavailable"
        );
        if let Err(e) = fs::write(&out, []) {
            panic!("writing {}: {e}", out.display());
        }
    }
}

fn toolchain_present() -> bool {
    let tools = env::var_os("INNERWARDEN_TOOLS")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/innerwarden/tools")));
    let linker_in_tools = tools.is_some_and(|t| t.join("bin/bpf-linker").exists());
    let linker_in_path = env::var_os("PATH")
        .is_some_and(|p| env::split_paths(&p).any(|d| d.join("bpf-linker").exists()));
    (linker_in_tools || linker_in_path) && Path::new("/usr/bin/rustc").exists()
}

fn mtime(p: &Path) -> Option<SystemTime> {
    fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// The newest modification time of a file or of any file under a directory.
fn newest(p: &Path) -> Option<SystemTime> {
    let meta = fs::metadata(p).ok()?;
    if !meta.is_dir() {
        return meta.modified().ok();
    }
    fs::read_dir(p)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| newest(&e.path()))
        .max()
}
