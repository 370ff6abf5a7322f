//! Cost of the syscall tracepoints: ns per syscall for a few syscall-heavy loops, with no
//! sensor, with the exec/fork/exit/tcp/open sensor alone, and with every program. Backs
//! `innerwarden bench syscalls` (root).
//!
//! Each loop runs `iterations` times per round, best of `rounds` (the machine is shared: the
//! least disturbed round is the closest to the cost itself). Attaching any `syscalls/*`
//! tracepoint routes every syscall of every task through the tracepoint slow path, so even
//! `getpid` (which no program hooks) moves; the per-program cost is the difference on top.

use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::{EbpfConfig, EbpfError, EbpfSensor, programs};
use crate::channel;

/// One workload's ns per syscall under each setup.
#[derive(Debug, Clone, Serialize)]
pub struct SyscallBenchRow {
    pub workload: &'static str,
    /// What the new programs do with it.
    pub filter: &'static str,
    pub none_ns: f64,
    pub base_ns: f64,
    pub full_ns: f64,
}

type Loop = fn(usize);

fn workloads() -> Vec<(&'static str, &'static str, Loop)> {
    vec![
        ("getpid", "no program", |n| {
            for _ in 0..n {
                // SAFETY: no arguments.
                unsafe { libc::getpid() };
            }
        }),
        ("mprotect(RW)", "dropped: no PROT_EXEC", |n| {
            with_page(|p| {
                for i in 0..n {
                    let prot = if i % 2 == 0 {
                        libc::PROT_READ
                    } else {
                        libc::PROT_READ | libc::PROT_WRITE
                    };
                    // SAFETY: p is a page we mapped.
                    unsafe { libc::mprotect(p, 4096, prot) };
                }
            })
        }),
        ("mprotect(RWX)", "kept: W+X, one record each", |n| {
            with_page(|p| {
                for _ in 0..n {
                    // SAFETY: p is a page we mapped.
                    unsafe {
                        libc::mprotect(
                            p,
                            4096,
                            libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC,
                        )
                    };
                }
            })
        }),
        ("dup2(fd, 100)", "dropped: newfd > 2", |n| {
            let f = std::fs::File::open("/dev/null").expect("/dev/null opens");
            for _ in 0..n {
                // SAFETY: valid descriptors; 100 is closed below.
                unsafe { libc::dup2(f.as_raw_fd(), 100) };
            }
            // SAFETY: the duplicate made above.
            unsafe { libc::close(100) };
        }),
        (
            "openat(/dev/null, RDONLY)+close",
            "read-prefix lookup miss",
            |n| {
                let path = c"/dev/null";
                for _ in 0..n {
                    // SAFETY: valid path; the fd is closed at once.
                    unsafe {
                        let fd = libc::open(path.as_ptr(), libc::O_RDONLY);
                        libc::close(fd);
                    }
                }
            },
        ),
        ("kill(self, 0)", "dropped: signal 0", |n| {
            // SAFETY: signal 0 only checks the target exists.
            let me = unsafe { libc::getpid() };
            for _ in 0..n {
                unsafe { libc::kill(me, 0) };
            }
        }),
    ]
}

fn with_page(f: impl FnOnce(*mut libc::c_void)) {
    // SAFETY: an anonymous private page, unmapped below.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    assert_ne!(p, libc::MAP_FAILED, "mmap of one page");
    f(p);
    // SAFETY: the mapping made above.
    unsafe { libc::munmap(p, 4096) };
}

/// Best-of-`rounds` ns per call of each workload.
fn measure(iterations: usize, rounds: usize) -> Vec<f64> {
    workloads()
        .into_iter()
        .map(|(_, _, run)| {
            (0..rounds.max(1))
                .map(|_| {
                    let t = Instant::now();
                    run(iterations);
                    t.elapsed().as_nanos() as f64 / iterations.max(1) as f64
                })
                .fold(f64::INFINITY, f64::min)
        })
        .collect()
}

/// Run every workload with no sensor, the base sensor, and the full sensor.
pub fn bench_syscalls(
    config: EbpfConfig,
    iterations: usize,
    rounds: usize,
) -> Result<Vec<SyscallBenchRow>, EbpfError> {
    let none = measure(iterations, rounds);
    let with = |exclude: Vec<String>| -> Result<Vec<f64>, EbpfError> {
        let (tx, mut rx) = channel::bounded("bench_events", 1 << 16);
        let cfg = EbpfConfig {
            exclude,
            ..config.clone()
        };
        let (sensor, _) = EbpfSensor::start(cfg, tx)?;
        // Drain so kept records cost what they cost live (decode + offer), not a full ring.
        let drain = std::thread::spawn(move || while rx.blocking_recv().is_some() {});
        let r = measure(iterations, rounds);
        std::thread::sleep(Duration::from_millis(200));
        sensor.stop();
        let _ = drain.join();
        Ok(r)
    };
    let base = with(programs::syscall_programs())?;
    let full = with(Vec::new())?;
    Ok(workloads()
        .into_iter()
        .enumerate()
        .map(|(i, (workload, filter, _))| SyscallBenchRow {
            workload,
            filter,
            none_ns: none[i],
            base_ns: base[i],
            full_ns: full[i],
        })
        .collect())
}
