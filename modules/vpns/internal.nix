# No VPN: the hosts talk over their underlay addresses. The reference every VPN is
# compared with, so it adds nothing but the marker that this configuration is "internal".
{ config, lib, ... }:
{
  imports = [
    ../options.nix
    ../common.nix
  ];

  config = lib.mkMerge [
    { vpnBench.modulesLoaded = [ "internal" ]; }
    (lib.mkIf config.vpnBench.vpns.internal.enable {
      networking.firewall = (config.vpnBench.plan "internal").firewall;
    })
  ];
}
