# `nix run .#bench -- --profile high`, `nix run .#analysis -- ...` and
# `nix run .#bench-vm -- <run options>` (the vm backend: nix/tests/bench-vm.nix).
{
  packages,
  pkgs,
  benchVm,
}:
let
  # The test driver takes no extra arguments: the run options reach the test script through
  # a NUL-separated file (every argument kept as given).
  bench-vm = pkgs.writeShellApplication {
    name = "vpn-bench-vm";
    runtimeInputs = [ pkgs.coreutils ];
    text = ''
      args_file=$(mktemp)
      trap 'rm -f "$args_file"' EXIT
      if [ $# -gt 0 ]; then
        printf '%s\0' "$@" > "$args_file"
      fi
      export VPN_BENCH_VM_ARGS_FILE="$args_file"
      ${benchVm.driver}/bin/nixos-test-driver
    '';
  };
in
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
  bench-vm = {
    type = "app";
    program = "${bench-vm}/bin/vpn-bench-vm";
    meta.description = "vpn-bench run --backend vm: the same plan on NixOS test-driver VMs lom, yuki, luna (not hardware figures)";
  };
  default = {
    type = "app";
    program = "${packages.vpn-bench-run}/bin/vpn-bench-run";
    meta.description = "Same as the bench app";
  };
}
