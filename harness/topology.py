"""Host naming and the link ring: which host measures against which."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Link:
    """A directed link; the source runs the client, the target the server."""

    source: str
    target: str

    @property
    def label(self) -> str:
        return f"{self.source}->{self.target}"


def host_names(default_hosts: list[str], count: int) -> list[str]:
    """The configured hosts, extended with ``h4``, ``h5``... when more are asked for."""
    if count < 2:
        raise ValueError(f"a testbed needs at least 2 hosts, got {count}")
    names = list(default_hosts[:count])
    names.extend(f"h{index + 1}" for index in range(len(names), count))
    return names


def ring_links(hosts: list[str]) -> list[Link]:
    """Each host measures against the next one, wrapping around (lom->yuki->luna->lom)."""
    if len(hosts) == 2:
        return [Link(hosts[0], hosts[1]), Link(hosts[1], hosts[0])]
    return [Link(host, hosts[(index + 1) % len(hosts)]) for index, host in enumerate(hosts)]


def all_pairs(hosts: list[str]) -> list[Link]:
    """Every ordered pair of distinct hosts, e.g. for readiness checks."""
    return [Link(a, b) for a in hosts for b in hosts if a != b]
