# The scenario names: one per directory under vm-tests/scenarios (each becomes a NixOS test in
# nix/vm-tests.nix). Reads the directory listing and nothing else; only builtins.
let
  dir = ../vm-tests/scenarios;
  entries = if builtins.pathExists dir then builtins.readDir dir else { };
in
builtins.filter (name: entries.${name} == "directory") (builtins.attrNames entries)
