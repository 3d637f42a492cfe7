"""Runtime failures of impairment engines (bad *input* is `profiles.ProfileError`)."""

from __future__ import annotations

from harness.testbed.base import TestbedError


class ImpairmentError(TestbedError):
    """Applying, verifying or removing an impairment failed; the message names the host,
    interface and command, and what was rolled back."""


class EngineUnavailable(ImpairmentError):
    """The requested engine cannot run here (no sch_netem, no vpb-linkemu binary)."""
