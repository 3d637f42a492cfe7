"""Run one EasyTier node (PyPI ``easytier-pyo3``) in the foreground until SIGTERM.

    vpb-easytier --config node.toml      (console script of this package)

The wheel embeds the EasyTier core but ships no daemon, so this is the daemon the harness
supervises where the ``easytier-core`` binary is not installed. The config has the fields of
an easytier-core TOML file. Why the checks: the core silently ignores a malformed address, and
its built-in STUN servers are public Internet hosts, so the three STUN lists default to empty.

stdout gets one JSON line per record: ``{"ready": {...}}`` once the node runs, then
``{"event": ...}`` per node event. Exit codes: 0 stopped by SIGTERM/SIGINT; 1 the node failed
to start or stopped by itself; 2 bad arguments, config, or no easytier_pyo3.
"""

from __future__ import annotations

import argparse
import ctypes
import ipaddress
import json
import signal
import sys
import threading
import tomllib
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any

#: The name ps/top show for the launcher (and how leftover checks find it).
PROCESS_NAME = "vpb-easytier"

OFFLINE_DEFAULTS: dict[str, list[str]] = {
    "stun_servers": [],
    "tcp_stun_servers": [],
    "stun_servers_v6": [],
}


class ConfigError(ValueError):
    """The config file cannot describe a node."""


def load_config(path: Path) -> dict[str, Any]:
    """The parsed config with the offline STUN defaults; ConfigError names what is wrong."""
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"cannot read config {path}: {error}") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from error
    for key in ("ipv4", "ipv6"):
        if key in config:
            try:
                ipaddress.ip_interface(str(config[key]))
            except ValueError as error:
                raise ConfigError(
                    f"{path}: {key} = {config[key]!r} is not an address/prefix") from error
    return {**OFFLINE_DEFAULTS, **config}


def _emit(record: dict[str, Any]) -> None:
    print(json.dumps(record, default=str), flush=True)


def _set_process_name(name: str) -> None:
    """prctl(PR_SET_NAME): best effort, only cosmetic."""
    try:
        libc = ctypes.CDLL(None)
        libc.prctl(15, name.encode()[:15], 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _import_easytier() -> ModuleType | None:
    try:
        import easytier_pyo3
    except ImportError:
        return None
    module: ModuleType = easytier_pyo3
    return module


def _serve(easytier: ModuleType, config: dict[str, Any]) -> int:
    try:
        node = easytier.Node(config)
    except (ValueError, TypeError, RuntimeError) as error:
        print(f"easytier_launcher: invalid config: {error}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, request_stop)
    try:
        node.start()
    except RuntimeError as error:
        print(f"easytier_launcher: node did not start: {error}", file=sys.stderr)
        return 1
    try:
        _emit({"ready": {"version": easytier.version(), "peer_id": node.peer_id(),
                         "instance": node.instance_name(),
                         "listeners": node.running_listeners()}})
        while not stop.is_set():
            event = node.next_event(timeout=0.5)
            if event is not None:
                _emit({"event": event})
            if node.state() in ("Stopping", "Stopped"):
                _emit({"stopped": node.latest_error()})
                return 1
    finally:
        node.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``vpb-easytier`` console script; returns the exit code."""
    parser = argparse.ArgumentParser(prog=PROCESS_NAME)
    parser.add_argument("--config", type=Path, help="easytier-core style TOML file")
    parser.add_argument("--version", action="store_true", help="print the core version")
    args = parser.parse_args(argv)
    easytier = _import_easytier()
    if easytier is None:
        print("easytier_launcher: the Python module easytier_pyo3 is not importable; "
              "install it with: pip install 'vpn-bench[easytier]'", file=sys.stderr)
        return 2
    if args.version:
        print(easytier.version())
        return 0
    if args.config is None:
        parser.error("--config is required")
    try:
        config = load_config(args.config)
    except ConfigError as error:
        print(f"easytier_launcher: {error}", file=sys.stderr)
        return 2
    _set_process_name(PROCESS_NAME)
    return _serve(easytier, config)


if __name__ == "__main__":
    sys.exit(main())
