"""Generate the material of the selected VPNs for the testbed's hosts and install it.

The generators are the VPN modules' own (``VpnDescription.keys``, the code their adapters
deploy with); their tools run on :class:`LocalMachine` in a scratch state directory.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from harness.errors import UsageError
from harness.hosts.base import Host
from harness.hosts.local import LocalMachine
from harness.keys.writer import (
    InstallReport,
    check_out_dir,
    existing_key_files,
    install,
    refusal_message,
)
from harness.settings.loader import ConfigError, load_testbed, load_vpns
from harness.vpns.base import BinaryRequirement
from harness.vpns.material import KeyFile, KeyGeneration, KeyRequest
from harness.vpns.registry import VPNS


def generation(vpn: str) -> KeyGeneration:
    keys = VPNS[vpn].keys
    if keys is None:
        raise UsageError(f"vpn-bench keys makes nothing for {vpn!r}")
    return keys


def missing_tools_message(vpns: Sequence[str], machine: Host) -> str | None:
    """None when every tool is on ``machine``; else which VPN needs what, where to get it."""
    needs: list[tuple[str, BinaryRequirement]] = [
        (vpn, requirement) for vpn in vpns for requirement in generation(vpn).tools]
    absent = {requirement.binary for _, requirement in needs if not requirement.is_on(machine)}
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
        machine = LocalMachine(state_dir=Path(scratch))
        for vpn in vpns:
            workdir = machine.state_dir / vpn
            Path(workdir).mkdir(mode=0o700)
            request = KeyRequest(hosts, settings[vpn], machine, workdir)
            files += generation(vpn).generate(request)
    return files


def make_keys(out: Path, vpns: Sequence[str], *, force: bool,
              config_dir: Path | None = None) -> InstallReport:
    """Check everything that can be checked, generate, then install all at once."""
    check_out_dir(out)
    existing = existing_key_files(out, vpns)
    if existing and not force:
        raise UsageError(refusal_message(out, existing))
    problem = missing_tools_message(vpns, LocalMachine())
    if problem:
        raise UsageError(problem)
    return install(out, generate_all(vpns, config_dir), vpns, force=force)
