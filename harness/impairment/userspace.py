"""The userspace link: vpb-linkemu replaces the LAN bridge while a profile is applied.

The host veth peers `p-<host>` leave `br0` and become the switch's ports in the LAN
namespace; each port applies the profile to what its host sends (that host's egress).
`remove()` stops the switch (final stats) and puts the ports back on the bridge."""

from __future__ import annotations

import contextlib
import json
import secrets
import signal
import time
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

from harness.hosts.base import Process
from harness.hosts.namespace import NamespaceHost
from harness.impairment import offloads
from harness.impairment.binary import find_linkemu
from harness.impairment.engine import ImpairmentEngine, new_record, resolve_seed, wait_reachable
from harness.impairment.errors import ImpairmentError
from harness.impairment.linkemu_config import switch_config
from harness.netem.model import Profile
from harness.netem.record import ImpairmentRecord
from harness.testbed.base import Testbed
from harness.testbed.local.names import BRIDGE
from harness.testbed.local.testbed import LocalTestbed
from harness.waiting import WaitFailed, wait_until

READY_TIMEOUT_S = 10.0
STATS_TIMEOUT_S = 5.0
PROCESS_NAME = "vpb-linkemu"


class UserspaceEngine(ImpairmentEngine):
    name = "userspace"

    def __init__(self) -> None:
        super().__init__()
        self._testbed: LocalTestbed | None = None
        self._process: Process | None = None
        self._detached: list[str] = []
        self._stats_path: PurePosixPath | None = None

    def apply(self, testbed: Testbed, profile: Profile, *,
              seed: int | None = None) -> ImpairmentRecord:
        self._require_idle()
        if not isinstance(testbed, LocalTestbed):
            raise ImpairmentError(
                f"the userspace engine needs the local namespace testbed (it replaces the LAN "
                f"bridge); this testbed is {testbed.backend!r}: use --engine tc")
        record = new_record(profile, self.name)
        if profile.egress is None:
            record.seed_note = "baseline: the plain bridge, no switch started"
            self._record, self._testbed = record, testbed
            return record
        binary = find_linkemu()
        base_seed, record.seed_note = resolve_seed(profile, seed)
        record.seed = base_seed
        self._testbed, self._record = testbed, record
        lan = testbed.lan_host
        ports = [testbed.lan_port(host.name) for host in testbed.hosts]
        directory = lan.state_dir / "impairment"
        # Fresh names per apply: a ready file left by an earlier switch must not be taken
        # for this one's (a SIGUSR1 before its handler is set would kill it).
        stem = f"{profile.name}-{secrets.token_hex(4)}"
        ready = directory / f"{stem}.ready"
        self._stats_path = directory / f"{stem}.stats.json"
        config = switch_config(ports, profile.egress, seed=base_seed, ready_file=str(ready),
                               stats_file=str(self._stats_path))
        record.config = config
        try:
            for host in testbed.hosts:
                for target, interface in ((host, testbed.lan_interface),
                                          (lan, testbed.lan_port(host.name))):
                    change = offloads.switch_off(target, interface, offloads.FOR_RELAY,
                                                 record.commands)
                    self._offloads.append(change)
                    record.offloads_set[change.label] = dict.fromkeys(
                        offloads.FOR_RELAY, "off")
            config_path = directory / f"{stem}.json"
            lan.write_file(config_path, json.dumps(config, indent=2))
            for port in ports:
                argv = ["ip", "link", "set", port, "nomaster"]
                record.commands.append(f"{lan.name}: {' '.join(argv)}")
                lan.succeed(argv, timeout=10)
                self._detached.append(port)
            argv = [str(binary), "--config", str(config_path)]
            record.commands.append(f"{lan.name}: {' '.join(argv)}")
            self._process = lan.start(argv, name=PROCESS_NAME)
            self._wait_ready(ready)
            record.switch_stats_before = self._snapshot()
            wait_reachable(testbed)
        except BaseException as error:
            undone = self._undo()
            if isinstance(error, ImpairmentError | WaitFailed):
                raise ImpairmentError(f"{error}; rolled back: {undone}") from None
            raise
        return record

    def _wait_ready(self, ready: PurePosixPath) -> None:
        lan = self._lan()
        process = self._process
        assert process is not None

        def exists() -> bool:
            with contextlib.suppress(OSError):
                lan.read_file(ready)
                return True
            return False

        def died() -> list[str]:
            if process.is_running():
                return []
            return [f"{PROCESS_NAME} exited with {process.returncode()}: "
                    f"{process.log_tail(10)}"]

        wait_until(exists, timeout_s=READY_TIMEOUT_S, what=f"{PROCESS_NAME} ready file",
                   interval_s=0.02, abort=died)

    def _lan(self) -> NamespaceHost:
        assert self._testbed is not None
        return self._testbed.lan_host

    def _read_stats(self) -> dict[str, Any] | None:
        if self._stats_path is None:
            return None
        try:
            data: dict[str, Any] = json.loads(self._lan().read_file(self._stats_path))
        except (OSError, json.JSONDecodeError):
            return None
        return data

    def _snapshot(self) -> dict[str, Any] | None:
        """Counters now (SIGUSR1 makes the switch rewrite its stats file)."""
        process = self._process
        if process is None or not process.is_running():
            return None
        previous = self._read_stats()
        process.signal(signal.SIGUSR1)
        deadline = time.monotonic() + STATS_TIMEOUT_S
        while time.monotonic() < deadline:
            current = self._read_stats()
            if current is not None and current != previous:
                return current
            time.sleep(0.02)
        return None

    def lateness_ms(self) -> float | None:
        """Mean send lateness over all ports so far, from a fresh stats snapshot."""
        stats = self._snapshot()
        if not stats:
            return None
        total = count = 0.0
        for port in stats.get("ports", []):
            spread = port.get("send_lateness_us", {})
            total += float(spread.get("mean", 0.0)) * float(spread.get("count", 0))
            count += float(spread.get("count", 0))
        return total / count / 1000.0 if count else None

    def switch_stats(self) -> dict[str, Any] | None:
        return self._snapshot()

    def _undo(self) -> str:
        """Stop the switch, re-attach the ports, restore offloads; says what was undone."""
        undone: list[str] = []
        if self._process is not None:
            code = self._process.stop(timeout=5.0)
            undone.append(f"stopped {PROCESS_NAME} (exit {code})")
            self._process = None
        if self._testbed is not None:
            lan = self._testbed.lan_host
            for port in self._detached:
                argv = ["ip", "link", "set", port, "master", BRIDGE]
                lan.run(argv, timeout=10)
                undone.append(f"{lan.name}: {' '.join(argv)}")
        undone.extend(self._restore_offloads())
        self._detached.clear()
        self._record = None
        return "; ".join(undone) if undone else "nothing had been applied"

    def remove(self) -> ImpairmentRecord | None:
        record = self._record
        if record is None:
            return None
        reattached = bool(self._detached)
        undone = self._undo()
        record.switch_stats_after = self._read_stats()
        if undone != "nothing had been applied":
            record.commands.append(f"removed: {undone}")
        record.removed_at = datetime.now(UTC)
        if reattached and self._testbed is not None:
            wait_reachable(self._testbed)
        return record
