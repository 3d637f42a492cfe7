"""Built-in profiles (the reference study's table), custom ones from the run config, and
resolving `--profile` arguments against both."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from harness.errors import UsageError
from harness.netem.model import (
    DISTRIBUTIONS,
    LOSS_MODELS,
    PROFILE_NAME_PATTERN,
    Impairment,
    Profile,
    RandomLoss,
    Reorder,
)


class ProfileError(UsageError):
    """A profile name or definition is invalid; the message lists what is allowed."""


def _reference(delay: float, jitter: float, loss: float, reorder: float,
               correlation: float) -> Impairment:
    return Impairment(
        delay_ms=delay, jitter_ms=jitter, loss=RandomLoss(percent=loss),
        reorder=Reorder(percent=reorder, correlation=correlation),
    )


#: Per egress, as in the issue (and the reference methodology); a round trip crosses two.
BUILTIN_PROFILES: dict[str, Profile] = {
    "baseline": Profile(name="baseline"),
    "low": Profile(name="low", egress=_reference(2, 2, 0.25, 0.5, 25)),
    "medium": Profile(name="medium", egress=_reference(4, 7, 1.0, 2.5, 50)),
    "high": Profile(name="high", egress=_reference(6, 15, 2.5, 5.0, 50)),
}
ALL = "all"

IMPAIRMENT_FIELDS = tuple(Impairment.model_fields)
_FIELD_HELP = (
    "allowed fields: " + ", ".join(IMPAIRMENT_FIELDS)
    + f"; loss = {{model = {' | '.join(LOSS_MODELS)}, ...}} "
    "(random: percent, correlation; state: p13, p31, p32, p23, p14; "
    "gemodel: p, r, one_minus_h, one_minus_k); reorder = {percent, correlation, gap}; "
    "duplicate/corrupt = {percent, correlation}; distribution: " + ", ".join(DISTRIBUTIONS)
    + "; probabilities are percent (0-100), times milliseconds"
)


_EXTRA_HINTS = {
    "gap": " (gap without reorder: write reorder = {percent = P, gap = N})",
    "correlation": " (correlations belong to loss, reorder, duplicate or corrupt; "
                   "delay_correlation for the delay)",
    "rate": " (rate_mbit)",
    "delay": " (delay_ms)",
    "jitter": " (jitter_ms)",
    "limit": " (limit_packets)",
}


def describe_validation_error(where: str, error: ValidationError) -> str:
    """Every problem with its offending value, then what is allowed: one line."""
    lines = []
    for problem in error.errors():
        location = ".".join(str(part) for part in problem["loc"]
                            if part not in LOSS_MODELS or problem["type"] == "extra_forbidden")
        value = problem.get("input")
        shown = f" = {value!r}" if problem["type"] != "missing" and not isinstance(
            value, dict) else ""
        message = str(problem["msg"]).removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            field = str(problem["loc"][-1])
            message = "unknown field" + _EXTRA_HINTS.get(field, "")
        lines.append(f"{where}{'.' + location if location else ''}{shown}: {message}")
    return "; ".join(lines) + "; " + _FIELD_HELP


def impairment_from_table(where: str, table: Mapping[str, Any]) -> Impairment:
    """Validate one `[impairment.<name>]` table (field names as in `Impairment`)."""
    if not isinstance(table, Mapping):
        raise ProfileError(f"{where}: must be a table of impairment fields; {_FIELD_HELP}")
    try:
        return Impairment.model_validate(dict(table))
    except ValidationError as error:
        raise ProfileError(describe_validation_error(where, error)) from None


def custom_profiles(tables: Mapping[str, Mapping[str, Any]]) -> dict[str, Profile]:
    """Profiles from the run config's `[impairment.<name>]` tables; every problem is
    reported at once."""
    profiles: dict[str, Profile] = {}
    problems: list[str] = []
    for name, table in tables.items():
        where = f"impairment.{name}" if name.isprintable() else f"impairment.{name!r}"
        if name in BUILTIN_PROFILES or name == ALL:
            problems.append(f"{where}: '{name}' is a built-in name; choose another "
                            f"(built-ins: {', '.join(BUILTIN_PROFILES)}, {ALL})")
            continue
        if not re.fullmatch(PROFILE_NAME_PATTERN, name):
            problems.append(f"{where}: profile names are lower-case letters, digits, '-' and "
                            "'_', starting with a letter, at most 32 characters")
            continue
        try:
            profiles[name] = Profile(name=name, egress=impairment_from_table(where, table))
        except ProfileError as error:
            problems.append(str(error))
    if problems:
        raise ProfileError("; ".join(problems))
    return profiles


def known_profiles(custom: Mapping[str, Profile] | None = None) -> dict[str, Profile]:
    return {**BUILTIN_PROFILES, **(custom or {})}


def resolve_profiles(requested: Iterable[str],
                     custom: Mapping[str, Profile] | None = None) -> list[Profile]:
    """`--profile high`, `--profile baseline,low`, `--profile all` (the four built-ins);
    any case (profile names are lower-case, like VPNs and tests); duplicates dropped, order
    kept. An unknown name is a ProfileError naming the valid ones."""
    known = known_profiles(custom)
    names: list[str] = []
    for item in requested:
        for name in (part.strip().lower() for part in item.split(",")):
            if not name:
                continue
            expanded = list(BUILTIN_PROFILES) if name == ALL else [name]
            names.extend(n for n in expanded if n not in names)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ProfileError(
            f"unknown profile{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
            f"valid: {', '.join(known)}, {ALL}")
    if not names:
        raise ProfileError(f"no profile given; valid: {', '.join(known)}, {ALL}")
    return [known[name] for name in names]
