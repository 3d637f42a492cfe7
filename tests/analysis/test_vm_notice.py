"""Runs of the vm backend (NixOS test-driver VMs) carry a report note: not hardware figures."""

from __future__ import annotations

import json
from pathlib import Path

from analysis.importers.records import load_records
from tests.analysis import record_factory as rf


def _run(tmp_path: Path, name: str, backend: str) -> None:
    run_dir = rf.write_run(tmp_path / name, [rf.tcp("wg", rf.RING[0], 500)], run_id=name)
    manifest_path = run_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["backend"] = backend
    manifest_path.write_text(json.dumps(manifest))


def test_a_vm_run_is_noted_as_not_hardware(tmp_path: Path) -> None:
    _run(tmp_path, "run1", "vm")
    _run(tmp_path, "run2", "local")
    notes = [note for note in load_records(tmp_path).notes if "not hardware" in note]
    assert notes == ["Run run1 ran on NixOS test-driver VMs (QEMU guests sharing one machine): "
                     "its figures are not hardware figures."]
