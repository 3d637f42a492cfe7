# Kernel WireGuard, static full mesh: every host peers with every other host at its underlay
# address. Uses nixpkgs' script backend (networking.wireguard.interfaces, one
# wireguard-<if>.service plus one unit per peer).
{ config, lib, ... }:
let
  cfg = config.vpnBench;
  plan = cfg.plan "wireguard";
  unit = "wireguard-${plan.interface}.service";
in
{
  imports = [
    ../options.nix
    ../common.nix
  ];

  config = lib.mkMerge [
    { vpnBench.modulesLoaded = [ "wireguard" ]; }
    (lib.mkIf cfg.vpns.wireguard.enable (
      lib.mkMerge [
        {
          networking.wireguard = {
            enable = true;
            useNetworkd = false;
            interfaces.${plan.interface} = {
              ips = [ plan.cidr ];
              inherit (plan) listenPort mtu privateKeyFile;
              peers = map (peer: {
                name = peer.host;
                inherit (peer) publicKey endpoint allowedIPs;
              }) plan.peers;
            };
          };
          networking.firewall = plan.firewall // {
            trustedInterfaces = [ plan.interface ];
          };
        }
        (import ./check-secrets.nix {
          inherit lib unit;
          inherit (cfg) secretsDir;
          vpn = "wireguard";
          files = [ "private.key" ];
        })
      ]
    ))
  ];
}
