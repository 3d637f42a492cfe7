# Yggdrasil: static peering with every other host over TCP, multicast discovery off. Written
# as its own unit rather than through services.yggdrasil, whose key handling changed across
# releases (configFile + PrivateKey JSON, later settings.PrivateKeyPath + PEM): here the
# config is assembled at start from the store part and the hex private key, which is
# generated on the host at first start unless `vpn-bench keys` provided it.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.vpnBench;
  plan = cfg.plan "yggdrasil";
  runDir = "/run/vpn-bench-yggdrasil";
  publicConfig = pkgs.writeText "yggdrasil-public.json" (
    builtins.toJSON (
      {
        Listen = plan.listen;
        Peers = plan.peers;
        MulticastInterfaces = [ ];
        NodeInfoPrivacy = plan.nodeInfoPrivacy;
        AdminListen = "unix://${runDir}/yggdrasil.sock";
        IfName = plan.interface;
      }
      // lib.optionalAttrs (plan.mtu != null) { IfMTU = plan.mtu; }
    )
  );
  yggdrasil = lib.getExe' pkgs.yggdrasil "yggdrasil";
  jq = lib.getExe pkgs.jq;
in
{
  imports = [
    ../options.nix
    ../common.nix
  ];

  config = lib.mkMerge [
    { vpnBench.modulesLoaded = [ "yggdrasil" ]; }
    (lib.mkIf cfg.vpns.yggdrasil.enable {
      assertions = [
        {
          assertion = config.networking.enableIPv6;
          message = "vpn-bench: yggdrasil needs networking.enableIPv6";
        }
      ];
      environment.systemPackages = [ pkgs.yggdrasil ];
      systemd.services.yggdrasil-vpn-bench = {
        description = "Yggdrasil overlay (vpn-bench)";
        after = [ "network-online.target" ];
        wants = [ "network-online.target" ];
        wantedBy = [ "multi-user.target" ];
        preStart = ''
          umask 077
          key=${lib.escapeShellArg plan.privateKeyFile}
          if [ ! -s "$key" ]; then
            install -d -m 0700 "$(dirname "$key")"
            ${yggdrasil} -genconf -json | ${jq} -r .PrivateKey > "$key.tmp"
            mv "$key.tmp" "$key"
          fi
          install -d -m 0700 ${runDir}
          ${jq} --rawfile key "$key" '. + {PrivateKey: ($key | rtrimstr("\n"))}' ${publicConfig} \
            > ${runDir}/yggdrasil.conf
        '';
        serviceConfig = {
          ExecStart = "${yggdrasil} -useconffile ${runDir}/yggdrasil.conf";
          ExecReload = "${pkgs.coreutils}/bin/kill -HUP $MAINPID";
          Restart = "always";
          RestartSec = 2;
        };
      };
      networking.firewall = plan.firewall // {
        trustedInterfaces = [ plan.interface ];
      };
    })
  ];
}
