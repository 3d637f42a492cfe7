"""The inventory of real hosts (TOML, validated with pydantic): how to reach each host over
SSH and where its LAN is. Every problem becomes one line naming the host (UsageError)."""

from __future__ import annotations

import ipaddress
import re
import tomllib
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from harness.errors import UsageError

HOST_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
DEFAULT_STATE_DIR = "/var/lib/vpn-bench"
DEFAULT_KNOWN_HOSTS = "known_hosts"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _absolute_posix(value: str | None) -> str | None:
    if value is not None and not PurePosixPath(value).is_absolute():
        raise ValueError(f"must be an absolute path, got {value!r}")
    return value


class InventoryDefaults(_Strict):
    """Applied to every host that does not set the key itself."""

    user: str = "root"
    port: int = Field(default=22, ge=1, le=65535)
    identity_file: str | None = None
    known_hosts: str = DEFAULT_KNOWN_HOSTS
    state_dir: str = DEFAULT_STATE_DIR
    connect_timeout: float = Field(default=10.0, gt=0, le=300)

    _state_dir = field_validator("state_dir")(_absolute_posix)


class InventoryHost(_Strict):
    address: str = Field(min_length=1)
    port: int | None = Field(default=None, ge=1, le=65535)
    user: str | None = None
    identity_file: str | None = None
    lan_address: str | None = None
    interface: str | None = None
    state_dir: str | None = None

    _state_dir = field_validator("state_dir")(_absolute_posix)

    @field_validator("lan_address")
    @classmethod
    def _ip(cls, value: str | None) -> str | None:
        if value is not None:
            ipaddress.ip_address(value)
        return value


class InventoryFile(_Strict):
    defaults: InventoryDefaults = InventoryDefaults()
    hosts: dict[str, InventoryHost] = Field(default_factory=dict)


class ResolvedHost(_Strict):
    """One host with the defaults applied and paths made absolute."""

    name: str
    address: str
    port: int
    user: str
    identity_file: Path | None
    lan_address: str
    interface: str | None
    state_dir: str


class Inventory(_Strict):
    path: Path
    known_hosts: Path
    connect_timeout: float
    hosts: dict[str, ResolvedHost]

    def host(self, name: str) -> ResolvedHost:
        return self.hosts[name]

    def require_hosts(self, names: list[str]) -> None:
        """Every host of the plan must be in the inventory."""
        missing = [name for name in names if name not in self.hosts]
        if missing:
            raise UsageError(
                f"inventory {self.path}: no host {', '.join(missing)} (the plan needs "
                f"{', '.join(names)}; the inventory has {', '.join(self.hosts) or 'none'})")

    def summary(self) -> dict[str, object]:
        """For the run manifest: how hosts were reached, without secrets (the identity file's
        path, never its contents)."""
        return {
            "path": str(self.path),
            "known_hosts": str(self.known_hosts),
            "hosts": {name: host.model_dump(mode="json", exclude={"name"})
                      for name, host in self.hosts.items()},
        }


def _where(loc: tuple[int | str, ...]) -> str:
    if len(loc) >= 2 and loc[0] == "hosts":
        rest = ".".join(str(part) for part in loc[2:])
        return f"host {loc[1]}" + (f": {rest}" if rest else "")
    return ".".join(str(part) for part in loc) or "inventory"


def _valid_keys(loc: tuple[int | str, ...]) -> str:
    model: type[BaseModel] = InventoryFile
    if loc[:1] == ("defaults",):
        model = InventoryDefaults
    elif loc[:1] == ("hosts",) and len(loc) >= 3:
        model = InventoryHost
    return ", ".join(model.model_fields)


def _first_problem(error: ValidationError) -> str:
    """The most telling problem: an unknown key first (a typo also makes a key "missing")."""
    problems = error.errors()
    first = next((p for p in problems if p["type"] == "extra_forbidden"), problems[0])
    loc = tuple(first["loc"])
    if first["type"] == "extra_forbidden":
        parent, key = loc[:-1], loc[-1]
        place = _where(parent) if parent else "inventory"
        return f"{place}: unknown key {key!r} (valid: {_valid_keys(loc)})"
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{_where(loc)}: {message}"


def _expand(base: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def parse_inventory(data: dict[str, Any], path: Path) -> Inventory:
    """Validate the parsed TOML; raises UsageError with one line naming host and problem."""
    try:
        raw = InventoryFile.model_validate(data)
    except ValidationError as error:
        raise UsageError(f"inventory {path}: {_first_problem(error)}") from None
    if not raw.hosts:
        raise UsageError(f"inventory {path}: no hosts (add a [hosts.NAME] table per host)")
    base = path.resolve().parent
    defaults = raw.defaults
    hosts: dict[str, ResolvedHost] = {}
    seen_targets: dict[tuple[str, int], str] = {}
    seen_lan: dict[str, str] = {}
    for name, entry in raw.hosts.items():
        if not HOST_NAME.match(name):
            raise UsageError(f"inventory {path}: host {name!r}: bad name (lower-case letters, "
                             "digits and '-', starting with a letter)")
        port = entry.port or defaults.port
        identity = entry.identity_file or defaults.identity_file
        identity_path = _expand(base, identity) if identity else None
        if identity_path is not None and not identity_path.is_file():
            raise UsageError(f"inventory {path}: host {name}: identity_file {identity_path} "
                             "does not exist")
        target = (entry.address.lower(), port)
        if target in seen_targets:
            raise UsageError(f"inventory {path}: host {name}: address {entry.address}:{port} "
                             f"is also host {seen_targets[target]}'s")
        seen_targets[target] = name
        lan_address = entry.lan_address or entry.address
        if lan_address in seen_lan:
            raise UsageError(f"inventory {path}: host {name}: LAN address {lan_address} is "
                             f"also host {seen_lan[lan_address]}'s")
        seen_lan[lan_address] = name
        try:
            ipaddress.ip_address(lan_address)
        except ValueError:
            raise UsageError(
                f"inventory {path}: host {name}: address {entry.address!r} is not an IP "
                "address, so it cannot be the LAN address: set lan_address") from None
        hosts[name] = ResolvedHost(
            name=name, address=entry.address, port=port, user=entry.user or defaults.user,
            identity_file=identity_path, lan_address=lan_address, interface=entry.interface,
            state_dir=entry.state_dir or defaults.state_dir,
        )
    return Inventory(path=path, known_hosts=_expand(base, defaults.known_hosts),
                     connect_timeout=defaults.connect_timeout, hosts=hosts)


def load_inventory(path: Path) -> Inventory:
    """Read and validate an inventory file; nothing is contacted or written."""
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"inventory {path}: no such file") from None
    except UnicodeDecodeError as error:
        raise UsageError(f"inventory {path}: not UTF-8 text (byte {error.start}); pass a "
                         "TOML file") from None
    except OSError as error:
        raise UsageError(f"inventory {path}: cannot read: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"inventory {path}: not valid TOML: {error}") from None
    return parse_inventory(data, path)
