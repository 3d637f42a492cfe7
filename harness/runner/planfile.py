"""Run plans from TOML files, merged with command-line flags (flags win).

    vpns = ["internal", "wireguard", "tinc"]      # internal is always added
    tests = ["parallel_tcp", "tcp", "udp", "ping"]
    profiles = ["baseline", "high"]
    repetitions = 3
    duration = 30
    ping_count = 100
    ping_interval = 0.2

    [vpn.wireguard]          # per VPN: which tests and profiles
    tests = ["tcp", "udp"]
    profiles = ["baseline"]

    [profile.high]           # per profile, for every VPN: tests kept, parameters changed
    tests = ["tcp", "ping"]
    duration = 60

    [test.udp]               # per test: timeout of one attempt, retries, back-off
    timeout = 120
    retries = 0

    [impairment.lossy]       # a custom profile (per egress; see docs/impairment.md)
    delay_ms = 20
    jitter_ms = 5
    loss = { model = "random", percent = 1.0 }
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.errors import UsageError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VpnSection(_Section):
    tests: list[str] | None = None
    profiles: list[str] | None = None


class ProfileSection(_Section):
    tests: list[str] | None = None
    duration: float | None = Field(default=None, gt=0)
    ping_count: int | None = Field(default=None, ge=1)
    ping_interval: float | None = Field(default=None, gt=0)


class TestSection(_Section):
    timeout: float | None = Field(default=None, gt=0)
    retries: int | None = Field(default=None, ge=0, le=10)
    backoff: float | None = Field(default=None, ge=0)


class PlanFile(_Section):
    vpns: list[str] | None = None
    tests: list[str] | None = None
    profiles: list[str] | None = None
    repetitions: int | None = Field(default=None, ge=1)
    duration: float | None = Field(default=None, gt=0)
    ping_count: int | None = Field(default=None, ge=1)
    ping_interval: float | None = Field(default=None, gt=0)
    hosts: int | None = Field(default=None, ge=2, le=200)
    vpn: dict[str, VpnSection] = Field(default_factory=dict)
    profile: dict[str, ProfileSection] = Field(default_factory=dict)
    test: dict[str, TestSection] = Field(default_factory=dict)
    #: Custom impairment profiles, validated by harness.impairment.profiles.
    impairment: dict[str, dict[str, Any]] = Field(default_factory=dict)
    engine: str | None = None
    tcp_tuning: str | None = None
    seed: int | None = None


def load_plan_file(path: Path) -> PlanFile:
    """Read and validate a plan file; every problem is a UsageError naming file and key."""
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise UsageError(f"plan file {path} does not exist") from None
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"plan file {path}: {error}") from None
    try:
        return PlanFile.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
            for item in error.errors()
        )
        allowed = ", ".join(PlanFile.model_fields)
        raise UsageError(f"plan file {path}: {problems} (top-level keys: {allowed})") from None
