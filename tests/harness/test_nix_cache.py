"""The nix_cache workload's pure parts: closure generator, export format, parser, bounds."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError

from harness.hosts.fake import FakeHost, Reply, Rules
from harness.workloads.nix_cache import (
    HARMONIA_PUBLIC_KEY,
    NixCacheError,
    NixCacheParams,
    NixCacheWorkload,
    cache_url,
    export_stream,
    generate_closure,
    nar_regular,
    nix_base32,
    nix_conf,
    parse_runs,
    prepare_cache,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "nix_cache"
STORE_PATH = re.compile(r"^/nix/store/[0-9a-df-np-sv-z]{32}-[A-Za-z0-9+._?=-]+$")


def test_same_seed_gives_the_same_store_paths_and_bytes() -> None:
    first, second = generate_closure(7, 30, 200_000), generate_closure(7, 30, 200_000)
    assert first == second
    assert export_stream(first) == export_stream(second)
    other = generate_closure(8, 30, 200_000)
    assert {p.path for p in first.paths}.isdisjoint(p.path for p in other.paths)


def test_closure_has_the_requested_count_size_and_valid_names() -> None:
    closure = generate_closure(1, 100, 4_000_000)
    assert len(closure.paths) == 100 and len({p.path for p in closure.paths}) == 100
    assert all(STORE_PATH.match(p.path) for p in closure.paths)
    total = sum(len(p.content) for p in closure.paths)
    assert 0.95 * 4_000_000 <= total <= 4_000_000
    sizes = sorted(len(p.content) for p in closure.paths)
    assert sizes[-1] > 10 * sizes[len(sizes) // 2], "sizes should be skewed like a real closure"


def test_root_reaches_every_path_through_references() -> None:
    closure = generate_closure(3, 60, 300_000)
    by_path = {p.path: p for p in closure.paths}
    seen, todo = set(), [closure.root]
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            todo.extend(by_path[path].references)
    assert seen == set(by_path)
    for index, spec in enumerate(closure.paths):
        earlier = {p.path for p in closure.paths[:index]}
        assert set(spec.references) <= earlier  # an import order Nix accepts
        assert spec.content.startswith("".join(r + "\n" for r in spec.references).encode())


def test_contents_do_not_compress_away() -> None:
    import zlib

    closure = generate_closure(1, 10, 500_000)
    data = b"".join(p.content for p in closure.paths)
    assert len(zlib.compress(data)) > 0.95 * len(data)


def test_nix_base32_matches_nix_on_a_known_digest() -> None:
    # `nix hash to-base32 --type sha256 <hex of sha256("")>` prints this.
    digest = bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    assert nix_base32(digest) == "0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73"


def test_nar_of_a_regular_file_is_padded_to_eight_bytes() -> None:
    nar = nar_regular(b"abc")
    assert len(nar) % 8 == 0
    assert nar.startswith(struct.pack("<Q", 13) + b"nix-archive-1\0\0\0")
    assert struct.pack("<Q", 3) + b"abc\0\0\0\0\0" in nar


def test_parser_reads_captured_real_runs() -> None:
    text = (FIXTURES / "runs-ok.txt").read_text()
    metrics = parse_runs(text, runs=2, paths_expected=20, nar_bytes=4_002_264,
                         server="vpb-http-serve")
    assert metrics.run_times_s == [0.731971793, 0.652588935]
    assert metrics.warmup_times_s == [0.301590841]
    assert metrics.min_s == 0.652588935 and metrics.max_s == 0.731971793
    assert metrics.mean_s == pytest.approx(0.69228036)
    assert metrics.stddev_s == pytest.approx(0.0561321572)
    assert metrics.paths_present == 20
    values = NixCacheWorkload().analysis_values(metrics)
    assert values["nix_cache.time_s"] == metrics.mean_s
    assert values["nix_cache.throughput_mbps"] == pytest.approx(4_002_264 * 8 / 0.69228036 / 1e6)


def test_parser_refuses_missing_runs_and_wrong_path_counts() -> None:
    text = (FIXTURES / "runs-ok.txt").read_text()
    with pytest.raises(NixCacheError, match="2 of 3 timed runs"):
        parse_runs(text, runs=3, paths_expected=20, nar_bytes=1, server="x")
    with pytest.raises(NixCacheError, match="left 20 of 21 paths"):
        parse_runs(text, runs=2, paths_expected=21, nar_bytes=1, server="x")
    with pytest.raises(NixCacheError, match="timed out"):
        parse_runs(text.replace("rc=0", "rc=124", 1), runs=2, paths_expected=20, nar_bytes=1,
                   server="x")


def test_parser_reports_a_refused_signature_run() -> None:
    text = (FIXTURES / "runs-bad-signature.txt").read_text()
    assert "lacks a valid signature" in text
    with pytest.raises(NixCacheError, match="run 1 exited 1"):
        parse_runs(text, runs=2, paths_expected=5, nar_bytes=1, server="x")


@pytest.mark.parametrize(("field", "value"), [
    ("paths_count", 1), ("paths_count", 2001), ("total_size_mb", 0), ("runs", 0),
    ("runs", 51), ("warmup_runs", 6), ("run_timeout_s", 0.5), ("port", 80),
    ("total_size_mb", float("nan")),
])
def test_parameter_bounds(field: str, value: float) -> None:
    with pytest.raises(ValidationError):
        NixCacheParams.model_validate({field: value})


def test_defaults_are_a_realistic_but_small_closure() -> None:
    params = NixCacheParams()
    assert params.paths_count == 100 and 10 <= params.total_size_mb <= 64
    assert params.runs >= 1 and params.warmup_runs == 1


def test_cache_url_brackets_ipv6() -> None:
    assert cache_url("10.0.0.1", 5190) == "http://10.0.0.1:5190"
    assert cache_url("fd00::1", 5190) == "http://[fd00::1]:5190"


def test_a_missing_tool_makes_it_unavailable_not_a_crash() -> None:
    host = FakeHost("lom", programs={"nix", "nix-store", "timeout", "ss"})
    assert NixCacheWorkload().unavailable_reason(host) == \
        "vpb-http-serve not found on lom (and harmonia does not serve there)"
    no_nix = FakeHost("luna", programs={"vpb-http-serve", "timeout", "ss"})
    assert NixCacheWorkload().unavailable_reason(no_nix) == \
        "nix, nix-store not found on luna"
    everything = FakeHost("yuki")
    assert NixCacheWorkload().unavailable_reason(everything) is None


@pytest.mark.skipif(shutil.which("nix-store") is None, reason="nix-store not installed")
def test_real_nix_imports_the_closure_with_its_references(tmp_path: Path) -> None:
    closure = generate_closure(5, 12, 50_000)
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "nix.conf").write_text(nix_conf(None))
    env = {"PATH": os.environ["PATH"], "NIX_CONF_DIR": str(tmp_path / "conf"),
           "NIX_USER_CONF_FILES": str(tmp_path / "conf" / "none"), "HOME": str(tmp_path),
           "XDG_CACHE_HOME": str(tmp_path / "cache")}
    store = str(tmp_path / "store")
    subprocess.run(["nix-store", "--store", store, "--import"], input=export_stream(closure),
                   env=env, check=True, capture_output=True, timeout=60)
    for spec in closure.paths:
        listed = subprocess.run(["nix-store", "--store", store, "-q", "--references", spec.path],
                                env=env, check=True, capture_output=True, text=True, timeout=30)
        assert sorted(listed.stdout.split()) == sorted(spec.references)
    requisites = subprocess.run(["nix-store", "--store", store, "-q", "--requisites",
                                 closure.root], env=env, check=True, capture_output=True,
                                text=True, timeout=30)
    assert set(requisites.stdout.split()) == {p.path for p in closure.paths}
    subprocess.run(["chmod", "-R", "u+w", store], check=True)


def test_a_harmonia_host_serves_the_closure_from_its_own_store() -> None:
    """Harmonia mode's command sequence (NixOS hosts; no NixOS here, so a fake host)."""
    rules = Rules().on("ss", reply=Reply(stdout="LISTEN 0 4096 *:5000 *:*\n"))
    rules.on("sh", "-c", reply=Reply())
    host = FakeHost("yuki", rules)
    host.write_file(HARMONIA_PUBLIC_KEY, "vpn-bench-yuki-1:abc=\n")
    params = NixCacheParams(paths_count=4, total_size_mb=0.1)
    cache = prepare_cache(host, params)
    assert (cache.server, cache.port, cache.directory) == ("harmonia", 5000, None)
    assert cache.public_key == "vpn-bench-yuki-1:abc=" and cache.paths_count == 4
    scripts = [argv[-1] for argv in host.commands("sh", "-c")]
    assert len(scripts) == 1
    assert "nix-store --import <" in scripts[0] and "--store" not in scripts[0]
    assert f"--realise {cache.root} --add-root" in scripts[0]
    assert prepare_cache(host, params) == cache
    assert len(host.commands("sh", "-c")) == 1, "imported once per generator parameters"
