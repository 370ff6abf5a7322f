{
  description = "Inner Warden: an autonomous EDR for Linux";

  # The lock pins both inputs by rev and narHash (see README, "NixOS": where the pins come from).
  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixpkgs-unstable";
    crane.url = "github:ipetkov/crane";
  };

  outputs =
    {
      self,
      nixpkgs,
      crane,
    }:
    let
      inherit (nixpkgs) lib;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems = f: lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
      packagesFor = pkgs: import ./nix/packages.nix { inherit pkgs crane; };
    in
    {
      overlays.default = final: _prev: {
        inherit (packagesFor final) innerwarden innerwarden-ebpf;
      };

      nixosModules = {
        # The module with this flake's package as the default (no overlay: works with a
        # read-only pkgs, as in NixOS tests).
        default =
          { lib, pkgs, ... }:
          {
            imports = [ ./modules/innerwarden.nix ];
            services.innerwarden.package =
              lib.mkDefault
                self.packages.${pkgs.stdenv.hostPlatform.system}.innerwarden;
          };
        hardening = ./modules/hardening.nix;
      };

      # The hardened appliance: `nix build .#image` builds its disk image.
      nixosConfigurations.appliance = lib.nixosSystem {
        modules = [
          self.nixosModules.default
          self.nixosModules.hardening
          ./images/appliance.nix
        ];
      };

      packages = forAllSystems (
        pkgs:
        let
          built = packagesFor pkgs;
        in
        {
          inherit (built) innerwarden innerwarden-ebpf;
          default = built.innerwarden;
        }
        // lib.optionalAttrs (pkgs.stdenv.hostPlatform.system == "x86_64-linux") {
          image = self.nixosConfigurations.appliance.config.system.build.applianceImage;
        }
      );

      checks = forAllSystems (
        pkgs:
        let
          built = packagesFor pkgs;
        in
        {
          inherit (built)
            innerwarden
            innerwarden-ebpf
            clippy
            fmt
            tests
            ;
          # The appliance evaluates against the real NixOS options (its toplevel's derivation
          # path forces every option, type and assertion; nothing is built), and the stand-in
          # cases of nix/module-eval.nix hold with the locked lib.
          module-eval = pkgs.writeText "innerwarden-module-eval" (
            builtins.concatStringsSep "\n" [
              (builtins.unsafeDiscardStringContext self.nixosConfigurations.appliance.config.system.build.toplevel.drvPath)
              (import ./nix/module-eval.nix { inherit lib; }).summary
            ]
          );
        }
        // import ./nix/vm-tests.nix {
          inherit pkgs;
          module = ./modules/innerwarden.nix;
          package = built.innerwarden;
        }
      );

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          inputsFrom = [ (packagesFor pkgs).innerwarden ];
          packages = with pkgs; [
            bpf-linker
            clippy
            rustfmt
            nftables
            deadnix
            nixfmt
            jq
          ];
        };
      });

      formatter = forAllSystems (pkgs: pkgs.nixfmt);
    };
}
