"""Output directories from the command line, checked before anything is generated.

``run --out``, ``analysis --out`` and ``keys --out`` all go through :func:`check_output_dir`,
so an unwritable place (``/proc/x``, a read-only mount, a root-owned directory for another
user, a file, a dangling symlink) is one clear error before a testbed is built, a key is
generated or a figure is drawn, and nothing is created by the check itself.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from harness.errors import UsageError

_HINT = "choose a writable directory"


def _nearest_existing(path: Path) -> Path:
    """``path`` or its closest ancestor that exists (a symlink counts, even a broken one)."""
    current = path
    while not (current.exists() or current.is_symlink()):
        if current.parent == current:
            break
        current = current.parent
    return current


def _probe(directory: Path) -> None:
    """Create and remove a scratch directory: the only sure way to know a place is writable
    (``os.access`` says yes to root on /proc and on read-only mounts)."""
    scratch = tempfile.mkdtemp(prefix=".vpn-bench-probe-", dir=directory)
    with contextlib.suppress(OSError):
        os.rmdir(scratch)


def check_output_dir(path: Path, flag: str = "--out") -> None:
    """Raise UsageError unless ``path`` is a writable directory or can be created as one."""
    where = f"{flag} {path}"
    try:
        existing = _nearest_existing(path.absolute())
        if existing.is_symlink() and not existing.exists():
            raise UsageError(f"{where}: {existing} is a dangling symlink or a symlink loop; "
                             f"{_HINT}")
        if not existing.is_dir():
            what = "is not a directory" if existing.exists() else "does not exist"
            raise UsageError(f"{where}: {existing} {what}; {_HINT}")
        _probe(existing)
    except UsageError:
        raise
    except (OSError, ValueError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise UsageError(f"{where}: cannot write there ({reason}); {_HINT}") from None


def inside(path: Path, directory: Path) -> bool:
    """Whether ``path`` is ``directory`` or below it, after resolving symlinks."""
    # realpath, unlike Path.resolve, does not raise on a symlink loop.
    resolved, root = Path(os.path.realpath(path)), Path(os.path.realpath(directory))
    return resolved == root or root in resolved.parents


def check_output_file(path: Path, flag: str) -> None:
    """Raise UsageError unless the file ``path`` can be written (its directory exists or
    can be created and is writable; ``path`` is not a directory)."""
    if path.is_dir():
        raise UsageError(f"{flag} {path} is a directory; pass a file name")
    check_output_dir(path.parent if str(path.parent) else Path("."), f"{flag} {path}: directory")
