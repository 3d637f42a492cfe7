"""Switch offloads off on impaired links and put them back afterwards.

netem judges whole skbs: with GSO/TSO/GRO a single loss draw drops a 64 KB super-packet,
and vpb-linkemu cannot relay one at all. tx checksum offload leaves partial checksums that
a relay must complete; `tx off` avoids that."""

from __future__ import annotations

from dataclasses import dataclass

from harness.hosts.base import Host
from harness.parsing.ethtool import parse_features

#: ethtool -K short name -> the feature name ethtool -k prints.
FEATURE_NAMES = {
    "gro": "generic-receive-offload",
    "gso": "generic-segmentation-offload",
    "tso": "tcp-segmentation-offload",
    "tx": "tx-checksumming",
}
SEGMENTATION = ("gro", "gso", "tso")
FOR_RELAY = ("gro", "gso", "tso", "tx")


@dataclass(frozen=True)
class OffloadChange:
    """Features switched off on one interface and whether each was on before."""

    host: Host
    interface: str
    previous: dict[str, bool]

    @property
    def label(self) -> str:
        return f"{self.host.name}/{self.interface}"


def switch_off(host: Host, interface: str, flags: tuple[str, ...],
               log: list[str]) -> OffloadChange:
    listed = host.run(["ethtool", "-k", interface], timeout=10)
    features = parse_features(listed.stdout) if listed.ok else {}
    previous = {flag: features.get(FEATURE_NAMES[flag], False) for flag in flags}
    argv = ["ethtool", "-K", interface, *(part for flag in flags for part in (flag, "off"))]
    log.append(f"{host.name}: {' '.join(argv)}")
    host.succeed(argv, timeout=10)
    return OffloadChange(host, interface, previous)


def restore(change: OffloadChange, log: list[str]) -> None:
    """Switch back on what was on; best effort (the interface may be gone)."""
    flags = [flag for flag, was_on in change.previous.items() if was_on]
    if not flags:
        return
    argv = ["ethtool", "-K", change.interface, *(p for f in flags for p in (f, "on"))]
    log.append(f"{change.host.name}: {' '.join(argv)}")
    change.host.run(argv, timeout=10)
