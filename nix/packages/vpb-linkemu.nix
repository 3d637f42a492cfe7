# The userspace link emulator of the local testbed (stdlib-only Go module, so no vendor hash).
{
  lib,
  buildGoModule,
}:
let
  root = ../../harness/impairment/linkemu;
in
buildGoModule {
  pname = "vpb-linkemu";
  version = "0.1.0";
  src = lib.fileset.toSource {
    inherit root;
    fileset = root;
  };
  vendorHash = null;
  subPackages = [ "cmd/vpb-linkemu" ];
  env.CGO_ENABLED = "0";
  meta = {
    description = "Userspace link emulator (netem semantics) for the vpn-bench local testbed";
    license = lib.licenses.mit;
    platforms = lib.platforms.linux;
    mainProgram = "vpb-linkemu";
  };
}
