# Evaluates flake.nix's outputs with stand-in inputs: nixpkgs is a nixpkgs lib plus a stand-in
# pkgs (derivation builders return their arguments), crane a stand-in library. It checks the
# shape of the outputs (names per system, what each check and package is built from), that
# nix/packages.nix wires the eBPF object into the agent, and that the generated NixOS tests run
# the in-guest runner. What the stand-ins cannot show (that nixpkgs builds it) needs real Nix.
#
#   nix-instantiate --eval --strict --json -E '(import nix/flake-eval.nix { lib = import <lib>; }).checks'
{ lib }:
let
  # lib.fileset needs builtins.readFileType (Nix >= 2.14); the Nix here may be older, and the
  # stand-in never copies sources anyway.
  lib' = lib // {
    fileset = {
      toSource = _: "/nix/store/00000000000000000000000000000000-source";
      unions = lib.id;
      maybeMissing = lib.id;
    };
  };

  stubDrv =
    name: attrs:
    attrs
    // {
      type = "derivation";
      inherit name;
      outPath = "/nix/store/00000000000000000000000000000000-${name}";
      meta = (attrs.meta or { }) // {
        mainProgram = attrs.meta.mainProgram or name;
      };
    };

  pkgsFor =
    system:
    let
      pkg = name: stubDrv name { };
    in
    {
      lib = lib';
      stdenv = {
        hostPlatform = {
          inherit system;
        };
        mkDerivation = a: stubDrv "${a.pname}-${a.version}" a;
      };
      rustPlatform = {
        importCargoLock = a: stubDrv "cargo-vendor" a;
        cargoSetupHook = pkg "cargo-setup-hook";
      };
      writeText = name: text: stubDrv name { inherit text; };
      mkShell = a: stubDrv "shell" a;
      testers.runNixOSTest = t: stubDrv "nixos-test-${t.name}" t;
    }
    // lib.genAttrs [
      "rustc"
      "cargo"
      "bpf-linker"
      "pkg-config"
      "clippy"
      "rustfmt"
      "nftables"
      "deadnix"
      "nixfmt"
      "jq"
    ] pkg;

  systems = [
    "x86_64-linux"
    "aarch64-linux"
  ];

  crane.mkLib = _pkgs: {
    buildDepsOnly = a: stubDrv "deps" a;
    buildPackage = a: stubDrv "${a.pname}-${a.version}" a;
    cargoClippy = a: stubDrv "clippy" a;
    cargoFmt = a: stubDrv "fmt" a;
    cargoTest = a: stubDrv "tests" a;
  };

  nixpkgs = {
    lib = lib' // {
      # The appliance is a real NixOS evaluation: only `nix flake check` can do it.
      nixosSystem = args: { inherit args; };
    };
    legacyPackages = lib.genAttrs systems pkgsFor;
  };

  flake = import ../flake.nix;
  outputs = flake.outputs {
    self = outputs;
    inherit nixpkgs crane;
  };

  names = a: builtins.attrNames a;
  expect = cond: msg: if cond then msg else throw "flake-eval: expected ${msg}";
  x86 = "x86_64-linux";
  scenarios = import ./scenarios.nix;
  agent = outputs.packages.${x86}.innerwarden;
  ebpf = outputs.packages.${x86}.innerwarden-ebpf;
  vmTests = map (n: outputs.checks.${x86}."vm-${n}") scenarios;

  checks = [
    (expect (
      names outputs == [
        "checks"
        "devShells"
        "formatter"
        "nixosConfigurations"
        "nixosModules"
        "overlays"
        "packages"
      ]
    ) "the outputs checks, devShells, formatter, nixosConfigurations, nixosModules, overlays, packages")
    (expect (
      names outputs.packages == lib.sort lib.lessThan systems
    ) "packages for x86_64-linux and aarch64-linux")
    (expect (
      names outputs.packages.${x86} == [
        "default"
        "image"
        "innerwarden"
        "innerwarden-ebpf"
      ]
    ) "packages.x86_64-linux: default, image, innerwarden, innerwarden-ebpf")
    (expect (!(outputs.packages.aarch64-linux ? image)) "no image for aarch64-linux")
    (expect (outputs.packages.${x86}.default == agent) "packages.default is the agent")
    (expect (
      names outputs.nixosModules == [
        "default"
        "hardening"
      ]
    ) "nixosModules default and hardening")
    (expect (
      outputs.nixosConfigurations.appliance.args.modules != [ ]
    ) "nixosConfigurations.appliance from the modules")
    (expect (lib.all (c: outputs.checks.${x86} ? ${c}) [
      "innerwarden"
      "innerwarden-ebpf"
      "clippy"
      "fmt"
      "tests"
      "module-eval"
    ]) "checks innerwarden, innerwarden-ebpf, clippy, fmt, tests, module-eval")
    (expect (
      builtins.length (lib.filter (lib.hasPrefix "vm-") (names outputs.checks.${x86}))
      == builtins.length scenarios
    ) "one vm- check per scenario")
    (expect (
      agent.INNERWARDEN_EBPF_OBJ == "${ebpf}/innerwarden.bpf.o"
    ) "the agent embeds the eBPF derivation's object")
    (expect (
      ebpf.env.RUSTC_BOOTSTRAP == "1"
      && lib.hasInfix "--target bpfel-unknown-none" ebpf.buildPhase
      && lib.any (p: p.name == "bpf-linker") ebpf.nativeBuildInputs
    ) "the eBPF derivation: RUSTC_BOOTSTRAP=1, bpfel-unknown-none, bpf-linker")
    (expect (lib.hasInfix "-p innerwarden" agent.cargoExtraArgs) "the agent builds the innerwarden crate")
    (expect (lib.all (
      t:
      lib.hasInfix "vm-tests/lib/run-scenario.sh vm-tests/scenarios/" t.testScript
      && lib.hasInfix "PASS " t.testScript
      && lib.hasInfix "wait_for_unit(\"innerwarden.service\")" t.testScript
    ) vmTests) "each NixOS test waits for the agent, runs the runner and expects PASS NAME")
    (expect (outputs.formatter.${x86}.name == "nixfmt") "formatter nixfmt")
  ];
in
{
  checks = builtins.deepSeq checks checks;
  summary = builtins.deepSeq checks "${toString (builtins.length checks)} checks passed";
}
