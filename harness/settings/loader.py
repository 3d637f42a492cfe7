"""Find and read ``vpn-configs/``."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from pydantic import ValidationError

from harness.settings.models import TestbedSettings, VpnSettings

CONFIG_DIR_ENV = "VPN_BENCH_CONFIG_DIR"


class ConfigError(ValueError):
    pass


def config_dir() -> Path:
    """``$VPN_BENCH_CONFIG_DIR``, else ``vpn-configs/`` next to the source tree."""
    explicit = os.environ.get(CONFIG_DIR_ENV)
    if explicit:
        return Path(explicit)
    return Path(__file__).resolve().parents[2] / "vpn-configs"


def _read_toml(path: Path) -> dict[str, object]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(
            f"{path} not found; set {CONFIG_DIR_ENV} to the vpn-configs directory"
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: {error}") from None


def load_testbed(directory: Path | None = None) -> TestbedSettings:
    path = (directory or config_dir()) / "testbed.toml"
    try:
        return TestbedSettings.model_validate(_read_toml(path))
    except ValidationError as error:
        raise ConfigError(f"{path}: {error}") from None


def load_vpns(directory: Path | None = None) -> dict[str, VpnSettings]:
    """Every ``vpns/<name>.toml``, keyed by name (the file stem must equal ``name``)."""
    vpn_dir = (directory or config_dir()) / "vpns"
    settings: dict[str, VpnSettings] = {}
    for path in sorted(vpn_dir.glob("*.toml")):
        try:
            vpn = VpnSettings.model_validate(_read_toml(path))
        except ValidationError as error:
            raise ConfigError(f"{path}: {error}") from None
        if vpn.name != path.stem:
            raise ConfigError(f"{path}: name {vpn.name!r} differs from the file name")
        settings[vpn.name] = vpn
    if not settings:
        raise ConfigError(f"no VPN settings found in {vpn_dir}")
    return settings
