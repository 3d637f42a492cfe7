# The test nodes build their own pkgs from the nixpkgs.* options (every test here sets
# `node.pkgsReadOnly = false`): modules/common.nix adds the VPN version overlay through
# `nixpkgs.overlays`, which the test framework's read-only pkgs (runNixOSTest sets node.pkgs)
# refuses, its `nixpkgs.overlays` taking exactly one definition. As in lib.mkHosts, the
# ZeroTier controller build is the one unfree package allowed.
{ lib, ... }:
{
  nixpkgs.config.allowUnfreePredicate = pkg: builtins.elem (lib.getName pkg) [ "zerotierone" ];
}
