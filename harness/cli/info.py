"""`vpn-bench list` and `vpn-bench doctor`: what can run here, and why not."""

from __future__ import annotations

import os
from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.cli.run_command import availability, host_availability, known_vpns
from harness.hosts.base import Host
from harness.hosts.local import LocalMachine
from harness.impairment.binary import find_linkemu
from harness.impairment.errors import EngineUnavailable
from harness.impairment.profiles import BUILTIN_PROFILES
from harness.testbed.backends import DEFAULT_BACKEND, get_backend
from harness.vpns.registry import create_adapter
from harness.workloads.parameters import describe_parameters
from harness.workloads.registry import TEST_NAMES, WORKLOADS

TOOLS = {
    "ip": "iproute2",
    "nsenter": "util-linux",
    "ethtool": "ethtool",
    "ping": "iputils-ping",
    "iperf3": "iperf3",
    "ss": "iproute2",
}


def print_list(console: Console, hosts: Sequence[Host] | None = None) -> None:
    """``hosts``: the real hosts of an inventory, asked instead of this machine."""
    settings = known_vpns()
    reasons = (availability(settings) if hosts is None
               else host_availability(settings, hosts, nixos=False))
    where = "here" if hosts is None else "on the hosts"
    table = Table(title="VPNs")
    for column in ("name", "display name", f"runnable {where}", "why not"):
        table.add_column(column)
    for name, vpn in settings.items():
        reason = reasons[name]
        table.add_row(name, escape(vpn.display_name), "no" if reason else "yes",
                      escape(reason or ""))
    console.print(table)
    console.print("tests: " + ", ".join(TEST_NAMES))
    for machine in hosts or [LocalMachine()]:
        for test in TEST_NAMES:
            reason = WORKLOADS[test].unavailable_reason(machine)
            if reason:
                console.print(f"test {test}: not runnable {where}: {reason}", markup=False)
    params = Table(title="Workload parameters (--param TEST.PARAMETER=VALUE, or the "
                         "plan file's \\[test.<name>] table)")
    for column in ("test", "parameter", "default", "valid", "meaning"):
        params.add_column(column)
    for test in TEST_NAMES:
        for row in describe_parameters(test):
            params.add_row(test, *row)
    console.print(params)
    console.print("profiles: " + ", ".join(BUILTIN_PROFILES)
                  + " (custom ones from a plan file's [impairment.<name>] tables)", markup=False)


def print_doctor(console: Console) -> int:
    """Returns 0 when the local testbed can run, 1 otherwise."""
    problems = 0
    root = os.geteuid() == 0
    host = get_backend(DEFAULT_BACKEND).control_host()
    console.print(f"root: {'yes' if root else 'NO (the local testbed needs root)'}")
    problems += not root
    for tool, package in TOOLS.items():
        path = host.which(tool)
        console.print(f"{tool}: {path or f'MISSING (Debian {package})'}")
        problems += path is None
    if root:
        netns_ok = host.try_in_scratch_netns([["ip", "link", "set", "lo", "up"]])
        console.print(f"network namespaces: {'yes' if netns_ok else 'NO'}")
        problems += not netns_ok
        netem = host.has_netem()
        console.print(f"kernel sch_netem: {'yes' if netem else 'no'}")
        try:
            switch = str(find_linkemu())
        except EngineUnavailable as error:
            switch = f"MISSING: {error}"
            problems += not netem
        console.print(f"userspace impairment switch: {switch}"
                      + ("" if netem else " (used for impaired profiles: no sch_netem)"))
        console.print(f"kernel wireguard: {'yes' if host.has_wireguard_module() else 'no'}")
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
        table.add_row(name, "no" if reason else "yes", escape(binaries),
                      escape(reason or versions))
    console.print(table)
    console.print("workloads need: " + ", ".join(
        sorted({binary for workload in WORKLOADS.values() for binary in workload.binaries})))
    for test, workload in WORKLOADS.items():
        reason = workload.unavailable_reason(machine)
        console.print(f"test {test}: " + (f"not runnable here: {reason}" if reason else "ok"),
                      markup=False)
    return 1 if problems else 0


def print_doctor_hosts(console: Console, hosts: Sequence[Host]) -> int:
    """`doctor --inventory`: the same questions, asked of each real host over SSH.
    Returns 1 when a host lacks a tool the runs need."""
    problems = 0
    for host in hosts:
        console.print(f"[bold]{host.name}[/bold]")
        for tool, package in TOOLS.items():
            path = host.which(tool)
            console.print(f"  {tool}: {path or f'MISSING ({package})'}")
            problems += path is None
        console.print(f"  kernel sch_netem: {'yes' if host.has_netem() else 'no'}")
        console.print(f"  kernel wireguard: {'yes' if host.has_wireguard_module() else 'no'}")
        for name, vpn in known_vpns().items():
            adapter = create_adapter(vpn)
            missing = adapter.missing_requirements(host)
            versions = "; ".join(host.version_line(req.version_argv) or "(no version output)"
                                 for req in adapter.requirements if req.is_on(host))
            state = ("missing " + ", ".join(req.binary for req in missing) if missing
                     else versions or "ok")
            console.print(f"  vpn {name}: {state}", markup=False)
    return 1 if problems else 0
