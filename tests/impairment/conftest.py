"""The vpb-linkemu binary for tests: the installed one, else a build into a temp dir."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.impairment.binary import OVERRIDE_ENV, find_linkemu
from harness.impairment.errors import EngineUnavailable

LINKEMU_SOURCE = Path(__file__).resolve().parents[2] / "harness" / "impairment" / "linkemu"


@pytest.fixture(scope="session")
def linkemu_binary() -> Iterator[Path]:
    try:
        yield find_linkemu()
        return
    except EngineUnavailable:
        pass
    if shutil.which("go") is None:
        pytest.skip("vpb-linkemu is not installed and Go is not available to build it")
    directory = Path(tempfile.mkdtemp(prefix="vpb-test-linkemu-"))
    binary = directory / "vpb-linkemu"
    try:
        built = subprocess.run(
            ["go", "build", "-o", str(binary), "./cmd/vpb-linkemu"], cwd=LINKEMU_SOURCE,
            env={**os.environ, "CGO_ENABLED": "0"}, capture_output=True, text=True,
            timeout=300, check=False)
        if built.returncode != 0:
            pytest.fail(f"go build of vpb-linkemu failed: {built.stderr}")
        previous = os.environ.get(OVERRIDE_ENV)
        os.environ[OVERRIDE_ENV] = str(binary)
        try:
            yield binary
        finally:
            if previous is None:
                os.environ.pop(OVERRIDE_ENV, None)
            else:
                os.environ[OVERRIDE_ENV] = previous
    finally:
        shutil.rmtree(directory, ignore_errors=True)
