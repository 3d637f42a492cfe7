"""The interface a testbed backend offers to VPN adapters, workloads and the runner."""

from __future__ import annotations

import contextlib
import signal
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from types import TracebackType
from typing import ClassVar, Literal, Self

from harness.hosts.base import Host
from harness.settings.models import LanSettings

Offloads = Literal["default", "on", "off"]
OFFLOAD_MODES: tuple[Offloads, ...] = ("default", "on", "off")


class TestbedError(RuntimeError):
    """The testbed could not be built or used (missing privilege, tool or kernel feature)."""


class Testbed(ABC):
    """A set of hosts on one LAN, identified by name in ring order."""

    backend: str
    #: The userspace impairment link (vpb-linkemu) can be spliced into this testbed's LAN.
    supports_userspace_link: ClassVar[bool] = False
    #: :meth:`reboot` is implemented (the reconnect test's reboot phase needs it).
    supports_reboot: ClassVar[bool] = False

    def __enter__(self) -> Self:
        """Backends build their hosts here; a failed build undoes itself before raising."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Undo everything the testbed set up (processes, and what the backend built on the
        hosts). Safe to call more than once."""
        self.stop_all_processes()

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
        """Name of every host's LAN interface (when they share one name)."""

    def host_lan_interface(self, host: str) -> str:
        """``host``'s LAN interface: real hosts' NICs differ (eth0, enp3s0...)."""
        return self.lan_interface

    @abstractmethod
    def describe(self) -> dict[str, object]:
        """Facts for the run metadata: interfaces, MTUs, offloads."""

    def wait_reachable(self, timeout_s: float) -> list[str]:
        """After a host was lost mid-run: wait (bounded) until every host answers again;
        the names of those that still do not. Local hosts cannot be lost."""
        return []

    def stop_all_processes(self) -> None:
        for host in self.hosts:
            host.stop_processes()

    def reboot(self, host: str, timeout_s: float = 300.0) -> None:
        """Reboot ``host`` and return once it is back on the LAN, within ``timeout_s``.

        Every process of the host ends and its runtime state (interfaces, addresses, routes,
        /run) is lost; its persistent files (the state directory: keys, node ids) stay. Its
        VPN is not started again: the harness starts daemons, not the boot. The Host object
        stays valid. Raises TestbedError when the backend cannot reboot or the host does
        not come back.
        """
        raise TestbedError(f"the {self.backend} testbed cannot reboot a host")

    def on_boot(self, hook: Callable[[Host], None]) -> Callable[[], None]:
        """Run ``hook`` on a host each time it is back from :meth:`reboot`, as the host's
        boot configuration would (an impairment's qdisc is not kept by a reboot); returns
        the function that unregisters it."""
        hooks = self._boot_hooks()
        hooks.append(hook)
        return lambda: hooks.remove(hook) if hook in hooks else None

    def booted(self, host: str) -> None:
        """Called by :meth:`reboot` implementations once ``host`` is back."""
        for hook in list(self._boot_hooks()):
            hook(self.host(host))

    def _boot_hooks(self) -> list[Callable[[Host], None]]:
        hooks: list[Callable[[Host], None]] = self.__dict__.setdefault("_on_boot", [])
        return hooks


@dataclass(frozen=True)
class TestbedRequest:
    """What a run needs from a backend: these hosts, on one LAN."""

    hosts: list[str]
    lan: LanSettings
    offloads: Offloads = "default"


class Backend(ABC):
    """A way to reach machines; the registry in ``harness.testbed.backends`` names them."""

    name: ClassVar[str]
    summary: ClassVar[str]

    @abstractmethod
    def control_host(self) -> Host:
        """Where availability is asked before any testbed exists (read-only questions)."""

    @abstractmethod
    def check_support(self) -> None:
        """Raise TestbedError, with the fix, when this backend cannot run here."""

    @abstractmethod
    def open(self, request: TestbedRequest) -> AbstractContextManager[Testbed]:
        """A testbed for ``request``; built on enter, torn down on exit."""


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM while a testbed tears down, so a second Ctrl-C cannot leave
    debris (namespaces here, processes on remote hosts)."""
    mask = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, mask)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
