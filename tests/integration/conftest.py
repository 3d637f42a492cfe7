"""Fixtures that build real namespace testbeds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.settings.loader import load_testbed
from harness.testbed.local.testbed import LocalTestbed, LocalTestbedSpec


@pytest.fixture
def testbed_spec() -> LocalTestbedSpec:
    settings = load_testbed()
    return LocalTestbedSpec(hosts=settings.hosts, lan=settings.lan)


@pytest.fixture
def testbed(testbed_spec: LocalTestbedSpec) -> Iterator[LocalTestbed]:
    with LocalTestbed(testbed_spec) as built:
        yield built
