"""Which implementation and version a record names, and failed builds making a VPN
unrunnable. Version texts are what the built binaries printed (scripts/build-vpns.sh)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.hosts.local import LocalMachine
from harness.settings.loader import load_vpns
from harness.vpns import nebula, tinc, wireguard, yggdrasil
from harness.vpns.builds import build_failures, parse_failure
from harness.vpns.registry import create_adapter


def test_wireguard_names_data_plane_and_tools() -> None:
    assert wireguard.describe_version(
        False, "wireguard-go v0.0.20250522",
        "wireguard-tools v1.0.20210914 - https://git.zx2c4.com/wireguard-tools/",
    ) == "wireguard-go 0.0.20250522 (wireguard-tools v1.0.20210914)"
    assert wireguard.describe_version(True, None, "wireguard-tools v1.0.20210914 - x") == (
        "kernel (wireguard-tools v1.0.20210914)")
    assert wireguard.describe_version(False, None, None) == (
        "wireguard-go (not found) (wg not found)")


def test_nebula_yggdrasil_tinc_versions() -> None:
    assert nebula.describe_version("Version: 1.10.3\n") == "nebula 1.10.3"
    assert nebula.describe_version("") is None
    assert yggdrasil.describe_version(
        "Build name: yggdrasil\nBuild version: 0.5.14\n") == "yggdrasil 0.5.14"
    assert tinc.describe_version(
        "tinc version 1.1pre18 (built Dec  2 2026 05:47:59, protocol 17.7)\nCopyright ..."
    ) == "tinc 1.1pre18 (protocol 17.7)"
    assert tinc.describe_version(
        "tinc version 1.0.36 (built Nov 25 2022 10:00:00, protocol 17)\n"
    ) == "tinc 1.0.36 (protocol 17)"


@pytest.mark.skipif(shutil.which("yggdrasil") is None, reason="yggdrasil not installed")
def test_yggdrasil_public_key_from_real_genconf(tmp_path: Path) -> None:
    generated = json.loads(subprocess.run(["yggdrasil", "-genconf", "-json"], check=True,
                                          capture_output=True, text=True).stdout)
    config = tmp_path / "y.conf"
    config.write_text(json.dumps(generated))
    printed = subprocess.run(["yggdrasil", "-useconffile", str(config), "-publickey"],
                             capture_output=True, text=True)
    if printed.returncode != 0:  # 0.4 has no -publickey, but writes PublicKey itself
        assert yggdrasil.public_key_of(generated) == generated["PublicKey"]
    else:
        assert yggdrasil.public_key_of(generated) == printed.stdout.strip()


def test_tinc_public_key_material_keeps_only_keys() -> None:
    host_file = ("Ed25519PublicKey = abcDEF\nAddress = 1.2.3.4\n\n"
                 "-----BEGIN RSA PUBLIC KEY-----\nMIIB\n-----END RSA PUBLIC KEY-----\n")
    assert tinc.public_key_material(host_file) == (
        "Ed25519PublicKey = abcDEF\n"
        "-----BEGIN RSA PUBLIC KEY-----\nMIIB\n-----END RSA PUBLIC KEY-----")


FAILURE = {"build": "nebula", "vpn": "nebula", "implementation": "nebula",
           "version": "v1.12.0", "step": "go install", "reason": "go install failed",
           "log": "/x/nebula.log"}


def test_parse_failure_rejects_other_text() -> None:
    assert parse_failure("not json") is None
    assert parse_failure(json.dumps({"build": "x"})) is None
    failure = parse_failure(json.dumps(FAILURE))
    assert failure is not None and failure.step == "go install"


def test_failed_build_makes_vpn_unrunnable(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "failed").mkdir()
    (tmp_path / "failed" / "nebula.json").write_text(json.dumps(FAILURE))
    (tmp_path / "failed" / "junk.json").write_text("{")
    assert [f.build for f in build_failures("nebula", tmp_path)] == ["nebula"]
    assert build_failures("tinc", tmp_path) == []
    monkeypatch.setenv("VPN_BENCH_PREFIX", str(tmp_path))
    reason = create_adapter(load_vpns()["nebula"]).unavailable_reason(LocalMachine())
    assert reason is not None
    assert "nebula v1.12.0 failed at step 'go install'" in reason
    assert "scripts/build-vpns.sh --only nebula" in reason
