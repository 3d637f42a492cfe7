"""The ssh backend against real sshd daemons: each host is a namespace of a local testbed
running its own sshd (own host key, own config) on its LAN address; this process reaches the
LAN through a veth into the bridge. The normal plan runs through the SSH backend and gives
the same records as the local backend; a changed host key is refused, naming the host."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.hosts.base import Process
from harness.records.models import Status
from harness.records.store import RunStore
from harness.settings.loader import load_testbed
from harness.testbed.base import TestbedRequest
from harness.testbed.local.system import in_netns, run_root
from harness.testbed.local.testbed import LocalTestbed, LocalTestbedSpec
from harness.testbed.ssh.inventory import load_inventory
from harness.testbed.ssh.testbed import SshTestbed

pytestmark = [pytest.mark.root, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SSHD = "/usr/sbin/sshd"
#: This process's address on the testbed LAN (hosts are .1, .2, .3).
CONTROLLER_HOST_NUMBER = 250
#: yuki listens on another port, so the [address]:port form of known_hosts is exercised.
PORTS = {"yuki": 2222}


def vpn_bench(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO)


@dataclass
class SshHosts:
    """A namespace testbed whose hosts run sshd, and an inventory for them."""

    testbed: LocalTestbed
    inventory: Path
    workdir: Path
    sshd: dict[str, Process]

    def address(self, host: str) -> str:
        return self.testbed.lan_address(host)

    def port(self, host: str) -> int:
        return PORTS.get(host, 22)

    def start_sshd(self, host: str) -> None:
        namespace_host = self.testbed.host(host)
        namespace_host.succeed(["mkdir", "-p", "-m", "755", "/run/sshd"])  # the host's /run
        self.sshd[host] = namespace_host.start(
            [SSHD, "-D", "-e", "-f", str(self.workdir / host / "sshd_config")], name="sshd")
        wait_listening(self.address(host), self.port(host), self.sshd[host])

    def new_host_key(self, host: str) -> None:
        """Simulate a reinstalled host: a new key, sshd restarted with it."""
        self.sshd[host].stop()
        key = self.workdir / host / "ssh_host_ed25519_key"
        key.unlink()
        key.with_suffix(".pub").unlink()
        keygen(key)
        self.start_sshd(host)


def keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", str(path)],
                   check=True, capture_output=True)


def wait_listening(address: str, port: int, process: Process, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        with contextlib.suppress(OSError), socket.create_connection((address, port), 1):
            return
        if not process.is_running() or time.monotonic() > deadline:
            raise RuntimeError(f"sshd on {address}:{port} not listening: {process.log_tail()}")
        time.sleep(0.1)


def sshd_config(host_dir: Path, address: str, port: int, authorized_keys: Path) -> str:
    return "\n".join([
        f"ListenAddress {address}:{port}",
        f"HostKey {host_dir / 'ssh_host_ed25519_key'}",
        "PidFile none",
        "PermitRootLogin prohibit-password",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        f"AuthorizedKeysFile {authorized_keys}",
        "StrictModes no",
        "PrintMotd no",
        "LogLevel ERROR",
    ]) + "\n"


@contextlib.contextmanager
def controller_link(testbed: LocalTestbed) -> Iterator[None]:
    """A veth from this (root) namespace into the LAN bridge, with an address in the LAN
    subnet: no default route is added anywhere, so nothing reaches beyond the testbed."""
    local, peer = f"vpbc{testbed.names.testbed_id[:8]}", f"vpbp{testbed.names.testbed_id[:8]}"
    subnet = testbed.spec.lan.subnet
    prefix = subnet.split("/")[1]
    address = subnet.split("/")[0].rsplit(".", 1)[0] + f".{CONTROLLER_HOST_NUMBER}"
    run_root(["ip", "link", "add", local, "type", "veth", "peer", "name", peer,
              "netns", testbed.lan_netns])
    try:
        run_root(in_netns(testbed.lan_netns, ["ip", "link", "set", peer, "master", "br0", "up"]))
        run_root(["ip", "addr", "add", f"{address}/{prefix}", "dev", local])
        run_root(["ip", "link", "set", local, "up"])
        yield
    finally:
        run_root(["ip", "link", "del", local], check=False)


@pytest.fixture
def ssh_hosts() -> Iterator[SshHosts]:
    with tempfile.TemporaryDirectory(prefix="vpbtest-sshd-") as directory:
        yield from _ssh_hosts(Path(directory))


def _ssh_hosts(workdir: Path) -> Iterator[SshHosts]:
    """Keys, configs, inventory and the hosts' state directories live in ``workdir``."""
    settings = load_testbed()
    keygen(workdir / "client_key")
    authorized = workdir / "authorized_keys"
    authorized.write_text((workdir / "client_key.pub").read_text())
    with LocalTestbed(LocalTestbedSpec(hosts=settings.hosts, lan=settings.lan)) as testbed, \
            controller_link(testbed):
        hosts = SshHosts(testbed, workdir / "inventory.toml", workdir, {})
        lines = ["[defaults]", 'user = "root"', 'identity_file = "client_key"',
                 'known_hosts = "known_hosts"', ""]
        for name in testbed.host_names:
            host_dir = workdir / name
            host_dir.mkdir(mode=0o700)
            keygen(host_dir / "ssh_host_ed25519_key")
            (host_dir / "sshd_config").write_text(
                sshd_config(host_dir, hosts.address(name), hosts.port(name), authorized))
            hosts.start_sshd(name)
            lines += [f"[hosts.{name}]", f'address = "{hosts.address(name)}"',
                      f"port = {hosts.port(name)}",
                      # the namespace hosts share this machine's filesystem
                      f'state_dir = "{workdir / "state" / name}"', ""]
        hosts.inventory.write_text("\n".join(lines))
        yield hosts  # the testbed's exit stops every sshd (by PID) and removes the namespaces


def _control_dirs() -> set[str]:
    return {path.name for path in Path(tempfile.gettempdir()).glob("vpb-ssh-*")}


def _cells(run_dir: Path) -> tuple[set[tuple[str, str, int, str, str]], list[str]]:
    records = RunStore.open_existing(run_dir).load_records()
    cells = {(r.vpn, r.profile, r.repetition, r.test, r.link) for r in records}
    failed = [f"{r.vpn} {r.test} {r.link}: {r.error}" for r in records
              if r.status is not Status.OK]
    return cells, failed


def _run_dir(out: Path) -> Path:
    (run_dir,) = [path for path in out.iterdir() if path.is_dir()]
    return run_dir


RUN_ARGS = ("--vpn", "internal,wireguard", "--test", "tcp,ping", "--duration", "2",
            "--ping-count", "5", "--no-progress")


def test_plan_over_ssh_gives_the_local_backends_records(ssh_hosts: SshHosts,
                                                         tmp_path: Path) -> None:
    trusted = vpn_bench("hosts", "trust", "--inventory", str(ssh_hosts.inventory), "--yes")
    assert trusted.returncode == 0, trusted.stderr
    assert trusted.stdout.count("SHA256:") == 3, trusted.stdout
    pinned = (ssh_hosts.workdir / "known_hosts").read_text()
    assert "[10.77.0.2]:2222 ssh-ed25519 " in pinned and "\n10.77.0.1 ssh-ed25519 " in \
        f"\n{pinned}"

    dirs_before = _control_dirs()
    over_ssh = vpn_bench("run", "--inventory", str(ssh_hosts.inventory), *RUN_ARGS,
                         "--out", str(tmp_path / "ssh-runs"))
    assert over_ssh.returncode == 0, over_ssh.stdout + over_ssh.stderr
    local = vpn_bench("run", *RUN_ARGS, "--out", str(tmp_path / "local-runs"))
    assert local.returncode == 0, local.stdout + local.stderr

    ssh_run, local_run = _run_dir(tmp_path / "ssh-runs"), _run_dir(tmp_path / "local-runs")
    ssh_cells, ssh_failed = _cells(ssh_run)
    local_cells, local_failed = _cells(local_run)
    assert not ssh_failed and not local_failed, (ssh_failed, local_failed)
    assert ssh_cells == local_cells
    assert {cell[0] for cell in ssh_cells} == {"internal", "wireguard"}
    assert len(ssh_cells) == 2 * 2 * 3  # VPNs x tests x links of the ring of 3 hosts

    resumed = vpn_bench("run", "--resume", str(ssh_run), "--inventory",
                        str(ssh_hosts.inventory), "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    assert "12/12 measurements ok" in resumed.stdout
    wrong = vpn_bench("run", "--resume", str(ssh_run), "--no-progress")
    assert wrong.returncode == 2
    assert "used the ssh backend, not local (pass its --inventory FILE)" in wrong.stderr

    manifest = json.loads((ssh_run / "manifest.json").read_text())
    assert manifest["backend"] == "ssh"
    inventory = manifest["metadata"]["inventory"]
    assert inventory["hosts"]["yuki"]["port"] == 2222
    assert inventory["hosts"]["lom"]["identity_file"].endswith("client_key")
    private_key = (ssh_hosts.workdir / "client_key").read_text().split("\n")[1]
    assert private_key not in (ssh_run / "manifest.json").read_text()
    session = json.loads((ssh_run / "wireguard/baseline/rep0/session.json").read_text())
    assert session["status"] == "ok"
    assert session["testbed"]["backend"] == "ssh"
    assert session["testbed"]["hosts"]["lom"]["interface"] == "lan0"  # the route's device

    # everything the runs started on the hosts is gone: no testbed state, no daemons, no
    # master connections, no control directories
    for name in ssh_hosts.testbed.host_names:
        state = ssh_hosts.workdir / "state" / name
        assert not state.exists() or not list(state.glob("testbed-*")), list(state.iterdir())
    assert _control_dirs() == dirs_before
    masters = subprocess.run(["pgrep", "-f", f"ssh .*{ssh_hosts.workdir}"],
                             capture_output=True, text=True).stdout.split()
    assert masters == []
    daemons = subprocess.run(["pgrep", "-f", f"{ssh_hosts.workdir / 'state'}"],
                             capture_output=True,
                             text=True).stdout.split()
    assert daemons == []


def test_a_changed_host_key_is_refused_naming_the_host(ssh_hosts: SshHosts,
                                                       tmp_path: Path) -> None:
    inventory = str(ssh_hosts.inventory)
    assert vpn_bench("hosts", "trust", "--inventory", inventory, "--yes").returncode == 0
    out = tmp_path / "runs"

    # no sch_netem on this kernel: an impaired profile is refused before anything starts
    impaired = vpn_bench("run", "--inventory", inventory, "--vpn", "internal", "--test", "ping",
                         "--profile", "low", "--out", str(out), "--no-progress")
    if not ssh_hosts.testbed.hosts[0].has_netem():
        assert impaired.returncode == 1
        assert "no sch_netem on lom, yuki, luna" in " ".join(impaired.stderr.split())
        assert not out.exists()

    ssh_hosts.new_host_key("lom")
    refused = vpn_bench("run", "--inventory", inventory, "--vpn", "internal", "--test", "ping",
                        "--ping-count", "2", "--out", str(out), "--no-progress")
    assert refused.returncode == 2  # a host that cannot be used is bad input
    message = " ".join(refused.stderr.split())
    assert "host lom (root@10.77.0.1:22): its SSH host key CHANGED" in message, refused.stderr
    assert not out.exists() or not list(out.iterdir()), "nothing may be started"

    again = vpn_bench("hosts", "trust", "--inventory", inventory, "--yes")
    assert again.returncode == 1
    assert "host lom (10.77.0.1): its keys differ from the ones pinned" in \
        " ".join(again.stderr.split())
    replaced = vpn_bench("hosts", "trust", "--inventory", inventory, "--yes", "--replace")
    assert replaced.returncode == 0, replaced.stderr
    assert "lom: pinned" in replaced.stdout


def test_ssh_hosts_run_supervise_and_clean_up_on_failure(ssh_hosts: SshHosts) -> None:
    """The Host verbs over real SSH, and a testbed left by an exception: its daemons are
    stopped on the host, its state directory removed, its master connections closed."""
    assert vpn_bench("hosts", "trust", "--inventory", str(ssh_hosts.inventory),
                     "--yes").returncode == 0
    inventory = load_inventory(ssh_hosts.inventory)
    request = TestbedRequest(hosts=ssh_hosts.testbed.host_names, lan=load_testbed().lan)
    dirs_before = _control_dirs()
    with pytest.raises(RuntimeError, match="failure inside the testbed"), \
            SshTestbed(inventory, request) as testbed:
        yuki = testbed.host("yuki")
        assert yuki.succeed(["ip", "-br", "addr", "show", "dev", "lan0"]).split()[2] == \
            "10.77.0.2/24"  # the command ran in yuki's namespace, over its sshd
        assert testbed.host_lan_interface("yuki") == "lan0"
        slow = yuki.run(["sleep", "30"], timeout=1)
        assert slow.timed_out and not slow.ok
        path = yuki.state_dir / "vpn" / "note"
        yuki.write_file(path, "it's 'quoted' $HOME\n")
        assert yuki.read_text(path) == "it's 'quoted' $HOME\n"
        assert yuki.which("iperf3") == "/usr/bin/iperf3" and yuki.which("no-such-x") is None
        echo = yuki.start(["sh", "-c", 'echo "started $WHO"; exec sleep 600'], name="sleeper",
                          env={"WHO": "yuki"})
        quick = yuki.start(["sh", "-c", "echo bye; exit 7"], name="quick")
        assert quick.wait(10) == 7 and quick.log_tail() == "bye"
        assert echo.is_running() and echo.returncode() is None
        assert Path(f"/proc/{echo.pid}/cmdline").read_bytes().startswith(b"sleep\x00600")
        assert wait_for_output(echo, "started yuki")
        assert echo in yuki.processes() and quick not in yuki.processes()
        pid, state = echo.pid, yuki.state_dir
        raise RuntimeError("failure inside the testbed")
    assert not Path(f"/proc/{pid}").exists()
    assert not Path(state).exists()
    assert _control_dirs() == dirs_before


def wait_for_output(process: Process, text: str, timeout_s: float = 10) -> bool:
    deadline = time.monotonic() + timeout_s
    while text not in process.output():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True
