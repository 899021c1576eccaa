"""The output folder of ``gmc train``: checked, claimed and probed before the first epoch.

A run must not discover after an hour of training that it cannot write its results, and two
runs must not interleave their files in one folder. :func:`claimed_folder` therefore, before
any training:

1. refuses a path that is a file (or lies under one), and output names that are folders;
2. creates the folder (and its parents);
3. takes an exclusive, non-blocking ``fcntl.flock`` on ``FOLDER/.lock`` and holds it until the
   run ends. The kernel drops the lock when the process dies, so a run killed with SIGKILL
   leaves no stale lock; the ``.lock`` file itself stays (removing it could let a third run
   lock a fresh file while a second still holds the old one). On systems without ``fcntl``
   there is no lock;
4. writes and removes a probe file, so a read-only folder or a full disk is found now.

Every failure is an :class:`~gmc.runtime.errors.OutputError` with a one-line message.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from gmc.runtime.errors import OutputError

try:
    import fcntl
except ImportError:  # Windows: no advisory locks
    fcntl = None

__all__ = ["claimed_folder", "LOCK_NAME"]

#: Name of the lock file inside the output folder.
LOCK_NAME = ".lock"


@contextlib.contextmanager
def claimed_folder(folder: Path, outputs: tuple[str, ...] = ()) -> Iterator[Path]:
    """Check, create, lock and probe ``folder`` (see the module docstring); yields it.

    ``outputs``: file names the run will write there; each must not be an existing folder.

    Raises:
        OutputError: ``folder`` is a file or cannot be created, one of ``outputs`` is a
            folder, another process holds the lock, or a probe file cannot be written.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"--out {folder}: is a file, not a folder; choose another path")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"--out {folder}: cannot create the folder ({exc.strerror or exc})") from None
    for name in outputs:
        if (folder / name).is_dir():
            raise OutputError(f"{folder / name} is a folder, but the run writes a file there; remove or rename it")
    lock = _lock(folder)
    try:
        _probe(folder)
        yield folder
    finally:
        os.close(lock)  # closing the descriptor releases the flock


def _lock(folder: Path) -> int:
    path = folder / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise OutputError(f"--out {folder}: cannot create the lock file {path} ({exc.strerror or exc})") from None
    if fcntl is None:
        return fd
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = _read_pid(fd)
        os.close(fd)
        who = f" (process {holder})" if holder else ""
        raise OutputError(f"--out {folder}: another run{who} is writing to this folder; wait for it to finish "
                          f"or choose another --out") from None
    try:  # for the message of a second run; the lock, not this number, is what excludes it
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except OSError:
        pass
    return fd


def _read_pid(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
    return text if text.isdigit() else ""


def _probe(folder: Path) -> None:
    try:
        fd, name = tempfile.mkstemp(prefix=".probe.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise OutputError(f"--out {folder}: cannot write there ({exc.strerror or exc})") from None
    try:
        os.write(fd, b"gmc")
    except OSError as exc:
        raise OutputError(f"--out {folder}: cannot write there ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(name)
