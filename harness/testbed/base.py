"""The interface a testbed backend offers to VPN adapters, workloads and the runner."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from harness.hosts.base import Host


class TestbedError(RuntimeError):
    """The testbed could not be built or used (missing privilege, tool or kernel feature)."""


class Testbed(ABC):
    """A set of hosts on one LAN, identified by name in ring order."""

    backend: str

    @property
    @abstractmethod
    def hosts(self) -> Sequence[Host]: ...

    @property
    def host_names(self) -> list[str]:
        return [host.name for host in self.hosts]

    def host(self, name: str) -> Host:
        for host in self.hosts:
            if host.name == name:
                return host
        raise KeyError(f"no host {name!r}; hosts are {self.host_names}")

    @abstractmethod
    def lan_address(self, host: str) -> str:
        """The host's address on the (un-tunnelled) LAN."""

    @property
    @abstractmethod
    def lan_interface(self) -> str:
        """Name of every host's LAN interface."""

    @abstractmethod
    def describe(self) -> dict[str, object]:
        """Facts for the run metadata: interfaces, MTUs, offloads."""

    def stop_all_processes(self) -> None:
        for host in self.hosts:
            host.stop_processes()
