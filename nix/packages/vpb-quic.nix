# The QUIC workload's tool (harness/workloads/quic_tool, on quic-go v0.65.0, which needs
# Go >= 1.26). vendorHash: computed on the development machine from `go mod vendor` (Go 1.26.8)
# with nix-hash, never checked by a Nix build there; if Nix reports a mismatch, take its value.
{
  lib,
  buildGo126Module,
}:
let
  root = ../../harness/workloads/quic_tool;
in
buildGo126Module {
  pname = "vpb-quic";
  version = "0.1.0";
  src = lib.fileset.toSource {
    inherit root;
    fileset = root;
  };
  vendorHash = "sha256-BerfOKhCgj6Rtwf1Cb7X841daxERY5KDSfbGdCFVZI0=";
  subPackages = [ "cmd/vpb-quic" ];
  env.CGO_ENABLED = "0";
  meta = {
    description = "QUIC handshake, time-to-first-byte and bulk benchmark of vpn-bench (quic-go)";
    license = lib.licenses.mit;
    platforms = lib.platforms.linux;
    mainProgram = "vpb-quic";
  };
}
