"""Ownership markers: which harness process owns which testbed.

`vpn-bench clean` must not tear down a testbed whose harness is still running, so each
testbed records its owner's PID and process start time (PIDs get reused; the pair does not).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from harness.records.store import atomic_write
from harness.testbed.local.names import TestbedNames


def _process_start_ticks(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # Field 22 (starttime) counted after the parenthesised command name.
    return int(stat.rsplit(")", 1)[1].split()[19])


def register(names: TestbedNames, hosts: list[str]) -> None:
    record = {
        "testbed_id": names.testbed_id,
        "owner_pid": os.getpid(),
        "owner_start_ticks": _process_start_ticks(os.getpid()),
        "created_at": datetime.now(UTC).isoformat(),
        "hosts": hosts,
        "netns": [names.netns(host) for host in hosts] + [names.lan_netns],
    }
    atomic_write(names.registry_file, json.dumps(record, indent=2))


def owner_alive(names: TestbedNames) -> bool:
    """True when the harness that built this testbed is still running."""
    try:
        record = json.loads(names.registry_file.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return False
    pid = int(record.get("owner_pid", -1))
    if pid == os.getpid():
        return False
    started = _process_start_ticks(pid)
    return started is not None and started == record.get("owner_start_ticks")
