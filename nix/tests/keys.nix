# VM tests only: installs the committed test keys (nix/tests/fixtures/insecure-test-keys,
# published, never valid anywhere else) into the secrets directory before the VPN starts.
# Real hosts get their keys from the harness over SSH; see docs/secrets.md.
{ config, lib, ... }:
let
  vpb = import ../../modules/lib;
  cfg = config.vpnBench;
  keys = ./fixtures/insecure-test-keys;
  checked = cfg.active != null && vpb.secrets.requiredPrivate ? ${cfg.active};
in
{
  systemd.services.vpn-bench-test-keys = {
    description = "Install the VM-test keys of ${cfg.host}";
    wantedBy = [ "multi-user.target" ];
    before = lib.optional checked "vpn-bench-secrets-${cfg.active}.service";
    unitConfig.ConditionPathExists = "${keys}/${cfg.host}";
    serviceConfig = {
      Type = "oneshot";
      RemainAfterExit = true;
    };
    script = ''
      install -d -m 0700 ${cfg.secretsDir}
      cp -rT ${keys}/${cfg.host} ${cfg.secretsDir}
      chmod -R u=rwX,go= ${cfg.secretsDir}
    '';
  };
  systemd.services."vpn-bench-secrets-${toString cfg.active}" = lib.mkIf checked {
    after = [ "vpn-bench-test-keys.service" ];
    wants = [ "vpn-bench-test-keys.service" ];
  };
}
