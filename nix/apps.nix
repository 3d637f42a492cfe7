# `nix run .#bench -- --profile high` and `nix run .#analysis -- ...`.
{ packages }:
{
  bench = {
    type = "app";
    program = "${packages.vpn-bench-run}/bin/vpn-bench-run";
    meta.description = "vpn-bench run, with every VPN daemon and workload tool on PATH";
  };
  analysis = {
    type = "app";
    program = "${packages.vpn-bench-analysis}/bin/vpn-bench-analysis";
    meta.description = "vpn-bench analysis: tables, figures and the report from the records";
  };
  default = {
    type = "app";
    program = "${packages.vpn-bench-run}/bin/vpn-bench-run";
    meta.description = "Same as the bench app";
  };
}
