# Host hardening for a machine Inner Warden protects, tuned so that nothing it sets takes a
# sensor or a responder away:
# - lockdown=integrity, never confidentiality: confidentiality forbids the kernel reads
#   (bpf_probe_read_kernel) the eBPF programs rely on; integrity only stops writes to the
#   running kernel.
# - BPF stays available to the agent: unprivileged BPF is off (the agent has CAP_BPF), the bpf
#   syscall and JIT are untouched, BTF comes with the NixOS kernel; `bpf` is in the LSM list so
#   the deny_exec responder can attach.
# - No password logins anywhere; SSH with keys only; nftables as the firewall (the agent's table
#   lives beside it).
# Every setting is a default a host can override, except lockdown=integrity.
{ lib, ... }:
{
  boot.kernelParams = [ "lockdown=integrity" ];
  security.lsm = lib.mkDefault [
    "landlock"
    "lockdown"
    "yama"
    "bpf"
  ];

  # Priority 900: above NixOS's own mkDefault sysctls (kernel.kptr_restrict = 1), below anything
  # a host sets plainly.
  boot.kernel.sysctl = lib.mapAttrs (_: lib.mkOverride 900) {
    # BPF: only privileged (CAP_BPF) loaders; JIT hardening for them too.
    "kernel.unprivileged_bpf_disabled" = 1;
    "net.core.bpf_jit_harden" = 2;
    "kernel.kptr_restrict" = 2;
    "kernel.dmesg_restrict" = 1;
    "kernel.kexec_load_disabled" = 1;
    "kernel.perf_event_paranoid" = 2;
    # Attach only to descendants; the agent reads /proc with CAP_SYS_PTRACE, which Yama allows.
    "kernel.yama.ptrace_scope" = 1;
    "kernel.sysrq" = 0;
    "fs.protected_fifos" = 2;
    "fs.protected_regular" = 2;
    "fs.protected_symlinks" = 1;
    "fs.protected_hardlinks" = 1;
    "fs.suid_dumpable" = 0;
    "net.ipv4.conf.all.rp_filter" = 1;
    "net.ipv4.conf.default.rp_filter" = 1;
    "net.ipv4.conf.all.accept_redirects" = 0;
    "net.ipv6.conf.all.accept_redirects" = 0;
    "net.ipv4.conf.all.send_redirects" = 0;
    "net.ipv4.tcp_syncookies" = 1;
  };
  security.protectKernelImage = lib.mkDefault true;

  # No password logins: accounts are declared (root keeps NixOS's locked "!" password), SSH
  # takes keys only.
  users.mutableUsers = lib.mkDefault false;
  services.openssh.settings = {
    PasswordAuthentication = lib.mkDefault false;
    KbdInteractiveAuthentication = lib.mkDefault false;
    PermitRootLogin = lib.mkDefault "prohibit-password";
  };

  networking.nftables.enable = lib.mkDefault true;
  networking.firewall.enable = lib.mkDefault true;

  boot.tmp.useTmpfs = lib.mkDefault true;
  environment.defaultPackages = lib.mkDefault [ ];
}
