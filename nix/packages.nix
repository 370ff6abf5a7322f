# The eBPF object and the agent that embeds it, plus the crane checks (clippy, fmt, tests).
#
# innerwarden-ebpf is its own derivation: nixpkgs rustc with RUSTC_BOOTSTRAP=1 (the bpf target is
# tier 3 and aya-ebpf uses unstable features) and nixpkgs bpf-linker build ebpf/innerwarden-ebpf
# for bpfel-unknown-none, exactly what scripts/build-ebpf.sh does on Debian. The agent's build.rs
# embeds it through INNERWARDEN_EBPF_OBJ, so the agent never needs the bpf toolchain.
{ pkgs, crane }:
let
  inherit (pkgs) lib;
  craneLib = crane.mkLib pkgs;
  root = ../.;
  version = (lib.importTOML ../Cargo.toml).workspace.package.version;

  # Only what the builds read: no target/, no docs, no Nix files (a Nix edit rebuilds nothing).
  ebpfSrc = lib.fileset.toSource {
    inherit root;
    fileset = lib.fileset.unions [
      ../ebpf/innerwarden-ebpf/Cargo.toml
      ../ebpf/innerwarden-ebpf/Cargo.lock
      ../ebpf/innerwarden-ebpf/src
      ../ebpf/innerwarden-common
    ];
  };
  agentSrc = lib.fileset.toSource {
    inherit root;
    fileset = lib.fileset.unions [
      ../Cargo.toml
      ../Cargo.lock
      ../agent
      ../ebpf/innerwarden-common
      ../packaging
      (lib.fileset.maybeMissing ../rules)
      (lib.fileset.maybeMissing ../vm-tests)
    ];
  };

  innerwarden-ebpf = pkgs.stdenv.mkDerivation {
    pname = "innerwarden-ebpf";
    inherit version;
    src = ebpfSrc;
    cargoRoot = "ebpf/innerwarden-ebpf";
    cargoDeps = pkgs.rustPlatform.importCargoLock {
      lockFile = ../ebpf/innerwarden-ebpf/Cargo.lock;
    };
    nativeBuildInputs = [
      pkgs.rustPlatform.cargoSetupHook
      pkgs.rustc
      pkgs.cargo
      pkgs.bpf-linker
    ];
    env.RUSTC_BOOTSTRAP = "1";
    buildPhase = ''
      runHook preBuild
      (cd ebpf/innerwarden-ebpf && cargo build --offline --frozen --release --target bpfel-unknown-none)
      runHook postBuild
    '';
    installPhase = ''
      runHook preInstall
      install -D -m 0644 \
        ebpf/innerwarden-ebpf/target/bpfel-unknown-none/release/innerwarden \
        $out/innerwarden.bpf.o
      runHook postInstall
    '';
    # An ELF for the kernel, not for this platform: nothing to strip or patch.
    dontStrip = true;
    dontPatchELF = true;
    dontFixup = true;
    meta = {
      description = "Inner Warden's eBPF programs (bpfel-unknown-none object)";
      license = with lib.licenses; [
        asl20
        gpl2Only
      ];
      platforms = lib.platforms.linux;
    };
  };

  commonArgs = {
    pname = "innerwarden";
    inherit version;
    src = agentSrc;
    strictDeps = true;
    nativeBuildInputs = [ pkgs.pkg-config ];
    # rusqlite builds its bundled SQLite; nft and journalctl are run, not linked (see the module).
    INNERWARDEN_EBPF_OBJ = "${innerwarden-ebpf}/innerwarden.bpf.o";
    cargoExtraArgs = "--locked";
  };
  cargoArtifacts = craneLib.buildDepsOnly commonArgs;

  innerwarden = craneLib.buildPackage (
    commonArgs
    // {
      inherit cargoArtifacts;
      cargoExtraArgs = "--locked -p innerwarden";
      # The tests run in `checks.tests`; tests needing root, a kernel feature or a bus print
      # `skipped:` in the sandbox.
      doCheck = false;
      postInstall = ''
        install -D -m 0644 packaging/dbus/org.innerwarden.Agent1.conf \
          $out/share/dbus-1/system.d/org.innerwarden.Agent1.conf
        install -D -m 0644 packaging/config.toml $out/share/innerwarden/config.toml
        install -D -m 0644 packaging/innerwarden.nft $out/share/innerwarden/innerwarden.nft
      '';
      passthru.ebpf = innerwarden-ebpf;
      meta = {
        description = "Autonomous EDR for Linux: eBPF and log sensors, confidence-gated response, hash-chained audit";
        license = lib.licenses.asl20;
        mainProgram = "innerwarden";
        platforms = lib.platforms.linux;
      };
    }
  );
in
{
  inherit innerwarden innerwarden-ebpf;

  clippy = craneLib.cargoClippy (
    commonArgs
    // {
      inherit cargoArtifacts;
      cargoClippyExtraArgs = "--workspace --all-targets -- -D warnings";
    }
  );

  fmt = craneLib.cargoFmt { inherit (commonArgs) pname version src; };

  tests = craneLib.cargoTest (
    commonArgs
    // {
      inherit cargoArtifacts;
      cargoTestExtraArgs = "--workspace -- --show-output";
    }
  );
}
