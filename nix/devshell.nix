# `nix develop`: the Python environment of pyproject.toml (with the dev tools) plus the VPN
# daemons and workload tools, so the local testbed runs from the shell.
{ pkgs, packages }:
let
  python = pkgs.python3.withPackages (
    ps: with ps; [
      pydantic
      typer
      rich
      polars
      plotnine
      pytest
      pytest-timeout
      mypy
    ]
  );
in
pkgs.mkShell {
  packages = [
    python
    pkgs.ruff
    pkgs.nix
    pkgs.nixfmt
    pkgs.shellcheck
    pkgs.go
    packages.vpn-bench-tools
  ];
  shellHook = ''
    export VPN_BENCH_CONFIG_DIR="$PWD/vpn-configs"
  '';
}
