# The flake's packages for one system: the harness, the two programs nixpkgs lacks, and the
# tool set the apps put on PATH.
{ pkgs }:
let
  vpn-bench = pkgs.callPackage ./vpn-bench.nix { };
  vpncloud = pkgs.callPackage ./vpncloud.nix { };
  vpb-linkemu = pkgs.callPackage ./vpb-linkemu.nix { };
  vpb-quic = pkgs.callPackage ./vpb-quic.nix { };

  # Every VPN binary and workload tool the harness calls. tinc is 1.0 (pkgs.tinc; tinc_pre
  # is 1.1): the harness adapter speaks the 1.0 tincd CLI. zerotierone is the build with the
  # network controller (unfree; the flake's nixpkgs allows just this package).
  tools = with pkgs; [
    iperf3
    iputils
    iproute2
    ethtool
    util-linux
    procps
    kmod
    coreutils
    jq
    curl
    openssh
    wireguard-tools
    wireguard-go
    tinc
    nebula
    yggdrasil
    headscale
    tailscale
    (zerotierone.override { enableUnfree = true; })
    easytier
    vpncloud
    hyprspace
    mycelium
    ffmpeg-headless
    librist
    vpb-linkemu
    vpb-quic
  ];

  vpn-bench-tools = pkgs.buildEnv {
    name = "vpn-bench-tools";
    paths = tools;
    # A few tools overlap (kill, ...); the first in the list wins.
    ignoreCollisions = true;
    pathsToLink = [
      "/bin"
      "/sbin"
    ];
  };

  # `vpn-bench <subcommand> ...` with the tools first on PATH.
  wrap =
    name: subcommand:
    pkgs.writeShellApplication {
      inherit name;
      runtimeInputs = [
        vpn-bench
        vpn-bench-tools
      ];
      text = ''exec vpn-bench ${subcommand} "$@"'';
    };
in
{
  inherit
    vpn-bench
    vpncloud
    vpb-linkemu
    vpb-quic
    vpn-bench-tools
    ;
  default = vpn-bench;
  vpn-bench-run = wrap "vpn-bench-run" "run";
  vpn-bench-analysis = wrap "vpn-bench-analysis" "analysis";
}
