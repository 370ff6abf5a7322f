# The scenario names: one per directory under vm-tests/scenarios (each becomes a NixOS test in
# nix/vm-tests.nix), except those whose scenario.toml says `nixos_test = false` (they need data
# from outside the repository, which a flake check cannot read). Only builtins.
let
  dir = ../vm-tests/scenarios;
  entries = if builtins.pathExists dir then builtins.readDir dir else { };
  wanted =
    name:
    entries.${name} == "directory"
    && (builtins.fromTOML (builtins.readFile (dir + "/${name}/scenario.toml"))).nixos_test or true;
in
builtins.filter wanted (builtins.attrNames entries)
