# The agent's nftables table, `inet innerwarden`, as the NixOS module declares it through
# networking.nftables.tables (NixOS wraps `content` in `table inet innerwarden { ... }`).
# It is the table packaging/innerwarden.nft describes and the agent creates itself over netlink
# (agent/innerwarden/src/respond/nft/ruleset.rs); scripts/nix-check.sh loads both into private
# network namespaces and diffs `nft list table` of each. Only builtins: evaluates without nixpkgs.
# `ratePerMinute` is `response.rate_limit_per_minute` (the agent writes the same rate into its rule).
{
  ratePerMinute ? 10,
}:
let
  rate = toString ratePerMinute;
  set = name: type: flags: ''
    set ${name} {
      type ${type}
      flags ${flags}
    }
  '';
  meter = name: type: ''
    set ${name} {
      type ${type}
      size 65535
      flags dynamic,timeout
      timeout 60s
    }
  '';
  content = builtins.concatStringsSep "\n" [
    (set "block_v4" "ipv4_addr" "interval,timeout")
    (set "block_v6" "ipv6_addr" "interval,timeout")
    (set "ratelimit_v4" "ipv4_addr" "timeout")
    (set "ratelimit_v6" "ipv6_addr" "timeout")
    (meter "rl_meter_v4" "ipv4_addr")
    (meter "rl_meter_v6" "ipv6_addr")
    ''
      chain input {
        type filter hook input priority -10; policy accept;
        ip saddr @block_v4 drop
        ip6 saddr @block_v6 drop
        ip saddr @ratelimit_v4 ct state new update @rl_meter_v4 { ip saddr limit rate over ${rate}/minute } drop
        ip6 saddr @ratelimit_v6 ct state new update @rl_meter_v6 { ip6 saddr limit rate over ${rate}/minute } drop
      }

      chain forward {
        type filter hook forward priority -10; policy accept;
        ip saddr @block_v4 drop
        ip6 saddr @block_v6 drop
      }
    ''
  ];
in
{
  family = "inet";
  name = "innerwarden";
  inherit content;
  # The whole table as a file `nft -f` accepts (what NixOS generates for this table).
  text = ''
    table inet innerwarden {
    ${content}
    }
  '';
}
