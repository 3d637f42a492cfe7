# The NixOS modules of the flake (`nixosModules`): `common` (tools and servers on every host),
# one module per VPN (each does nothing until vpnBench.vpns.<vpn>.enable), `specialisations`
# (one specialisation per VPN), and `default`, which imports all of them.
let
  # One module per file of ./vpns (the list is modules/lib/vpnConfigs.nix's knownVpns).
  vpns = builtins.listToAttrs (
    map (name: {
      inherit name;
      value = ./vpns + "/${name}.nix";
    }) (import ./lib/vpnConfigs.nix).knownVpns
  );
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
