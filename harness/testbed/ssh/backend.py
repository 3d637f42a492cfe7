"""The ssh backend: hosts are real machines from an inventory, reached over SSH."""

from __future__ import annotations

import atexit
import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path, PurePosixPath

from harness.errors import UsageError
from harness.hosts.base import Host
from harness.hosts.ssh import SshError, SshHost
from harness.testbed.base import Backend, Testbed, TestbedError, TestbedRequest
from harness.testbed.ssh.inventory import Inventory
from harness.testbed.ssh.known_hosts import host_pattern, pinned_keys, read_known_hosts
from harness.testbed.ssh.testbed import SshTestbed, ssh_target


class SshBackend(Backend):
    name = "ssh"
    summary = "real hosts from an inventory file (--inventory), reached over SSH"

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self._control_host: SshHost | None = None

    def control_host(self) -> Host:
        """The first host of the inventory, over its own master connection (closed at exit)."""
        if self._control_host is None:
            control_dir = Path(tempfile.mkdtemp(prefix="vpb-ssh-control-"))
            first = next(iter(self.inventory.hosts.values()))
            host = SshHost(ssh_target(self.inventory, first, control_dir),
                           PurePosixPath(first.state_dir))
            try:
                host.connection.open()
            except SshError as error:
                shutil.rmtree(control_dir, ignore_errors=True)
                raise TestbedError(str(error)) from None

            def close() -> None:
                with contextlib.suppress(Exception):
                    host.connection.close()
                shutil.rmtree(control_dir, ignore_errors=True)

            atexit.register(close)
            self._control_host = host
        return self._control_host

    def check_support(self) -> None:
        """The ssh client is here and every host is usable (see ``check_hosts``)."""
        for tool in ("ssh", "ssh-keygen"):
            if shutil.which(tool) is None:
                raise TestbedError(f"the ssh backend needs the OpenSSH client ({tool!r} not "
                                   "on PATH): install openssh-client")
        self.check_hosts()

    def check_hosts(self) -> None:
        """Every host's key is pinned, every host answers one plain connection with it (so
        user, key and address are right), and every configured LAN interface exists there.
        Read-only, before anything is started anywhere; a problem is bad input (UsageError,
        exit 2) naming the host."""
        known = read_known_hosts(self.inventory.known_hosts)
        for host in self.inventory.hosts.values():
            if not pinned_keys(known, host_pattern(host.address, host.port)):
                raise UsageError(
                    f"host {host.name}: no pinned host key for {host.address}:{host.port} in "
                    f"{self.inventory.known_hosts}; run `vpn-bench hosts trust --inventory "
                    f"{self.inventory.path}` first")
        for host in self.inventory.hosts.values():
            remote = SshHost(ssh_target(self.inventory, host, None), PurePosixPath(host.state_dir))
            try:
                remote.connection.check()
                if host.interface and not remote.run(
                        ["ip", "link", "show", "dev", host.interface], timeout=10).ok:
                    raise UsageError(f"host {host.name}: no interface {host.interface!r} there "
                                     f"(the inventory's interface; `ip link` on {host.name} "
                                     "lists the valid ones)")
            except SshError as error:
                raise UsageError(str(error)) from None

    def require_netem(self, hosts: list[str]) -> None:
        """Impairment on real hosts is tc netem only: say before the run which hosts lack it
        (tried there, in a scratch network namespace)."""
        lacking = []
        for name in hosts:
            resolved = self.inventory.host(name)
            host = SshHost(ssh_target(self.inventory, resolved, None),
                           PurePosixPath(resolved.state_dir))
            try:
                if not host.has_netem():
                    lacking.append(name)
            except SshError as error:
                raise TestbedError(str(error)) from None
        if lacking:
            raise TestbedError(
                f"no sch_netem on {', '.join(lacking)} (adding a netem qdisc in a scratch "
                "network namespace there failed): impaired profiles need tc netem on real "
                "hosts; load the sch_netem kernel module there or run --profile baseline")

    @contextlib.contextmanager
    def open_hosts(self, names: list[str]) -> Iterator[list[SshHost]]:
        """``names`` over one master connection each, for read-only questions (which VPNs
        are installed there); closed on exit."""
        control_dir = Path(tempfile.mkdtemp(prefix="vpb-ssh-query-"))
        hosts: list[SshHost] = []
        try:
            for name in names:
                resolved = self.inventory.host(name)
                host = SshHost(ssh_target(self.inventory, resolved, control_dir),
                               PurePosixPath(resolved.state_dir))
                hosts.append(host)
                try:
                    host.connection.open()
                except SshError as error:
                    raise UsageError(str(error)) from None
            yield hosts
        finally:
            for host in hosts:
                with contextlib.suppress(Exception):
                    host.connection.close()
            shutil.rmtree(control_dir, ignore_errors=True)

    def open(self, request: TestbedRequest) -> AbstractContextManager[Testbed]:
        return SshTestbed(self.inventory, request)
