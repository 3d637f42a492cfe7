"""Kernel features of this machine, found by trying (see Host.has_netem and friends)."""

from __future__ import annotations

import functools

from harness.hosts.local import LocalMachine


@functools.cache
def this_machine() -> LocalMachine:
    return LocalMachine()


def kernel_has_wireguard() -> bool:
    return this_machine().has_wireguard_module()


def kernel_has_netem() -> bool:
    return this_machine().has_netem()


def namespaces_work() -> bool:
    return this_machine().try_in_scratch_netns([["ip", "link", "set", "lo", "up"]])
