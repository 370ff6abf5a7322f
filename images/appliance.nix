# The hardened appliance image (`nix build .#image`): a GPT disk built by systemd-repart through
# nixpkgs' image.repart module, booting a UKI directly from the ESP.
#
# With `innerwarden.appliance.verity = true` (the default) the Nix store is an erofs partition
# protected by dm-verity (its root hash is in the UKI's command line), / is a tmpfs and /var is
# a persistent ext4 partition (the agent's state, audit log and journal). With verity off, the
# store is on an ext4 root partition, mounted read-only by NixOS as usual.
#
# There is no Nix daemon and no nixos-rebuild on the image: it is replaced, not changed.
{
  config,
  lib,
  pkgs,
  modulesPath,
  ...
}:
let
  cfg = config.innerwarden.appliance;
  efiArch = pkgs.stdenv.hostPlatform.efiArch;
  bootFile = "/EFI/BOOT/BOOT${lib.toUpper efiArch}.EFI";
  inherit (config.image.repart.verityStore) partitionIds;
  ukiFile = config.system.boot.loader.ukiFile;

  esp = {
    repartConfig = {
      Type = "esp";
      Format = "vfat";
      SizeMinBytes = "96M";
    };
  };
  var = {
    repartConfig = {
      Type = "var";
      Format = "ext4";
      Label = "var";
      SizeMinBytes = "2G";
    };
  };
in
{
  imports = [
    "${modulesPath}/image/repart.nix"
    ./agent.nix
  ];

  options.innerwarden.appliance = {
    verity = lib.mkOption {
      type = lib.types.bool;
      default = true;
      description = "Protect the Nix store with dm-verity (erofs store, tmpfs root, persistent /var).";
    };
    adminKeys = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = [ ];
      description = "SSH public keys allowed to log in as root (keys only; there are no passwords).";
    };
  };

  config = lib.mkMerge [
    {
      nixpkgs.hostPlatform = "x86_64-linux";
      system.stateVersion = "26.05";
      system.image = {
        id = "innerwarden-appliance";
        version = "1";
      };

      boot.loader.grub.enable = false;
      boot.initrd.systemd.enable = true;
      nix.enable = false;
      # Keys only, possibly none (console-less appliance): that is intended, not a lockout.
      users.allowNoPasswordLogin = true;
      users.users.root.openssh.authorizedKeys.keys = cfg.adminKeys;
      services.openssh.enable = cfg.adminKeys != [ ];

      # The one thing the appliance is for: the agent, enforcing (images/agent.nix).
      system.build.applianceImage =
        if cfg.verity then config.system.build.finalImage else config.system.build.image;

      fileSystems."/var" = {
        device = "/dev/disk/by-partlabel/var";
        fsType = "ext4";
        neededForBoot = true;
      };
    }

    (lib.mkIf cfg.verity {
      image.repart = {
        name = "innerwarden-appliance";
        verityStore = {
          enable = true;
          ukiPath = bootFile;
        };
        partitions = {
          ${partitionIds.esp} = esp;
          ${partitionIds.store-verity}.repartConfig.Minimize = "best";
          ${partitionIds.store}.repartConfig.Minimize = "best";
          "30-var" = var;
        };
      };
      fileSystems = {
        "/" = {
          fsType = "tmpfs";
          options = [ "mode=0755" ];
        };
        "/usr" = {
          device = "/dev/mapper/usr";
          options = [ "ro" ];
          fsType = "erofs";
        };
        "/nix/store" = {
          device = "/usr/nix/store";
          options = [ "bind" ];
        };
      };
      # A read-only /usr: no /usr/bin/env.
      system.activationScripts.usrbinenv = lib.mkForce "";
    })

    (lib.mkIf (!cfg.verity) {
      image.repart = {
        name = "innerwarden-appliance";
        partitions = {
          "00-esp" = lib.recursiveUpdate esp {
            contents.${bootFile}.source = "${config.system.build.uki}/${ukiFile}";
          };
          "10-root" = {
            storePaths = [ config.system.build.toplevel ];
            repartConfig = {
              Type = "root";
              Format = "ext4";
              Label = "root";
              Minimize = "guess";
            };
          };
          "30-var" = var;
        };
      };
      fileSystems."/" = {
        device = "/dev/disk/by-partlabel/root";
        fsType = "ext4";
      };
    })
  ];
}
