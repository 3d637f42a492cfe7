#!/usr/bin/env python3
"""Run a command while every core is kept busy, to show that it holds up on a loaded host.

The issue behind it: the suite must pass, and the bench must flag its cells, on a shared
machine whose cores are all taken by someone else's build. This starts one CPU-bound
Python loop per core (``--workers``; default: every core), each ending by itself after
``--max-s`` seconds at the latest, runs the command, then ends the loops it started (by
PID) and prints the load averages seen. Exit status: the command's.

Usage: scripts/under-load.py [--workers N] [--max-s S] -- COMMAND [ARG...]
Example: scripts/under-load.py -- make test
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

BUSY_LOOP = ("import time\nend = time.monotonic() + {seconds}\n"
             "while time.monotonic() < end:\n    pass\n")


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f} (1/5/15 min) on {os.cpu_count()} CPUs"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="busy loops to run (default: one per core)")
    parser.add_argument("--max-s", type=float, default=7200.0,
                        help="each loop ends by itself after this many seconds (default 7200)")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.print_usage(sys.stderr)
        print("under-load.py: error: no command given (put it after --)", file=sys.stderr)
        return 2
    if args.workers < 1 or args.max_s <= 0:
        print("under-load.py: error: --workers must be >= 1 and --max-s > 0", file=sys.stderr)
        return 2
    code = BUSY_LOOP.format(seconds=args.max_s)
    loops: list[subprocess.Popen[bytes]] = []
    started = time.monotonic()
    status = 1
    try:
        for _ in range(args.workers):
            loops.append(subprocess.Popen([sys.executable, "-c", code]))
        print(f"under-load: {len(loops)} busy loops (pids "
              f"{' '.join(str(p.pid) for p in loops)}), load at start {_load()}", flush=True)
        status = subprocess.call(command)
    finally:
        for loop in loops:
            if loop.poll() is None:
                loop.send_signal(signal.SIGTERM)
        for loop in loops:
            try:
                loop.wait(timeout=10)
            except subprocess.TimeoutExpired:
                loop.kill()
                loop.wait()
        print(f"under-load: command exited {status} after {time.monotonic() - started:.0f} s "
              f"with {len(loops)} busy loops; load at the end {_load()}", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
