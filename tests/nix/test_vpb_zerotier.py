"""vpb-zerotier (nix/packages/vpb-zerotier.sh), the ZeroTier steps of the NixOS module and VM
test, run with the real zerotier-idtool: the coordinator's moon is made and installed on
another host's home as the VM test does. (join/create-network need a running zerotier-one
under systemd and are exercised by the VM test only.)"""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.nix.nixeval import REPO

SCRIPT = REPO / "nix" / "packages" / "vpb-zerotier.sh"
ENV_LINES = "ZT_PORT=9993\nZT_SUBNET=10.147.0.0/24\nZT_INTERFACE=ztvpb0\nZT_NETWORK_SUFFIX=000001\n"
IDTOOL = shutil.which("zerotier-idtool", path="/opt/vpn-bench/bin:/usr/sbin:/usr/bin")


def vpb_zerotier(tmp_path: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The script as writeShellApplication wraps it: the vpn-configs values, then the body."""
    wrapped = tmp_path / "vpb-zerotier"
    wrapped.write_text("set -o errexit -o nounset -o pipefail\n" + ENV_LINES
                       + SCRIPT.read_text())
    assert IDTOOL is not None
    env = {"PATH": f"{Path(IDTOOL).parent}:/usr/sbin:/usr/bin:/bin", "ZT_HOME": str(home)}
    return subprocess.run(["bash", str(wrapped), *args], capture_output=True, text=True,
                          env=env, timeout=60, check=False)


@pytest.mark.skipif(IDTOOL is None or shutil.which("jq") is None,
                    reason="needs zerotier-idtool (make setup) and jq")
def test_moon_of_the_coordinator_is_made_and_installed(tmp_path: Path) -> None:
    lom, yuki = tmp_path / "lom", tmp_path / "yuki"
    for home in (lom, yuki):
        home.mkdir()
        subprocess.run([str(IDTOOL), "generate", str(home / "identity.secret"),
                        str(home / "identity.public")], check=True, capture_output=True)
    node = vpb_zerotier(tmp_path, lom, "node-id")
    assert node.returncode == 0, node.stderr
    made = vpb_zerotier(tmp_path, lom, "make-moon", "192.168.1.1")
    assert made.returncode == 0, made.stderr
    name, encoded = made.stdout.split()
    assert name == f"{node.stdout.strip().rjust(16, '0')}.moon"
    added = vpb_zerotier(tmp_path, yuki, "add-moon", name, encoded)
    assert added.returncode == 0, added.stderr
    moon = (yuki / "moons.d" / name).read_bytes()
    assert moon == base64.b64decode(encoded)
    # The signed moon names lom (its 5-byte address) with its LAN endpoint 192.168.1.1/9993
    # (ZeroTier's binary InetAddress: 4 address bytes, then the port, big-endian).
    assert bytes.fromhex(node.stdout.strip()) in moon
    assert bytes([192, 168, 1, 1]) + (9993).to_bytes(2, "big") in moon


def test_bad_arguments_are_refused_with_exit_2(tmp_path: Path) -> None:
    if shutil.which("jq") is None:
        pytest.skip("needs jq")
    home = tmp_path / "home"
    home.mkdir()
    bad = vpb_zerotier(tmp_path, home, "add-moon", "../x.moon", "AAAA")
    assert bad.returncode == 2 and "world id" in bad.stderr
    assert vpb_zerotier(tmp_path, home, "make-moon").returncode == 2
    unknown = vpb_zerotier(tmp_path, home, "fly")
    assert unknown.returncode == 2 and "make-moon, add-moon" in unknown.stderr
    assert not (home / "moons.d").exists()
