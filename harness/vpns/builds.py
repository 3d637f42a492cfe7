"""Failed daemon builds, as ``scripts/build-vpns.sh`` records them.

The script builds the versions of vpn-configs/versions.toml into a prefix (default
/opt/vpn-bench) and writes ``<prefix>/failed/<build>.json`` when a build fails. An older
binary of the same program (Debian's, say) may still be on PATH then; running it would
benchmark a version nobody asked for, so a VPN with a failed build is not runnable, and the
reason names the step that failed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

PREFIX_ENV = "VPN_BENCH_PREFIX"
DEFAULT_PREFIX = Path("/opt/vpn-bench")


@dataclass(frozen=True)
class BuildFailure:
    """One failed build of one program of a VPN."""

    build: str
    vpn: str
    implementation: str
    version: str
    step: str
    reason: str
    log: str

    def describe(self) -> str:
        return (f"the build of {self.implementation} {self.version} failed at step "
                f"'{self.step}': {self.reason} (log: {self.log}; retry: "
                f"scripts/build-vpns.sh --only {self.build})")


def parse_failure(text: str) -> BuildFailure | None:
    """A failure record, or None when the text is not one (never raises)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return None
    keys = ("build", "vpn", "implementation", "version", "step", "reason", "log")
    if not isinstance(data, dict) or not all(isinstance(data.get(key), str) for key in keys):
        return None
    return BuildFailure(**{key: data[key] for key in keys})


def build_prefix() -> Path:
    return Path(os.environ.get(PREFIX_ENV) or DEFAULT_PREFIX)


def build_failures(vpn: str, prefix: Path | None = None) -> list[BuildFailure]:
    """Failed builds recorded for ``vpn`` under the build prefix (none if it has no records)."""
    directory = (prefix or build_prefix()) / "failed"
    if not directory.is_dir():
        return []
    failures = []
    for path in sorted(directory.glob("*.json")):
        try:
            failure = parse_failure(path.read_text())
        except OSError:
            continue
        if failure is not None and failure.vpn == vpn:
            failures.append(failure)
    return failures
