"""The Host verbs built on run() (files, programs, kernel capabilities), exercised through
LocalMachine, whose run() is a real process on this machine."""

from __future__ import annotations

import subprocess
from pathlib import Path, PurePosixPath

import pytest

from harness.hosts.base import CommandFailed, Host
from harness.hosts.local import LocalMachine


@pytest.fixture
def host(tmp_path: Path) -> LocalMachine:
    return LocalMachine(state_dir=tmp_path / "state")


def test_write_file_is_atomic_with_mode_and_round_trips_bytes(host: LocalMachine) -> None:
    path = host.state_dir / "deep" / "dir" / "blob.bin"
    data = bytes(range(256)) * 3
    Host.write_file(host, path, data, mode=0o640)  # the run()-based default, not an override
    assert Path(path).read_bytes() == data
    assert Path(path).stat().st_mode & 0o777 == 0o640
    assert host.read_file(path) == data
    assert Host.read_file(host, path) == data
    assert sorted(p.name for p in Path(path).parent.iterdir()) == ["blob.bin"]  # no temp left


def test_text_files_directories_existence_and_removal(host: LocalMachine) -> None:
    directory = host.state_dir / "vpn" / "x"
    host.make_dir(directory, mode=0o750)
    assert Path(directory).is_dir() and Path(directory).stat().st_mode & 0o777 == 0o750
    host.write_file(directory / "config.txt", "héllo\n")
    assert host.read_text(directory / "config.txt") == "héllo\n"
    assert host.exists(directory / "config.txt") and Host.exists(host, directory)
    host.remove(directory)
    assert not host.exists(directory) and not Host.exists(host, directory)
    host.remove(directory)  # removing what is gone is not an error


def test_remove_refuses_paths_outside_the_state_dir(host: LocalMachine, tmp_path: Path) -> None:
    outside = tmp_path / "precious"
    outside.write_text("keep")
    with pytest.raises(ValueError, match="outside"):
        host.remove(PurePosixPath(outside))
    assert outside.read_text() == "keep"


def test_reading_a_missing_file_names_the_host(host: LocalMachine) -> None:
    with pytest.raises(CommandFailed, match="localhost"):
        Host.read_file(host, host.state_dir / "missing")


def test_which_and_version_line_ask_the_host(host: LocalMachine) -> None:
    assert host.which("sh") is not None and Host.which(host, "sh") == host.which("sh")
    assert host.which("no-such-program-vpb") is None
    assert Host.which(host, "no-such-program-vpb") is None
    line = host.version_line(["ip", "-V"])
    assert line is not None and "iproute2" in line
    assert host.version_line(["no-such-program-vpb", "--version"]) is None


def test_harness_programs_are_reachable_on_local_hosts(host: LocalMachine) -> None:
    """vpb-probe is a console script of the package: found on the host, runs as a program."""
    path = host.which("vpb-probe")
    assert path is not None
    result = host.run([path, "--help"], timeout=30)
    assert result.ok and "receive" in result.stdout


def _netns() -> str:
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout


@pytest.mark.root
def test_capability_probes_try_and_leave_nothing(host: LocalMachine) -> None:
    before = _netns()
    links_before = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert host.try_in_scratch_netns([["ip", "link", "set", "lo", "up"]])
    assert not host.try_in_scratch_netns([["false"]])
    netem = host.has_netem()
    expected = subprocess.run(["unshare", "--net", "--", "sh", "-c",
                               "ip link set lo up && tc qdisc add dev lo root netem delay 1ms"],
                              capture_output=True).returncode == 0
    assert netem is expected
    assert isinstance(host.has_wireguard_module(), bool)
    assert _netns() == before
    assert subprocess.run(["ip", "-o", "link"], capture_output=True,
                          text=True).stdout == links_before


def test_capabilities_are_asked_once_per_host(tmp_path: Path) -> None:
    calls: list[list[str]] = []

    class Counting(LocalMachine):
        def try_in_scratch_netns(self, commands: object) -> bool:
            calls.append(["probe"])
            return False

    counting = Counting(state_dir=tmp_path)
    assert counting.has_netem() is False and counting.has_netem() is False
    assert counting.has_wireguard_module() is False
    assert len(calls) == 2
