"""`vpn-bench run --nixos --dry-run`: every command the run would send, in order.

The commands come from the real code paths, driven on hosts that record instead of run
(:class:`~harness.hosts.recording.RecordingHost`): the NixOS adapter (secrets,
switch-to-configuration, systemctl, the base switch and state wipe), the tc netem engine
(ethtool, tc) and the ssh command lines of the ssh backend. Measurements themselves are
summarised (their commands depend on the overlay addresses found at run time).
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path

from harness.hosts.base import Host
from harness.hosts.recording import CommandLog, RecordingHost
from harness.hosts.ssh import exit_argv, master_argv
from harness.impairment.tc_engine import TcNetemEngine
from harness.runner.plan import RunPlan, Session
from harness.settings.models import VpnSettings
from harness.testbed.base import Testbed
from harness.testbed.ssh.inventory import Inventory
from harness.testbed.ssh.testbed import ssh_target
from harness.vpns.base import VpnContext
from harness.vpns.nixos import NixosAdapter

CONTROL_DIR = Path("$CONTROL_DIR")


def _placeholder(host: str, argv: Sequence[str]) -> str:
    """Stand-ins for values only the hosts know."""
    words = list(argv)
    if words[:2] == ["vpb-zerotier", "node-id"]:
        return f"<{host}-node-id>"
    if words[:2] == ["vpb-zerotier", "create-network"]:
        return "<network-id>"
    if words[:1] == ["cat"] and words[-1].endswith("/authkey"):
        return "<pre-auth-key>"
    return ""


class DryRunTestbed(Testbed):
    """The inventory's hosts as recording hosts."""

    backend = "ssh"

    def __init__(self, inventory: Inventory, hosts: list[str], log: CommandLog) -> None:
        self.inventory = inventory
        self._hosts = [RecordingHost(name, log, reply=_placeholder) for name in hosts]

    @property
    def hosts(self) -> Sequence[Host]:
        return self._hosts

    def lan_address(self, host: str) -> str:
        return self.inventory.host(host).lan_address

    @property
    def lan_interface(self) -> str:
        return "<lan interface>"

    def host_lan_interface(self, host: str) -> str:
        configured = self.inventory.host(host).interface
        if configured:
            return configured
        other = next(name for name in self.host_names if name != host)
        return f"<dev of route to {self.lan_address(other)}>"

    def describe(self) -> dict[str, object]:
        return {}


def session_tests_on_links(session: Session, hosts: list[str]) -> str:
    """The session's tests grouped by the links they are measured on (pure):
    "tcp, ping on lom->yuki, yuki->luna, luna->lom; rist on lom->yuki"."""
    by_links: dict[str, list[str]] = {}
    for test in session.tests:
        links = ", ".join(link.label for link in session.links(test, hosts))
        by_links.setdefault(links, []).append(test)
    return "; ".join(f"{', '.join(tests)} on {links}" for links, tests in by_links.items())


def describe_nixos_commands(plan: RunPlan, inventory: Inventory,
                            settings: dict[str, VpnSettings], address_hosts: list[str],
                            secrets: Path | None) -> list[str]:
    """The command sequence of the whole plan, one line per command, comments with '#'."""
    lines = ["# `ssh HOST` below: over HOST's master connection, opened with the options of "
             "the first line for that host; every remote command runs under `timeout`"]
    log = CommandLog()
    for session in plan.sessions():
        lines.append(f"# session: rep {session.repetition} {session.vpn} {session.profile}")
        for name in plan.hosts:
            target = ssh_target(inventory, inventory.host(name), CONTROL_DIR)
            lines.append(shlex.join(master_argv(target)))
        testbed = DryRunTestbed(inventory, plan.hosts, log)
        for host in testbed.hosts:
            state = f"{inventory.host(host.name).state_dir}/testbed-$ID"
            host.run(["mkdir", "-p", "-m", "700", "--", state], timeout=10)
        profile = plan.profile_definitions[session.profile]
        engine: TcNetemEngine | None = None
        if profile.egress is not None:
            engine = TcNetemEngine()
            engine.apply(testbed, profile, seed=plan.seed)
        _flush(log, lines)
        if engine is not None:
            lines.append("# the impairment is verified by measurement (vpb-probe) here")
        adapter = NixosAdapter(settings[session.vpn], address_hosts=address_hosts,
                               secrets=secrets)
        ctx = VpnContext(testbed, settings[session.vpn])
        adapter.deploy(ctx)
        _flush(log, lines)
        if settings[session.vpn].addressing.mode in ("derived", "assigned"):
            interface = settings[session.vpn].interface
            for host in testbed.hosts:
                host.run(["ip", "-j", "addr", "show", "dev", str(interface)], timeout=10)
            _flush(log, lines)
            lines.append(f"# overlay addresses: the {settings[session.vpn].addressing.subnet} "
                         f"address on {interface} of each host")
        else:
            addresses = adapter.overlay_addresses(ctx)
            lines.append("# overlay addresses: " + ", ".join(
                f"{name}={address}" for name, address in addresses.items()))
        lines.append(f"# readiness: every host pings every other overlay address; then the "
                     f"tests {session_tests_on_links(session, plan.hosts)}, each followed by:")
        adapter.dead_daemons(ctx)
        _flush(log, lines)
        adapter.teardown(ctx)
        if engine is not None:
            engine.remove()
        for host in testbed.hosts:
            state = f"{inventory.host(host.name).state_dir}/testbed-$ID"
            host.run(["rm", "-rf", "--", state], timeout=10)
        _flush(log, lines)
        for name in plan.hosts:
            target = ssh_target(inventory, inventory.host(name), CONTROL_DIR)
            lines.append(shlex.join(exit_argv(target)))
    return lines


def _flush(log: CommandLog, lines: list[str]) -> None:
    lines.extend(f"ssh {host} -- {shlex.join(argv)}" for host, argv in log.entries)
    log.entries.clear()
