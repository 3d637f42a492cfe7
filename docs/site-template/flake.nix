{
  description = "A vpn-bench site: three benchmark hosts built from the vpn-bench flake";

  inputs.vpn-bench.url = "github:OWNER/vpn-bench"; # replace with where you keep vpn-bench

  outputs =
    { vpn-bench, ... }:
    {
      # nixosConfigurations.{lom,yuki,luna}: each VPN is a specialisation of each host.
      nixosConfigurations = vpn-bench.lib.mkHosts { site = ./.; };
    };
}
