"""Nix binary-cache download: a real Nix client copies a generated, signed closure from the
target's HTTP binary cache into a fresh store, one warm-up and N timed runs per link.

The closure is made by :func:`generate_closure` (deterministic, offline: sizes and contents
from a seeded PRNG, a reference graph whose root reaches every path) as a ``nix-store
--export`` stream, imported into a scratch store on the target, signed and written to a
``file://`` binary cache once per parameter set (kept under the target's state_dir). The
target serves it with ``vpb-http-serve``; the source runs ``nix copy --from http://...``
into a chroot store with ``require-sigs = true`` and only our key trusted.

Parameters: :class:`NixCacheParams`. Metrics: :class:`NixCacheMetrics`, read by
:func:`parse_runs`. Analysis metrics: ``nix_cache.*``.
"""

from __future__ import annotations

import hashlib
import math
import random
import shlex
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from pydantic import Field

from harness.hosts.base import CommandFailed, Host, Process
from harness.records.models import Status
from harness.topology import Link
from harness.waiting import WaitFailed, wait_until
from harness.workloads.base import (
    Measurement,
    Workload,
    WorkloadContext,
    WorkloadMetrics,
    WorkloadParams,
    now,
    parameter,
)

SERVER = "vpb-http-serve"
#: Where modules/common.nix (``vpnBench.binaryCache.enable``) serves and keeps its key.
HARMONIA_PUBLIC_KEY = PurePosixPath("/var/lib/vpn-bench/harmonia-cache.pub")
HARMONIA_PORT = 5000
KEY_NAME = "vpb-nix-cache-1"
#: Marker of one run's result line in the client script's output.
RUN_TAG = "vpb-nix-cache-run"
_EXPORT_MAGIC = 0x4558494E
_BASE32 = "0123456789abcdfghijklmnpqrsvwxyz"
_MB = 1_000_000
#: Smallest generated path (a few references plus some payload).
_MIN_PATH_BYTES = 256


class NixCacheParams(WorkloadParams):
    """Parameters of the Nix binary-cache test."""

    paths_count: int = parameter(100, "Store paths in the generated closure.", ge=2, le=2000)
    total_size_mb: float = parameter(
        32.0, "Total size of the closure's files, MB (10^6 bytes).", ge=0.01, le=2048)
    runs: int = parameter(3, "Timed runs per link (after the warm-up run).", ge=1, le=50)
    warmup_runs: int = parameter(1, "Untimed warm-up runs per link.", ge=0, le=5)
    run_timeout_s: float = parameter(120.0, "Seconds one nix copy may take before it is killed.",
                                     ge=1, le=3600)
    seed: int = parameter(1, "Seed of the closure generator (sizes, contents, graph).",
                          ge=0, le=2**31)
    port: int = parameter(5190, "TCP port of the target's binary-cache HTTP server.",
                          ge=1024, le=65535)


class NixCacheMetrics(WorkloadMetrics):
    """Timed runs of one link (warm-up runs excluded) and what every run left in the store."""

    run_times_s: list[float]
    mean_s: float
    stddev_s: float
    min_s: float
    max_s: float
    paths_expected: int
    #: Fewest store paths any timed run left valid in its fresh store.
    paths_present: int
    nar_bytes: int
    server: str
    warmup_times_s: list[float] = Field(default_factory=list)


# -- the closure -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StorePathSpec:
    path: str
    references: tuple[str, ...]
    content: bytes


@dataclass(frozen=True)
class Closure:
    paths: tuple[StorePathSpec, ...]

    @property
    def root(self) -> str:
        """The path whose closure is every path (the last one generated)."""
        return self.paths[-1].path

    @property
    def nar_bytes(self) -> int:
        return sum(len(nar_regular(p.content)) for p in self.paths)


def nix_base32(digest: bytes) -> str:
    """Nix's base-32 encoding (its own alphabet, least significant bits first)."""
    length = (len(digest) * 8 - 1) // 5 + 1
    chars = []
    for n in range(length - 1, -1, -1):
        bit = n * 5
        i, j = divmod(bit, 8)
        c = digest[i] >> j
        if i + 1 < len(digest):
            c |= digest[i + 1] << (8 - j)
        chars.append(_BASE32[c & 0x1F])
    return "".join(chars)


def _sizes(rng: random.Random, count: int, total: int) -> list[int]:
    """Log-normal sizes (a few large paths, many small ones) scaled to ``total`` bytes."""
    raw = [rng.lognormvariate(0.0, 1.5) for _ in range(count)]
    scale = max(total - _MIN_PATH_BYTES * count, 0) / sum(raw)
    return [_MIN_PATH_BYTES + int(value * scale) for value in raw]


def generate_closure(seed: int, paths_count: int, total_bytes: int) -> Closure:
    """A closure of ``paths_count`` store paths of about ``total_bytes`` in all.

    Path i refers to one to three earlier paths; the last path (the root) also refers to
    every path nothing else refers to, so its closure is all of them. Contents start with
    the referenced store paths (as real files do) followed by PRNG bytes that do not
    compress. Same arguments, same paths and bytes."""
    rng = random.Random(f"vpb-nix-cache:{seed}:{paths_count}:{total_bytes}")
    sizes = _sizes(rng, paths_count, total_bytes)
    specs: list[StorePathSpec] = []
    referenced: set[str] = set()
    for index, size in enumerate(sizes):
        digest = hashlib.sha256(f"{seed}:{paths_count}:{total_bytes}:{index}".encode()).digest()
        path = f"/nix/store/{nix_base32(digest[:20])}-vpb-closure-{index:04d}"
        earlier = [s.path for s in specs]
        if index == paths_count - 1:
            refs = sorted(p for p in earlier if p not in referenced)
        elif earlier:
            refs = sorted(set(rng.sample(earlier, min(len(earlier), rng.randint(1, 3)))))
        else:
            refs = []
        referenced.update(refs)
        header = "".join(ref + "\n" for ref in refs).encode()
        content = header + rng.randbytes(max(size - len(header), 0))
        specs.append(StorePathSpec(path, tuple(refs), content))
    return Closure(tuple(specs))


def _u64(value: int) -> bytes:
    return struct.pack("<Q", value)


def _string(data: bytes | str) -> bytes:
    raw = data.encode() if isinstance(data, str) else data
    return _u64(len(raw)) + raw + b"\0" * (-len(raw) % 8)


def nar_regular(content: bytes) -> bytes:
    """The NAR serialisation of one regular, non-executable file."""
    return b"".join(_string(part) for part in (
        "nix-archive-1", "(", "type", "regular", "contents")) + _string(content) + _string(")")


def export_stream(closure: Closure) -> bytes:
    """``nix-store --export`` format (what ``nix-store --import`` reads): NAR, path,
    references, no deriver, no signature, per path; references before their referrers."""
    parts: list[bytes] = []
    for spec in closure.paths:
        parts += [_u64(1), nar_regular(spec.content), _u64(_EXPORT_MAGIC), _string(spec.path),
                  _u64(len(spec.references)), *(_string(r) for r in spec.references),
                  _string(""), _u64(0)]
    parts.append(_u64(0))
    return b"".join(parts)


# -- parsing the client script's output ------------------------------------------------------


class NixCacheError(ValueError):
    """The client's output lacks a complete set of successful runs."""


@dataclass(frozen=True)
class RunLine:
    warmup: bool
    rc: int
    seconds: float
    paths: int


def _run_line(line: str) -> RunLine:
    fields = dict(item.partition("=")[::2] for item in line.split()[1:])
    try:
        return RunLine(fields["warmup"] == "1", int(fields["rc"]),
                       int(fields["elapsed_ns"]) / 1e9, int(fields["paths"]))
    except (KeyError, ValueError):
        raise NixCacheError(f"malformed run line: {line!r}") from None


def parse_runs(text: str, *, runs: int, paths_expected: int, nar_bytes: int,
               server: str) -> NixCacheMetrics:
    """Metrics from the client script's run lines; NixCacheError unless every expected run
    succeeded and left the whole closure in its store."""
    lines = [_run_line(line) for line in text.splitlines() if line.startswith(RUN_TAG + " ")]
    for number, line in enumerate(lines, 1):
        if line.rc != 0:
            kind = "timed out" if line.rc == 124 else f"exited {line.rc}"
            raise NixCacheError(f"nix copy run {number} {kind}")
        if line.paths != paths_expected:
            raise NixCacheError(f"nix copy run {number} left {line.paths} of "
                                f"{paths_expected} paths in the store")
    timed = [line.seconds for line in lines if not line.warmup]
    if len(timed) != runs:
        raise NixCacheError(f"{len(timed)} of {runs} timed runs completed")
    mean = sum(timed) / len(timed)
    stddev = math.sqrt(sum((t - mean) ** 2 for t in timed) / (len(timed) - 1)) \
        if len(timed) > 1 else 0.0
    return NixCacheMetrics(
        run_times_s=timed, mean_s=mean, stddev_s=stddev, min_s=min(timed), max_s=max(timed),
        paths_expected=paths_expected, paths_present=min(line.paths for line in lines),
        nar_bytes=nar_bytes, server=server,
        warmup_times_s=[line.seconds for line in lines if line.warmup])


# -- shell scripts run on the hosts ----------------------------------------------------------


def nix_conf(public_key: str | None) -> str:
    """A private nix.conf: no substituter but the one given per command, signatures required."""
    lines = ["experimental-features = nix-command", "substituters =",
             "build-users-group =", "require-sigs = true", "narinfo-cache-negative-ttl = 0",
             "narinfo-cache-positive-ttl = 0"]
    if public_key is not None:
        lines.append(f"trusted-public-keys = {public_key}")
    return "\n".join(lines) + "\n"


def _private_env(directory: PurePosixPath) -> str:
    """Shell exports so Nix reads only ``directory``'s config and writes only below it."""
    d = shlex.quote(str(directory))
    return (f"export NIX_CONF_DIR={d}/conf NIX_USER_CONF_FILES={d}/conf/none "
            f"HOME={d}/home XDG_CACHE_HOME={d}/xdg-cache XDG_CONFIG_HOME={d}/xdg-config "
            f"XDG_DATA_HOME={d}/xdg-data XDG_STATE_HOME={d}/xdg-state; ")


def cache_url(address: str, port: int) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"http://{host}:{port}"


def client_script(work: PurePosixPath, url: str, root: str, params: NixCacheParams) -> str:
    """Warm-up plus timed runs of ``nix copy`` into a fresh store each; one run line each.

    Times are taken on the host (``date +%s%N``) so a remote backend's transport is not
    measured; a failed run ends the script (the remaining runs are not attempted)."""
    w = shlex.quote(str(work))
    total = params.warmup_runs + params.runs
    return (
        _private_env(work)
        + f"i=0; while [ $i -lt {total} ]; do "
        f"warm=0; [ $i -lt {params.warmup_runs} ] && warm=1; "
        f"if [ -e {w}/store ]; then chmod -R u+w {w}/store && rm -rf {w}/store; fi; "
        f"rm -rf {w}/xdg-cache; "
        "start=$(date +%s%N); "
        f"timeout -k 5 {params.run_timeout_s:g} nix copy --from {shlex.quote(url)} "
        f"--to local?root={w}/store {shlex.quote(root)} 2>{w}/copy.err; rc=$?; "
        "end=$(date +%s%N); "
        f"paths=$(nix path-info --store local?root={w}/store --all 2>/dev/null | wc -l); "
        f'echo "{RUN_TAG} index=$i warmup=$warm rc=$rc elapsed_ns=$((end - start)) '
        'paths=$paths"; '
        f"if [ $rc -ne 0 ]; then tail -n 20 {w}/copy.err >&2; exit 1; fi; "
        "i=$((i + 1)); done; "
        f"chmod -R u+w {w}/store && rm -rf {w}/store"
    )


# -- the workload ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PreparedCache:
    #: "vpb-http-serve" (started per link over ``directory``) or "harmonia" (always running).
    server: str
    port: int
    public_key: str
    root: str
    paths_count: int
    nar_bytes: int
    directory: PurePosixPath | None = None


def _cache_key(params: NixCacheParams) -> str:
    return f"s{params.seed}-n{params.paths_count}-b{round(params.total_size_mb * _MB)}"


def harmonia_serves(host: Host) -> bool:
    """True on a NixOS host of modules/common.nix with ``binaryCache.enable``: harmonia
    listens on :5000 and its public key is where the module puts it."""
    return host.exists(HARMONIA_PUBLIC_KEY) and _listening(host, HARMONIA_PORT)


def prepare_cache(host: Host, params: NixCacheParams) -> PreparedCache:
    """The closure served from ``host``: imported into its Nix store for harmonia when
    harmonia serves there, else generated, imported, signed and written to a ``file://``
    binary cache for vpb-http-serve; either once per generator parameters (a marker under
    the host's state_dir)."""
    closure = generate_closure(params.seed, params.paths_count,
                               round(params.total_size_mb * _MB))
    if harmonia_serves(host):
        return _prepare_harmonia(host, params, closure)
    base = host.state_dir / "nix_cache" / _cache_key(params)
    ready = base / "ready"
    if not host.exists(ready):
        host.remove(base)
        host.write_file(base / "conf" / "nix.conf", nix_conf(None))
        host.write_file(base / "closure.export", export_stream(closure))
        b = shlex.quote(str(base))
        host.succeed(["sh", "-c", _private_env(base)
                      + f"umask 077 && nix key generate-secret --key-name {KEY_NAME} "
                      f"> {b}/secret.key && "
                      f"nix-store --store {b}/src --import < {b}/closure.export >/dev/null && "
                      f"nix copy --from {b}/src --to "
                      f"'file://{base}/cache?secret-key={base}/secret.key&compression=none' "
                      f"{shlex.quote(closure.root)} && "
                      f"nix key convert-secret-to-public < {b}/secret.key > {b}/public.key && "
                      f"chmod -R u+w {b}/src && rm -rf {b}/src {b}/closure.export"],
                     timeout=600)
        host.write_file(ready, closure.root + "\n")
    public_key = host.read_text(base / "public.key").strip()
    return PreparedCache(SERVER, params.port, public_key, closure.root, params.paths_count,
                         closure.nar_bytes, directory=base / "cache")


def _prepare_harmonia(host: Host, params: NixCacheParams, closure: Closure) -> PreparedCache:
    """Import the closure into the host's own store (through its daemon, as root) with a GC
    root under state_dir; harmonia signs the narinfos with its key as it serves them.
    Not verified here (no NixOS): written from the harmonia module's documented defaults."""
    base = host.state_dir / "nix_cache" / f"harmonia-{_cache_key(params)}"
    b = shlex.quote(str(base))
    if not host.exists(base / "ready"):
        host.remove(base)
        host.write_file(base / "closure.export", export_stream(closure))
        host.succeed(["sh", "-c", f"nix-store --import < {b}/closure.export >/dev/null && "
                      f"nix-store --realise {shlex.quote(closure.root)} "
                      f"--add-root {b}/gcroot >/dev/null && rm -f {b}/closure.export"],
                     timeout=600)
        host.write_file(base / "ready", closure.root + "\n")
    public_key = host.read_text(HARMONIA_PUBLIC_KEY).strip()
    return PreparedCache("harmonia", HARMONIA_PORT, public_key, closure.root,
                         params.paths_count, closure.nar_bytes)


def _listening(host: Host, port: int) -> bool:
    result = host.run(["ss", "-Htln", f"sport = :{port}"], timeout=5)
    return result.ok and bool(result.stdout.strip())


def start_server(host: Host, directory: PurePosixPath, address: str, port: int,
                 max_seconds: float) -> Process:
    """``vpb-http-serve`` on ``host``, listening on ``address`` only (so traffic takes the
    network under test); waits until it listens."""
    process = host.start([SERVER, str(directory), "--bind", address, "--port", str(port),
                          "--max-seconds", f"{max_seconds:g}"], name=f"nix-cache-{port}")
    try:
        wait_until(lambda: _listening(host, port), timeout_s=15, interval_s=0.1,
                   what=f"{SERVER} on {host.name}:{port}",
                   abort=lambda: [] if process.is_running() else
                   [f"{SERVER} exited: {process.log_tail(5)}"])
    except WaitFailed:
        process.stop(timeout=3.0)
        raise
    return process


class NixCacheWorkload(Workload[NixCacheParams, NixCacheMetrics]):
    name = "nix_cache"
    binaries = ("nix", "nix-store", "timeout", "ss")
    minimum_timeout_s = 60.0
    params_model = NixCacheParams
    metrics_model = NixCacheMetrics

    def run(self, ctx: WorkloadContext[NixCacheParams],
            links: list[Link]) -> Iterator[Measurement]:
        caches: dict[str, PreparedCache] = {}
        for link in links:
            yield self._measure(ctx, link, caches)

    def _measure(self, ctx: WorkloadContext[NixCacheParams], link: Link,
                 caches: dict[str, PreparedCache]) -> Measurement:
        params = ctx.params
        source, target = ctx.testbed.host(link.source), ctx.testbed.host(link.target)
        started = now()
        measurement = Measurement(link, Status.FAILED, started, started)
        for host in (source, target):
            reason = self.unavailable_reason(host)
            if reason:
                measurement.error = f"{host.name}: {reason}"
                measurement.ended_at = now()
                return measurement
        address = ctx.addresses[link.target]
        server: Process | None = None
        try:
            if target.name not in caches:
                caches[target.name] = prepare_cache(target, params)
            cache = caches[target.name]
            if cache.directory is not None:
                server = start_server(target, cache.directory, address, cache.port,
                                      max_seconds=ctx.timeout_s + 60)
            work = source.state_dir / "nix_cache" / f"client-{link.target}"
            source.remove(work)
            source.write_file(work / "conf" / "nix.conf", nix_conf(cache.public_key))
            script = client_script(work, cache_url(address, cache.port), cache.root, params)
            command = ["sh", "-c", script]
            measurement.command = command
            result = source.run(command, timeout=ctx.timeout_s)
            measurement.raw_output = result.stdout + result.stderr
            try:
                measurement.metrics = parse_runs(
                    result.stdout, runs=params.runs, paths_expected=cache.paths_count,
                    nar_bytes=cache.nar_bytes, server=cache.server)
                measurement.status = Status.OK
            except NixCacheError as error:
                measurement.status = Status.TIMEOUT if result.timed_out else Status.FAILED
                measurement.error = f"{error}; {result.stderr.strip()[-400:]}".strip("; ")
                measurement.log_tails = {link.source: result.stderr[-2000:]}
                if server is not None:
                    measurement.log_tails[link.target] = server.log_tail(20)
        except CommandFailed as error:
            result = error.result
            what = "timed out" if result.timed_out else f"exited {result.returncode}"
            step = "preparing the binary cache" if error.host == target.name else "client setup"
            tail = (result.stderr.strip() or result.stdout.strip())[-400:]
            measurement.error = f"{step} on {error.host} {what}: {tail}"
            measurement.log_tails = {error.host: result.stderr[-2000:]}
        except WaitFailed as error:
            measurement.error = str(error)
            if server is not None:
                measurement.log_tails = {link.target: server.log_tail(20)}
        finally:
            if server is not None:
                server.stop(timeout=3.0)
        measurement.ended_at = now()
        return measurement

    def unavailable_reason(self, host: Host) -> str | None:
        """The Nix tools, and a server: harmonia (NixOS module) or vpb-http-serve."""
        reason = super().unavailable_reason(host)
        if reason is None and host.which(SERVER) is None and not harmonia_serves(host):
            reason = f"{SERVER} not found on {host.name} (and harmonia does not serve there)"
        return reason

    def nominal_duration_s(self, params: NixCacheParams, links: int) -> float:
        # About 10 MB/s per run (a slow tunnel on a loaded machine), plus Nix's start-up and
        # per-path work; the attempt's timeout derives from this (raise it per plan policy).
        per_run = params.total_size_mb / 10 + 1.0 + params.paths_count * 0.01
        return (params.runs + params.warmup_runs) * per_run * links

    def analysis_values(self, metrics: NixCacheMetrics) -> dict[str, float | None]:
        return {
            "nix_cache.time_s": metrics.mean_s,
            "nix_cache.throughput_mbps": metrics.nar_bytes * 8 / metrics.mean_s / 1e6
            if metrics.mean_s > 0 else None,
        }

    def summary(self, metrics: NixCacheMetrics) -> str:
        return (f"{metrics.mean_s:.2f} s ± {metrics.stddev_s:.2f} "
                f"({len(metrics.run_times_s)} runs, {metrics.paths_present} paths)")
