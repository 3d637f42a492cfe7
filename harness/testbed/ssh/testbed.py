"""A testbed of real hosts reached over SSH: nothing is built, only connected to and cleaned.

Entering opens one master connection per host (sockets in a private temp directory), makes
a per-testbed state directory on every host and finds each host's LAN interface; leaving
stops every process the testbed started, removes that directory and closes the masters,
also when entering failed halfway.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from harness.hosts.base import Host
from harness.hosts.ssh import SshError, SshHost, SshTarget
from harness.parsing.ethtool import RECORDED_OFFLOADS, parse_features
from harness.testbed.base import Testbed, TestbedError, TestbedRequest, signals_deferred
from harness.testbed.local.testbed import host_sysctls
from harness.testbed.ssh.inventory import Inventory, ResolvedHost
from harness.testbed.ssh.reboot import reboot_over_ssh

#: Seconds teardown waits for a host lost mid-run to answer again.
RECOVER_S = 60.0


def ssh_target(inventory: Inventory, host: ResolvedHost,
               control_dir: Path | None) -> SshTarget:
    return SshTarget(
        name=host.name, address=host.address, user=host.user,
        known_hosts=inventory.known_hosts, port=host.port, identity_file=host.identity_file,
        control_path=control_dir / host.name if control_dir is not None else None,
        connect_timeout_s=inventory.connect_timeout,
    )


def parse_route_device(stdout: str) -> str | None:
    """The ``dev`` of ``ip -j route get`` output."""
    try:
        routes = json.loads(stdout)
    except ValueError:
        return None
    if isinstance(routes, list) and routes and isinstance(routes[0], dict):
        device = routes[0].get("dev")
        return device if isinstance(device, str) else None
    return None


class SshTestbed(Testbed):
    """Use as a context manager: connected on entry, cleaned up on exit (also on errors)."""

    backend = "ssh"
    supports_userspace_link = False
    supports_reboot = True

    def __init__(self, inventory: Inventory, request: TestbedRequest) -> None:
        inventory.require_hosts(request.hosts)
        self.inventory = inventory
        self.request = request
        self.testbed_id = secrets.token_hex(4)
        self._control_dir: Path | None = None
        self._hosts: list[SshHost] = []
        self._interfaces: dict[str, str] = {}
        self._closed = False

    # -- Testbed interface -------------------------------------------------------------
    @property
    def hosts(self) -> Sequence[Host]:
        return self._hosts

    def lan_address(self, host: str) -> str:
        return self.inventory.host(host).lan_address

    def host_lan_interface(self, host: str) -> str:
        return self._interfaces[host]

    @property
    def lan_interface(self) -> str:
        names = set(self._interfaces.values())
        if len(names) != 1:
            raise TestbedError(f"the hosts' LAN interfaces differ ({self._interfaces}); "
                               "ask host_lan_interface(host)")
        return names.pop()

    def describe(self) -> dict[str, object]:
        hosts: dict[str, object] = {}
        for host in self._hosts:
            interface = self.host_lan_interface(host.name)
            link = host.run(["ip", "-j", "link", "show", "dev", interface], timeout=10)
            mtu: object = None
            with contextlib.suppress(ValueError, IndexError, KeyError, TypeError):
                mtu = json.loads(link.stdout)[0]["mtu"]
            features = host.run(["ethtool", "-k", interface], timeout=10)
            qdisc = host.run(["tc", "-s", "qdisc", "show", "dev", interface], timeout=10)
            hosts[host.name] = {
                "interface": interface,
                "address": self.lan_address(host.name),
                "ssh": f"{host.target.user}@{host.target.address}:{host.target.port}",
                "mtu": mtu,
                "offloads": {name: enabled for name, enabled in
                             (parse_features(features.stdout) if features.ok else {}).items()
                             if name in RECORDED_OFFLOADS},
                "qdisc": qdisc.stdout.strip() if qdisc.ok else qdisc.describe(),
                "sysctls": host_sysctls(host),
            }
        return {"backend": self.backend, "testbed_id": self.testbed_id,
                "inventory": str(self.inventory.path), "hosts": hosts}

    def wait_reachable(self, timeout_s: float) -> list[str]:
        return [host.name for host in self._hosts
                if host.down and not host.wait_back(timeout_s)]

    # -- connecting ----------------------------------------------------------------------
    def __enter__(self) -> SshTestbed:
        if self.request.offloads != "default":
            raise TestbedError("--offloads on|off is not supported on real hosts yet: the "
                               "ssh backend leaves the NICs' offloads as they are")
        try:
            self._connect()
        except BaseException as error:
            self.close()
            if isinstance(error, SshError):
                raise TestbedError(str(error)) from None
            raise
        return self

    def _connect(self) -> None:
        self._control_dir = Path(tempfile.mkdtemp(prefix="vpb-ssh-"))
        for name in self.request.hosts:
            resolved = self.inventory.host(name)
            host = SshHost(ssh_target(self.inventory, resolved, self._control_dir),
                           PurePosixPath(resolved.state_dir) / f"testbed-{self.testbed_id}")
            self._hosts.append(host)
            host.connection.open()
            host.make_dir(host.state_dir)
        for host in self._hosts:
            self._interfaces[host.name] = self._find_interface(host)

    def _find_interface(self, host: SshHost) -> str:
        """The inventory's ``interface``, else the device of the route to another host."""
        configured = self.inventory.host(host.name).interface
        if configured:
            if not host.run(["ip", "link", "show", "dev", configured], timeout=10).ok:
                raise TestbedError(f"host {host.name}: no interface {configured!r} "
                                   "(the inventory's interface)")
            return configured
        other = next(name for name in self.request.hosts if name != host.name)
        result = host.run(["ip", "-j", "route", "get", self.lan_address(other)], timeout=10)
        device = parse_route_device(result.stdout) if result.ok else None
        if device is None:
            raise TestbedError(f"host {host.name}: no route to {other} at "
                               f"{self.lan_address(other)}: {result.describe()}; "
                               "set interface in the inventory")
        return device

    # -- rebooting ---------------------------------------------------------------------
    def reboot(self, host: str, timeout_s: float = 300.0) -> None:
        """A real reboot (``systemctl reboot``), waiting for SSH to return with a new boot."""
        target = next((candidate for candidate in self._hosts if candidate.name == host), None)
        if target is None:
            raise TestbedError(f"no host {host!r}; hosts are {self.host_names}")
        reboot_over_ssh(target, target.connection.reopen, timeout_s=timeout_s)
        self.booted(host)

    # -- teardown ----------------------------------------------------------------------
    def close(self) -> None:
        """Stop every process started here, remove the state directory, close the masters."""
        if self._closed:
            return
        with signals_deferred():
            self.wait_reachable(RECOVER_S)  # a host lost mid-run is cleaned once it is back
            for host in self._hosts:
                with contextlib.suppress(Exception):
                    host.stop_processes(timeout=3.0)
                if host.connection.opened:
                    with contextlib.suppress(Exception):
                        host.remove(host.state_dir)
                with contextlib.suppress(Exception):
                    host.connection.close()
            if self._control_dir is not None:
                shutil.rmtree(self._control_dir, ignore_errors=True)
            self._closed = True
