"""Which VPNs ``vpn-bench keys`` makes material for (the registry's), and parsing ``--vpn``."""

from __future__ import annotations

from collections.abc import Iterable

from harness.errors import UsageError
from harness.vpns.registry import VPNS, with_keys


def key_vpns() -> list[str]:
    return [vpn.name for vpn in with_keys()]


def select_vpns(requested: Iterable[str]) -> list[str]:
    """Comma lists or repeated names (any case), ``all`` or no flag for every VPN; registry
    order. A flag naming nothing (``--vpn ''``) is an error."""
    given = list(requested)
    names = [name.strip().lower() for item in given for name in item.split(",")
             if name.strip()]
    makeable = key_vpns()
    valid = ", ".join(makeable)
    if given and not names:
        raise UsageError(f"no VPN given (an empty list); valid: {valid}, all")
    for name in names:
        if name == "all":
            continue
        elsewhere = VPNS[name].keys_elsewhere if name in VPNS else None
        if elsewhere:
            raise UsageError(f"vpn-bench keys makes nothing for {name!r}: {elsewhere} "
                             f"(docs/secrets.md); valid: {valid}, all")
        if name not in makeable:
            raise UsageError(f"unknown VPN {name!r}; valid: {valid}, all")
    if not names or "all" in names:
        return makeable
    return [vpn for vpn in makeable if vpn in names]
