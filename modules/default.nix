# The NixOS modules of the flake (`nixosModules`): `common` (tools and servers on every host),
# one module per VPN (each does nothing until vpnBench.vpns.<vpn>.enable), `specialisations`
# (one specialisation per VPN), and `default`, which imports all of them.
let
  vpns = {
    easytier = ./vpns/easytier.nix;
    headscale = ./vpns/headscale.nix;
    hyprspace = ./vpns/hyprspace.nix;
    internal = ./vpns/internal.nix;
    mycelium = ./vpns/mycelium.nix;
    nebula = ./vpns/nebula.nix;
    tinc = ./vpns/tinc.nix;
    vpncloud = ./vpns/vpncloud.nix;
    wireguard = ./vpns/wireguard.nix;
    yggdrasil = ./vpns/yggdrasil.nix;
    zerotier = ./vpns/zerotier.nix;
  };
in
vpns
// {
  common = ./common.nix;
  specialisations = ./specialisations.nix;
  default = {
    imports = [
      ./common.nix
      ./specialisations.nix
    ]
    ++ builtins.attrValues vpns;
  };
}
