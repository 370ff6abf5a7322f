# Evaluates modules/innerwarden.nix (and modules/hardening.nix with the appliance's agent
# settings) with lib.evalModules from a nixpkgs lib alone: small stand-in declarations of the
# NixOS options the modules touch, and a stand-in pkgs whose formats.toml has nixpkgs' value
# type. Option types, defaults, merging and the assertions are the real ones.
#
#   nix-instantiate --eval --strict --json nix/module-eval.nix --arg lib 'import <nixpkgs-lib>/lib'
#
# Run by scripts/nix-check.sh when NIXPKGS_LIB points at a nixpkgs (or nixpkgs.lib) checkout, and
# by the flake's `checks.module-eval` with the locked nixpkgs' lib.
{ lib }:
let
  inherit (lib) mkOption types;

  stubPackage = name: {
    type = "derivation";
    inherit name;
    outPath = "/nix/store/00000000000000000000000000000000-${name}";
    meta.mainProgram = name;
  };

  # nixpkgs' pkgs.formats.toml: the same value type (no null: TOML has none); generate keeps
  # the value for inspection.
  tomlValue =
    let
      valueType =
        types.oneOf [
          types.bool
          types.int
          types.float
          types.str
          types.path
          (types.attrsOf valueType)
          (types.listOf valueType)
        ]
        // {
          description = "TOML value";
        };
    in
    valueType;

  pkgs = {
    formats.toml = _: {
      type = tomlValue;
      generate = name: value: stubPackage name // { inherit value; };
    };
    innerwarden = stubPackage "innerwarden";
    nftables = stubPackage "nftables";
    coreutils = stubPackage "coreutils";
  };

  listOfStr = mkOption {
    type = types.listOf types.str;
    default = [ ];
  };

  # The NixOS options the modules read or set, with NixOS's types where it matters; everything
  # else the hardening module sets lands in a freeform attribute set.
  standIns = {
    freeformType = types.lazyAttrsOf types.anything;
    options = {
      assertions = mkOption {
        type = types.listOf types.unspecified;
        default = [ ];
      };
      warnings = listOfStr;
      environment.systemPackages = mkOption {
        type = types.listOf types.package;
        default = [ ];
      };
      environment.etc = mkOption {
        type = types.attrsOf (types.attrsOf types.unspecified);
        default = { };
      };
      services.dbus.packages = mkOption {
        type = types.listOf types.package;
        default = [ ];
      };
      users.groups = mkOption {
        type = types.attrsOf (types.submodule { options.members = listOfStr; });
        default = { };
      };
      networking.nftables.enable = mkOption {
        type = types.bool;
        default = false;
      };
      networking.nftables.tables = mkOption {
        type = types.attrsOf (
          types.submodule {
            options.family = mkOption {
              type = types.enum [
                "ip"
                "ip6"
                "inet"
                "arp"
                "bridge"
                "netdev"
              ];
            };
            options.content = mkOption { type = types.lines; };
          }
        );
        default = { };
      };
      systemd.package = mkOption {
        type = types.package;
        default = stubPackage "systemd";
      };
      boot.kernelParams = listOfStr;
      security.lsm = mkOption {
        type = types.uniq (types.listOf types.str);
        default = [ ];
      };
      systemd.services = mkOption {
        type = types.attrsOf (
          types.submodule {
            options = {
              description = mkOption { type = types.str; };
              documentation = listOfStr;
              after = listOfStr;
              wants = listOfStr;
              wantedBy = listOfStr;
              partOf = listOfStr;
              unitConfig = mkOption {
                type = types.attrsOf types.str;
                default = { };
              };
              path = mkOption {
                type = types.listOf types.package;
                default = [ ];
              };
              restartTriggers = mkOption {
                type = types.listOf types.unspecified;
                default = [ ];
              };
              serviceConfig = mkOption {
                type = types.attrsOf (
                  types.oneOf [
                    types.bool
                    types.str
                    (types.listOf types.str)
                  ]
                );
                default = { };
              };
            };
          }
        );
        default = { };
      };
    };
  };

  eval =
    modules:
    let
      config =
        (lib.evalModules {
          modules = [ standIns ] ++ modules;
          specialArgs = {
            inherit pkgs;
            modulesPath = throw "modulesPath: the stand-in evaluation has no NixOS modules";
          };
        }).config;
      failed = map (a: a.message) (lib.filter (a: !a.assertion) config.assertions);
    in
    {
      inherit failed;
      inherit (config) warnings;
      inherit config;
    };

  enable = {
    services.innerwarden.enable = true;
  };
  module = ../modules/innerwarden.nix;

  cases = {
    # Enabled with nothing else: dry-run, no nft table declared.
    defaults = eval [
      module
      enable
    ];
    # The appliance: hardening + the agent settings the image ships (enforcement on).
    appliance = eval [
      module
      ../modules/hardening.nix
      ../images/agent.nix
    ];
    # Negative cases: each must fail exactly its assertion.
    block-without-nftables = eval [
      module
      enable
      {
        services.innerwarden.settings.response = {
          mode = "enforce";
          enforce = [ "block" ];
        };
      }
    ];
    deny-exec-without-bpf-lsm = eval [
      module
      enable
      {
        networking.nftables.enable = true;
        security.lsm = [
          "landlock"
          "yama"
        ];
        services.innerwarden.settings.response = {
          mode = "enforce";
          enforce = [ "deny_exec" ];
        };
      }
    ];
    webhook = eval [
      module
      enable
      { services.innerwarden.settings.notify.webhook_url = "https://hooks.example.org/iw"; }
    ];
    deny-exec-with-lsm-param = eval [
      module
      enable
      {
        boot.kernelParams = [ "lsm=landlock,yama,bpf" ];
        services.innerwarden.settings.response = {
          mode = "enforce";
          enforce = [ "deny_exec" ];
        };
      }
    ];
  };

  settingsOf = c: c.config.environment.etc."innerwarden/config.toml".source.value;
  # A mistyped value stops the evaluation (the module system throws naming the option).
  refused =
    settings:
    !(builtins.tryEval (
      builtins.deepSeq (settingsOf (eval [
        module
        enable
        { services.innerwarden.settings = settings; }
      ])) true
    )).success;
  passthrough = settingsOf (eval [
    module
    enable
    {
      services.innerwarden.settings.detectors.ssh_bruteforce.threshold = 8;
      services.innerwarden.settings.storage.event_retention_days = 3;
    }
  ]);
  unitOf = c: c.config.systemd.services.innerwarden;
  expect = cond: msg: if cond then msg else throw "module-eval: expected ${msg}";

  checks = [
    (expect (cases.defaults.failed == [ ]) "defaults: no failed assertion")
    (expect ((settingsOf cases.defaults).response.mode == "dry_run") "defaults: dry_run")
    (expect ((settingsOf cases.defaults).response.enforce == [ ]) "defaults: nothing enforced")
    (expect (
      !((settingsOf cases.defaults) ? notify && (settingsOf cases.defaults).notify ? webhook_url)
    ) "defaults: an unset webhook_url is left out of the TOML")
    (expect (
      cases.defaults.config.networking.nftables.tables == { }
    ) "defaults: no nft table without networking.nftables")
    (expect (
      (unitOf cases.defaults).serviceConfig.ExecStart
      == "/nix/store/00000000000000000000000000000000-innerwarden/bin/innerwarden --config /etc/innerwarden/config.toml run"
    ) "defaults: ExecStart runs the package with /etc/innerwarden/config.toml")
    (expect (cases.appliance.failed == [ ]) "appliance: no failed assertion")
    (expect ((settingsOf cases.appliance).response.mode == "enforce") "appliance: enforce")
    (expect (
      cases.appliance.config.networking.nftables.tables ? innerwarden
    ) "appliance: the nft table is declared")
    (expect (builtins.elem "bpf" cases.appliance.config.security.lsm) "appliance: bpf in security.lsm")
    (expect (lib.hasInfix "limit rate over 10/minute" cases.appliance.config.networking.nftables.tables.innerwarden.content) "appliance: the table's rate limit is response.rate_limit_per_minute")
    (expect (builtins.elem "lockdown=integrity" cases.appliance.config.boot.kernelParams) "appliance: lockdown=integrity")
    (expect (
      !(builtins.elem "lockdown=confidentiality" cases.appliance.config.boot.kernelParams)
    ) "appliance: never lockdown=confidentiality")
    (expect (
      builtins.length cases.block-without-nftables.failed == 1
      && lib.hasInfix "networking.nftables.enable" (lib.head cases.block-without-nftables.failed)
    ) "block-without-nftables: fails the nftables assertion")
    (expect (
      builtins.length cases.deny-exec-without-bpf-lsm.failed == 1
      && lib.hasInfix "security.lsm" (lib.head cases.deny-exec-without-bpf-lsm.failed)
    ) "deny-exec-without-bpf-lsm: fails the BPF-LSM assertion")
    (expect (
      (settingsOf cases.webhook).notify.webhook_url == "https://hooks.example.org/iw"
      && builtins.length cases.webhook.warnings == 1
    ) "webhook: rendered, with a warning about IPAddressDeny")
    (expect (cases.defaults.warnings == [ ]) "defaults: no warning")
    (expect (!(refused { response.mode = "enforce"; })) "valid settings are not refused")
    (expect (refused { response.mode = "enforced"; }) "a mode other than dry_run/enforce is refused")
    (expect (refused { response.act_threshold = 1.5; }) "a threshold outside [0,1] is refused")
    (expect (refused { response.enforce = [ "reboot" ]; }) "an unknown action kind is refused")
    (expect (refused {
      response.allow.cidrs = "10.0.0.0/8";
    }) "a string where a list belongs is refused")
    (expect (
      passthrough.detectors.ssh_bruteforce.threshold == 8 && passthrough.storage.event_retention_days == 3
    ) "untyped keys pass through to the TOML")
    (expect (
      cases.deny-exec-with-lsm-param.failed == [ ]
    ) "deny-exec-with-lsm-param: lsm=...,bpf on the command line satisfies it")
  ];
in
{
  inherit checks;
  # The rendered configurations, for `innerwarden check-config` (agent/innerwarden/tests/nix_checks.rs).
  settings = {
    defaults = settingsOf cases.defaults;
    appliance = settingsOf cases.appliance;
  };
  serviceConfig = (unitOf cases.defaults).serviceConfig;
  # Forces every check (a failed one throws), so the flake's checks.module-eval runs them too.
  summary = builtins.deepSeq checks "${toString (builtins.length checks)} checks passed";
}
