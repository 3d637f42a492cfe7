# One NixOS specialisation per VPN on top of a base system without any VPN, so the harness
# switches VPN with `<toplevel>/specialisation/<vpn>/bin/switch-to-configuration test`
# instead of a full rebuild per VPN.
{ config, lib, ... }:
let
  vpb = import ./lib;
  cfg = config.vpnBench;
  available = builtins.filter (
    name: builtins.elem name cfg.modulesLoaded && (cfg.configs.vpns ? ${name})
  ) vpb.vpnConfigs.knownVpns;
in
{
  imports = [ ./options.nix ];

  options.vpnBench.specialisations = {
    enable = lib.mkEnableOption "one specialisation per VPN (the layout of nixosConfigurations.<host>)";
    vpns = lib.mkOption {
      type = lib.types.listOf (lib.types.enum vpb.vpnConfigs.knownVpns);
      default = available;
      defaultText = lib.literalExpression "every imported VPN module that vpn-configs/vpns/ has a file for";
      description = "The VPNs that get a specialisation.";
    };
  };

  config = lib.mkIf cfg.specialisations.enable {
    specialisation = lib.genAttrs cfg.specialisations.vpns (vpn: {
      configuration.vpnBench.vpns.${vpn}.enable = true;
    });
  };
}
