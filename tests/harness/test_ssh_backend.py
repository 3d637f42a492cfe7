"""The ssh backend without a network: inventory validation on the real command line, the ssh
command lines, the remote process scripts (run here with the real sh), known_hosts pins."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path, PurePosixPath

import pytest

from harness.errors import UsageError
from harness.hosts.base import CommandResult
from harness.hosts.remote import (
    RemoteFiles,
    parse_started,
    running_script,
    signal_argv,
    start_script,
    stop_script,
)
from harness.hosts.ssh import (
    SshTarget,
    describe_ssh_failure,
    exit_argv,
    master_argv,
    remote_command,
    run_argv,
)
from harness.testbed.ssh.inventory import load_inventory, parse_inventory
from harness.testbed.ssh.known_hosts import (
    HostKey,
    fingerprints,
    host_pattern,
    parse_key_lines,
    pin,
    pinned_keys,
)
from harness.testbed.ssh.testbed import parse_route_device

REPO = Path(__file__).resolve().parents[2]

GOOD = """\
[defaults]
user = "root"
known_hosts = "pins"

[hosts.lom]
address = "10.0.0.1"
interface = "eth0"
[hosts.yuki]
address = "10.0.0.2"
port = 2222
[hosts.luna]
address = "luna.example"
lan_address = "10.0.0.3"
state_dir = "/srv/vpn-bench"
"""

BAD_INVENTORIES = [
    ('[hosts.lom]\nadress = "10.0.0.1"\n', "host lom: unknown key 'adress' (valid: address,"),
    ('[defaults]\nusr = "root"\n[hosts.lom]\naddress = "10.0.0.1"\n',
     "defaults: unknown key 'usr' (valid: user,"),
    ('[host.lom]\naddress = "10.0.0.1"\n', "inventory: unknown key 'host' (valid: defaults, "
                                           "hosts)"),
    ('[hosts.lom]\naddress = "10.0.0.1"\n[hosts.lom]\naddress = "10.0.0.2"\n',
     "not valid TOML: Cannot declare ('hosts', 'lom') twice"),
    ('[hosts.lom]\naddress = "10.0.0.1"\n[hosts.yuki]\naddress = "10.0.0.1"\n',
     "host yuki: address 10.0.0.1:22 is also host lom's"),
    ('[hosts.lom]\naddress = "10.0.0.1"\n[hosts.yuki]\naddress = "10.0.0.2"\n'
     'lan_address = "10.0.0.1"\n', "host yuki: LAN address 10.0.0.1 is also host lom's"),
    ('[hosts.lom]\naddress = "10.0.0.1"\n[hosts.yuki]\naddress = "10.0.0.2"\n',
     "no host luna (the plan needs lom, yuki, luna; the inventory has lom, yuki)"),
    ('[defaults]\nuser = "root"\n', "no hosts (add a [hosts.NAME] table per host)"),
    ('[hosts.lom]\naddress = "10.0.0.1"\nport = 70000\n',
     "host lom: port: Input should be less than or equal to 65535"),
    ('[hosts.lom]\naddress = "10.0.0.1"\nport = 0\n',
     "host lom: port: Input should be greater than or equal to 1"),
    ('[hosts.lom]\naddress = "10.0.0.1"\nport = "ssh"\n',
     "host lom: port: Input should be a valid integer"),
    ('[hosts.lom]\nport = 22\n', "host lom: address: Field required"),
    ('[hosts.lom]\naddress = "10.0.0.1"\nstate_dir = "relative"\n',
     "host lom: state_dir: must be an absolute path, got 'relative'"),
    ('[hosts.lom]\naddress = "lom.example"\n',
     "host lom: address 'lom.example' is not an IP address, so it cannot be the LAN address: "
     "set lan_address"),
    ('[hosts.lom]\naddress = "10.0.0.1"\nidentity_file = "nokey"\n',
     "host lom: identity_file"),
    ('[hosts.Lom]\naddress = "10.0.0.1"\n', "host 'Lom': bad name"),
    ('[hosts.lom\naddress = "10.0.0.1"\n', "not valid TOML"),
]


def vpn_bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                          text=True, timeout=60, cwd=REPO)


@pytest.mark.parametrize(("text", "message"), BAD_INVENTORIES)
def test_bad_inventory_is_one_line_exit_2_and_nothing_created(
        text: str, message: str, tmp_path: Path) -> None:
    inventory = tmp_path / "bad.toml"
    inventory.write_text(text)
    out = tmp_path / "results"
    result = vpn_bench("run", "--inventory", str(inventory), "--dry-run", "--vpn", "internal",
                       "--out", str(out))
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith(f"error: inventory {inventory}: ")
    assert message in lines[0]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["bad.toml"]


def test_missing_inventory_file_and_backend_without_inventory(tmp_path: Path) -> None:
    result = vpn_bench("run", "--inventory", str(tmp_path / "none.toml"), "--dry-run")
    assert result.returncode == 2
    assert f"inventory {tmp_path / 'none.toml'}: no such file" in result.stderr
    result = vpn_bench("run", "--backend", "ssh", "--dry-run")
    assert result.returncode == 2
    assert "the ssh backend needs --inventory FILE" in result.stderr
    result = vpn_bench("hosts", "trust", "--inventory", str(tmp_path / "none.toml"))
    assert result.returncode == 2 and "no such file" in result.stderr


def test_good_inventory_resolves_defaults_and_plans(tmp_path: Path) -> None:
    inventory_file = tmp_path / "hosts.toml"
    inventory_file.write_text(GOOD)
    inventory = load_inventory(inventory_file)
    assert inventory.known_hosts == tmp_path / "pins"
    lom, yuki, luna = (inventory.host(name) for name in ("lom", "yuki", "luna"))
    assert (lom.port, lom.user, lom.interface, lom.lan_address) == (22, "root", "eth0",
                                                                     "10.0.0.1")
    assert (yuki.port, yuki.interface, yuki.state_dir) == (2222, None, "/var/lib/vpn-bench")
    assert (luna.address, luna.lan_address, luna.state_dir) == ("luna.example", "10.0.0.3",
                                                                "/srv/vpn-bench")
    summary = inventory.summary()
    assert summary["known_hosts"] == str(tmp_path / "pins")
    result = vpn_bench("run", "--inventory", str(inventory_file), "--dry-run", "--vpn",
                       "internal", "--out", str(tmp_path / "results"))
    assert result.returncode == 0, result.stderr
    assert "hosts: lom, yuki, luna" in result.stdout
    assert not (tmp_path / "results").exists()
    offloads = vpn_bench("run", "--inventory", str(inventory_file), "--dry-run",
                         "--offloads", "off")
    assert offloads.returncode == 2
    assert "the ssh backend leaves real NICs' offloads as they are" in offloads.stderr


def test_identity_file_is_relative_to_the_inventory(tmp_path: Path) -> None:
    (tmp_path / "id").write_text("secret")
    inventory = parse_inventory({"defaults": {"identity_file": "id"},
                                 "hosts": {"lom": {"address": "10.0.0.1"}}},
                                tmp_path / "inv.toml")
    assert inventory.host("lom").identity_file == tmp_path / "id"
    assert "secret" not in str(inventory.summary())
    with pytest.raises(UsageError, match="no host yuki"):
        inventory.require_hosts(["lom", "yuki"])


TARGET = SshTarget(name="yuki", address="10.0.0.2", user="root", port=2222,
                   known_hosts=Path("/inv/known_hosts"), identity_file=Path("/inv/id"),
                   control_path=Path("/tmp/vpb-ssh-x/yuki"))


def _option(argv: list[str], name: str) -> str:
    values = [argv[i + 1].split("=", 1)[1] for i, word in enumerate(argv[:-1])
              if word == "-o" and argv[i + 1].startswith(f"{name}=")]
    assert len(values) == 1, (name, argv)
    return values[0]


def test_run_command_line_verifies_keys_and_multiplexes() -> None:
    argv = run_argv(TARGET, ["sh", "-c", "echo $HOME 'x'"], env={"A": "b c"}, timeout_s=5)
    assert argv[0] == "ssh"
    assert _option(argv, "StrictHostKeyChecking") == "yes"
    assert _option(argv, "UserKnownHostsFile") == "/inv/known_hosts"
    assert _option(argv, "GlobalKnownHostsFile") == "/dev/null"
    assert _option(argv, "BatchMode") == "yes"
    assert _option(argv, "ControlPath") == "/tmp/vpb-ssh-x/yuki"
    assert _option(argv, "ControlMaster") == "no"
    assert argv[argv.index("-p") + 1] == "2222" and argv[argv.index("-l") + 1] == "root"
    assert argv[argv.index("-i") + 1] == "/inv/id"
    assert argv[-3:-1] == ["--", "10.0.0.2"]
    assert argv[-1] == ("timeout --kill-after=2 5 env 'A=b c' sh -c 'echo $HOME '\"'\"'x'\"'\"''")


def test_remote_command_survives_the_remote_shell() -> None:
    """What the host's shell makes of the line: exactly the argv and env we meant."""
    line = remote_command(["sh", "-c", 'printf "%s|" "$0" "$1" "$A"', "a b", "$c;'d'"],
                          env={"A": "x y"})
    result = subprocess.run(["sh", "-c", line], capture_output=True, text=True, check=True)
    assert result.stdout == "a b|$c;'d'|x y|"


def test_master_and_exit_command_lines() -> None:
    master = master_argv(TARGET)
    assert _option(master, "ControlMaster") == "yes"
    assert _option(master, "ControlPersist") == "yes"
    assert {"-f", "-N"} <= set(master)
    closing = exit_argv(TARGET)
    assert closing[closing.index("-O") + 1] == "exit"
    assert _option(closing, "ControlPath") == "/tmp/vpb-ssh-x/yuki"
    plain = run_argv(SshTarget(name="lom", address="10.0.0.1", user="u",
                               known_hosts=Path("/k")), ["true"])
    assert _option(plain, "ControlPath") == "none" and "-i" not in plain
    assert signal_argv(10, 4242) == ["kill", "-s", "USR1", "--", "-4242"]


def _sh(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=30)


def test_start_running_stop_scripts_supervise_a_real_process(tmp_path: Path) -> None:
    files = RemoteFiles(PurePosixPath(tmp_path / "processes" / "daemon.1"))
    started = _sh(start_script(files, ["sh", "-c", 'echo "up $WHO"; exec sleep 60'],
                               env={"WHO": "lom"}))
    pgid, pid = parse_started(started.stdout)
    try:
        assert _sh(running_script(files, pid)).returncode == 0
        deadline = time.monotonic() + 10
        while "up lom" not in Path(files.log).read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert Path(files.log).read_text() == "up lom\n"
        stopped = _sh(stop_script(files, pgid, pid, timeout_s=5))
        assert stopped.stdout.split() == ["143"]  # sleep ended by TERM: 128 + 15
        assert _sh(running_script(files, pid)).returncode != 0
    finally:
        _sh(f"kill -KILL -{pgid} 2>/dev/null")


def test_stop_script_kills_what_ignores_term_and_exit_status_is_kept(tmp_path: Path) -> None:
    stubborn = RemoteFiles(PurePosixPath(tmp_path / "stubborn"))
    pgid, pid = parse_started(_sh(start_script(
        stubborn, ["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.1; done"])).stdout)
    try:
        deadline = time.monotonic() + 10
        while "ready" not in Path(stubborn.log).read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "killed" in _sh(stop_script(stubborn, pgid, pid, timeout_s=0.5)).stdout
        assert _sh(running_script(stubborn, pid)).returncode != 0
    finally:
        _sh(f"kill -KILL -{pgid} 2>/dev/null")

    quick = RemoteFiles(PurePosixPath(tmp_path / "quick"))
    pgid, pid = parse_started(_sh(start_script(quick, ["sh", "-c", "exit 3"])).stdout)
    deadline = time.monotonic() + 10
    while not Path(quick.status).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _sh(running_script(quick, pid)).returncode != 0
    assert Path(quick.status).read_text().strip() == "3"
    assert _sh(stop_script(quick, pgid, pid, timeout_s=1)).stdout.split() == ["3"]


def test_ssh_failures_name_the_host_and_the_fix() -> None:
    def failure(stderr: str) -> str:
        return describe_ssh_failure(TARGET, CommandResult(("ssh",), 255, "", stderr, 0.1))

    changed = failure(
        "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n"
        "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n"
        "Host key for [10.0.0.2]:2222 has changed and you have requested strict checking.\n"
        "Host key verification failed.\n")
    assert changed.startswith("host yuki (root@10.0.0.2:2222): its SSH host key CHANGED")
    assert "--replace" in changed
    unknown = failure("No ED25519 host key is known for [10.0.0.2]:2222 and you have "
                      "requested strict checking.\nHost key verification failed.\n")
    assert "no pinned SSH host key in /inv/known_hosts" in unknown
    assert "hosts trust" in unknown
    refused = failure("root@10.0.0.2: Permission denied (publickey).\n")
    assert "login refused" in refused and refused.startswith("host yuki")
    down = failure("ssh: connect to host 10.0.0.2 port 2222: Connection refused\n")
    assert down == "host yuki (root@10.0.0.2:2222): SSH failed: ssh: connect to host " \
                   "10.0.0.2 port 2222: Connection refused"


def test_known_hosts_pins_replace_only_that_hosts_lines() -> None:
    assert host_pattern("10.0.0.1", 22) == "10.0.0.1"
    assert host_pattern("10.0.0.2", 2222) == "[10.0.0.2]:2222"
    existing = ("# mine\n10.0.0.1 ssh-ed25519 AAAAold\n"
                "other,10.0.0.9 ssh-rsa AAAArsa\n@revoked * ssh-rsa AAAAbad\n")
    keys = {HostKey("ssh-ed25519", "AAAAnew"), HostKey("ecdsa-sha2-nistp256", "AAAAec")}
    updated = pin(existing, "10.0.0.1", keys)
    assert pinned_keys(updated, "10.0.0.1") == keys
    assert pinned_keys(updated, "10.0.0.9") == {HostKey("ssh-rsa", "AAAArsa")}
    assert "# mine" in updated and "@revoked * ssh-rsa AAAAbad" in updated
    assert "AAAAold" not in updated
    assert pinned_keys(updated, "[10.0.0.1]:2222") == set()
    scanned = parse_key_lines("# 10.0.0.2:2222 SSH-2.0-OpenSSH_9.2p1\n"
                              "[10.0.0.2]:2222 ssh-ed25519 AAAAk\n")
    assert scanned == {"[10.0.0.2]:2222": {HostKey("ssh-ed25519", "AAAAk")}}


def test_fingerprints_match_ssh_keygen_on_the_key_file(tmp_path: Path) -> None:
    key = tmp_path / "key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", str(key)],
                   check=True)
    key_type, blob = key.with_suffix(".pub").read_text().split()[:2]
    expected = subprocess.run(["ssh-keygen", "-l", "-f", str(key.with_suffix(".pub"))],
                              capture_output=True, text=True, check=True).stdout.split()[1]
    (line,) = fingerprints("[10.0.0.2]:2222", {HostKey(key_type, blob)})
    assert line.split()[1] == expected and line.endswith("(ED25519)")


def test_route_device_from_real_ip_output() -> None:
    result = subprocess.run(["ip", "-j", "route", "get", "127.0.0.1"], capture_output=True,
                            text=True, check=True)
    assert parse_route_device(result.stdout) == "lo"
    assert parse_route_device("not json") is None
    assert parse_route_device("[]") is None
