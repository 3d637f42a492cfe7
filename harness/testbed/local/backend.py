"""The local backend: hosts are network namespaces on this machine (the default)."""

from __future__ import annotations

from contextlib import AbstractContextManager

from harness.hosts.base import Host
from harness.hosts.local import LocalMachine
from harness.testbed.base import Backend, Testbed, TestbedRequest
from harness.testbed.local.system import require_local_testbed_support
from harness.testbed.local.testbed import LocalTestbed, LocalTestbedSpec


class LocalBackend(Backend):
    name = "local"
    summary = "hosts as network namespaces on this machine, joined by a bridge"

    def control_host(self) -> Host:
        return LocalMachine()

    def check_support(self) -> None:
        require_local_testbed_support()

    def open(self, request: TestbedRequest) -> AbstractContextManager[Testbed]:
        return LocalTestbed(LocalTestbedSpec(hosts=request.hosts, lan=request.lan,
                                             offloads=request.offloads))
