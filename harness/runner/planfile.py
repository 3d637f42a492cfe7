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

    [test.udp]               # per test: timeout of one attempt, retries, back-off,
    timeout = 120            # the number of ring links it is measured on (the first N;
    retries = 0              # default: all) and any parameter of that workload's model
    links = 1
    bitrate_mbps = 500

The workload keys (``duration``, ``ping_count``, ``ping_interval`` and the fields in
``[test.<name>]``) are not declared here: they come from the workload parameter models
(harness/workloads) and are validated by them when the plan is built.

    [impairment.lossy]       # a custom profile (per egress; see docs/impairment.md)
    delay_ms = 20
    jitter_ms = 5
    loss = { model = "random", percent = 1.0 }
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from harness import limits
from harness.errors import UsageError
from harness.workloads.parameters import shared_parameters


@dataclass(frozen=True)
class WorkloadKeys:
    """The plan file's workload parameter keys, split off before the rest is validated
    (the workload models validate them when the plan is built)."""

    #: Top-level shared keys (``duration = 30``).
    shared: dict[str, Any] = field(default_factory=dict)
    #: ``[profile.<name>]`` shared keys, per profile.
    profile_shared: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: ``[test.<name>]`` parameter fields, per test.
    test_fields: dict[str, dict[str, Any]] = field(default_factory=dict)


class _Section(BaseModel):
    #: Numbers are finite (``timeout = inf`` would wait forever); names are exact strings.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


#: A list in a plan file names at least one thing: ``vpns = []`` is a mistake, not "all".
NameList = Annotated[list[str], Field(min_length=1)]


class VpnSection(_Section):
    tests: NameList | None = None
    profiles: NameList | None = None


class ProfileSection(_Section):
    tests: NameList | None = None


class TestSection(_Section):
    timeout: float | None = Field(default=None, gt=0, le=limits.MAX_TEST_TIMEOUT_S)
    retries: int | None = Field(default=None, ge=0, le=10)
    backoff: float | None = Field(default=None, ge=0, le=limits.MAX_BACKOFF_S)
    links: int | None = Field(default=None, ge=limits.MIN_TEST_LINKS, le=limits.MAX_HOSTS,
                              strict=True)


class PlanFile(_Section):
    vpns: NameList | None = None
    tests: NameList | None = None
    profiles: NameList | None = None
    repetitions: int | None = Field(default=None, ge=1, le=limits.MAX_REPETITIONS)
    hosts: int | None = Field(default=None, ge=limits.MIN_HOSTS, le=limits.MAX_HOSTS)
    vpn: dict[str, VpnSection] = Field(default_factory=dict)
    profile: dict[str, ProfileSection] = Field(default_factory=dict)
    test: dict[str, TestSection] = Field(default_factory=dict)
    #: Custom impairment profiles, validated by harness.impairment.profiles.
    impairment: dict[str, dict[str, Any]] = Field(default_factory=dict)
    engine: str | None = None
    tcp_tuning: str | None = None
    seed: int | None = Field(default=None, ge=limits.MIN_SEED, le=limits.MAX_SEED)
    _workload: WorkloadKeys = PrivateAttr(default_factory=WorkloadKeys)

    @property
    def workload(self) -> WorkloadKeys:
        return self._workload

    @classmethod
    def from_toml(cls, data: dict[str, Any]) -> PlanFile:
        """Validate a parsed plan file; workload keys are kept apart for the models."""
        data, keys = _split_workload_keys(data)
        plan = cls.model_validate(data)
        plan._workload = keys
        return plan


def _split_workload_keys(data: dict[str, Any]) -> tuple[dict[str, Any], WorkloadKeys]:
    shared_names = shared_parameters()
    rest = {key: value for key, value in data.items() if key not in shared_names}
    keys = WorkloadKeys(shared={key: data[key] for key in data if key in shared_names})
    profiles = rest.get("profile")
    if isinstance(profiles, dict):
        rest["profile"] = {}
        for name, section in profiles.items():
            if isinstance(section, dict):
                keys.profile_shared[name] = {k: v for k, v in section.items()
                                             if k in shared_names}
                section = {k: v for k, v in section.items() if k not in shared_names}
            rest["profile"][name] = section
    tests = rest.get("test")
    if isinstance(tests, dict):
        rest["test"] = {}
        for name, section in tests.items():
            if isinstance(section, dict):
                keys.test_fields[name] = {k: v for k, v in section.items()
                                          if k not in TestSection.model_fields}
                section = {k: v for k, v in section.items() if k in TestSection.model_fields}
            rest["test"][name] = section
    return rest, keys


def load_plan_file(path: Path) -> PlanFile:
    """Read and validate a plan file; every problem is a UsageError naming file and key."""
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise UsageError(f"plan file {path} does not exist") from None
    except IsADirectoryError:
        raise UsageError(f"plan file {path} is a directory; pass a TOML file") from None
    except UnicodeDecodeError as error:
        raise UsageError(f"plan file {path} is not UTF-8 text (byte {error.start}); "
                         "pass a TOML file") from None
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"plan file {path}: {error}") from None
    except OSError as error:
        raise UsageError(f"plan file {path} cannot be read: "
                         f"{error.strerror or error}") from None
    try:
        plan = PlanFile.from_toml(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
            for item in error.errors()
        )
        allowed = ", ".join([*PlanFile.model_fields, *shared_parameters()])
        raise UsageError(f"plan file {path}: {problems} (top-level keys: {allowed})") from None
    for kind in ("vpn", "profile", "test"):
        for name in getattr(plan, kind):
            if name != name.lower():  # names match in any case; a section would be ignored
                raise UsageError(f"plan file {path}: [{kind}.{name}]: section names are "
                                 f"lower-case, write [{kind}.{name.lower()}]")
    return plan
