"""Generate the material of the selected VPNs for the testbed's hosts and install it."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from harness.errors import UsageError
from harness.keys.files import KeyFile, KeyRequest
from harness.keys.registry import GENERATORS
from harness.keys.tools import missing
from harness.keys.writer import (
    InstallReport,
    check_out_dir,
    existing_key_files,
    install,
    refusal_message,
)
from harness.settings.loader import ConfigError, load_testbed, load_vpns


def missing_tools_message(vpns: Sequence[str]) -> str | None:
    """None when every tool is on PATH; else which VPN needs what, and where to get it."""
    needs = [(vpn, requirement) for vpn in vpns for requirement in GENERATORS[vpn].tools]
    absent = {requirement.binary for requirement in missing(req for _, req in needs)}
    if not absent:
        return None
    lines = [f"{vpn} needs {requirement.how_to_install()}"
             for vpn, requirement in needs if requirement.binary in absent]
    blocked = {vpn for vpn, requirement in needs if requirement.binary in absent}
    others = [vpn for vpn in vpns if vpn not in blocked]
    hint = f"; or leave them out: --vpn {','.join(others)}" if others else ""
    return "missing tools on PATH: " + "; ".join(lines) + hint


def generate_all(vpns: Sequence[str], config_dir: Path | None) -> list[KeyFile]:
    """Every file of ``vpns`` in memory; the scratch directory is gone when this returns."""
    hosts = tuple(load_testbed(config_dir).hosts)
    settings = load_vpns(config_dir)
    for vpn in vpns:
        if vpn not in settings:
            raise ConfigError(f"vpn-configs has no vpns/{vpn}.toml; vpn-bench keys needs it")
    files: list[KeyFile] = []
    with tempfile.TemporaryDirectory(prefix="vpn-bench-keys-") as scratch:
        for vpn in vpns:
            workdir = Path(scratch) / vpn
            workdir.mkdir(mode=0o700)
            files += GENERATORS[vpn].generate(KeyRequest(hosts, settings[vpn], workdir))
    return files


def make_keys(out: Path, vpns: Sequence[str], *, force: bool,
              config_dir: Path | None = None) -> InstallReport:
    """Check everything that can be checked, generate, then install all at once."""
    check_out_dir(out)
    existing = existing_key_files(out, vpns)
    if existing and not force:
        raise UsageError(refusal_message(out, existing))
    problem = missing_tools_message(vpns)
    if problem:
        raise UsageError(problem)
    return install(out, generate_all(vpns, config_dir), vpns, force=force)
