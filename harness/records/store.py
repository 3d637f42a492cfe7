"""Run directory layout, durable writes, and one writer at a time.

Layout (all paths relative to the run directory ``results/<run-id>/``)::

    manifest.json                                                # RunManifest
    index.jsonl                                                  # journal of what was added
    .lock                                                        # held by the writing process
    <vpn>/<profile>/rep<k>/session.json
    <vpn>/<profile>/rep<k>/<test>/<source>-<target>.json        # ResultRecord
    <vpn>/<profile>/rep<k>/<test>/<source>-<target>.raw.<ext>   # raw tool output

Every file is written to a temporary sibling, fsynced, renamed, and its directory fsynced,
so a crash never leaves a half-written record and a record is on disk the moment its test
ends. Each record, session and phase is then appended to ``index.jsonl`` (one fsynced line,
numbered) instead of rewriting the manifest: I/O stays linear in the size of a suite. The
manifest is rewritten at the start and the end of an invocation and records the last index
entry it includes; readers merge the entries after it (a torn last line is ignored).
A writer holds an exclusive lock on ``.lock`` and, on opening, removes the temporary files
and the torn index tail a killed writer left.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from harness.records.models import PhaseTiming, ResultRecord, RunManifest, SessionRecord

MANIFEST = "manifest.json"
INDEX = "index.jsonl"
LOCK = ".lock"
TEMP_SUFFIX = ".tmp"
#: errno values that mean "no space left": the run stops cleanly and can be resumed.
FULL = {errno.ENOSPC, errno.EDQUOT}


class RunLocked(RuntimeError):
    """Another process is writing this run directory."""


class StoreFull(OSError):
    """The run directory's filesystem is full; what was written so far is intact."""


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs(path: Path) -> None:
    """``mkdir -p`` that fsyncs every parent whose entry it created."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):
            directory.mkdir()
        fsync_dir(directory.parent)


def atomic_write(path: Path, data: bytes | str, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` so readers see either the old or the whole new file, and
    the new one survives a power loss once this returns."""
    make_dirs(path.parent)
    payload = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cell_dir(vpn: str, profile: str, repetition: int) -> Path:
    return Path(vpn) / profile / f"rep{repetition}"


def record_path(record: ResultRecord) -> Path:
    """Relative path of a result record inside the run directory."""
    base = cell_dir(record.vpn, record.profile, record.repetition)
    return base / str(record.test) / f"{record.source}-{record.target}.json"


def session_path(session: SessionRecord) -> Path:
    return cell_dir(session.vpn, session.profile, session.repetition) / "session.json"


def read_index(run_dir: Path) -> list[dict[str, Any]]:
    """The index entries, in order; a torn or unreadable line (a killed writer) is skipped."""
    try:
        text = (run_dir / INDEX).read_bytes().decode(errors="replace")
    except FileNotFoundError:
        return []
    entries = []
    for line in text.split("\n"):
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("seq"), int):
            entries.append(entry)
    return entries


def merge_index(manifest: RunManifest, entries: list[dict[str, Any]]) -> RunManifest:
    """The manifest with the index entries it does not include yet (pure)."""
    merged = manifest.model_copy(deep=True)
    for entry in entries:
        if entry["seq"] <= merged.index_seq:
            continue
        merged.index_seq = entry["seq"]
        if isinstance(entry.get("record"), str) and entry["record"] not in merged.records:
            merged.records.append(entry["record"])
        elif isinstance(entry.get("session"), str) and entry["session"] not in merged.sessions:
            merged.sessions.append(entry["session"])
        elif isinstance(entry.get("phase"), dict):
            with contextlib.suppress(ValidationError):
                merged.phases.append(PhaseTiming.model_validate(entry["phase"]))
    return merged


def load_manifest(run_dir: Path) -> RunManifest:
    """The run's manifest with everything its index adds (read-only: takes no lock)."""
    manifest = RunManifest.model_validate_json((run_dir / MANIFEST).read_text())
    return merge_index(manifest, read_index(run_dir))


def _valid(model: type[ResultRecord] | type[SessionRecord], path: Path) -> bool:
    try:
        model.model_validate_json(path.read_bytes())
    except (OSError, ValueError):
        return False
    return True


class _Lock:
    """An exclusive flock on ``run_dir/.lock``, naming its holder for whoever is refused."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / LOCK
        self._fd = -1  # so __del__ is safe when the open below fails (no permission)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = self.path.read_text(errors="replace").strip() or "another process"
            os.close(self._fd)
            self._fd = -1
            raise RunLocked(f"{run_dir} is being written by {holder}; wait for it to end "
                            "(or stop it) before resuming") from None
        os.ftruncate(self._fd, 0)
        os.write(self._fd, f"PID {os.getpid()} since {datetime.now(UTC):%Y-%m-%d %H:%M:%S} "
                           "UTC".encode())

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = -1

    def __del__(self) -> None:
        self.release()


def _translate_full(error: OSError) -> OSError:
    if error.errno in FULL:
        return StoreFull(error.errno, f"no space left for the run directory: {error}")
    return error


class RunStore:
    """The one writer of a run directory: records, raw outputs, sessions, phases, manifest.

    Creating it takes the directory's lock (``RunLocked`` if another process holds it) and
    cleans what a killed writer left; ``close()`` releases it.
    """

    def __init__(self, run_dir: Path, manifest: RunManifest, *, writer: bool = True) -> None:
        self.run_dir = run_dir
        self.manifest = manifest
        self._lock: _Lock | None = None
        if writer:
            make_dirs(run_dir)
            self._lock = _Lock(run_dir)
            self._remove_leftovers()

    @classmethod
    def open_existing(cls, run_dir: Path) -> RunStore:
        """A read-only view of a run (takes no lock): its manifest merged with its index."""
        return cls(run_dir, load_manifest(run_dir), writer=False)

    @classmethod
    def open_for_writing(cls, run_dir: Path) -> RunStore:
        """Open a run to add to it (resume): lock first (naming the holder if refused), then
        clean what a killed writer left and read the manifest merged with the index."""
        lock = _Lock(run_dir)
        lock.release()
        store = cls(run_dir, RunManifest.model_validate_json((run_dir / MANIFEST).read_text()))
        store.manifest = merge_index(store.manifest, read_index(run_dir))
        store._adopt_orphans()
        return store

    def close(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def _writable(self) -> None:
        if self._lock is None:
            raise RuntimeError(f"{self.run_dir} was opened read-only")

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _remove_leftovers(self) -> None:
        for tmp in self.run_dir.rglob(f".*{TEMP_SUFFIX}"):
            tmp.unlink(missing_ok=True)
        index = self.run_dir / INDEX
        if index.exists():
            data = index.read_bytes()
            whole = data[: data.rfind(b"\n") + 1]
            if whole != data:
                with index.open("r+b") as handle:
                    handle.truncate(len(whole))
                    os.fsync(handle.fileno())

    def _adopt_orphans(self) -> None:
        """List records and sessions a killed writer renamed into place but did not index:
        the file is whole (atomic rename), so it is kept rather than measured again."""
        for path in sorted(self.run_dir.glob("*/*/rep*/session.json")):
            rel = str(path.relative_to(self.run_dir))
            if rel not in self.manifest.sessions and _valid(SessionRecord, path):
                self.manifest.sessions.append(rel)
                self._append({"session": rel})
        for path in sorted(self.run_dir.glob("*/*/rep*/*/*.json")):
            if ".raw." in path.name:
                continue
            rel = str(path.relative_to(self.run_dir))
            if rel not in self.manifest.records and _valid(ResultRecord, path):
                self.manifest.records.append(rel)
                self._append({"record": rel})

    def _append(self, entry: dict[str, Any]) -> None:
        self._writable()
        self.manifest.index_seq += 1
        line = json.dumps({"seq": self.manifest.index_seq, **entry}) + "\n"
        try:
            with (self.run_dir / INDEX).open("ab") as handle:
                handle.write(line.encode())
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as error:
            raise _translate_full(error) from error

    def write_raw(self, record_rel: Path, content: str, extension: str) -> str:
        """Store raw tool output next to its record; returns the name relative to it."""
        raw_rel = record_rel.with_name(f"{record_rel.stem}.raw.{extension}")
        atomic_write(self.run_dir / raw_rel, content)
        return raw_rel.name

    def add_record(self, record: ResultRecord, raw: str = "", raw_extension: str = "txt") -> Path:
        """Write raw output (if any) and the record, then append it to the index."""
        rel = record_path(record)
        try:
            if raw:
                record = record.model_copy(update={"raw_output": self.write_raw(
                    rel, raw, raw_extension)})
            atomic_write(self.run_dir / rel, record.model_dump_json(indent=2))
        except OSError as error:
            raise _translate_full(error) from error
        if str(rel) not in self.manifest.records:
            self.manifest.records.append(str(rel))
            self._append({"record": str(rel)})
        return rel

    def add_phase(self, phase: PhaseTiming) -> None:
        self.manifest.phases.append(phase)
        self._append({"phase": phase.model_dump(mode="json")})

    def add_session(self, session: SessionRecord) -> Path:
        rel = session_path(session)
        try:
            atomic_write(self.run_dir / rel, session.model_dump_json(indent=2))
        except OSError as error:
            raise _translate_full(error) from error
        if str(rel) not in self.manifest.sessions:
            self.manifest.sessions.append(str(rel))
            self._append({"session": str(rel)})
        return rel

    def save_manifest(self) -> None:
        """Rewrite the manifest with everything so far (start and end of an invocation)."""
        self._writable()
        try:
            atomic_write(self.run_dir / MANIFEST, self.manifest.model_dump_json(indent=2))
        except OSError as error:
            raise _translate_full(error) from error

    def load_records(self) -> list[ResultRecord]:
        return [
            ResultRecord.model_validate_json((self.run_dir / rel).read_text())
            for rel in self.manifest.records
        ]
