# NixOS tests generated from vm-tests/scenarios: one test per scenario directory, named
# `vm-<scenario>`. Each boots one node with the module enabled and the packages vm-tests/README.md
# lists, waits for the agent, and runs the in-guest runner as root:
#
#   vm-tests/lib/run-scenario.sh vm-tests/scenarios/NAME
#
# asserting that it exits 0 and that its last line is `PASS NAME`. The runner does the rest
# (networks, the scenario's config, restarting the agent, the attack, the checks); on NixOS it
# uses the module's unit instead of installing packaging/innerwarden.service.
{
  pkgs,
  module,
  package,
}:
let
  inherit (pkgs) lib;
  # vm-tests/ and packaging/ as one source tree: the runner finds packaging/ next to vm-tests/.
  tree = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions [
      ../vm-tests
      ../packaging
    ];
  };

  node =
    { pkgs, ... }:
    {
      imports = [ module ];
      services.innerwarden = {
        enable = true;
        inherit package;
      };
      # The runner writes the scenario's configuration here: a copy, not a store symlink.
      environment.etc."innerwarden/config.toml".mode = "0644";
      networking.nftables.enable = true;
      # Like the Debian guest: only the agent's table filters (scenarios open their own ports).
      networking.firewall.enable = false;
      # deny-exec needs BPF-LSM; lockdown stays at integrity (BPF keeps working).
      security.lsm = [
        "landlock"
        "lockdown"
        "yama"
        "bpf"
      ];
      services.openssh.enable = true;
      environment.systemPackages = with pkgs; [
        bash
        coreutils
        iproute2
        nftables
        openssh
        sshpass
        curl
        python3
        procps
        jq
      ];
      virtualisation.memorySize = 2048;
      virtualisation.cores = 2;
    };

  mkTest =
    name:
    pkgs.testers.runNixOSTest {
      name = "vm-${name}";
      nodes.machine = node;
      testScript = ''
        machine.wait_for_unit("innerwarden.service")
        status, out = machine.execute(
            "cd ${tree} && bash vm-tests/lib/run-scenario.sh vm-tests/scenarios/${name} 2>&1",
            timeout=1800,
        )
        print(out)
        lines = out.strip().splitlines()
        last = lines[-1] if lines else "(no output)"
        assert status == 0 and last == "PASS ${name}", f"scenario ${name}: exit {status}, {last}"
      '';
    };
in
lib.listToAttrs (map (name: lib.nameValuePair "vm-${name}" (mkTest name)) (import ./scenarios.nix))
