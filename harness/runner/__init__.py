"""Orchestration: plans, readiness, time accounting, and the run loop."""
