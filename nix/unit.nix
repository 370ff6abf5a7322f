# The agent's systemd unit as data: the NixOS module builds its systemd.services.innerwarden from
# this, and `text` renders it back to a unit file. scripts/nix-check.sh diffs that rendering with
# packaging/innerwarden.service (the hand-written unit for other distros, where every setting is
# justified), so the two cannot drift. Only builtins here: it evaluates without nixpkgs.
#
# The module replaces ExecStart (store path, --config) and adds what NixOS itself adds (PATH).
let
  service = {
    Type = "notify";
    NotifyAccess = "main";
    WatchdogSec = "30s";
    Restart = "always";
    RestartSec = "2s";
    ExecStart = "/usr/bin/innerwarden run";
    ExecReload = "/bin/kill -HUP $MAINPID";
    TimeoutStopSec = "30s";

    StateDirectory = "innerwarden";
    StateDirectoryMode = "0700";
    ConfigurationDirectory = "innerwarden";
    ConfigurationDirectoryMode = "0755";
    UMask = "0077";

    # Root with a small capability set (see packaging/innerwarden.service for each one):
    # BPF + PERFMON load and attach the programs, NET_ADMIN drives nftables, KILL signals other
    # users' processes, SYS_PTRACE reads their /proc/<pid>/{exe,fd,environ}, DAC_READ_SEARCH
    # reads logs the agent does not own. No SYS_RESOURCE: LimitMEMLOCK=infinity does its job.
    CapabilityBoundingSet = "CAP_BPF CAP_PERFMON CAP_NET_ADMIN CAP_KILL CAP_SYS_PTRACE CAP_DAC_READ_SEARCH";
    LimitMEMLOCK = "infinity";
    NoNewPrivileges = "yes";

    ProtectSystem = "strict";
    ProtectHome = "read-only";
    PrivateTmp = "yes";
    PrivateMounts = "yes";
    PrivateDevices = "yes";
    DevicePolicy = "closed";
    ProtectKernelModules = "yes";
    ProtectKernelTunables = "yes";
    ProtectKernelLogs = "yes";
    ProtectControlGroups = "yes";
    ProtectClock = "yes";
    ProtectHostname = "yes";
    ProtectProc = "invisible";
    LockPersonality = "yes";
    MemoryDenyWriteExecute = "yes";
    RestrictRealtime = "yes";
    RestrictSUIDSGID = "yes";
    RestrictNamespaces = "yes";
    RemoveIPC = "yes";
    KeyringMode = "private";
    SystemCallArchitectures = "native";
    # @system-service lacks bpf and perf_event_open, which the sensors need.
    SystemCallFilter = [
      "@system-service bpf perf_event_open"
      "~@mount @obsolete @cpu-emulation @raw-io @reboot @swap @clock @module @resources"
    ];
    SystemCallErrorNumber = "EPERM";
    RestrictAddressFamilies = "AF_UNIX AF_NETLINK AF_INET AF_INET6";
    IPAddressDeny = "any";
  };

  unit = {
    description = "Inner Warden autonomous EDR agent";
    documentation = [ "https://example.invalid/innerwarden" ];
    after = [
      "network-pre.target"
      "dbus.service"
      "sys-kernel-tracing.mount"
    ];
    wants = [ "network-pre.target" ];
    wantedBy = [ "multi-user.target" ];
  };

  lines =
    key: value: if builtins.isList value then map (v: "${key}=${v}") value else [ "${key}=${value}" ];
  join = builtins.concatStringsSep;
  section =
    name: attrs:
    join "\n" (
      [ "[${name}]" ] ++ builtins.concatLists (map (k: lines k attrs.${k}) (builtins.attrNames attrs))
    );
in
{
  inherit service unit;

  # The unit file as NixOS would write it (keys sorted within a section).
  text =
    join "\n\n" [
      (section "Unit" {
        Description = unit.description;
        Documentation = join " " unit.documentation;
        After = join " " unit.after;
        Wants = join " " unit.wants;
      })
      (section "Service" service)
      (section "Install" { WantedBy = join " " unit.wantedBy; })
    ]
    + "\n";
}
