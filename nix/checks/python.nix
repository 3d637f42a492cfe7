# The Python test suite (tests that need root and namespaces, or run long, are left to the
# local testbed: -m "not root and not slow") plus ruff and mypy --strict, as in CI.
{ pkgs, src }:
let
  python = import ../python-env.nix { inherit pkgs; };
in
pkgs.runCommand "vpn-bench-python-checks"
  {
    nativeBuildInputs = [
      python
      pkgs.ruff
      pkgs.nix # tests/nix evaluates modules/lib with nix-instantiate
      pkgs.iproute2
      pkgs.iputils
    ];
  }
  ''
    cp -r ${src} source
    chmod -R u+w source
    cd source
    export HOME="$TMPDIR" NIX_STATE_DIR="$TMPDIR/nix-state" NIX_CONF_DIR="$TMPDIR"
    ruff check .
    mypy
    python -m pytest -q -p no:cacheprovider -m "not root and not slow" tests
    touch $out
  ''
