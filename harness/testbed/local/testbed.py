"""Build a testbed of network namespaces: N hosts joined by a bridge in its own namespace.

    [lom: lan0 10.77.0.1] ---veth--- [p-lom \\                     ]
    [yuki: lan0 10.77.0.2] --veth--- [p-yuki -- br0  (LAN netns) ]
    [luna: lan0 10.77.0.3] --veth--- [p-luna /                     ]

No namespace has a default route or any link to the outside.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.hosts.base import Host
from harness.hosts.namespace import NamespaceHost
from harness.parsing.ethtool import RECORDED_OFFLOADS, parse_features
from harness.settings.addressing import nth_address
from harness.settings.models import LanSettings
from harness.testbed.base import Offloads, Testbed, TestbedError, signals_deferred
from harness.testbed.local import registry
from harness.testbed.local.cleanup import destroy_testbed, kill_processes_in
from harness.testbed.local.names import (
    BRIDGE,
    MOUNT_DIR,
    TestbedNames,
    netns_path,
    new_testbed_id,
)
from harness.testbed.local.system import (
    in_netns,
    require_local_testbed_support,
    run_root,
)


@dataclass(frozen=True)
class LocalTestbedSpec:
    hosts: list[str]
    lan: LanSettings
    offloads: Offloads = "default"
    lan_ready_timeout_s: float = 10.0


#: Per-namespace TCP settings that change what a benchmark measures.
TCP_SYSCTLS = (
    "net.ipv4.tcp_congestion_control",
    "net.core.default_qdisc",
    "net.ipv4.tcp_reordering",
    "net.ipv4.tcp_recovery",
    "net.ipv4.tcp_early_retrans",
    "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_wmem",
)


def host_sysctls(host: Host) -> dict[str, str]:
    """TCP sysctls as the host's own namespace sees them."""
    values: dict[str, str] = {}
    for name in TCP_SYSCTLS:
        result = host.run(["sysctl", "-n", name], timeout=10)
        if result.ok:
            values[name] = " ".join(result.stdout.split())
    return values


def _ensure_private_mount_dir() -> None:
    """Mount-namespace files must live on a private mount (as ``ip netns`` does for netns)."""
    MOUNT_DIR.mkdir(parents=True, exist_ok=True)
    mountinfo = Path("/proc/self/mountinfo").read_text()
    if not any(line.split()[4] == str(MOUNT_DIR) for line in mountinfo.splitlines()):
        run_root(["mount", "--bind", str(MOUNT_DIR), str(MOUNT_DIR)])
    run_root(["mount", "--make-private", str(MOUNT_DIR)])


class LocalTestbed(Testbed):
    """Use as a context manager: built on entry, destroyed on exit (also on errors)."""

    backend = "local"
    supports_userspace_link = True
    supports_reboot = True

    def __init__(self, spec: LocalTestbedSpec) -> None:
        self.spec = spec
        self.names = TestbedNames(new_testbed_id())
        self._hosts: list[NamespaceHost] = []
        self._lan_host: NamespaceHost | None = None
        self._destroyed = False

    # -- Testbed interface -------------------------------------------------------------
    @property
    def hosts(self) -> Sequence[Host]:
        return self._hosts

    @property
    def lan_interface(self) -> str:
        return self.spec.lan.interface

    def lan_address(self, host: str) -> str:
        return nth_address(self.spec.lan.subnet, self.spec.hosts.index(host) + 1)

    @property
    def lan_netns(self) -> str:
        return self.names.lan_netns

    def lan_port(self, host: str) -> str:
        return self.names.lan_port(host)

    @property
    def lan_host(self) -> NamespaceHost:
        """The LAN (bridge) namespace as a Host, for infrastructure such as a userspace
        impairment switch; it is not one of the benchmark hosts."""
        if self._lan_host is None:
            raise RuntimeError("the testbed is not built")
        return self._lan_host

    def describe(self) -> dict[str, object]:
        interfaces: dict[str, object] = {}
        for host in self._hosts:
            qdisc = host.run(["tc", "-s", "qdisc", "show", "dev", self.lan_interface],
                             timeout=10)
            interfaces[host.name] = {
                "interface": self.lan_interface,
                "address": self.lan_address(host.name),
                "mtu": self.spec.lan.mtu,
                "offloads": {
                    name: enabled
                    for name, enabled in self.offloads(host.name).items()
                    if name in RECORDED_OFFLOADS
                },
                "qdisc": qdisc.stdout.strip() if qdisc.ok else qdisc.describe(),
                "sysctls": host_sysctls(host),
            }
        return {
            "backend": self.backend,
            "testbed_id": self.names.testbed_id,
            "lan_subnet": self.spec.lan.subnet,
            "hosts": interfaces,
        }

    # -- building ----------------------------------------------------------------------
    def __enter__(self) -> LocalTestbed:
        require_local_testbed_support()
        registry.register(self.names, self.spec.hosts)
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def _build(self) -> None:
        names = self.names
        lan_ns = names.lan_netns
        run_root(["ip", "netns", "add", lan_ns])
        for argv in (
            ["ip", "link", "set", "lo", "up"],
            ["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"],
            ["sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"],
            ["ip", "link", "add", BRIDGE, "type", "bridge", "stp_state", "0",
             "forward_delay", "0"],
            ["ip", "link", "set", BRIDGE, "mtu", str(self.spec.lan.mtu), "up"],
        ):
            run_root(in_netns(lan_ns, argv))
        # A bare LAN: bridged frames must not detour through iptables (br_netfilter), which
        # costs throughput and is not part of any host's network stack.
        for table in ("iptables", "ip6tables", "arptables"):
            run_root(in_netns(lan_ns, ["sysctl", "-qw", f"net.bridge.bridge-nf-call-{table}=0"]),
                     check=False)
        _ensure_private_mount_dir()
        self._lan_host = self._namespace_host("lan", lan_ns)
        prefix = self.spec.lan.subnet.split("/")[1]
        for host in self.spec.hosts:
            self._build_host(host, prefix)
        self.set_offloads(self.spec.offloads)
        self._wait_for_lan()

    def _build_host(self, host: str, prefix: str) -> None:
        names = self.names
        host_ns = names.netns(host)
        port = names.lan_port(host)
        run_root(["ip", "netns", "add", host_ns])
        run_root([
            "ip", "link", "add", self.lan_interface, "netns", host_ns,
            "mtu", str(self.spec.lan.mtu), "type", "veth",
            "peer", "name", port, "netns", names.lan_netns,
        ])
        run_root(in_netns(names.lan_netns, ["ip", "link", "set", port, "master", BRIDGE, "up"]))
        for argv in (
            ["ip", "link", "set", "lo", "up"],
            ["ip", "addr", "add", f"{self.lan_address(host)}/{prefix}", "dev",
             self.lan_interface],
            ["ip", "link", "set", self.lan_interface, "up"],
        ):
            run_root(in_netns(host_ns, argv))
        self._hosts.append(self._namespace_host(host, host_ns))

    def _namespace_host(self, name: str, netns: str) -> NamespaceHost:
        """A Host for ``netns`` with a persistent mount namespace of its own /run and /sys."""
        state = self.names.host_state_dir(name)
        (state / "run").mkdir(parents=True, exist_ok=True, mode=0o700)
        state.parent.chmod(0o700)
        self._mount_namespace(name, netns)
        return NamespaceHost(name, netns_path(netns), self.names.mountns_file(name), state)

    def _mount_namespace(self, name: str, netns: str) -> None:
        """The host's mount namespace (its own /run, and /sys showing its interfaces)."""
        state = self.names.host_state_dir(name)
        mount_file = self.names.mountns_file(name)
        mount_file.touch()
        run_root([
            "nsenter", f"--net={netns_path(netns)}",
            "unshare", f"--mount={mount_file}", "--propagation", "private", "--",
            "sh", "-c",
            f"mount --bind '{state / 'run'}' /run && umount -l /sys && "
            "mount -t sysfs -o nosuid,nodev,noexec sysfs /sys",
        ])

    # -- rebooting ---------------------------------------------------------------------
    def reboot(self, host: str, timeout_s: float = 60.0) -> None:
        """What a reboot does to a host, on a namespace: every process of it ends, its
        network namespace, /run and mount namespace are made anew and its LAN address set
        again, as the boot would; its state directory (keys, node ids) stays. The LAN
        cable stays plugged in: the host's veth waits in the LAN namespace meanwhile, so
        the switch side (and an impairment on it) is untouched."""
        target = self.host(host)
        if not isinstance(target, NamespaceHost):
            raise TestbedError(f"no host {host!r} on this testbed")
        names, interface = self.names, self.lan_interface
        netns = names.netns(host)
        with signals_deferred():
            target.stop_processes(timeout=3.0)
            kill_processes_in(netns)
            run_root(in_netns(netns, ["ip", "link", "set", interface, "netns",
                                      names.lan_netns]))
            mount_file = names.mountns_file(host)
            run_root(["umount", str(mount_file)], check=False)
            mount_file.unlink(missing_ok=True)
            run_root(["ip", "netns", "delete", netns])
            run_dir = names.host_state_dir(host) / "run"
            shutil.rmtree(run_dir, ignore_errors=True)
            run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            run_root(["ip", "netns", "add", netns])
            run_root(in_netns(names.lan_netns, ["ip", "link", "set", interface, "netns",
                                                netns]))
            prefix = self.spec.lan.subnet.split("/")[1]
            for argv in (
                ["ip", "link", "set", "lo", "up"],
                ["ip", "addr", "add", f"{self.lan_address(host)}/{prefix}", "dev", interface],
                ["ip", "link", "set", interface, "up"],
            ):
                run_root(in_netns(netns, argv))
            self._mount_namespace(host, netns)
        self._set_host_offloads(target, self.spec.offloads)
        self.booted(host)
        self._wait_for_lan(timeout_s)

    def _wait_for_lan(self, timeout_s: float | None = None) -> None:
        """The bridge forwards at once (STP off), but confirm every host reaches the first."""
        first = self._hosts[0]
        deadline = time.monotonic() + (timeout_s or self.spec.lan_ready_timeout_s)
        for host in self._hosts[1:]:
            while True:
                result = host.run(
                    ["ping", "-c", "1", "-W", "1", "-q", self.lan_address(first.name)], timeout=3
                )
                if result.ok:
                    break
                if time.monotonic() > deadline:
                    raise TestbedError(
                        f"LAN not working: {host.name} cannot ping {first.name}: "
                        f"{result.describe()}"
                    )
                time.sleep(0.1)

    # -- offloads ----------------------------------------------------------------------
    def offloads(self, host: str) -> dict[str, bool]:
        result = self.host(host).run(["ethtool", "-k", self.lan_interface], timeout=10)
        return parse_features(result.stdout) if result.ok else {}

    def set_offloads(self, mode: Offloads) -> None:
        """Switch segmentation offloads on the LAN veths (both ends); "default" leaves them."""
        for host in self._hosts:
            self._set_host_offloads(host, mode)

    def _set_host_offloads(self, host: Host, mode: Offloads) -> None:
        if mode == "default":
            return
        state = "on" if mode == "on" else "off"
        flags = ["tso", state, "gso", state, "gro", state]
        host.succeed(["ethtool", "-K", self.lan_interface, *flags], timeout=10)
        run_root(in_netns(self.names.lan_netns,
                          ["ethtool", "-K", self.names.lan_port(host.name), *flags]))

    # -- teardown ----------------------------------------------------------------------
    def close(self) -> None:
        if self._destroyed:
            return
        with signals_deferred():
            for host in [*self._hosts, *([self._lan_host] if self._lan_host else [])]:
                with contextlib.suppress(Exception):
                    host.stop_processes(timeout=3.0)
            netns = [self.names.netns(host) for host in self.spec.hosts]
            destroy_testbed(self.names.testbed_id, [*netns, self.names.lan_netns])
            self._destroyed = True
