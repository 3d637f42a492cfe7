# The Python harness and analysis, built with nixpkgs' Python packaging from pyproject.toml.
# vpn-configs/ is installed under share/ and the wrapper points VPN_BENCH_CONFIG_DIR there
# (the harness's loader reads that variable first).
{
  lib,
  python3Packages,
}:
let
  root = ../..;
  pyproject = builtins.fromTOML (builtins.readFile (root + "/pyproject.toml"));
in
python3Packages.buildPythonApplication {
  pname = "vpn-bench";
  inherit (pyproject.project) version;
  pyproject = true;

  src = lib.fileset.toSource {
    inherit root;
    fileset = lib.fileset.unions [
      (root + "/pyproject.toml")
      (root + "/harness")
      (root + "/analysis")
      (root + "/vpn-configs")
      (lib.fileset.maybeMissing (root + "/README.md"))
    ];
  };

  build-system = [ python3Packages.setuptools ];

  dependencies = with python3Packages; [
    pydantic
    typer
    rich
    polars
    plotnine
    scipy
  ];

  postInstall = ''
    mkdir -p $out/share/vpn-bench
    cp -r vpn-configs $out/share/vpn-bench/vpn-configs
  '';

  makeWrapperArgs = [
    "--set-default"
    "VPN_BENCH_CONFIG_DIR"
    "${placeholder "out"}/share/vpn-bench/vpn-configs"
  ];

  # The test suite runs as checks.<system>.python (it needs tools and, partly, root).
  doCheck = false;
  pythonImportsCheck = [
    "harness"
    "analysis"
  ];

  meta = {
    description = "Reproducible benchmarks for VPNs and peer-to-peer mesh overlays";
    license = lib.licenses.mit;
    mainProgram = "vpn-bench";
    platforms = lib.platforms.linux;
  };
}
