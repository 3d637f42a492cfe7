"""Faults injected for real: a daemon killed mid-test, a VPN that never becomes ready, the
iperf3 server killed, a record that cannot be written. Each cell is recorded as failed (or
retried), the suite goes on, and --resume completes the run with no record lost or doubled."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from harness.hosts.local import LocalMachine
from harness.records.models import ResultRecord, Status
from harness.records.store import RunStore
from harness.runner.plan import RunPlan, TestPolicy
from harness.runner.run import RunOptions, open_for_resume, run_plan
from harness.settings.loader import load_testbed, load_vpns
from harness.settings.models import VpnSettings
from harness.testbed.base import Testbed
from harness.vpns.base import VpnAdapter, VpnContext
from harness.vpns.registry import create_adapter
from harness.vpns.wireguard import WireGuardAdapter
from tests.conftest import netns_owned_by
from tests.integration.helpers import local_factory, short_parameters

pytestmark = [pytest.mark.root, pytest.mark.slow]


def _factory() -> contextlib.AbstractContextManager[Testbed]:
    return local_factory()


def _plan(vpns: list[str], tests: list[str], duration: int = 2,
          policies: dict[str, TestPolicy] | None = None) -> RunPlan:
    return RunPlan(hosts=load_testbed().hosts, vpns=vpns, profiles=["baseline"], tests=tests,
                   parameters=short_parameters(duration=duration),
                   policies=policies or {})


def _records(run_dir: Path) -> list[ResultRecord]:
    return RunStore.open_existing(run_dir).load_records()


def _pids_named(name: str, host: str) -> list[int]:
    pids = []
    for netns in netns_owned_by(os.getpid()):
        if netns.endswith(f"-{host}"):
            listed = subprocess.run(["ip", "netns", "pids", netns], capture_output=True,
                                    text=True).stdout.split()
            pids += [int(pid) for pid in listed if _comm(pid) == name]
    return pids


def _comm(pid: str) -> str | None:
    """The process name, or None when it has exited meanwhile (short-lived probes do)."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None


def _kill_when(condition_name: str, host: str, victim: str, signum: int,
               deadline_s: float = 60) -> threading.Thread:
    """Kill ``victim`` on ``host`` once it and ``condition_name`` both run there."""
    def watch() -> None:
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            if _pids_named(condition_name, host) and _pids_named(victim, host):
                time.sleep(0.5)
                for pid in _pids_named(victim, host):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signum)
                return
            time.sleep(0.05)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def _resume(run_dir: Path) -> None:
    store, plan = open_for_resume(run_dir)
    run_plan(plan, load_vpns(), _factory, RunOptions(out_dir=run_dir.parent,
                                                     live_progress=False), resume=store)


def _assert_complete_once(run_dir: Path, plan: RunPlan) -> None:
    manifest = RunStore.open_existing(run_dir).manifest
    assert manifest.complete
    records = _records(run_dir)
    keys = Counter((r.vpn, r.test, r.link) for r in records)
    assert all(count == 1 for count in keys.values())
    assert len(manifest.records) == len(set(manifest.records))
    expected = len(plan.sessions()) * sum(len(s.tests) for s in plan.sessions()[:1]) * 3
    assert len(records) == expected
    assert all(r.status is Status.OK for r in records), [(r.vpn, r.link, r.error)
                                                          for r in records]


def test_daemon_killed_mid_test_fails_cells_suite_continues_resume_completes(
    tmp_path: Path,
) -> None:
    if create_adapter(load_vpns()["wireguard"]).unavailable_reason(LocalMachine()):
        pytest.skip("wireguard not runnable here")
    plan = _plan(["internal", "wireguard"], ["tcp", "ping"], duration=3,
                 policies={"tcp": TestPolicy(timeout_s=10, retries=0)})
    killer = _kill_when("iperf3", "lom", "wireguard-go", signal.SIGKILL)
    run_dir = run_plan(plan, load_vpns(), _factory,
                       RunOptions(out_dir=tmp_path, live_progress=False))
    killer.join(timeout=1)
    records = {(r.vpn, r.test, r.link): r for r in _records(run_dir)}
    assert all(r.status is Status.OK for (vpn, _, _), r in records.items() if vpn == "internal")
    wireguard = [r for (vpn, _, _), r in records.items() if vpn == "wireguard"]
    failed = [r for r in wireguard if r.status is not Status.OK]
    assert failed, "killing wireguard-go must fail the cell that was running"
    assert any("VPN daemon died" in (r.error or "") for r in failed)
    assert any("wireguard-go" in key for r in failed for key in r.log_tails)
    assert len(wireguard) == 6, "every cell is recorded, measured or failed"
    assert not RunStore.open_existing(run_dir).manifest.complete or failed

    _resume(run_dir)
    _assert_complete_once(run_dir, plan)


class _WrongPeerKeyWireGuard(WireGuardAdapter):
    """A real WireGuard mesh whose config names a peer key nobody holds: never ready."""

    def deploy(self, ctx: VpnContext) -> None:
        super().deploy(ctx)
        host = ctx.host(ctx.hosts[1])
        interface = self.settings.interface or "wg0"
        bogus = host.succeed(["wg", "pubkey"], input_text=host.succeed(["wg", "genkey"]))
        peers = host.succeed(["wg", "show", interface, "peers"]).split()
        for peer in peers:
            allowed = host.succeed(["wg", "show", interface, "allowed-ips"])
            ips = next(line.split()[1] for line in allowed.splitlines()
                       if line.startswith(peer))
            host.succeed(["wg", "set", interface, "peer", peer, "remove"])
            host.succeed(["wg", "set", interface, "peer", bogus.strip(), "allowed-ips", ips])
            break


def test_vpn_never_ready_records_failed_cells_with_log_tails(tmp_path: Path) -> None:
    if create_adapter(load_vpns()["wireguard"]).unavailable_reason(LocalMachine()):
        pytest.skip("wireguard not runnable here")

    def adapters(settings: VpnSettings) -> VpnAdapter:
        if settings.name == "wireguard":
            return _WrongPeerKeyWireGuard(settings)
        return create_adapter(settings)

    plan = _plan(["internal", "wireguard"], ["tcp", "ping"])
    run_dir = run_plan(plan, load_vpns(), _factory,
                       RunOptions(out_dir=tmp_path, live_progress=False, ready_timeout_s=3),
                       adapter_factory=adapters)
    store = RunStore.open_existing(run_dir)
    wireguard = [r for r in store.load_records() if r.vpn == "wireguard"]
    assert len(wireguard) == 6
    assert all(r.status is Status.FAILED for r in wireguard)
    assert all("VPN not ready" in (r.error or "") and "not ready within 3s" in (r.error or "")
               for r in wireguard)
    assert all(r.log_tails for r in wireguard)
    internal = [r for r in store.load_records() if r.vpn == "internal"]
    assert all(r.status is Status.OK for r in internal)


def test_iperf_server_killed_is_retried(tmp_path: Path) -> None:
    plan = _plan(["internal"], ["tcp"], duration=4)
    killer = _kill_when("iperf3", "yuki", "iperf3", signal.SIGKILL)
    run_dir = run_plan(plan, load_vpns(), _factory,
                       RunOptions(out_dir=tmp_path, live_progress=False))
    killer.join(timeout=1)
    record = next(r for r in _records(run_dir) if r.target == "yuki")
    assert record.status is Status.OK, record.error
    assert record.attempts == 2
    assert record.attempt_errors and "lom->yuki" in record.attempt_errors[0]


def test_iperf_server_killed_without_retries_fails_the_cell(tmp_path: Path) -> None:
    plan = _plan(["internal"], ["tcp"], duration=4,
                 policies={"tcp": TestPolicy(retries=0)})
    killer = _kill_when("iperf3", "yuki", "iperf3", signal.SIGKILL)
    run_dir = run_plan(plan, load_vpns(), _factory,
                       RunOptions(out_dir=tmp_path, live_progress=False))
    killer.join(timeout=1)
    records = _records(run_dir)
    victim = next(r for r in records if r.target == "yuki")
    assert victim.status is not Status.OK and victim.error
    assert "iperf3-server" in " ".join(victim.log_tails)
    assert all(r.status is Status.OK for r in records if r.target != "yuki")


def test_record_that_cannot_be_written_is_noted_and_resume_writes_it(tmp_path: Path) -> None:
    plan = _plan(["internal"], ["ping"])
    blocked = tmp_path / "fixed-id" / "internal" / "baseline" / "rep0" / "ping" / "yuki-luna.json"
    blocked.mkdir(parents=True)
    (blocked / "occupied").write_text("a directory where the record should go")
    run_dir = run_plan(plan, load_vpns(), _factory,
                       RunOptions(out_dir=tmp_path, live_progress=False, run_id="fixed-id"))
    manifest = RunStore.open_existing(run_dir).manifest
    assert not manifest.complete
    assert len(manifest.write_failures) == 1 and "yuki->luna" in manifest.write_failures[0]
    assert {r.link for r in _records(run_dir)} == {"lom->yuki", "luna->lom"}

    (blocked / "occupied").unlink()
    blocked.rmdir()
    _resume(run_dir)
    _assert_complete_once(run_dir, plan)
