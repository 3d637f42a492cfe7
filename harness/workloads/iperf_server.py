"""A fresh iperf3 server per test, started on the target and stopped after the test."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from harness.hosts.base import Host, Process
from harness.waiting import WaitFailed, wait_until


def _listening(host: Host, port: int) -> bool:
    result = host.run(["ss", "-Htln", f"sport = :{port}"], timeout=5)
    return result.ok and bool(result.stdout.strip())


@contextlib.contextmanager
def iperf3_server(host: Host, port: int, name: str) -> Iterator[Process]:
    """Run ``iperf3 -s -1`` on ``host`` until the block ends; waits until it listens."""
    process = host.start(["iperf3", "-s", "-1", "-p", str(port)], name=name)
    try:
        try:
            wait_until(lambda: _listening(host, port), timeout_s=10, interval_s=0.05,
                       what=f"iperf3 server on {host.name}:{port}",
                       abort=lambda: [] if process.is_running() else
                       [f"iperf3 server exited: {process.log_tail(5)}"])
        except WaitFailed as error:
            raise ServerError(str(error)) from None
        yield process
    finally:
        process.stop(timeout=3.0)


class ServerError(RuntimeError):
    """The server side of a test could not be started."""
