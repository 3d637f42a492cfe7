# The flake's packages for one system: the harness, the two programs nixpkgs lacks, and the
# tool set the apps put on PATH.
{ pkgs }:
let
  vpn-bench = pkgs.callPackage ./vpn-bench.nix { };
  vpncloud = pkgs.callPackage ./vpncloud.nix { };
  vpb-linkemu = pkgs.callPackage ./vpb-linkemu.nix { };
  vpb-quic = pkgs.callPackage ./vpb-quic.nix { };

  # Every VPN binary and workload tool the harness calls, at the versions of
  # vpn-configs/versions.toml where the overlay nix/packages/versions.nix pins them (the
  # flake's pkgs carry it). tinc is tinc_pre (1.1pre18, what the benchmark's hosts ran).
  # zerotierone is the build with the network controller (unfree; the flake's nixpkgs allows
  # just this package).
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
    tinc_pre
    nebula
    yggdrasil
    headscale
    tailscale
    (zerotierone.override { enableUnfree = true; })
    easytier
    vpncloud
    hyprspace
    mycelium
    # the rist workload: ffmpeg with librist and libx264, and librist's ristreceiver
    ffmpeg-headless
    librist
    nix # nix_cache workload client (the server is harmonia or vpn-bench's vpb-http-serve)
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
