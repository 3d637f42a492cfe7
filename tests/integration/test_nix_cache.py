"""nix_cache for real: a signed binary cache served on one namespace host, a Nix client on
another copying the closure into fresh stores, over the LAN and over WireGuard."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.hosts.base import CommandResult, Host
from harness.hosts.local import LocalMachine
from harness.records.models import Status
from harness.records.store import RunStore
from harness.runner.plan import RunPlan
from harness.runner.run import RunOptions, run_plan
from harness.settings.loader import load_testbed, load_vpns
from harness.testbed.local.testbed import LocalTestbed
from harness.vpns.registry import create_adapter
from harness.workloads.nix_cache import (
    SERVER,
    NixCacheError,
    NixCacheMetrics,
    NixCacheParams,
    cache_url,
    client_script,
    generate_closure,
    nix_conf,
    parse_runs,
    prepare_cache,
    start_server,
)
from harness.workloads.registry import metrics_as
from tests.integration.helpers import local_factory

pytestmark = pytest.mark.root

SHORT = NixCacheParams(paths_count=15, total_size_mb=3, runs=2, run_timeout_s=60)
#: A well-formed public key nobody signed the cache with.
FOREIGN_KEY = "vpb-other-1:30YFx/wdOxl8Np9cXAxkBnG6KNPaSX2gD/XAKj6Ddzw="


@pytest.fixture(autouse=True)
def _tools_present() -> None:
    reason = next((r for r in [
        None if LocalMachine().which(SERVER) else f"{SERVER} is not installed (pip install -e .)",
        None if LocalMachine().which("nix") else "nix is not installed (Debian nix-bin)"] if r),
        None)
    if reason:
        pytest.skip(reason)


@pytest.mark.parametrize("vpn", ["internal", "wireguard"])
def test_every_timed_run_copies_the_whole_closure(vpn: str, tmp_path: Path) -> None:
    reason = create_adapter(load_vpns()[vpn]).unavailable_reason(LocalMachine())
    if reason:
        pytest.skip(f"{vpn}: {reason}")
    plan = RunPlan(hosts=load_testbed().hosts, vpns=[vpn], profiles=["baseline"],
                   tests=["nix_cache"], parameters={"nix_cache": SHORT})
    run_dir = run_plan(plan, load_vpns(), local_factory,
                       RunOptions(out_dir=tmp_path, live_progress=False))
    store = RunStore.open_existing(run_dir)
    records = store.load_records()
    assert {r.link for r in records} == {"lom->yuki", "yuki->luna", "luna->lom"}
    assert all(r.status is Status.OK for r in records), [(r.link, r.error) for r in records]
    closure = generate_closure(SHORT.seed, SHORT.paths_count,
                               round(SHORT.total_size_mb * 1_000_000))
    for record in records:
        metrics = metrics_as(record, NixCacheMetrics)
        assert metrics is not None
        assert len(metrics.run_times_s) == SHORT.runs and len(metrics.warmup_times_s) == 1
        assert all(t > 0 for t in metrics.run_times_s)
        assert metrics.min_s <= metrics.mean_s <= metrics.max_s
        assert metrics.paths_present == metrics.paths_expected == SHORT.paths_count
        assert metrics.nar_bytes == closure.nar_bytes and metrics.server == SERVER
        assert closure.root in record.command[-1]
    addresses = {r.target: r.command[-1] for r in records}
    for target, script in addresses.items():
        lan = f"http://10.77.0.{['lom', 'yuki', 'luna'].index(target) + 1}:"
        assert (lan in script) == (vpn == "internal"), "must fetch from the overlay address"


def _attempt(source: Host, url: str, root: str, public_key: str,
             params: NixCacheParams) -> CommandResult:
    work = source.state_dir / "nix_cache" / "signature-test"
    source.remove(work)
    source.write_file(work / "conf" / "nix.conf", nix_conf(public_key))
    return source.run(["sh", "-c", client_script(work, url, root, params)], timeout=120)


def test_client_refuses_a_foreign_signed_or_unsigned_cache(testbed: LocalTestbed) -> None:
    params = NixCacheParams(paths_count=5, total_size_mb=0.2, runs=1, warmup_runs=0)
    source, target = testbed.host("lom"), testbed.host("yuki")
    cache = prepare_cache(target, params)
    assert cache.server == SERVER and cache.directory is not None
    address = testbed.lan_address("yuki")
    server = start_server(target, cache.directory, address, params.port, max_seconds=300)
    url = cache_url(address, params.port)
    try:
        trusted = _attempt(source, url, cache.root, cache.public_key, params)
        metrics = parse_runs(trusted.stdout, runs=1, paths_expected=5, nar_bytes=1,
                             server=SERVER)
        assert metrics.paths_present == 5

        foreign = _attempt(source, url, cache.root, FOREIGN_KEY, params)
        with pytest.raises(NixCacheError, match="exited 1"):
            parse_runs(foreign.stdout, runs=1, paths_expected=5, nar_bytes=1, server=SERVER)
        assert "lacks a valid signature" in foreign.stderr

        target.succeed(["sh", "-c", f"sed -i '/^Sig:/d' {cache.directory}/*.narinfo"])
        unsigned = _attempt(source, url, cache.root, cache.public_key, params)
        with pytest.raises(NixCacheError, match="exited 1"):
            parse_runs(unsigned.stdout, runs=1, paths_expected=5, nar_bytes=1, server=SERVER)
        assert "lacks a valid signature" in unsigned.stderr
    finally:
        server.stop(timeout=3.0)
