# The appliance's agent: Inner Warden enabled with enforcement turned on explicitly for every
# action kind. The decision layer still gates each action by confidence (act >= 0.85, soft
# actions from 0.50), the guards (allowlists, management networks, the admin's SSH session,
# PID 1, critical units) and the action budget; every action has a TTL.
{
  services.innerwarden = {
    enable = true;
    settings.response = {
      mode = "enforce";
      enforce = [
        "block"
        "rate_limit"
        "kill"
        "quarantine"
        "throttle"
        "deny_exec"
      ];
    };
  };
  # Required by the enforced kinds (the module asserts both); hardening.nix sets them too.
  networking.nftables.enable = true;
}
