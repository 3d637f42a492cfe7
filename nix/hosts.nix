# `lib.mkHosts { site = ./my-site; }`: one NixOS system per host of vpn-configs/testbed.toml,
# each the common module plus every VPN as a specialisation, with the hardware of
# <site>/hosts/<host>.nix. Throws (with every problem listed) when vpn-configs or the site is
# invalid, before any NixOS evaluation.
{ nixpkgs, self }:
{
  site,
  configDir ? ../vpn-configs,
  extraModules ? [ ],
}:
let
  vpb = import ../modules/lib;
  problems = vpb.problems configDir site;
  configs = vpb.vpnConfigs.load configDir;
  siteData = vpb.site.load site;
  mkHost =
    host:
    nixpkgs.lib.nixosSystem {
      modules = [
        self.nixosModules.default
        (
          { lib, ... }:
          {
            networking.hostName = lib.mkDefault host;
            nixpkgs.hostPlatform = lib.mkDefault (vpb.site.system siteData host);
            # The ZeroTier controller needs the unfree build of zerotierone.
            nixpkgs.config.allowUnfreePredicate = pkg: builtins.elem (lib.getName pkg) [ "zerotierone" ];
            system.stateVersion = lib.mkDefault "25.11";
            vpnBench = {
              inherit host site configDir;
              specialisations.enable = true;
            };
          }
        )
      ]
      ++ nixpkgs.lib.optional (vpb.site.hardwareModule siteData host != null) (
        vpb.site.hardwareModule siteData host
      )
      ++ extraModules;
    };
in
if problems != [ ] then
  throw "vpn-bench: cannot build the hosts:\n  - ${builtins.concatStringsSep "\n  - " problems}"
else
  builtins.listToAttrs (
    map (host: {
      name = host;
      value = mkHost host;
    }) configs.testbed.hosts
  )
