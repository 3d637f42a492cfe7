# EasyTier: every host peers with the coordinator; members share one network secret. The
# nixpkgs module runs easytier-core; its config file is rendered at start from a store
# template (no secret) plus the secret file, into a root-only runtime directory.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.vpnBench;
  plan = cfg.plan "easytier";
  unit = "easytier-${plan.instance}.service";
  runDir = "/run/vpn-bench-easytier";
  runConfig = "${runDir}/${plan.instance}.toml";
  marker = "@NETWORK_SECRET@";
  template = (pkgs.formats.toml { }).generate "easytier-${plan.instance}-template.toml" (
    {
      instance_name = plan.instance;
      hostname = plan.host;
      ipv4 = plan.cidr;
      dhcp = false;
      inherit (plan) listeners;
      network_identity = {
        network_name = plan.networkName;
        network_secret = marker;
      };
      peer = map (uri: { inherit uri; }) plan.peers;
      # As the harness adapter: EasyTier's default STUN servers are public hosts, and UPnP
      # would ask the LAN's router for port mappings; neither belongs in a benchmark.
      stun_servers = [ ];
      tcp_stun_servers = [ ];
      stun_servers_v6 = [ ];
      flags = {
        dev_name = plan.interface;
        disable_upnp = true;
      }
      // lib.optionalAttrs (plan.mtu != null) { inherit (plan) mtu; };
    }
  );
in
{
  imports = [
    ../options.nix
    ../common.nix
  ];

  config = lib.mkMerge [
    { vpnBench.modulesLoaded = [ "easytier" ]; }
    (lib.mkIf cfg.vpns.easytier.enable (
      lib.mkMerge [
        {
          services.easytier = {
            enable = true;
            instances.${plan.instance}.configFile = runConfig;
          };
          systemd.services."easytier-${plan.instance}" = {
            preStart = ''
              secret="$(tr -d '\n' < ${lib.escapeShellArg plan.secretFile})"
              if ! printf '%s' "$secret" | grep -Eq '^[0-9a-f]{64}$'; then
                echo "vpn-bench: ${plan.secretFile} must hold 64 lowercase hex characters (docs/secrets.md)" >&2
                exit 1
              fi
              install -d -m 0700 ${runDir}
              umask 077
              sed "s/${marker}/$secret/" ${template} > ${runConfig}
            '';
            # easytier-core can exit with status 0 when it loses its peers; always restart.
            serviceConfig.Restart = lib.mkForce "always";
            serviceConfig.RestartSec = lib.mkForce 2;
          };
          networking.firewall = plan.firewall // {
            trustedInterfaces = [ plan.interface ];
          };
        }
        (import ./check-secrets.nix {
          inherit lib unit;
          inherit (cfg) secretsDir;
          vpn = "easytier";
          files = [ "network.secret" ];
        })
      ]
    ))
  ];
}
