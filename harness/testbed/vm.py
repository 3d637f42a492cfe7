"""The vm backend: hosts are the VMs of a NixOS test, driven by the test driver's Machine API.

The harness runs *inside* the test driver's Python: the flake's ``bench-vm`` test script
(nix/tests/bench-vm.nix) boots lom, yuki and luna, hands their Machine objects to
``attach_machines`` and then runs ``vpn-bench run --backend vm ...``. Outside the driver
there are no machines, and choosing this backend is refused with the way to get them.

VM figures are not hardware figures: the guests share one machine's CPUs, and their LAN is
the driver's virtual switch. ``describe`` and the run metadata say so, and the report
carries a notice for runs of this backend.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from harness.errors import UsageError
from harness.hosts.base import Host
from harness.hosts.vm import DriverMachine, VmError, VmHost
from harness.parsing.ethtool import RECORDED_OFFLOADS, parse_features
from harness.testbed.base import Backend, Testbed, TestbedError, TestbedRequest
from harness.testbed.local.testbed import host_sysctls

#: Where the harness keeps its files on every guest.
STATE_ROOT = PurePosixPath("/var/lib/vpn-bench")
NOT_HARDWARE = ("NixOS test-driver VMs (QEMU guests sharing one machine, joined by the "
                "driver's virtual switch): these figures are not hardware figures")
OUTSIDE_DRIVER = ("--backend vm runs only inside the NixOS test driver, which boots the "
                  "VMs: use `nix run .#bench-vm -- <run options>` (docs/nix.md); outside it, "
                  "valid backends: local, ssh")


@dataclass(frozen=True)
class VmSite:
    """The test's machines by host name, and each one's LAN address and interface."""

    machines: Mapping[str, DriverMachine]
    addresses: Mapping[str, str]
    interface: str
    #: The harness's directory on every guest.
    state_root: PurePosixPath = STATE_ROOT


_site: VmSite | None = None


def attach_machines(machines: Mapping[str, DriverMachine], addresses: Mapping[str, str],
                    interface: str, state_root: PurePosixPath | None = None) -> None:
    """Called by the test script: the booted VMs this process may use as hosts
    (``state_root``: the harness's directory on every guest; default STATE_ROOT)."""
    missing = sorted(set(machines) - set(addresses))
    if missing or not machines:
        raise ValueError(f"no LAN address for {', '.join(missing)}" if missing
                         else "no machines to attach")
    global _site
    _site = VmSite(dict(machines), dict(addresses), interface, state_root or STATE_ROOT)


def detach_machines() -> None:
    global _site
    _site = None


def attached() -> VmSite | None:
    return _site


def require_site() -> VmSite:
    """The attached machines; outside the test driver, a usage error with the way in."""
    if _site is None:
        raise UsageError(OUTSIDE_DRIVER)
    return _site


class VmBackend(Backend):
    name = "vm"
    summary = ("NixOS test-driver VMs lom/yuki/luna (only inside `nix run .#bench-vm`); "
               "not hardware figures")

    def control_host(self) -> Host:
        site = require_site()
        first = next(iter(site.machines))
        return VmHost(site.machines[first], site.state_root, name=first)

    def check_support(self) -> None:
        require_site()

    def metadata(self) -> dict[str, object]:
        """For the manifest: what ran, and that it is not hardware."""
        site = require_site()
        return {"vm": {"notice": NOT_HARDWARE, "machines": sorted(site.machines),
                       "interface": site.interface}}

    def open(self, request: TestbedRequest) -> VmTestbed:
        return VmTestbed(require_site(), request)


class VmTestbed(Testbed):
    """Use as a context manager: a state directory on every VM on entry; on exit every
    process started here is stopped and that directory removed (also on errors)."""

    backend = "vm"
    supports_userspace_link = False

    def __init__(self, site: VmSite, request: TestbedRequest) -> None:
        unknown = [name for name in request.hosts if name not in site.machines]
        if unknown:
            raise UsageError(f"the NixOS test has no VM {', '.join(unknown)}; its VMs: "
                             f"{', '.join(site.machines)}")
        self.site = site
        self.request = request
        self.testbed_id = secrets.token_hex(4)
        base = site.state_root / f"testbed-{self.testbed_id}"
        self._hosts = [VmHost(site.machines[name], base / name, name=name)
                       for name in request.hosts]
        self._closed = False

    @property
    def hosts(self) -> Sequence[Host]:
        return self._hosts

    def lan_address(self, host: str) -> str:
        return self.site.addresses[host]

    @property
    def lan_interface(self) -> str:
        return self.site.interface

    def describe(self) -> dict[str, object]:
        hosts: dict[str, object] = {}
        for host in self._hosts:
            link = host.run(["ip", "-j", "link", "show", "dev", self.lan_interface], timeout=10)
            mtu: object = None
            with contextlib.suppress(ValueError, IndexError, KeyError, TypeError):
                mtu = json.loads(link.stdout)[0]["mtu"]
            features = host.run(["ethtool", "-k", self.lan_interface], timeout=10)
            qdisc = host.run(["tc", "-s", "qdisc", "show", "dev", self.lan_interface],
                             timeout=10)
            hosts[host.name] = {
                "interface": self.lan_interface,
                "address": self.lan_address(host.name),
                "mtu": mtu,
                "offloads": {name: enabled for name, enabled in
                             (parse_features(features.stdout) if features.ok else {}).items()
                             if name in RECORDED_OFFLOADS},
                "qdisc": qdisc.stdout.strip() if qdisc.ok else qdisc.describe(),
                "sysctls": host_sysctls(host),
            }
        return {"backend": self.backend, "testbed_id": self.testbed_id,
                "notice": NOT_HARDWARE, "hosts": hosts}

    def __enter__(self) -> VmTestbed:
        if self.request.offloads != "default":
            raise TestbedError("--offloads on|off is not supported on the vm backend: the "
                               "VMs' virtio NICs keep their offloads")
        try:
            for host in self._hosts:
                host.make_dir(host.state_dir)
                if not host.run(["ip", "link", "show", "dev", self.lan_interface],
                                timeout=10).ok:
                    raise TestbedError(f"VM {host.name}: no LAN interface "
                                       f"{self.lan_interface!r}")
        except BaseException as error:
            self.close()
            if isinstance(error, VmError):
                raise TestbedError(str(error)) from None
            raise
        return self

    def close(self) -> None:
        """Stop every process started here and remove the state directory on every VM."""
        if self._closed:
            return
        for host in self._hosts:
            with contextlib.suppress(Exception):
                host.stop_processes(timeout=3.0)
            with contextlib.suppress(Exception):
                host.remove(host.state_dir)
        self._closed = True
