"""The run directory survives what happens to real runs: a writer killed at any instant, two
processes on one run, a full disk. Records stay whole, listed once, and resumable."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from harness.records.models import ResultRecord, RunManifest, Status
from harness.records.store import (
    INDEX,
    MANIFEST,
    RunLocked,
    RunStore,
    load_manifest,
    read_index,
)
from harness.runner.run import RunDiskFull
from harness.testbed.fake import FakeTestbedFactory
from tests.harness.test_run_loop_fake import healthy, make_plan, records, resume, run

REPO = Path(__file__).resolve().parents[2]


def _record(repetition: int, index: int) -> ResultRecord:
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    return ResultRecord(run_id="r", vpn="internal", profile="baseline", test="ping",
                        parameters={"count": 1, "interval_s": 0.2},
                        source=f"h{index}", target=f"h{index + 1}", repetition=repetition,
                        started_at=stamp, ended_at=stamp, status=Status.OK)


def _new_run(run_dir: Path) -> None:
    manifest = RunManifest(run_id="r", started_at=datetime(2026, 1, 1, tzinfo=UTC))
    with RunStore(run_dir, manifest) as store:
        store.save_manifest()


def test_records_are_indexed_not_rewritten_into_the_manifest(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    _new_run(run_dir)
    before = (run_dir / MANIFEST).read_bytes()
    with RunStore.open_for_writing(run_dir) as store:
        for index in range(5):
            store.add_record(_record(0, index), raw="x" * 100)
    assert (run_dir / MANIFEST).read_bytes() == before
    assert [entry["seq"] for entry in read_index(run_dir)] == [1, 2, 3, 4, 5]
    merged = load_manifest(run_dir)
    assert len(merged.records) == 5 and merged.index_seq == 5
    with RunStore.open_for_writing(run_dir) as store:
        store.save_manifest()  # the manifest now includes the index; merging adds nothing twice
    assert load_manifest(run_dir).records == merged.records


def test_a_second_writer_is_refused_naming_the_holder(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    _new_run(run_dir)
    with RunStore.open_for_writing(run_dir):
        with pytest.raises(RunLocked, match=f"PID {os.getpid()}"):
            RunStore.open_for_writing(run_dir)
        assert RunStore.open_existing(run_dir).manifest.run_id == "r"  # readers still read
    RunStore.open_for_writing(run_dir).close()  # free again once closed


WRITER = """
import sys
from pathlib import Path
from tests.harness.test_store_durability import _record
from harness.records.store import RunStore
run_dir, repetition = Path(sys.argv[1]), int(sys.argv[2])
store = RunStore.open_for_writing(run_dir)
print("ready", flush=True)
for index in range(400):
    store.add_record(_record(repetition, index), raw="r" * 20000, raw_extension="txt")
"""


def _check_consistent(run_dir: Path) -> set[str]:
    """Open as the next writer would; everything listed is whole, once, and nothing is left."""
    with RunStore.open_for_writing(run_dir) as store:
        listed = store.manifest.records
        assert len(listed) == len(set(listed))
        for rel in listed:
            ResultRecord.model_validate_json((run_dir / rel).read_text())
        on_disk = {str(p.relative_to(run_dir)) for p in run_dir.glob("*/*/rep*/*/*.json")
                   if ".raw." not in p.name}
        assert on_disk == set(listed)
    assert list(run_dir.rglob("*.tmp")) == []
    lines = (run_dir / INDEX).read_text().splitlines() if (run_dir / INDEX).exists() else []
    assert all(json.loads(line)["seq"] for line in lines)  # no torn line survives the open
    return set(listed)


@pytest.fixture
def writer_processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()


def test_a_writer_killed_at_random_points_loses_and_duplicates_nothing(
        tmp_path: Path, writer_processes: list[subprocess.Popen[str]]) -> None:
    run_dir = tmp_path / "run"
    _new_run(run_dir)
    draw = random.Random(9)
    seen: set[str] = set()
    for round_ in range(12):
        process = subprocess.Popen([sys.executable, "-c", WRITER, str(run_dir), str(round_)],
                                   cwd=REPO, stdout=subprocess.PIPE, text=True)
        writer_processes.append(process)
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        time.sleep(draw.uniform(0.0, 0.15))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        listed = _check_consistent(run_dir)
        assert seen <= listed  # what was listed before is never lost
        seen = listed
    assert seen, "the writers wrote nothing before being killed; the test proved nothing"


@pytest.fixture
def small_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs, unmounted afterwards."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "vpb-test",
                           str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


@pytest.mark.root
def test_a_full_disk_stops_the_run_cleanly_and_it_resumes(small_filesystem: Path) -> None:
    ballast = small_filesystem / "ballast"
    free = os.statvfs(small_filesystem).f_bavail * os.statvfs(small_filesystem).f_frsize
    ballast.write_bytes(b"\0" * (free - 110_000))  # room for a few records, not for all 12
    plan = make_plan(["internal"], ["tcp", "udp", "ping",
                                    "parallel_tcp"])
    with pytest.raises(RunDiskFull, match="--resume") as stopped:
        run(plan, FakeTestbedFactory(healthy()), small_filesystem)
    run_dir = stopped.value.run_dir
    written = records(run_dir)
    assert 0 < len(written) < 12
    ballast.unlink()
    _check_consistent(run_dir)
    resume(run_dir, FakeTestbedFactory(healthy()))
    final = records(run_dir)
    assert len(final) == 12 and all(r.status is Status.OK for r in final.values())
    assert load_manifest(run_dir).complete
