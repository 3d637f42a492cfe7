"""The files a generator returns, and where each lands in the output directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from harness.settings.models import VpnSettings


@dataclass(frozen=True)
class PublicFile:
    """Goes to ``public/<vpn>/<name>``: copied into the site, may be committed."""

    vpn: str
    name: str
    text: str

    @property
    def relative_path(self) -> PurePosixPath:
        return PurePosixPath("public", self.vpn, self.name)


@dataclass(frozen=True)
class PrivateFile:
    """Goes to ``secrets/<host>/<vpn>/<name>``: copied to that host only, never committed."""

    host: str
    vpn: str
    name: str
    text: str

    @property
    def relative_path(self) -> PurePosixPath:
        return PurePosixPath("secrets", self.host, self.vpn, self.name)


KeyFile = PublicFile | PrivateFile


@dataclass(frozen=True)
class KeyRequest:
    """What a generator needs: the hosts in ring order, the VPN's settings, a scratch dir."""

    hosts: tuple[str, ...]
    settings: VpnSettings
    workdir: Path


def file_text(value: str) -> str:
    """One value per file with exactly one trailing newline (docs/secrets.md)."""
    return value.rstrip("\n") + "\n"
