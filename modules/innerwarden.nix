# services.innerwarden: the agent as a NixOS service.
#
# Settings follow RFC 42: `settings` is the agent's TOML configuration as an attribute set
# (rendered with pkgs.formats.toml to /etc/innerwarden/config.toml); the keys that decide what the
# agent may do to the host have typed options, every other key passes through and the agent
# itself refuses unknown ones (`innerwarden check-config`). Like the agent, the module is
# dry-run first: nothing is enforced until `settings.response.mode = "enforce"` and the action
# kinds are listed in `settings.response.enforce`.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib)
    mkOption
    mkEnableOption
    mkIf
    types
    ;
  cfg = config.services.innerwarden;
  format = pkgs.formats.toml { };
  unit = import ../nix/unit.nix;
  nftTable = import ../nix/nft-table.nix {
    ratePerMinute = cfg.settings.response.rate_limit_per_minute or 10;
  };

  actionKinds = [
    "block"
    "rate_limit"
    "kill"
    "quarantine"
    "throttle"
    "deny_exec"
  ];
  response = cfg.settings.response;
  enforced = kind: response.mode == "enforce" && builtins.elem kind response.enforce;

  # TOML has no null: an unset optional key (notify.webhook_url) is left out.
  configFile = format.generate "innerwarden.toml" (
    lib.filterAttrsRecursive (_: v: v != null) cfg.settings
  );

  # `bpf` in the kernel's LSM list: security.lsm, or an lsm= the user put on the command line.
  lsmParams = lib.filter (lib.hasPrefix "lsm=") config.boot.kernelParams;
  bpfLsm =
    builtins.elem "bpf" config.security.lsm
    || lib.any (p: builtins.elem "bpf" (lib.splitString "," (lib.removePrefix "lsm=" p))) lsmParams;

  section =
    options:
    mkOption {
      type = types.submodule {
        freeformType = format.type;
        inherit options;
      };
      default = { };
      description = "A section of the agent's configuration; keys without an option pass through.";
    };
  cidrList =
    default: description:
    mkOption {
      type = types.listOf types.str;
      inherit default description;
    };
in
{
  options.services.innerwarden = {
    enable = mkEnableOption "the Inner Warden EDR agent (dry-run until enforcement is enabled)";

    package = lib.mkPackageOption pkgs "innerwarden" { };

    settings = mkOption {
      default = { };
      description = ''
        The agent's configuration (packaging/config.toml lists every key and its default).
        Rendered to /etc/innerwarden/config.toml; a changed configuration restarts the agent.
      '';
      example = lib.literalExpression ''
        {
          response.mode = "enforce";
          response.enforce = [ "block" "rate_limit" ];
          response.allow.management_cidrs = [ "10.0.0.0/8" ];
          detectors.ssh_bruteforce.threshold = 8;
          notify.webhook_url = "https://hooks.example.org/innerwarden";
        }
      '';
      type = types.submodule {
        freeformType = format.type;
        options = {
          agent = section {
            state_dir = mkOption {
              type = types.str;
              default = "/var/lib/innerwarden";
              description = "Where the agent keeps SQLite, the audit log and its key (the unit's StateDirectory).";
            };
          };

          response = section {
            mode = mkOption {
              type = types.enum [
                "dry_run"
                "enforce"
              ];
              default = "dry_run";
              description = "dry_run records every decision and executes nothing; enforce executes the kinds in `enforce`.";
            };
            enforce = mkOption {
              type = types.listOf (types.enum actionKinds);
              default = [ ];
              example = [
                "block"
                "rate_limit"
              ];
              description = "Action kinds executed in enforce mode; every other kind stays dry-run.";
            };
            act_threshold = mkOption {
              type = types.numbers.between 0 1;
              default = 0.85;
              description = "Confidence at or above which the agent acts (block, kill, quarantine).";
            };
            soft_threshold = mkOption {
              type = types.numbers.between 0 1;
              default = 0.5;
              description = "Confidence at or above which the agent takes a soft action and escalates.";
            };
            allow = section {
              cidrs = cidrList [
                "127.0.0.0/8"
                "::1/128"
              ] "Sources never blocked or rate-limited.";
              management_cidrs = cidrList [ ] "Management networks: never acted against.";
              users = cidrList [ ] "Users whose processes are never killed.";
              units = cidrList [ ] "systemd units never quarantined or throttled.";
              executables = cidrList [ ] "Executables never killed or denied.";
            };
          };

          notify = section {
            webhook_url = mkOption {
              type = types.nullOr types.str;
              default = null;
              example = "https://hooks.example.org/innerwarden";
              description = "Escalations are POSTed as JSON to this URL; null keeps them in the audit log only.";
            };
          };
        };
      };
    };

    extraFlags = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "--bus=system" ];
      description = "Extra command-line flags for `innerwarden run`.";
    };

    adminGroup = mkOption {
      type = types.str;
      default = "innerwarden-admin";
      readOnly = true;
      description = ''
        Group whose members may call the mutating D-Bus methods (Block, Unblock, SetMode). Fixed:
        the agent and the shipped bus policy both name it.
      '';
    };

    admins = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "alice" ];
      description = "Users added to `adminGroup`.";
    };

    nftables.declareTable = mkOption {
      type = types.bool;
      default = config.networking.nftables.enable;
      defaultText = lib.literalExpression "config.networking.nftables.enable";
      description = ''
        Declare the agent's table `inet innerwarden` in the NixOS ruleset (the same table the
        agent creates). Its sets start empty on every nftables reload; the agent re-adds every
        live block and rate limit from its ledger within one slow-loop tick.
      '';
    };
  };

  config = mkIf cfg.enable {
    assertions = [
      {
        assertion = !(enforced "block" || enforced "rate_limit") || config.networking.nftables.enable;
        message = "services.innerwarden enforces block/rate_limit: set networking.nftables.enable = true.";
      }
      {
        assertion = !(enforced "deny_exec") || bpfLsm;
        message = ''services.innerwarden enforces deny_exec: add "bpf" to security.lsm (BPF-LSM must be active).'';
      }
      {
        assertion = cfg.settings.agent.state_dir == "/var/lib/innerwarden";
        message = "services.innerwarden.settings.agent.state_dir must be /var/lib/innerwarden (the unit's StateDirectory; the rest of the file system is read-only to the agent).";
      }
      {
        assertion = response.soft_threshold <= response.act_threshold;
        message = "services.innerwarden.settings.response.soft_threshold must not exceed act_threshold.";
      }
    ];

    warnings = lib.optional (cfg.settings.notify.webhook_url != null) ''
      services.innerwarden: the unit denies IP traffic (IPAddressDeny=any), so the webhook cannot be
      reached until its address is allowed, e.g.
      systemd.services.innerwarden.serviceConfig.IPAddressAllow = [ "192.0.2.10" ];
    '';

    environment.systemPackages = [ cfg.package ];
    environment.etc."innerwarden/config.toml".source = configFile;

    services.dbus.packages = [ cfg.package ];
    users.groups.${cfg.adminGroup}.members = cfg.admins;

    networking.nftables.tables.${nftTable.name} = mkIf cfg.nftables.declareTable {
      inherit (nftTable) family content;
    };

    # NixOS (re)loads nftables.service by replacing its ruleset: the agent's table comes back
    # with empty sets (declared) or not at all (flushed). The running agent notices either on its
    # next maintenance tick (5 s) and re-adds every live block and rate limit from its ledger
    # with the TTL each has left.

    systemd.services.innerwarden = {
      inherit (unit.unit)
        description
        documentation
        after
        wants
        wantedBy
        ;
      # nft for the ruleset transaction; journalctl comes with NixOS's default unit PATH.
      path = [ pkgs.nftables ];
      restartTriggers = [ configFile ];
      serviceConfig = unit.service // {
        ExecStart = lib.concatStringsSep " " (
          [
            (lib.getExe cfg.package)
            "--config"
            "/etc/innerwarden/config.toml"
            "run"
          ]
          ++ map lib.escapeShellArg cfg.extraFlags
        );
        ExecReload = "${pkgs.coreutils}/bin/kill -HUP $MAINPID";
      };
    };
  };
}
