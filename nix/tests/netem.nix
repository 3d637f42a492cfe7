# netem in the VMs: a fixed 50 ms delay on lom's LAN interface (sch_netem from the common
# module) must show up in yuki's ping round-trip times, and go away when removed.
{ pkgs, self }:
let
  delayMs = 50;
in
pkgs.testers.runNixOSTest {
  name = "vpn-bench-netem";

  # modules/common.nix sets nixpkgs.overlays, which read-only node pkgs refuse
  # (./node-nixpkgs.nix).
  node.pkgsReadOnly = false;

  defaults = {
    imports = [
      self.nixosModules.default
      ./node-nixpkgs.nix
    ];
    vpnBench = {
      site = ./fixtures/site;
      vpns.internal.enable = true;
      binaryCache.enable = false;
    };
    virtualisation.memorySize = 768;
    documentation.enable = false;
  };

  nodes = {
    lom = { };
    yuki = { };
  };

  testScript = ''
    import re

    def rtt_ms(machine, target: str) -> tuple[float, float]:
        """(min, avg) round-trip time of 10 pings, in ms."""
        out = machine.succeed(f"ping -c 10 -i 0.2 -q {target}")
        match = re.search(r"= ([0-9.]+)/([0-9.]+)/", out)
        assert match is not None, f"no rtt summary in: {out}"
        return float(match.group(1)), float(match.group(2))

    start_all()
    lom.wait_for_unit("multi-user.target")
    yuki.wait_for_unit("multi-user.target")
    lom.succeed("lsmod | grep -q sch_netem || modprobe sch_netem")

    base_min, base_avg = rtt_ms(yuki, "lom")
    lom.succeed("tc qdisc replace dev eth1 root netem delay ${toString delayMs}ms")
    lom.succeed("tc qdisc show dev eth1 | grep -q 'delay ${toString delayMs}ms'")
    slow_min, slow_avg = rtt_ms(yuki, "lom")
    print(f"rtt without netem {base_min}/{base_avg} ms, with {slow_min}/{slow_avg} ms")
    assert slow_min >= ${toString delayMs}, f"min rtt {slow_min} ms < added delay ${toString delayMs} ms"
    assert slow_avg - base_avg >= ${toString (delayMs - 5)}, "the added delay did not show in ping"

    lom.succeed("tc qdisc del dev eth1 root")
    after_min, _ = rtt_ms(yuki, "lom")
    assert after_min < ${toString delayMs}, f"delay still there after removing netem: {after_min} ms"
  '';
}
