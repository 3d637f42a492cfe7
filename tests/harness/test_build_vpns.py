"""scripts/build-vpns.sh: bad input, what it reads from versions.toml, and how a failed build
reaches the harness. Nothing here compiles (those builds take minutes)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tomllib
from pathlib import Path

import pytest

from harness.hosts.local import LocalMachine
from harness.settings.loader import load_vpns
from harness.vpns.builds import build_failures
from harness.vpns.registry import create_adapter

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "build-vpns.sh"
VERSIONS = tomllib.loads((REPO / "vpn-configs" / "versions.toml").read_text())


def build(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=120,
                          cwd=REPO)


@pytest.mark.parametrize(("args", "message"), [
    (["--group", "x"], "unknown group 'x'; valid: setup, extra, all"),
    (["--only", "nope"], "unknown build 'nope'; valid: wireguard-go nebula"),
    (["--prefix", "relative"], "--prefix must be an absolute path"),
    (["--bogus"], "unknown argument '--bogus'; valid:"),
])
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str,
                                          tmp_path: Path) -> None:
    result = build(*args, *([] if "--prefix" in args else ["--prefix", str(tmp_path / "p")]))
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "p").exists()


def test_list_names_every_build_of_versions_toml() -> None:
    result = build("--list")
    assert result.returncode == 0
    listed = {line.split()[0]: line.split() for line in result.stdout.splitlines()}
    assert set(listed) == set(VERSIONS)
    for name, entry in VERSIONS.items():
        assert listed[name][1:3] == [entry["source"], entry["group"]]
        assert listed[name][-1] == entry["version"]
        assert entry["reason"].strip() and entry["vpn"] in load_vpns()


def test_missing_or_altered_vendor_archive_fails_that_build(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prefix = tmp_path / "prefix"
    vendor = tmp_path / "vendor"
    vendor.mkdir()
    result = build("--prefix", str(prefix), "--vendor", str(vendor), "--only", "tinc")
    assert result.returncode == 1
    assert "tinc 1.1pre18: FAILED at step 'verify'" in result.stdout
    assert "FAILED: tinc" in result.stdout

    # An archive whose checksum does not match is refused before it is unpacked.
    archive = vendor / "tinc-1.1pre18.tar.gz"
    archive.write_bytes(b"not the archive")
    (vendor / "SHA256SUMS").write_text(f"{hashlib.sha256(b'other').hexdigest()}  {archive.name}\n")
    result = build("--prefix", str(prefix), "--vendor", str(vendor), "--only", "tinc")
    assert result.returncode == 1
    assert "does not match its SHA256SUMS line" in result.stdout
    assert not (prefix / "cache" / "src" / "tinc-1.1pre18").exists()

    record = json.loads((prefix / "failed" / "tinc.json").read_text())
    assert record["vpn"] == "tinc" and record["step"] == "verify"
    assert [f.build for f in build_failures("tinc", prefix)] == ["tinc"]
    monkeypatch.setenv("VPN_BENCH_PREFIX", str(prefix))
    reason = create_adapter(load_vpns()["tinc"]).unavailable_reason(LocalMachine())
    assert reason is not None and "tinc 1.1pre18 failed at step 'verify'" in reason
    assert not (prefix / "bin" / "tincd").exists()
    assert os.listdir(prefix / "bin") == []
