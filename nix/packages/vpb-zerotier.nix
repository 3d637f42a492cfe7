# The run-time ZeroTier steps (see vpb-zerotier.sh) with the values of vpn-configs baked in.
{
  lib,
  writeShellApplication,
  curl,
  jq,
  coreutils,
  gnugrep,
  systemd,
  zerotierone,
  port,
  subnet,
  interface,
  networkSuffix,
}:
writeShellApplication {
  name = "vpb-zerotier";
  runtimeInputs = [
    curl
    jq
    coreutils
    gnugrep
    systemd
    zerotierone
  ];
  text = ''
    ZT_PORT=${toString port}
    ZT_SUBNET=${lib.escapeShellArg subnet}
    ZT_INTERFACE=${lib.escapeShellArg interface}
    ZT_NETWORK_SUFFIX=${lib.escapeShellArg networkSuffix}
  ''
  + builtins.readFile ./vpb-zerotier.sh;
}
