"""``vpb-http-serve``: serve one directory read-only over HTTP, on one address, for a while.

The nix_cache workload's server on hosts without harmonia: a binary cache made with
``nix copy --to file://DIR`` is a plain directory tree, so GET/HEAD of files is all a Nix
client needs. Bounded: it exits after ``--max-seconds`` whatever happens.
"""

from __future__ import annotations

import argparse
import functools
import ipaddress
import socket
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class _Handler(SimpleHTTPRequestHandler):
    """Files only (no directory listings), no request log on stderr."""

    def list_directory(self, path: str | Path) -> None:  # type: ignore[override]
        self.send_error(404, "no directory listings")
        return None

    def log_message(self, format: str, *args: Any) -> None:
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True


def serve(directory: Path, address: str, port: int, max_seconds: float) -> None:
    """Serve ``directory`` on ``address``:``port`` until ``max_seconds`` have passed."""
    family = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
    server_class = type("_FamilyServer", (_Server,), {"address_family": family})
    handler = functools.partial(_Handler, directory=str(directory))
    with server_class((address, port), handler) as server:
        timer = threading.Timer(max_seconds, server.shutdown)
        timer.daemon = True
        timer.start()
        print(f"serving {directory} on {address} port {port}", flush=True)
        server.serve_forever(poll_interval=0.2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vpb-http-serve",
                                     description="Serve a directory read-only over HTTP.")
    parser.add_argument("directory", type=Path)
    parser.add_argument("--bind", required=True, help="IPv4 or IPv6 address to listen on")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--max-seconds", type=float, default=3600.0,
                        help="exit after this many seconds (default 3600)")
    args = parser.parse_args(argv)
    try:
        ipaddress.ip_address(args.bind)
    except ValueError:
        print(f"vpb-http-serve: --bind {args.bind!r} is not an IP address", file=sys.stderr)
        return 2
    if not 1 <= args.port <= 65535 or not 0 < args.max_seconds <= 86400:
        print("vpb-http-serve: --port must be 1-65535 and --max-seconds 0-86400",
              file=sys.stderr)
        return 2
    if not args.directory.is_dir():
        print(f"vpb-http-serve: {args.directory} is not a directory", file=sys.stderr)
        return 2
    serve(args.directory, args.bind, args.port, args.max_seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
