# `nix develop`: the Python environment of pyproject.toml (with the dev tools) plus the VPN
# daemons and workload tools, so the local testbed runs from the shell.
{ pkgs, packages }:
let
  python = import ./python-env.nix { inherit pkgs; };
in
pkgs.mkShell {
  packages = [
    python
    pkgs.ruff
    pkgs.nix
    pkgs.nixfmt
    pkgs.shellcheck
    pkgs.go_1_26 # vpb-quic (quic-go v0.65.0) needs Go >= 1.26
    packages.vpn-bench-tools
  ];
  shellHook = ''
    export VPN_BENCH_CONFIG_DIR="$PWD/vpn-configs"
  '';
}
