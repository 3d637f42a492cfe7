"""`vpn-bench list` and `vpn-bench doctor`: what can run here, and why not."""

from __future__ import annotations

import os
import shutil

from rich.console import Console
from rich.table import Table

from harness import probes
from harness.cli.run_command import availability, known_vpns
from harness.hosts.local import LocalMachine
from harness.impairment.binary import find_linkemu
from harness.impairment.errors import EngineUnavailable
from harness.impairment.profiles import BUILTIN_PROFILES
from harness.vpns.registry import create_adapter
from harness.workloads.registry import DEFAULT_TESTS, WORKLOADS

TOOLS = {
    "ip": "iproute2",
    "nsenter": "util-linux",
    "ethtool": "ethtool",
    "ping": "iputils-ping",
    "iperf3": "iperf3",
    "ss": "iproute2",
}


def print_list(console: Console) -> None:
    settings = known_vpns()
    reasons = availability(settings)
    table = Table(title="VPNs")
    for column in ("name", "display name", "runnable here", "why not"):
        table.add_column(column)
    for name, vpn in settings.items():
        reason = reasons[name]
        table.add_row(name, vpn.display_name, "no" if reason else "yes", reason or "")
    console.print(table)
    console.print("tests: " + ", ".join(test.value for test in DEFAULT_TESTS))
    console.print("profiles: " + ", ".join(BUILTIN_PROFILES)
                  + " (custom ones from a plan file's [impairment.<name>] tables)", markup=False)


def print_doctor(console: Console) -> int:
    """Returns 0 when the local testbed can run, 1 otherwise."""
    problems = 0
    root = os.geteuid() == 0
    console.print(f"root: {'yes' if root else 'NO (the local testbed needs root)'}")
    problems += not root
    for tool, package in TOOLS.items():
        path = shutil.which(tool)
        console.print(f"{tool}: {path or f'MISSING (Debian {package})'}")
        problems += path is None
    if root:
        netns_ok = probes.namespaces_work()
        console.print(f"network namespaces: {'yes' if netns_ok else 'NO'}")
        problems += not netns_ok
        netem = probes.kernel_has_netem()
        console.print(f"kernel sch_netem: {'yes' if netem else 'no'}")
        try:
            switch = str(find_linkemu())
        except EngineUnavailable as error:
            switch = f"MISSING: {error}"
            problems += not netem
        console.print(f"userspace impairment switch: {switch}"
                      + ("" if netem else " (used for impaired profiles: no sch_netem)"))
        console.print(f"kernel wireguard: {'yes' if probes.kernel_has_wireguard() else 'no'}")
    else:
        console.print("kernel features: unknown (probing needs root)")
    table = Table(title="VPNs")
    for column in ("vpn", "runnable", "binaries", "versions / why not"):
        table.add_column(column)
    machine = LocalMachine()
    for name, vpn in known_vpns().items():
        adapter = create_adapter(vpn)
        reason = adapter.unavailable_reason(machine)
        needed = (*adapter.requirements, *adapter.alternatives)
        binaries = ", ".join(f"{req.binary}: {machine.which(req.binary) or 'missing'}"
                             for req in needed)
        versions = "; ".join(machine.version_line(req.version_argv) or "(no version output)"
                             for req in needed if req.is_on(machine))
        table.add_row(name, "no" if reason else "yes", binaries, reason or versions)
    console.print(table)
    console.print("workloads need: " + ", ".join(
        sorted({binary for workload in WORKLOADS.values() for binary in workload.binaries})))
    return 1 if problems else 0
