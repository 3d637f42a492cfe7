"""Names and paths of everything a local testbed creates; the prefix is how `clean` finds them."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from pathlib import Path

PREFIX = "vpb"
RUNTIME_DIR = Path("/run/vpn-bench")
MOUNT_DIR = RUNTIME_DIR / "mnt"
REGISTRY_DIR = RUNTIME_DIR / "testbeds"
STATE_BASE = Path("/tmp/vpn-bench")
BRIDGE = "br0"

_NETNS_PATTERN = re.compile(rf"^{PREFIX}-([0-9a-f]{{6}})-([a-z0-9]+)$")


def new_testbed_id() -> str:
    return secrets.token_hex(3)


def testbed_id_of_netns(netns: str) -> str | None:
    """The testbed id if ``netns`` is one of ours, else None."""
    match = _NETNS_PATTERN.match(netns)
    return match.group(1) if match else None


@dataclass(frozen=True)
class TestbedNames:
    testbed_id: str

    def netns(self, host: str) -> str:
        return f"{PREFIX}-{self.testbed_id}-{host}"

    @property
    def lan_netns(self) -> str:
        return f"{PREFIX}-{self.testbed_id}-lan"

    @staticmethod
    def lan_port(host: str) -> str:
        """Name of the host's veth peer inside the LAN namespace."""
        return f"p-{host}"[:15]

    def mountns_file(self, host: str) -> Path:
        return MOUNT_DIR / self.netns(host)

    @property
    def state_dir(self) -> Path:
        return STATE_BASE / self.testbed_id

    def host_state_dir(self, host: str) -> Path:
        return self.state_dir / host

    @property
    def registry_file(self) -> Path:
        return REGISTRY_DIR / f"{self.testbed_id}.json"


def netns_path(name: str) -> Path:
    return Path("/run/netns") / name
