"""Kernel netem on every host's LAN egress, through Host.run (any backend)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from harness.hosts.base import Host
from harness.impairment import offloads
from harness.impairment.engine import ImpairmentEngine, new_record, resolve_seed, wait_reachable
from harness.impairment.errors import ImpairmentError
from harness.impairment.tc_render import apply_command, remove_command, show_command
from harness.netem.model import Profile
from harness.netem.record import ImpairmentRecord
from harness.testbed.base import Testbed


def tc_supports_seed(host: Host) -> bool:
    """iproute2 >= 6.4 knows `seed`; Debian 12's 6.1 does not (its help text says so)."""
    result = host.run(["tc", "qdisc", "add", "dev", "lo", "root", "netem", "help"], timeout=10)
    return "seed" in result.stdout + result.stderr


class TcNetemEngine(ImpairmentEngine):
    name = "tc"

    def __init__(self) -> None:
        super().__init__()
        self._testbed: Testbed | None = None
        self._applied_hosts: list[Host] = []
        #: Host name -> the netem command applied there (applied again after a reboot).
        self._commands: dict[str, list[str]] = {}
        self._unregister: Callable[[], None] | None = None

    def apply(self, testbed: Testbed, profile: Profile, *,
              seed: int | None = None) -> ImpairmentRecord:
        self._require_idle()
        record = new_record(profile, self.name)
        if profile.egress is None:
            record.seed_note = "baseline: no qdisc, the plain kernel path"
            self._record, self._testbed = record, testbed
            return record
        impairment = profile.egress
        base_seed, note = resolve_seed(profile, seed)
        seeded = tc_supports_seed(testbed.hosts[0])
        record.seed = base_seed if seeded else None
        record.seed_note = note if seeded else (
            "this tc (iproute2 < 6.4) has no `seed`: netem seeds itself at random")
        self._testbed, self._record = testbed, record
        try:
            for index, host in enumerate(testbed.hosts):
                interface = testbed.host_lan_interface(host.name)
                record.qdisc_before[host.name] = host.run(
                    show_command(interface), timeout=10).stdout
                change = offloads.switch_off(host, interface, offloads.SEGMENTATION,
                                             record.commands)
                self._offloads.append(change)
                record.offloads_set[change.label] = dict.fromkeys(offloads.SEGMENTATION, "off")
                argv = apply_command(interface, impairment,
                                     seed=(base_seed + index) % 2**64 if seeded else None)
                record.commands.append(f"{host.name}: {' '.join(argv)}")
                self._commands[host.name] = argv
                result = host.run(argv, timeout=15)
                if not result.ok:
                    raise ImpairmentError(
                        f"tc failed on host {host.name}, interface {interface}: "
                        f"`{' '.join(argv)}`: {(result.stderr or result.stdout).strip()}")
                self._applied_hosts.append(host)
            for host in testbed.hosts:
                record.qdisc_after[host.name] = host.run(
                    show_command(testbed.host_lan_interface(host.name)), timeout=10).stdout
            self._unregister = testbed.on_boot(self._reapply)
            wait_reachable(testbed)
        except BaseException as error:
            undone = self._undo()
            if isinstance(error, ImpairmentError):
                raise ImpairmentError(f"{error}; rolled back: {undone}") from None
            raise
        return record

    def _reapply(self, host: Host) -> None:
        """A rebooted host lost its qdisc (and offload settings): set them again."""
        argv = self._commands.get(host.name)
        if argv is None or self._testbed is None or self._record is None:
            return
        interface = self._testbed.host_lan_interface(host.name)
        offloads.switch_off(host, interface, offloads.SEGMENTATION, self._record.commands)
        self._record.commands.append(f"{host.name} (after its reboot): {' '.join(argv)}")
        result = host.run(argv, timeout=15)
        if not result.ok:
            raise ImpairmentError(f"tc failed on host {host.name} after its reboot: "
                                  f"`{' '.join(argv)}`: {result.describe()}")

    def _undo(self) -> str:
        """Delete every qdisc we added and restore offloads; says what was undone."""
        if self._unregister is not None:
            self._unregister()
            self._unregister = None
        self._commands.clear()
        undone: list[str] = []
        if self._testbed is not None:
            for host in reversed(self._applied_hosts):
                argv = remove_command(self._testbed.host_lan_interface(host.name))
                host.run(argv, timeout=15)
                undone.append(f"{host.name}: {' '.join(argv)}")
        undone.extend(self._restore_offloads())
        self._applied_hosts.clear()
        self._record = None
        return "; ".join(undone) if undone else "nothing had been applied"

    def remove(self) -> ImpairmentRecord | None:
        record = self._record
        if record is None:
            return None
        if self._testbed is not None:
            for host in self._applied_hosts:
                record.qdisc_at_removal[host.name] = host.run(
                    show_command(self._testbed.host_lan_interface(host.name)),
                    timeout=10).stdout
        undone = self._undo()
        if undone != "nothing had been applied":
            record.commands.append(f"removed: {undone}")
        record.removed_at = datetime.now(UTC)
        return record
