"""Stable orders for VPNs, profiles and links, shared by tables, figures and the report."""

from __future__ import annotations

from collections.abc import Iterable

from analysis.catalogue import ALL
from harness.vpns.registry import REFERENCE

REFERENCE_VPN = REFERENCE.name
"""The no-VPN baseline every VPN is compared against (matched case-insensitively); the
registry's reference VPN (harness/vpns/registry.py)."""

PROFILE_ORDER: tuple[str, ...] = ("baseline", "low", "medium", "high")


def is_reference(vpn: str) -> bool:
    return vpn.lower() == REFERENCE_VPN


def vpn_order(vpns: Iterable[str]) -> list[str]:
    """The reference first, then the others alphabetically (case-insensitive); ``all`` last.

    Alphabetical rather than registry order: results hold legacy names the registry does not
    know, and a figure's order must not depend on which of them a dataset has."""
    unique = set(vpns)
    ordered = sorted((v for v in unique if v != ALL), key=lambda v: (not is_reference(v),
                                                                     v.lower(), v))
    return [*ordered, ALL] if ALL in unique else ordered


def profile_order(profiles: Iterable[str]) -> list[str]:
    """Known profiles by severity, unknown ones alphabetically after them; ``all`` last."""
    unique = set(profiles)
    known = [p for p in PROFILE_ORDER if p in unique]
    others = sorted(unique - set(PROFILE_ORDER) - {ALL})
    return [*known, *others, *([ALL] if ALL in unique else [])]


def link_order(links: Iterable[str], hosts: tuple[str, ...]) -> list[str]:
    """Links in ring order of their source (nodes in ring order), then others, ``all`` last."""

    def key(link: str) -> tuple[int, str]:
        source = link.split("->", 1)[0]
        return (hosts.index(source) if source in hosts else len(hosts), link)

    unique = set(links)
    return [*sorted(unique - {ALL}, key=key), *([ALL] if ALL in unique else [])]
