# Nebula: the coordinator is the lighthouse; every host knows every other host's underlay
# endpoint (static_host_map), and the Nebula firewall (default deny) allows all overlay
# traffic. The CA and host certificates are public site files; the host key is read by the
# unprivileged nebula-<network> user through a systemd credential.
{ config, lib, ... }:
let
  cfg = config.vpnBench;
  plan = cfg.plan "nebula";
  unit = "nebula@${plan.network}.service";
  credential = "/run/credentials/${unit}/host.key";
  anything = [
    {
      host = "any";
      port = "any";
      proto = "any";
    }
  ];
in
{
  imports = [
    ../options.nix
    ../common.nix
  ];

  config = lib.mkMerge [
    { vpnBench.modulesLoaded = [ "nebula" ]; }
    (lib.mkIf cfg.vpns.nebula.enable (
      lib.mkMerge [
        {
          services.nebula.networks.${plan.network} = {
            inherit (plan)
              ca
              cert
              isLighthouse
              lighthouses
              staticHostMap
              ;
            key = credential;
            listen.host = plan.listenHost;
            listen.port = plan.listenPort;
            tun.device = plan.interface;
            firewall.inbound = anything;
            firewall.outbound = anything;
            settings = {
              tun.mtu = plan.mtu;
              # Same values as the harness adapter: vpn-configs/vpns/nebula.toml [options].
              punchy.punch = plan.punch;
              lighthouse.interval = plan.lighthouseInterval;
            };
          };
          systemd.services."nebula@${plan.network}".serviceConfig.LoadCredential = [
            "host.key:${plan.keyFile}"
          ];
          networking.firewall = plan.firewall // {
            trustedInterfaces = [ plan.interface ];
          };
        }
        (import ./check-secrets.nix {
          inherit lib unit;
          inherit (cfg) secretsDir;
          vpn = "nebula";
          files = [ "host.key" ];
        })
      ]
    ))
  ];
}
