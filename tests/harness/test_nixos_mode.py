"""`run --nixos`: the NixOS-managed VPN adapter on the fake backend (no NixOS here), the
real runner driven with it, and the dry run's exact command sequence for a 3-host inventory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest

from harness.cli.nixos_plan import session_tests_on_links
from harness.hosts.fake import Reply, Rules
from harness.records.models import Status
from harness.records.store import RunStore
from harness.runner.plan import RunPlan, TestPolicy
from harness.runner.run import RunOptions, open_for_resume, run_plan
from harness.settings.loader import load_testbed, load_vpns
from harness.testbed.fake import FakeTestbed, FakeTestbedFactory
from harness.vpns.base import VpnContext, VpnError
from harness.vpns.nixos import (
    SECRETS_DIR,
    NixosAdapter,
    nixos_service,
    parse_interface_addresses,
    pick_address,
    switch_argv,
    wait_unit_argv,
)
from harness.vpns.registry import VPNS
from tests.harness.test_run_loop_fake import healthy, make_plan

REPO = Path(__file__).resolve().parents[2]
HOSTS = ["lom", "yuki", "luna"]
SETTINGS = load_vpns()
PROFILE = "/nix/var/nix/profiles/system"


def vpn_bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                          text=True, timeout=120, cwd=REPO)


def nixos_hosts() -> Rules:
    """Hosts deployed with every specialisation: switches and units succeed."""
    return (healthy()
            .on("test", "-x", reply=Reply())
            .on(reply=Reply(),
                when=lambda call: call.argv[0].endswith("/bin/switch-to-configuration"))
            .on("sh", "-c", reply=Reply(), when=lambda call: "systemctl" in call.argv[2])
            .on("systemctl", "is-active", reply=Reply(stdout="active\n"))
            .on("rm", "-rf", reply=Reply())
            .on("readlink", "-f", reply=Reply(stdout="/nix/store/abc-nixos-system-lom\n")))


def adapter(vpn: str, **kwargs: object) -> NixosAdapter:
    return NixosAdapter(SETTINGS[vpn], address_hosts=HOSTS, poll_s=0.01, **kwargs)  # type: ignore[arg-type]


def nixos_commands(testbed: FakeTestbed) -> list[tuple[str, str]]:
    """(host, command) of everything but the harness's own file plumbing."""
    return [(call.host, call.command) for call in testbed.calls
            if not call.matches("sh", "-c") or "systemctl" in call.argv[2]]


# -- the adapter ----------------------------------------------------------------------------
def test_every_vpn_has_a_nixos_service_description() -> None:
    for name in VPNS:
        if name in SETTINGS:
            nixos_service(SETTINGS[name])  # raises for a VPN without one
    assert nixos_service(SETTINGS["nebula"]).units == ("nebula@vpb.service",)
    assert nixos_service(SETTINGS["wireguard"]).units == ("wireguard-wg0.service",)
    assert nixos_service(SETTINGS["tinc"]).units == ("tinc.vpb.service",)


def test_switch_uses_the_system_profiles_specialisation() -> None:
    # /run/current-system is the active specialisation, which has none of its own.
    assert switch_argv("wireguard") == [
        f"{PROFILE}/specialisation/wireguard/bin/switch-to-configuration", "test"]
    assert switch_argv(None) == [f"{PROFILE}/bin/switch-to-configuration", "test"]


def test_wireguard_comes_up_and_goes_down_with_exact_commands() -> None:
    testbed = FakeTestbed(HOSTS, nixos_hosts())
    vpn = adapter("wireguard")
    ctx = VpnContext(testbed, SETTINGS["wireguard"])
    vpn.deploy(ctx)
    assert vpn.overlay_addresses(ctx) == {"lom": "10.44.0.1", "yuki": "10.44.0.2",
                                          "luna": "10.44.0.3"}
    assert vpn.dead_daemons(ctx) == []
    vpn.teardown(ctx)
    switch = f"{PROFILE}/specialisation/wireguard/bin/switch-to-configuration test"
    wait = " ".join(["sh", "-c", f"'{wait_unit_argv('x')[2]}'", "wireguard-wg0.service"])
    base = f"{PROFILE}/bin/switch-to-configuration test"
    assert nixos_commands(testbed) == [
        ("lom", switch), ("yuki", switch), ("luna", switch),
        ("lom", wait), ("yuki", wait), ("luna", wait),
        *((host, "systemctl is-active -- wireguard-wg0.service") for host in HOSTS),
        ("luna", base), ("yuki", base), ("lom", base),
    ]
    assert vpn.teardown_problems == []


def test_a_unit_that_fails_is_reported_with_its_journal_and_the_hosts_switch_back() -> None:
    rules = (nixos_hosts()
             .on("sh", "-c", host="yuki", when=lambda call: "systemctl" in call.argv[2],
                 reply=Reply(returncode=3, stderr="tinc.vpb.service failed\n"))
             .on("journalctl", reply=Reply(stdout="tincd: Cannot open private key\n")))
    testbed = FakeTestbed(HOSTS, rules)
    vpn = adapter("tinc")
    ctx = VpnContext(testbed, SETTINGS["tinc"])
    with pytest.raises(VpnError, match=r"on yuki: tinc.vpb.service failed within 120 s; its "
                                       r"journal:\ntincd: Cannot open private key"):
        vpn.deploy(ctx)
    vpn.teardown(ctx)
    base = [call.host for call in testbed.calls
            if call.matches(f"{PROFILE}/bin/switch-to-configuration")]
    assert base == ["luna", "yuki", "lom"]


def test_a_missing_specialisation_makes_the_vpn_unavailable_naming_host_and_fix() -> None:
    rules = nixos_hosts().on("test", "-x", host="luna", reply=Reply(returncode=1))
    testbed = FakeTestbed(HOSTS, rules)
    assert adapter("nebula").unavailable_reason(testbed.host("lom")) is None
    reason = adapter("nebula").unavailable_reason(testbed.host("luna"))
    assert reason is not None
    assert "no specialisation nebula on luna" in reason and "vpn-bench deploy" in reason


def test_derived_addresses_are_read_from_the_interface() -> None:
    output = json.dumps([{"ifname": "ygg0", "addr_info": [
        {"family": "inet6", "local": "fe80::1", "scope": "link"},
        {"family": "inet6", "local": "201:abcd::1", "scope": "global"}]}])
    assert parse_interface_addresses(output) == ["201:abcd::1"]
    assert pick_address(["10.0.0.1", "201:abcd::1"], "200::/7") == "201:abcd::1"
    assert pick_address(["10.0.0.1"], "200::/7") is None
    rules = nixos_hosts().on("ip", "-j", "addr", reply=Reply(stdout=output))
    testbed = FakeTestbed(HOSTS, rules)
    ctx = VpnContext(testbed, SETTINGS["yggdrasil"])
    assert adapter("yggdrasil").overlay_addresses(ctx) == dict.fromkeys(HOSTS, "201:abcd::1")


def test_derived_address_that_never_appears_fails_bounded() -> None:
    rules = nixos_hosts().on("ip", "-j", "addr", reply=Reply(stdout="[]"))
    ctx = VpnContext(FakeTestbed(HOSTS, rules), SETTINGS["mycelium"])
    with pytest.raises(VpnError, match="on lom: no address of 400::/7 on mycelium"):
        adapter("mycelium", unit_timeout_s=0.05).overlay_addresses(ctx)


def test_headscale_key_goes_from_the_coordinator_to_the_others_and_state_is_wiped() -> None:
    testbed = FakeTestbed(HOSTS, nixos_hosts())
    key_file = SECRETS_DIR / "headscale" / "authkey"
    testbed.host("lom").write_file(key_file, "hskey-123\n")
    vpn = adapter("headscale")
    ctx = VpnContext(testbed, SETTINGS["headscale"])
    vpn.deploy(ctx)
    assert testbed.host("yuki").read_text(key_file) == "hskey-123\n"
    assert testbed.host("luna").read_text(key_file) == "hskey-123\n"
    assert vpn.units("lom") == ["headscale.service", "tailscaled.service",
                                "vpn-bench-tailscale-join.service"]
    vpn.teardown(ctx)
    wipes = [call.command for call in testbed.calls if call.matches("rm", "-rf")]
    assert wipes == [f"rm -rf -- /var/lib/tailscale /var/lib/headscale {key_file}"] * 3


def test_zerotier_network_is_made_joined_and_authorized_in_order() -> None:
    rules = (nixos_hosts()
             .on("vpb-zerotier", reply=Reply())
             .on("vpb-zerotier", "node-id",
                 reply=lambda call: Reply(stdout=f"id-{call.host}\n"))
             .on("vpb-zerotier", "create-network", reply=Reply(stdout="nw1\n")))
    testbed = FakeTestbed(HOSTS, rules)
    adapter("zerotier").deploy(VpnContext(testbed, SETTINGS["zerotier"]))
    steps = [(call.host, call.command) for call in testbed.calls
             if call.matches("vpb-zerotier") and not call.matches("vpb-zerotier", "node-id")]
    assert steps == [
        ("lom", "vpb-zerotier create-network"),
        ("lom", "vpb-zerotier join nw1 id-yuki@10.77.0.2 id-luna@10.77.0.3"),
        ("yuki", "vpb-zerotier join nw1 id-lom@10.77.0.1 id-luna@10.77.0.3"),
        ("luna", "vpb-zerotier join nw1 id-lom@10.77.0.1 id-yuki@10.77.0.2"),
        ("lom", "vpb-zerotier authorize nw1 id-lom 10.49.0.1"),
        ("lom", "vpb-zerotier authorize nw1 id-yuki 10.49.0.2"),
        ("lom", "vpb-zerotier authorize nw1 id-luna 10.49.0.3"),
        *((host, "vpb-zerotier wait nw1 120") for host in HOSTS),
    ]


def test_secrets_from_vpn_bench_keys_are_copied_before_the_switch(tmp_path: Path) -> None:
    for host in HOSTS:
        directory = tmp_path / "secrets" / host / "wireguard"
        directory.mkdir(parents=True)
        (directory / "private.key").write_text(f"key-of-{host}\n")
    testbed = FakeTestbed(HOSTS, nixos_hosts())
    adapter("wireguard", secrets=tmp_path).deploy(VpnContext(testbed, SETTINGS["wireguard"]))
    target = SECRETS_DIR / "wireguard" / "private.key"
    for host in HOSTS:
        assert testbed.host(host).read_text(target) == f"key-of-{host}\n"
        assert testbed.host(host).mode(PurePosixPath(target)) == 0o600


# -- the runner with it: same records, manifest, resume -------------------------------------
def test_the_runner_measures_nixos_vpns_and_resumes_like_any_other(tmp_path: Path) -> None:
    settings = {name: SETTINGS[name] for name in ("internal", "wireguard")}
    factory = FakeTestbedFactory(nixos_hosts())

    def nixos(vpn_settings: object) -> NixosAdapter:
        return NixosAdapter(vpn_settings, address_hosts=HOSTS)  # type: ignore[arg-type]

    plan = make_plan(["internal", "wireguard"], ["ping"])
    run_dir = run_plan(plan, settings, factory,
                       RunOptions(out_dir=tmp_path, live_progress=False, sample_cpu=False,
                                  extra_metadata={"vpn_mode": "nixos"}),
                       adapter_factory=nixos)
    store = RunStore.open_existing(run_dir)
    found = store.load_records()
    assert sorted((r.vpn, r.link) for r in found) == sorted(
        (vpn, link) for vpn in ("internal", "wireguard")
        for link in ("lom->yuki", "yuki->luna", "luna->lom"))
    assert all(r.status is Status.OK for r in found), [r.error for r in found]
    assert store.manifest.metadata["vpn_mode"] == "nixos"
    wg = next(r for r in found if r.vpn == "wireguard")
    assert wg.vpn_version == "nixos /nix/store/abc-nixos-system-lom"
    pings = [call.argv[-1] for call in factory.calls if call.matches("ping")
             and "-i" in call.argv]
    assert "10.44.0.2" in pings  # measured over the vpn-configs overlay address
    resumed_store, resumed_plan = open_for_resume(run_dir)
    again = FakeTestbedFactory(nixos_hosts())
    run_plan(resumed_plan, settings, again, RunOptions(out_dir=tmp_path, live_progress=False),
             resume=resumed_store, adapter_factory=nixos)
    assert again.built == []  # every cell was ok: nothing to bring up again


# -- the command line -----------------------------------------------------------------------
INVENTORY = """\
[defaults]
user = "root"
known_hosts = "known_hosts"

[hosts.lom]
address = "192.0.2.1"
interface = "eth0"

[hosts.yuki]
address = "192.0.2.2"
interface = "eth0"

[hosts.luna]
address = "192.0.2.3"
port = 2222
interface = "enp3s0"
"""


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    path = tmp_path / "hosts.toml"
    path.write_text(INVENTORY)
    return path


def test_run_nixos_dry_run_prints_the_exact_command_sequence(inventory: Path) -> None:
    result = vpn_bench("run", "--inventory", str(inventory), "--nixos", "--dry-run",
                       "--vpn", "nebula", "--test", "ping", "--profile", "low", "--seed", "7")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    start = lines.index("# session: rep 0 nebula low")
    session = lines[start + 1:]
    known = inventory.parent / "known_hosts"
    common = (f"-o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile={known} "
              "-o GlobalKnownHostsFile=/dev/null -o UpdateHostKeys=no -o CheckHostIP=no "
              "-o ConnectTimeout=10 -o ServerAliveInterval=10 -o ServerAliveCountMax=3 "
              "-o LogLevel=ERROR -F /dev/null")
    master = {name: f"ssh {common} -p {port} -l root -o 'ControlPath=$CONTROL_DIR/{name}' "
                    f"-o ControlMaster=yes -o ControlPersist=yes -f -N -T -- {address}"
              for name, port, address in (("lom", 22, "192.0.2.1"), ("yuki", 22, "192.0.2.2"),
                                          ("luna", 2222, "192.0.2.3"))}
    close = {name: line.replace("-o ControlMaster=yes -o ControlPersist=yes -f -N -T",
                                "-O exit") for name, line in master.items()}
    interface = {"lom": "eth0", "yuki": "eth0", "luna": "enp3s0"}
    netem = "limit 1000 delay 2ms 2ms loss random 0.25% reorder 0.5% 25%"
    switch = f"{PROFILE}/specialisation/nebula/bin/switch-to-configuration test"
    wait = ("sh -c 'while ! systemctl is-active --quiet -- \"$0\"; do if systemctl is-failed "
            "--quiet -- \"$0\"; then echo \"$0 failed\" >&2; exit 3; fi; sleep 1; done' "
            "nebula@vpb.service")
    expected = [
        *(master[host] for host in HOSTS),
        *(f"ssh {host} -- mkdir -p -m 700 -- '/var/lib/vpn-bench/testbed-$ID'" for host in HOSTS),
        "ssh lom -- tc qdisc add dev lo root netem help",
    ]
    for host in HOSTS:
        dev = interface[host]
        expected += [f"ssh {host} -- tc -s qdisc show dev {dev}",
                     f"ssh {host} -- ethtool -k {dev}",
                     f"ssh {host} -- ethtool -K {dev} gro off gso off tso off",
                     f"ssh {host} -- tc qdisc replace dev {dev} root netem {netem}"]
    expected += [f"ssh {host} -- tc -s qdisc show dev {interface[host]}" for host in HOSTS]
    expected += [f"ssh {host} -- ping -c 1 -W 1 -q 192.0.2.1" for host in ("yuki", "luna")]
    expected += ["# the impairment is verified by measurement (vpb-probe) here"]
    expected += [f"ssh {host} -- {switch}" for host in HOSTS]
    expected += [f"ssh {host} -- {wait}" for host in HOSTS]
    expected += ["# overlay addresses: lom=10.45.0.1, yuki=10.45.0.2, luna=10.45.0.3",
                 "# readiness: every host pings every other overlay address; then the tests "
                 "ping on lom->yuki, yuki->luna, luna->lom, each followed by:"]
    expected += [f"ssh {host} -- systemctl is-active -- nebula@vpb.service" for host in HOSTS]
    expected += [f"ssh {host} -- {PROFILE}/bin/switch-to-configuration test"
                 for host in reversed(HOSTS)]
    expected += [f"ssh {host} -- tc -s qdisc show dev {interface[host]}" for host in HOSTS]
    expected += [f"ssh {host} -- tc qdisc del dev {interface[host]} root"
                 for host in reversed(HOSTS)]
    expected += [f"ssh {host} -- rm -rf -- '/var/lib/vpn-bench/testbed-$ID'" for host in HOSTS]
    expected += [close[host] for host in HOSTS]
    assert session == expected
    # internal's sessions come first, the same way (its specialisation, no units)
    assert f"ssh lom -- {PROFILE}/specialisation/internal/bin/switch-to-configuration test" \
        in lines
    assert not known.exists(), "a dry run writes nothing"


def test_the_command_sequence_names_each_tests_links() -> None:
    plan = RunPlan(hosts=list(HOSTS), vpns=["internal"], profiles=["baseline"],
                   tests=["tcp", "rist", "ping", "reconnect"],
                   policies={"rist": TestPolicy(links=1), "reconnect": TestPolicy(links=1)})
    assert session_tests_on_links(plan.sessions()[0], plan.hosts) == (
        "tcp, ping on lom->yuki, yuki->luna, luna->lom; rist, reconnect on lom->yuki")


def test_dry_run_without_nixos_prints_no_commands(inventory: Path) -> None:
    result = vpn_bench("run", "--inventory", str(inventory), "--dry-run", "--vpn", "nebula",
                       "--test", "ping")
    assert result.returncode == 0, result.stderr
    assert "switch-to-configuration" not in result.stdout
    assert "VPN availability is asked of the hosts when the run starts." in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--nixos"], "--nixos needs --inventory FILE"),
    (["--secrets", "/tmp"], "--secrets only applies together with --nixos"),
])
def test_nixos_options_without_their_prerequisites_are_bad_input(
        args: list[str], message: str) -> None:
    result = vpn_bench("run", "--dry-run", "--vpn", "internal", *args)
    assert result.returncode == 2
    assert message in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr


def test_secrets_directory_without_the_keys_layout_is_bad_input(inventory: Path,
                                                                tmp_path: Path) -> None:
    result = vpn_bench("run", "--inventory", str(inventory), "--nixos", "--dry-run",
                       "--secrets", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert "no secrets/ directory there" in " ".join(result.stderr.split())


def test_plan_host_missing_from_the_inventory_is_named(inventory: Path) -> None:
    result = vpn_bench("run", "--inventory", str(inventory), "--nixos", "--dry-run",
                       "--hosts", "4")
    assert result.returncode == 2
    assert "no host h4" in result.stderr


def test_vpn_configs_hosts_are_the_address_order() -> None:
    # The NixOS modules number hosts in vpn-configs/testbed.toml's order; so does the adapter.
    assert load_testbed().hosts[:3] == HOSTS




# -- reconnect with --nixos: restart and reboot of one host ----------------------------------
def test_restart_and_reboot_switch_one_host_with_exact_commands() -> None:
    """reconnect's restart switches the target to the base system and back to the VPN's
    specialisation (waiting for its units); after a reboot the host runs its boot default,
    the base system, so it is switched to the specialisation again."""
    from harness.runner.session import _VpnLifecycle
    testbed = FakeTestbed(HOSTS, nixos_hosts())
    vpn = adapter("headscale")
    ctx = VpnContext(testbed, SETTINGS["headscale"])
    testbed.host("lom").write_file(SECRETS_DIR / "headscale" / "authkey", "hskey\n")
    vpn.deploy(ctx)
    before = len(nixos_commands(testbed))
    lifecycle = _VpnLifecycle(vpn, ctx)
    lifecycle.stop_vpn("yuki")
    lifecycle.start_vpn("yuki")
    lifecycle.reboot("lom", timeout_s=60)
    lifecycle.start_vpn("lom", booted=True)
    switch = f"{PROFILE}/specialisation/headscale/bin/switch-to-configuration test"
    base = f"{PROFILE}/bin/switch-to-configuration test"

    def wait(unit: str) -> str:
        return " ".join(["sh", "-c", f"'{wait_unit_argv('x')[2]}'", unit])
    assert nixos_commands(testbed)[before:] == [
        ("yuki", base), ("yuki", switch),
        ("yuki", wait("tailscaled.service")), ("yuki", wait("vpn-bench-tailscale-join.service")),
        ("lom", base), ("lom", switch),
        ("lom", wait("headscale.service")), ("lom", wait("tailscaled.service")),
        ("lom", wait("vpn-bench-tailscale-join.service")),
    ]
    assert testbed.reboots == ["lom"]
    # the state stays for the restarted node: nothing was wiped before the teardown
    assert not any(call.matches("rm", "-rf") for call in testbed.calls)


def test_a_failed_switch_on_restart_names_the_host() -> None:
    rules = nixos_hosts().on(
        reply=Reply(returncode=1, stderr="activation failed\n"), host="yuki",
        when=lambda call: call.argv[0] == f"{PROFILE}/bin/switch-to-configuration")
    testbed = FakeTestbed(HOSTS, rules)
    vpn = adapter("wireguard")
    ctx = VpnContext(testbed, SETTINGS["wireguard"])
    vpn.deploy(ctx)
    with pytest.raises(VpnError, match="on yuki: switching back to the base system failed"):
        vpn.stop_host(ctx, "yuki")
