# `checks.<system>`: one NixOS VM test per VPN (vm-<vpn>), the netem test, a short plan of the
# harness on the vm backend (bench-vm), the Python suite with ruff and mypy, and the package
# builds.
{
  pkgs,
  self,
  packages,
}:
let
  vpb = import ../../modules/lib;
  vmTests = builtins.listToAttrs (
    map (vpn: {
      name = "vm-${vpn}";
      value = import ../tests/vpn.nix { inherit pkgs self vpn; };
    }) vpb.vpnConfigs.knownVpns
  );
in
vmTests
// {
  vm-netem = import ../tests/netem.nix { inherit pkgs self; };
  bench-vm = import ../tests/bench-vm.nix { inherit pkgs self packages; };
  python = import ./python.nix {
    inherit pkgs;
    src = self;
  };
  inherit (packages) vpn-bench vpncloud vpb-linkemu vpb-quic;
}
