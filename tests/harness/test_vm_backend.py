"""The vm backend (NixOS test-driver VMs) without a VM: the harness's side of the driver's
``Machine.execute`` contract, run for real.

``ShellMachine`` is a stand-in with the driver's signature and behaviour (nixos/lib/test-driver:
``timeout T bash -c 'set -euo pipefail; CMD'``, stdout returned, stderr not, no stdin); it runs
the command with this machine's bash, inside a real network namespace for the root tests. So
the wrapping, PID tracking, file transfer and the testbed run real commands and daemons;
only the QEMU guest is replaced.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pytest

from harness.errors import UsageError
from harness.hosts.vm import VmError, VmHost, guest_command, split_output
from harness.records.store import RunStore
from harness.settings.models import LanSettings
from harness.testbed import vm
from harness.testbed.backends import BACKEND_NAMES, get_backend
from harness.testbed.base import TestbedError, TestbedRequest

REPO = Path(__file__).resolve().parents[2]
LAN = LanSettings(subnet="192.168.1.0/24", interface="eth1")


@dataclass(eq=False)
class ShellMachine:
    """The test driver's ``Machine.execute`` contract over a real shell (in ``netns``). Like
    the driver, which has one shell per guest, it refuses a second call while one runs."""

    name: str
    netns: str | None = None
    busy: threading.Lock = field(default_factory=threading.Lock)

    def execute(self, command: str, check_return: bool = True, check_output: bool = True,
                timeout: int | None = 900) -> tuple[int, str]:
        if not self.busy.acquire(blocking=False):
            raise RuntimeError(f"{self.name}: execute called while another call runs")
        try:
            argv = ["ip", "netns", "exec", self.netns] if self.netns else []
            if timeout is not None:
                argv += ["timeout", str(timeout)]
            argv += ["bash", "-c", f"set -euo pipefail; {command}"]
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, check=False)
            return done.returncode, done.stdout.decode(errors="replace")
        finally:
            self.busy.release()

    def wait_for_unit(self, unit: str, timeout: int = 900) -> None:
        """A namespace has no systemd of its own: the stand-in is up once it answers."""
        status, _ = self.execute("true", timeout=timeout)
        assert status == 0, f"{self.name} does not answer"


class BrokenMachine:
    name = "lom"

    def execute(self, command: str, check_return: bool = True, check_output: bool = True,
                timeout: int | None = 900) -> tuple[int, str]:
        raise ConnectionResetError("shell socket closed")


def gone(pid: int) -> bool:
    """No such process, or only a zombie left for its (sub)reaper to collect."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


@pytest.fixture
def host(tmp_path: Path) -> VmHost:
    return VmHost(ShellMachine("lom"), PurePosixPath(tmp_path / "state"))


# -- outside the driver -----------------------------------------------------------------------

def test_vm_is_a_registered_backend_refused_outside_the_driver() -> None:
    assert "vm" in BACKEND_NAMES
    vm.detach_machines()
    with pytest.raises(UsageError, match=r"only inside the NixOS test driver.*nix run \.#bench-vm"):
        get_backend("vm")


def test_run_with_backend_vm_outside_the_driver_is_one_line_exit_2(tmp_path: Path) -> None:
    out = tmp_path / "results"
    for extra in ([], ["--dry-run"]):
        result = subprocess.run(
            [sys.executable, "-m", "harness", "run", "--backend", "vm", "--vpn", "internal",
             "--test", "ping", "--out", str(out), *extra],
            capture_output=True, text=True, timeout=60, cwd=REPO, check=False)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2, result.stdout + result.stderr
        assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
        assert "nix run .#bench-vm" in lines[0] and "valid backends: local, ssh" in lines[0]
        assert not out.exists()


def test_attach_needs_an_address_for_every_machine() -> None:
    with pytest.raises(ValueError, match="no LAN address for yuki"):
        vm.attach_machines({"lom": ShellMachine("lom"), "yuki": ShellMachine("yuki")},
                           {"lom": "192.168.1.1"}, "eth1")
    assert vm.attached() is None


def test_a_driver_failure_names_the_vm(tmp_path: Path) -> None:
    host = VmHost(BrokenMachine(), PurePosixPath(tmp_path))
    with pytest.raises(VmError, match="VM lom: the test driver could not run a command"):
        host.run(["true"], timeout=5)


# -- the command wrapper, through the driver's contract ----------------------------------------

#: A short command runs through one execute; a long one detached and polled.
BOTH_PATHS = pytest.mark.parametrize("timeout", [10.0, 60.0], ids=["direct", "detached"])


@BOTH_PATHS
def test_stdout_stderr_and_status_come_back_separately(host: VmHost, timeout: float) -> None:
    result = host.run(["sh", "-c", "printf 'out\\n'; echo 'err ✓' >&2; exit 3"], timeout=timeout)
    assert (result.returncode, result.stdout, result.stderr) == (3, "out\n", "err ✓\n")
    assert not result.ok and not result.timed_out


@BOTH_PATHS
def test_arguments_environment_and_input_survive_the_shells(host: VmHost,
                                                            timeout: float) -> None:
    odd = "a b'c\"d $HOME `x` \\ ;|&\nnext line ✓"
    assert host.succeed(["printf", "%s", odd], timeout=timeout) == odd
    assert host.succeed(["sh", "-c", 'printf %s "$VPB_X"'], env={"VPB_X": odd},
                        timeout=timeout) == odd
    text = "line 1\nline 2 ✓\n"
    assert host.succeed(["cat"], input_text=text, timeout=timeout) == text
    assert host.succeed(["cat"], timeout=timeout) == ""  # no input: /dev/null


def test_long_commands_leave_the_shell_to_concurrent_ones(host: VmHost, tmp_path: Path) -> None:
    """A long command (the iperf3 client) must not hold the guest's one shell: a command
    that only ends once another one has run proves they overlapped."""
    flag = tmp_path / "flag"
    waiter = ["sh", "-c", f'while [ ! -e "{flag}" ]; do sleep 0.1; done; echo waited']
    with ThreadPoolExecutor(max_workers=2) as pool:
        waiting = pool.submit(host.run, waiter, timeout=30)
        for _ in range(100):  # the waiter has started once its directory exists
            if list(Path("/tmp").glob("vpb-command.*")):
                break
            subprocess.run(["sleep", "0.05"], check=True)
        done = [pool.submit(host.run, ["touch", str(flag)], timeout=5),
                pool.submit(host.run, ["cat", "/proc/loadavg"], timeout=5)]
        assert all(future.result().ok for future in done)
        result = waiting.result()
    assert result.ok and result.stdout == "waited\n"


def test_a_long_command_over_its_timeout_is_stopped(host: VmHost) -> None:
    result = host.run(["sleep", "60"], timeout=16)
    assert result.timed_out and result.returncode == 124


def test_large_input_is_uploaded_in_chunks_and_removed(host: VmHost, tmp_path: Path) -> None:
    data = os.urandom(150_000)  # base64: 200 000 characters, beyond one bash -c argument
    target = PurePosixPath(tmp_path / "state" / "blob")
    host.write_file(target, data, mode=0o640)
    assert host.read_file(target) == data
    assert oct(Path(target).stat().st_mode & 0o777) == "0o640"
    leftovers = subprocess.run(["find", "/tmp", "-maxdepth", "1", "-name", "tmp.*.b64"],
                               capture_output=True, text=True, check=False).stdout
    assert leftovers == ""


def test_a_command_over_its_timeout_is_stopped_and_says_so(host: VmHost) -> None:
    result = host.run(["sleep", "30"], timeout=1)
    assert result.timed_out and result.returncode == 124


def test_split_output_without_marker_keeps_everything() -> None:
    assert split_output("partial output", "\n--m--\n") == ("partial output", "")
    command = guest_command(["true"], marker="M", timeout_s=2.5)
    assert command.startswith("vpb_err=$(mktemp)") and "timeout --kill-after=2 2.5 true" in command


# -- background processes, tracked by PID on the guest ----------------------------------------

def test_a_started_process_is_tracked_signalled_and_stopped(host: VmHost) -> None:
    process = host.start(["sh", "-c", "echo started; trap 'echo got USR1' USR1; "
                          "while :; do sleep 0.1; done"], name="looper")
    assert process.pid > 0 and process.is_running()
    assert host.processes() == [process]
    Path(f"/proc/{process.pid}").stat()  # a real PID on the (stand-in) guest
    process.signal(signal.SIGUSR1)
    for _ in range(50):
        if "got USR1" in process.output():
            break
        subprocess.run(["sleep", "0.1"], check=True)
    assert "started" in process.log_tail() and "got USR1" in process.output()
    status = process.stop(timeout=2)
    assert status is not None and not process.is_running()
    assert host.processes() == []
    assert gone(process.pid)


def test_a_process_that_exits_reports_its_status(host: VmHost) -> None:
    process = host.start(["sh", "-c", "echo bye; exit 7"], name="short")
    assert process.wait(timeout=10) == 7
    assert process.returncode() == 7 and process.output() == "bye\n"


# -- a VM testbed of real network namespaces ---------------------------------------------------

@contextlib.contextmanager
def vm_lan(addresses: dict[str, str]) -> Iterator[dict[str, ShellMachine]]:
    """One namespace per host with ``eth1`` at its address, all on one bridge (in a switch
    namespace of its own), like the driver's VLAN; everything removed afterwards."""
    tag = secrets.token_hex(3)
    switch = f"vpbvmt-{tag}-sw"
    names = {host: f"vpbvmt-{tag}-{index}" for index, host in enumerate(addresses)}
    try:
        for netns in [switch, *names.values()]:
            subprocess.run(["ip", "netns", "add", netns], check=True)
        subprocess.run(["ip", "netns", "exec", switch, "sh", "-c",
                        "ip link add br0 type bridge && ip link set br0 up"], check=True)
        for index, (host, address) in enumerate(addresses.items()):
            inside, outside = f"vpbvm{tag}h{index}", f"vpbvm{tag}s{index}"
            subprocess.run(["ip", "link", "add", inside, "netns", names[host], "type", "veth",
                            "peer", "name", outside, "netns", switch], check=True)
            subprocess.run(["ip", "netns", "exec", switch, "sh", "-c",
                            f"ip link set {outside} master br0 && ip link set {outside} up"],
                           check=True)
            subprocess.run(["ip", "netns", "exec", names[host], "sh", "-c",
                            f"ip link set {inside} name eth1 && "
                            f"ip address add {address}/24 dev eth1 && "
                            "ip link set eth1 up && ip link set lo up"], check=True)
        yield {host: ShellMachine(host, netns) for host, netns in names.items()}
    finally:
        vm.detach_machines()
        for netns in [*names.values(), switch]:
            subprocess.run(["ip", "netns", "del", netns], capture_output=True, check=False)


@pytest.fixture
def guests() -> Iterator[dict[str, ShellMachine]]:
    """lom and yuki, vpn-configs' first two hosts."""
    with vm_lan({"lom": "192.168.1.1", "yuki": "192.168.1.2"}) as machines:
        yield machines


@pytest.mark.root
def test_vm_testbed_runs_real_traffic_and_cleans_up(guests: dict[str, ShellMachine],
                                                    tmp_path: Path) -> None:
    vm.attach_machines(guests, {"lom": "192.168.1.1", "yuki": "192.168.1.2"}, "eth1",
                       state_root=PurePosixPath(tmp_path / "guest-state"))
    backend = get_backend("vm")
    backend.check_support()
    assert backend.control_host().name == "lom"
    request = TestbedRequest(hosts=["lom", "yuki"], lan=LAN)
    with backend.open(request) as testbed:
        lom, yuki = testbed.host("lom"), testbed.host("yuki")
        facts = testbed.describe()
        assert facts["backend"] == "vm" and "not hardware figures" in str(facts["notice"])
        hosts = facts["hosts"]
        assert isinstance(hosts, dict)
        assert hosts["yuki"]["interface"] == "eth1" and hosts["yuki"]["mtu"] == 1500
        assert hosts["yuki"]["address"] == "192.168.1.2"
        lom.succeed(["ping", "-c", "1", "-W", "5", testbed.lan_address("yuki")], timeout=15)
        server = yuki.start(["iperf3", "-s", "-1", "-J"], name="iperf3")
        report = ""
        for _ in range(20):
            attempt = lom.run(["iperf3", "-c", "192.168.1.2", "-t", "1", "-J"], timeout=30)
            if attempt.ok:
                report = attempt.stdout
                break
            subprocess.run(["sleep", "0.2"], check=True)
        assert json.loads(report)["end"]["sum_received"]["bytes"] > 0
        assert server.wait(timeout=10) == 0
        sleeper = lom.start(["sleep", "300"], name="sleeper")
        state_dirs = [Path(host.state_dir) for host in testbed.hosts]
        assert all(path.is_dir() for path in state_dirs)
    assert gone(sleeper.pid)
    assert not any(path.exists() for path in state_dirs)


@pytest.mark.root
def test_vm_testbed_refuses_unknown_hosts_and_missing_interface(
        guests: dict[str, ShellMachine], tmp_path: Path) -> None:
    vm.attach_machines(guests, {"lom": "192.168.1.1", "yuki": "192.168.1.2"}, "eth9",
                       state_root=PurePosixPath(tmp_path / "guest-state"))
    backend = get_backend("vm")
    with pytest.raises(UsageError, match="no VM luna; its VMs: lom, yuki"):
        backend.open(TestbedRequest(hosts=["lom", "luna"], lan=LAN))
    with (pytest.raises(TestbedError, match="no LAN interface 'eth9'"),
          backend.open(TestbedRequest(hosts=["lom", "yuki"], lan=LAN))):
        pass
    assert list((tmp_path / "guest-state").glob("testbed-*/*")) == []


@pytest.mark.root
def test_a_run_through_the_vm_backend_records_the_backend_and_the_notice(
        guests: dict[str, ShellMachine], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's run, in this process as in the driver, over the stand-in VMs."""
    from harness.cli.app import main

    vm.attach_machines(guests, {"lom": "192.168.1.1", "yuki": "192.168.1.2"}, "eth1",
                       state_root=PurePosixPath(tmp_path / "guest-state"))
    out = tmp_path / "results"
    monkeypatch.setattr(sys, "argv", [
        "vpn-bench", "run", "--backend", "vm", "--hosts", "2", "--vpn", "internal",
        "--test", "ping", "--param", "ping.count=3", "--out", str(out)])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code in (0, None)
    (run_dir,) = out.iterdir()
    store = RunStore.open_existing(run_dir)
    assert store.manifest.backend == "vm"
    assert "not hardware figures" in json.dumps(store.manifest.metadata)
    records = store.load_records()
    assert records and all(record.status.value == "ok" for record in records)
    assert list((tmp_path / "guest-state").glob("testbed-*/*")) == []


@pytest.mark.root
def test_the_flakes_bench_vm_script_runs_a_plan_on_stand_in_vms(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """nix/tests/bench-vm.nix's test script, rendered by Nix and executed as the driver
    would, with lom/yuki/luna at the test site's addresses (eth1, 192.168.1.n)."""
    from tests.nix.test_vm_test_scripts import bench_vm_script

    script = bench_vm_script()
    out = tmp_path / "results"
    args_file = tmp_path / "args"
    args_file.write_bytes(b"".join(f"{arg}\0".encode() for arg in [
        "--vpn", "internal", "--test", "ping", "--param", "ping.count=3", "--out", str(out)]))
    monkeypatch.setenv("VPN_BENCH_VM_ARGS_FILE", str(args_file))
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(vm, "STATE_ROOT", PurePosixPath(tmp_path / "guest-state"))
    addresses = {"lom": "192.168.1.1", "yuki": "192.168.1.3", "luna": "192.168.1.2"}
    with vm_lan(addresses) as machines:
        exec(compile(script, "bench-vm", "exec"),  # as the driver runs a test script
             {**machines, "start_all": lambda: None})
        (run_dir,) = out.iterdir()
        store = RunStore.open_existing(run_dir)
        assert store.manifest.backend == "vm" and store.manifest.hosts == ["lom", "yuki", "luna"]
        records = store.load_records()
        assert len(records) == 3 and all(record.status.value == "ok" for record in records)
