"""Run directory layout and atomic writes.

Layout (all paths relative to the run directory ``results/<run-id>/``)::

    manifest.json
    <vpn>/<profile>/rep<k>/session.json
    <vpn>/<profile>/rep<k>/<test>/<source>-<target>.json        # ResultRecord
    <vpn>/<profile>/rep<k>/<test>/<source>-<target>.raw.<ext>   # raw tool output
    logs/...                                                     # daemon logs

Every file is written to a temporary sibling, fsynced and renamed, so a crash never
leaves a half-written record and a record is on disk the moment its test ends.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from harness.records.models import PhaseTiming, ResultRecord, RunManifest, SessionRecord

MANIFEST = "manifest.json"


def atomic_write(path: Path, data: bytes | str, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` so readers see either the old or the whole new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cell_dir(vpn: str, profile: str, repetition: int) -> Path:
    return Path(vpn) / profile / f"rep{repetition}"


def record_path(record: ResultRecord) -> Path:
    """Relative path of a result record inside the run directory."""
    base = cell_dir(record.vpn, record.profile, record.repetition)
    return base / record.test / f"{record.source}-{record.target}.json"


def session_path(session: SessionRecord) -> Path:
    return cell_dir(session.vpn, session.profile, session.repetition) / "session.json"


class RunStore:
    """Writes records, raw outputs and the manifest of one run directory."""

    def __init__(self, run_dir: Path, manifest: RunManifest) -> None:
        self.run_dir = run_dir
        self.manifest = manifest
        run_dir.mkdir(parents=True, exist_ok=True)

    @classmethod
    def open_existing(cls, run_dir: Path) -> RunStore:
        manifest = RunManifest.model_validate_json((run_dir / MANIFEST).read_text())
        return cls(run_dir, manifest)

    def write_raw(self, record_rel: Path, content: str, extension: str) -> str:
        """Store raw tool output next to its record; returns the name relative to it."""
        raw_rel = record_rel.with_name(f"{record_rel.stem}.raw.{extension}")
        atomic_write(self.run_dir / raw_rel, content)
        return raw_rel.name

    def add_record(self, record: ResultRecord, raw: str = "", raw_extension: str = "txt") -> Path:
        """Write raw output (if any) and the record, then list it in the manifest."""
        rel = record_path(record)
        if raw:
            record = record.model_copy(update={"raw_output": self.write_raw(rel, raw,
                                                                            raw_extension)})
        atomic_write(self.run_dir / rel, record.model_dump_json(indent=2))
        if str(rel) not in self.manifest.records:
            self.manifest.records.append(str(rel))
        self.save_manifest()
        return rel

    def add_phase(self, phase: PhaseTiming) -> None:
        self.manifest.phases.append(phase)
        self.save_manifest()

    def add_session(self, session: SessionRecord) -> Path:
        rel = session_path(session)
        atomic_write(self.run_dir / rel, session.model_dump_json(indent=2))
        if str(rel) not in self.manifest.sessions:
            self.manifest.sessions.append(str(rel))
        self.save_manifest()
        return rel

    def save_manifest(self) -> None:
        atomic_write(self.run_dir / MANIFEST, self.manifest.model_dump_json(indent=2))

    def load_records(self) -> list[ResultRecord]:
        return [
            ResultRecord.model_validate_json((self.run_dir / rel).read_text())
            for rel in self.manifest.records
        ]
