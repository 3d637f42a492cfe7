"""Place generated files in the output directory all at once, or not at all.

Everything is first written to a staging directory inside ``out`` (same file system, so
moves are renames). Then each VPN directory (``public/<vpn>``, ``secrets/<host>/<vpn>``) is
swapped in: the old one moves into the staging directory, the new one takes its place. Any
error or interrupt during the swap moves everything back, so peers never end up holding
keys of two different generations. (A SIGKILL in the middle of the swap is not covered.)
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from harness.errors import UsageError
from harness.outdir import check_output_dir
from harness.vpns.material import KeyFile, KeyMaterialError, PrivateFile

PUBLIC_DIR_MODE = 0o755
PUBLIC_FILE_MODE = 0o644
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
STAGING_PREFIX = ".vpn-bench-keys-"


def vpn_dirs(out: Path, vpn: str) -> list[PurePosixPath]:
    """Directories under ``out`` that hold ``vpn``'s material now, for any host."""
    found = [PurePosixPath("public", vpn)] if (out / "public" / vpn).exists() else []
    secrets = out / "secrets"
    if secrets.is_dir():
        found += [PurePosixPath("secrets", host.name, vpn)
                  for host in sorted(secrets.iterdir()) if (host / vpn).exists()]
    return found


def existing_key_files(out: Path, vpns: Iterable[str]) -> list[Path]:
    """Files of these VPNs already in ``out``: regenerating any of them needs ``--force``."""
    return [path for vpn in vpns for unit in vpn_dirs(out, vpn)
            for path in sorted((out / unit).rglob("*")) if not path.is_dir()]


def unit_of(key_file: KeyFile) -> PurePosixPath:
    """The directory that is swapped as a whole: ``public/<vpn>`` or ``secrets/<host>/<vpn>``."""
    return key_file.relative_path.parent


def _dir_mode(relative: PurePosixPath) -> int:
    return PRIVATE_DIR_MODE if relative.parts[0] == "secrets" else PUBLIC_DIR_MODE


def write_staged(root: Path, files: Sequence[KeyFile]) -> None:
    """Write every file below ``root`` with its final mode (umask does not apply)."""
    for key_file in files:
        relative = key_file.relative_path
        for depth in range(1, len(relative.parts)):
            directory = PurePosixPath(*relative.parts[:depth])
            (root / directory).mkdir(exist_ok=True)
            (root / directory).chmod(_dir_mode(directory))
        private = isinstance(key_file, PrivateFile)
        mode = PRIVATE_FILE_MODE if private else PUBLIC_FILE_MODE
        target = root / relative
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(key_file.text)
        target.chmod(mode)


@dataclass
class _Swap:
    """What the swap did so far, newest last, so it can be undone."""

    out: Path
    backups: Path
    created_dirs: list[Path] = field(default_factory=list)
    moved_away: list[tuple[Path, Path]] = field(default_factory=list)  # (backup, original)
    placed: list[Path] = field(default_factory=list)

    def ensure_parents(self, unit: PurePosixPath) -> None:
        for depth in range(1, len(unit.parts)):
            relative = PurePosixPath(*unit.parts[:depth])
            directory = self.out / relative
            if not directory.exists():
                directory.mkdir()
                self.created_dirs.append(directory)
                directory.chmod(_dir_mode(relative))
            elif not directory.is_dir():
                raise NotADirectoryError(f"{directory} exists and is not a directory")
            elif relative.parts[0] == "secrets":  # private dirs are 0700 even if they existed
                directory.chmod(PRIVATE_DIR_MODE)

    def replace(self, unit: PurePosixPath, staged: Path) -> None:
        target = self.out / unit
        if target.exists() or target.is_symlink():
            backup = self.backups / unit
            backup.parent.mkdir(parents=True, exist_ok=True)
            target.rename(backup)
            self.moved_away.append((backup, target))
        if staged.exists():
            self.ensure_parents(unit)
            staged.rename(target)
            self.placed.append(target)

    def undo(self) -> list[str]:
        problems = []
        for target in reversed(self.placed):
            shutil.rmtree(target, ignore_errors=True)
        for backup, original in reversed(self.moved_away):
            try:
                backup.rename(original)
            except OSError as error:
                problems.append(f"could not restore {original} from {backup}: {error}")
        for directory in reversed(self.created_dirs):
            with contextlib.suppress(OSError):
                directory.rmdir()
        return problems


@dataclass(frozen=True)
class InstallReport:
    written: list[Path]
    replaced_units: list[PurePosixPath]


def _missing_ancestors(path: Path) -> list[Path]:
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    return missing


def check_out_dir(out: Path) -> None:
    """Before any key is generated: ``out`` can be written, and nothing below it that the
    keys would go through is a symlink (a ``secrets`` link could put private keys into
    another user's directory) or a file."""
    check_output_dir(out)
    below = [out / "public", out / "secrets"]
    secrets = out / "secrets"
    if secrets.is_dir() and not secrets.is_symlink():
        hosts = sorted(secrets.iterdir())
        below += [*hosts, *(vpn for host in hosts if host.is_dir() and not host.is_symlink()
                            for vpn in sorted(host.iterdir()))]
    public = out / "public"
    if public.is_dir() and not public.is_symlink():
        below += sorted(public.iterdir())
    for path in below:
        if path.is_symlink():
            raise UsageError(f"--out {out}: {path} is a symlink; vpn-bench keys does not "
                             "follow symlinks below --out (remove it, or choose another --out)")
    for path in (out, out / "public", out / "secrets"):
        if path.exists() and not path.is_dir():
            raise UsageError(f"--out {out}: {path} exists and is not a directory")


class RollbackError(KeyMaterialError):
    """The swap failed and could not be fully undone: the message says what to restore."""


def _remove_if_empty(directories: Sequence[Path]) -> None:
    """Remove directories this run created (deepest first), stopping at one not empty."""
    for directory in directories:
        if not directory.exists():
            continue
        try:
            directory.rmdir()
        except OSError:
            return


def install(out: Path, files: Sequence[KeyFile], vpns: Sequence[str], *,
            force: bool) -> InstallReport:
    """Replace the material of ``vpns`` in ``out`` by ``files``, completely or not at all."""
    check_out_dir(out)
    existing = existing_key_files(out, vpns)
    if existing and not force:
        raise UsageError(refusal_message(out, existing))
    old_units = {unit for vpn in vpns for unit in vpn_dirs(out, vpn)}
    new_units = {unit_of(key_file) for key_file in files}
    created = _missing_ancestors(out.absolute())
    staging: Path | None = None
    swap: _Swap | None = None
    try:
        for directory in reversed(created):  # outermost first; the umask does not apply
            directory.mkdir(mode=PUBLIC_DIR_MODE)
            directory.chmod(PUBLIC_DIR_MODE)
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out))
        (staging / "new").mkdir()
        write_staged(staging / "new", files)
        swap = _Swap(out=out, backups=staging / "old")
        for unit in sorted(old_units | new_units):
            swap.replace(unit, staging / "new" / unit)
    except BaseException as error:
        problems = swap.undo() if swap is not None else []
        if problems:  # keep the staging directory: it holds what could not be restored
            raise RollbackError("; ".join(problems)) from error
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        _remove_if_empty(created)
        if isinstance(error, OSError):
            raise KeyMaterialError(f"cannot write the keys to {out}: {error}") from None
        raise
    shutil.rmtree(staging, ignore_errors=True)
    return InstallReport(written=[out / key_file.relative_path for key_file in files],
                         replaced_units=sorted(old_units))


def refusal_message(out: Path, existing: Sequence[Path]) -> str:
    shown = ", ".join(str(path.relative_to(out)) for path in existing[:4])
    more = f" and {len(existing) - 4} more" if len(existing) > 4 else ""
    return (f"{out} already holds key files ({shown}{more}); refusing to overwrite them. "
            "Pass --force to regenerate all keys of the selected VPNs together (every host "
            "then needs the new files), or choose another --out")
