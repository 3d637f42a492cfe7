# The Python of pyproject.toml (runtime and dev dependencies) from nixpkgs, shared by the
# devShell and the Python check so the two cannot drift apart.
{ pkgs }:
pkgs.python3.withPackages (
  ps: with ps; [
    pydantic
    typer
    rich
    polars
    plotnine
    scipy
    pytest
    pytest-timeout
    mypy
  ]
)
