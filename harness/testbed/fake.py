"""A testbed of :class:`~harness.hosts.fake.FakeHost` machines, for root-free tests.

It is built and destroyed like a real backend (use it as a context manager), so the
runner's session logic runs unchanged on it: the hosts share one handler (a
:class:`~harness.hosts.fake.Rules` table or any function of the call) and one
:class:`~harness.hosts.fake.CallLog`, so ``testbed.calls`` lists every command of every host
in the order they happened. Leaving the ``with`` block stops the processes still running,
as a real teardown would.

:class:`FakeTestbedFactory` is what ``run_plan`` wants as ``testbed_factory``: a fresh
FakeTestbed per session, each kept in ``built`` for assertions::

    factory = FakeTestbedFactory(rules)
    run_plan(plan, vpn_settings, factory, options)
    assert all(testbed.exited for testbed in factory.built)
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from harness.hosts.fake import Call, CallLog, FakeHost, FakeProcess, Handler, Rules
from harness.settings.addressing import nth_address
from harness.testbed.base import Testbed

DEFAULT_HOSTS = ("lom", "yuki", "luna")


class FakeTestbed(Testbed):
    """Hosts in ring order on a made-up LAN (host i has the i-th address of ``lan_subnet``)."""

    backend = "fake"
    supports_reboot = True

    def __init__(
        self,
        hosts: Sequence[str] = DEFAULT_HOSTS,
        handler: Handler | None = None,
        *,
        lan_subnet: str = "10.77.0.0/24",
        lan_interface: str = "lan0",
        mtu: int = 1500,
        programs: Collection[str] | None = None,
        on_start: Callable[[FakeProcess], None] | None = None,
    ) -> None:
        if len(set(hosts)) != len(hosts):
            raise ValueError(f"host names must be unique, got {list(hosts)}")
        self.log = CallLog()
        shared = handler if handler is not None else Rules()
        self._hosts = [FakeHost(name, shared, programs=programs, on_start=on_start,
                                log=self.log) for name in hosts]
        self.lan_subnet = lan_subnet
        self._lan_interface = lan_interface
        self.mtu = mtu
        #: Whether the testbed was entered (built) and left (destroyed).
        self.entered = False
        self.exited = False
        #: Hosts rebooted, in order.
        self.reboots: list[str] = []

    @property
    def hosts(self) -> Sequence[FakeHost]:
        return self._hosts

    def host(self, name: str) -> FakeHost:
        for host in self._hosts:
            if host.name == name:
                return host
        raise KeyError(f"no host {name!r}; hosts are {self.host_names}")

    def lan_address(self, host: str) -> str:
        return nth_address(self.lan_subnet, self.host_names.index(host) + 1)

    @property
    def lan_interface(self) -> str:
        return self._lan_interface

    def describe(self) -> dict[str, object]:
        return {
            "backend": self.backend,
            "lan_subnet": self.lan_subnet,
            "hosts": {host: {"interface": self.lan_interface,
                             "address": self.lan_address(host), "mtu": self.mtu}
                      for host in self.host_names},
        }

    def reboot(self, host: str, timeout_s: float = 300.0) -> None:
        """A reboot the fake can show: the host's processes end, its files stay."""
        self.host(host).stop_processes()
        self.reboots.append(host)
        self.booted(host)

    # -- for assertions ----------------------------------------------------------------
    @property
    def calls(self) -> list[Call]:
        """Every call on every host, oldest first."""
        return self.log.calls

    def commands(self, *prefix: str, host: str | None = None) -> list[tuple[str, ...]]:
        """argv of the run() calls starting with ``prefix`` (on ``host``, if given)."""
        return self.log.commands(*prefix, host=host)

    @property
    def started(self) -> list[FakeProcess]:
        """Every process started on any host, host by host."""
        return [process for host in self._hosts for process in host.started]

    # -- built and destroyed like a real backend ---------------------------------------
    def __enter__(self) -> FakeTestbed:
        self.entered = True
        return self

    def close(self) -> None:
        super().close()
        self.exited = True


class FakeTestbedFactory:
    """A fresh FakeTestbed per call, all sharing the handler and options; ``built`` keeps
    them in order (one per session ``run_plan`` ran)."""

    def __init__(
        self,
        handler: Handler | None = None,
        *,
        hosts: Sequence[str] = DEFAULT_HOSTS,
        lan_subnet: str = "10.77.0.0/24",
        programs: Collection[str] | None = None,
        on_start: Callable[[FakeProcess], None] | None = None,
        prepare: Callable[[FakeTestbed], None] | None = None,
    ) -> None:
        """``prepare`` sees each new testbed before the runner does (e.g. to seed files)."""
        self.handler: Handler = handler if handler is not None else Rules()
        self.hosts = tuple(hosts)
        self.lan_subnet = lan_subnet
        self.programs = programs
        self.on_start = on_start
        self.prepare = prepare
        self.built: list[FakeTestbed] = []

    def __call__(self) -> FakeTestbed:
        testbed = FakeTestbed(self.hosts, self.handler, lan_subnet=self.lan_subnet,
                              programs=self.programs, on_start=self.on_start)
        if self.prepare is not None:
            self.prepare(testbed)
        self.built.append(testbed)
        return testbed

    @property
    def calls(self) -> list[Call]:
        """The calls of every testbed built so far, testbed by testbed."""
        return [call for testbed in self.built for call in testbed.calls]

    def commands(self, *prefix: str, host: str | None = None) -> list[tuple[str, ...]]:
        return [argv for testbed in self.built for argv in testbed.commands(*prefix, host=host)]
