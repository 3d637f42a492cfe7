# Pure helpers shared by the NixOS modules, the flake and CI (builtins only, no nixpkgs):
# `nix-instantiate --eval --strict` evaluates all of this on the real vpn-configs/.
let
  ip = import ./ip.nix;
  vpnConfigs = import ./vpnConfigs.nix;
  site = import ./site.nix;
  secrets = import ./secrets.nix;
  plans = import ./plans.nix;
in
{
  inherit
    ip
    vpnConfigs
    site
    secrets
    plans
    ;

  # Every problem with a vpn-configs directory and a site directory, as messages.
  problems =
    configDir: siteDir:
    let
      configs = vpnConfigs.load configDir;
    in
    configs.problems
    ++ (if configs.problems == [ ] then site.problems (site.load siteDir) configs else [ ]);
}
