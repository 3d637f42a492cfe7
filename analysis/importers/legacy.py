"""Importer for the earlier implementation's result layout (methodology §4).

Layout: ``<root>/<VPN>/<profile>/<i>_<host>/<test>.json`` plus per-profile and per-VPN
files and ``General/``. The precomputed ``General/comparison`` files are ignored: every
aggregate is recomputed from the per-link files with our own definitions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from analysis.dataset import Dataset, DatasetBuilder
from analysis.errors import utf8_name
from analysis.importers import legacy_files as files
from analysis.importers.json_paths import (
    JsonObject,
    get_number,
    get_object,
    get_path,
    get_text,
)
from analysis.importers.legacy_metadata import LegacyFacts, metadata_tables

FORMAT = "legacy"
SAMPLE = "legacy"
"""The legacy layout holds one measurement per link and profile: a single sample."""

GENERAL_DIR = "General"
PARALLEL_FILE = "parallel_tcp_iperf3.json"
HOST_DIR = re.compile(r"^(?P<index>\d+)_(?P<host>[A-Za-z0-9][\w.-]*)$")

Extractor = Callable[[JsonObject], dict[str, float | None]]
TEST_FILES: dict[str, tuple[str, Extractor]] = {
    "tcp_iperf3.json": ("tcp", files.tcp_values),
    "udp_iperf3.json": ("udp", files.udp_values),
    "qperf.json": ("quic", files.qperf_values),
    "nix_cache.json": ("nix_cache", files.nix_cache_values),
    "ping.json": ("ping", files.ping_values),
    "rist_stream.json": ("rist", files.rist_values),
}
TIMING_FILES = {
    "reboot_connection_timings.json": "reconnect.reboot_s",
    "connection_timings.json": "reconnect.bringup_s",
}


def canonical_profile(name: str) -> str:
    """``low_impairment`` → ``low``: the legacy aliases mapped onto our profile names."""
    return name.removesuffix("_impairment")


@dataclass(frozen=True)
class HostDir:
    path: Path
    index: int
    host: str


@dataclass(frozen=True)
class ProfileDir:
    path: Path
    vpn: str
    profile: str
    hosts: tuple[HostDir, ...]


def _host_dirs(profile_dir: Path) -> tuple[HostDir, ...]:
    found = []
    for child in profile_dir.iterdir():
        match = HOST_DIR.match(child.name)
        if match and child.is_dir():
            found.append(HostDir(child, int(match["index"]), match["host"]))
    return tuple(sorted(found, key=lambda h: h.index))


def _is_profile_dir(path: Path) -> bool:
    if not path.is_dir():
        return False
    if (path / "tc_settings.json").is_file() or (path / PARALLEL_FILE).is_file():
        return True
    return bool(_host_dirs(path))


def find_profile_dirs(root: Path) -> list[ProfileDir]:
    """Every ``<VPN>/<profile>/`` directory below ``root``, in a stable order."""
    found = []
    for vpn_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        if vpn_dir.name == GENERAL_DIR or vpn_dir.name.startswith("."):
            continue
        for profile_dir in sorted(vpn_dir.iterdir()):
            if _is_profile_dir(profile_dir):
                found.append(
                    ProfileDir(
                        profile_dir,
                        utf8_name(vpn_dir.name),
                        canonical_profile(utf8_name(profile_dir.name)),
                        _host_dirs(profile_dir),
                    )
                )
    return found


def looks_like_legacy(root: Path) -> bool:
    return root.is_dir() and bool(find_profile_dirs(root))


def _read(path: Path) -> tuple[object, str | None]:
    """Parsed JSON, or an error message if the file cannot be read or parsed."""
    try:
        return json.loads(path.read_bytes()), None
    except FileNotFoundError:
        return None, f"missing result file {path.name}"
    except (OSError, ValueError) as error:
        return None, f"unreadable result file {path.name}: {error}"


class LegacyImporter:
    """Walks one legacy result root and fills a :class:`DatasetBuilder`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.out = DatasetBuilder()
        self.profiles = find_profile_dirs(root)
        self.ring = self._ring_order()
        self.expected_tests = self._expected_test_files()
        self.expect_parallel = any((p.path / PARALLEL_FILE).is_file() for p in self.profiles)
        self._installs_seen: set[tuple[str, float]] = set()
        self.facts = LegacyFacts(str(root), self.ring,
                                 tuple(sorted({p.vpn for p in self.profiles})))

    def _ring_order(self) -> tuple[str, ...]:
        by_index: dict[int, str] = {}
        for profile in self.profiles:
            for host in profile.hosts:
                by_index.setdefault(host.index, host.host)
        return tuple(by_index[i] for i in sorted(by_index))

    def _expected_test_files(self) -> tuple[str, ...]:
        seen = {
            name
            for profile in self.profiles
            for host in profile.hosts
            for name in TEST_FILES
            if (host.path / name).is_file()
        }
        return tuple(name for name in TEST_FILES if name in seen)

    def _rel(self, path: Path) -> str:
        return str(path.relative_to(self.root))

    def load(self) -> Dataset:
        for profile in self.profiles:
            self._load_profile(profile)
        hardware, _ = _read(self.root / GENERAL_DIR / "hardware.json")
        self.out.metadata.extend(metadata_tables(self.facts, hardware))
        self.out.notes.append(
            "Legacy input: one measurement per link and profile (n counts links); "
            "profile directories '<x>_impairment' are reported as '<x>'."
        )
        return self.out.build(FORMAT, str(self.root), self.ring)

    # -- per profile ---------------------------------------------------------------

    def _load_profile(self, profile: ProfileDir) -> None:
        for host in profile.hosts:
            for name in self.expected_tests:
                self._load_test_file(profile, host, name)
            for name, metric in TIMING_FILES.items():
                self._load_timing_file(profile, host, name, metric)
        if self.expect_parallel:
            self._load_parallel(profile)
        self._load_timing_breakdown(profile)
        settings, _ = _read(profile.path / "tc_settings.json")
        if isinstance(settings, dict):
            self.facts.impairment.setdefault(profile.profile, get_object(settings, "settings"))

    def _default_link(self, host: HostDir) -> str:
        if host.host in self.ring and len(self.ring) > 1:
            target = self.ring[(self.ring.index(host.host) + 1) % len(self.ring)]
            return f"{host.host}->{target}"
        return f"{host.host}->?"

    def _load_test_file(self, profile: ProfileDir, host: HostDir, name: str) -> None:
        test, extract = TEST_FILES[name]
        path = host.path / name
        document, read_error = _read(path)
        meta = get_object(document, "meta") or {}
        source = get_text(meta, "source")
        target = get_text(meta, "target")
        link = f"{source}->{target}" if source and target else self._default_link(host)
        where = (profile.vpn, profile.profile, test, link, SAMPLE)
        reason = read_error or files.failure_reason(document)
        status = "ok" if reason is None else "failed"
        self.out.outcome(where, status, reason, self._rel(path))
        self._book_meta(profile, meta, path)
        data = get_object(document, "data")
        if reason is not None or data is None:
            return
        for metric, value in extract(data).items():
            self.out.observe(where, metric, value)
        if test == "tcp":
            self.facts.note_iperf(host.host, data)
            mtu = files.path_mtu(data)
            mss = get_number(data, "start", "tcp_mss_default")
            if profile.vpn not in self.facts.path_mtu and mtu is not None:
                self.facts.path_mtu[profile.vpn] = (f"{mtu:.0f}", f"{mss:.0f}" if mss else "")

    def _book_meta(self, profile: ProfileDir, meta: JsonObject, path: Path) -> None:
        """Time accounting and restart samples from a test file's ``meta``."""
        vpn, name = profile.vpn, profile.profile
        duration = get_number(meta, "duration_seconds")
        if duration is not None:
            self.out.phase(vpn, name, "benchmark", duration)
        restart = get_number(meta, "vpn_restart_duration_seconds")
        if restart:
            self.out.phase(vpn, name, "restart", restart)
        wait = get_number(meta, "connectivity_wait_duration_seconds")
        if wait:
            self.out.phase(vpn, name, "tunnel_wait", wait)
        reconnect = files.restart_seconds(meta)
        where = (vpn, name, "reconnect", "all", self._rel(path))
        self.out.observe(where, "reconnect.restart_s", reconnect)

    def _load_timing_file(self, profile: ProfileDir, host: HostDir, name: str,
                          metric: str) -> None:
        path = host.path / name
        if not path.is_file():
            return
        document, error = _read(path)
        seconds = files.first_vpn_success_seconds(document) if isinstance(document, dict) else None
        if seconds is None:
            self.out.notes.append(
                f"{self._rel(path)}: {error or 'no successful VPN connection recorded'}"
            )
            return
        where = (profile.vpn, profile.profile, "reconnect", host.host, SAMPLE)
        self.out.observe(where, metric, seconds)

    def _load_parallel(self, profile: ProfileDir) -> None:
        path = profile.path / PARALLEL_FILE
        document, read_error = _read(path)
        meta = get_object(document, "meta") or {}
        self._book_meta(profile, meta, path)
        reason = read_error or files.failure_reason(document)
        pairs = get_path(document, "data", "pairs")
        if reason is not None or not isinstance(pairs, list):
            where = (profile.vpn, profile.profile, "parallel_tcp", "all", SAMPLE)
            self.out.outcome(where, "failed", reason or "no pairs recorded", self._rel(path))
            return
        for pair in pairs:
            source, target = get_text(pair, "source"), get_text(pair, "target")
            link = f"{source}->{target}"
            where = (profile.vpn, profile.profile, "parallel_tcp", link, SAMPLE)
            result = get_object(pair, "result")
            if result is None or get_text(result, "error"):
                error = get_path(pair, "error")
                text = error if isinstance(error, str) else json.dumps(error)
                if result is not None:
                    text = json.dumps({"error": get_text(result, "error")})
                pair_reason = files.text_failure_reason(get_text(pair, "error_type"), text)
                self.out.outcome(where, "failed", pair_reason, self._rel(path))
                continue
            self.out.outcome(where, "ok", None, self._rel(path))
            for metric, value in files.parallel_pair_values(result).items():
                self.out.observe(where, metric, value)

    def _load_timing_breakdown(self, profile: ProfileDir) -> None:
        """Deploy (installation) time once per distinct installation; impairment setup per
        profile. The legacy ``vpn_installation`` phase maps to our ``deploy`` phase.

        The file is cumulative and several runs were merged into the legacy data, so
        installations are told apart by their start time.
        """
        document, _ = _read(profile.path / "timing_breakdown.json")
        phases = get_path(document, "phases")
        if not isinstance(phases, list):
            return
        for phase in phases:
            kind = get_text(phase, "phase")
            start = get_number(phase, "start_timestamp") or 0.0
            duration = get_number(phase, "duration_seconds")
            if kind == "vpn_installation" and duration is not None:
                if (profile.vpn, start) not in self._installs_seen:
                    self._installs_seen.add((profile.vpn, start))
                    self.out.phase(profile.vpn, None, "deploy", duration)
            elif kind == "benchmarking":
                raw_profile = get_text(phase, "metadata", "profile")
                if raw_profile is None or canonical_profile(raw_profile) != profile.profile:
                    continue
                for operation in _operations(phase):
                    if get_text(operation, "name") == "tc_stabilization":
                        seconds = get_number(operation, "duration_seconds")
                        if seconds is not None:
                            self.out.phase(profile.vpn, profile.profile, "impairment_setup",
                                           seconds)


def _operations(phase: object) -> Iterator[object]:
    operations = get_path(phase, "operations")
    if isinstance(operations, list):
        yield from operations


def load_legacy(root: Path) -> Dataset:
    """Import a legacy result root (e.g. ``.../bench/18.12.2025``)."""
    return LegacyImporter(root).load()
