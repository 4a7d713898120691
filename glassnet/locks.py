"""One owner per run or search folder: a lock file with the owner's process id.

Two searches journaling into one folder would both run every trial, and two
trainings writing one run folder would race on its files. ``folder_lock(path)``
creates ``path/.glassnet.lock`` (exclusively: ``O_CREAT | O_EXCL``) holding
``{"pid", "host", "started"}`` as JSON and removes it on the way out, however the
block ends. A lock whose owner is gone (a killed run: the process id no longer
exists on this host) is stale and taken over with a warning; a live owner's lock
is refused with :class:`FolderInUseError`, which names the folder and the owner.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import warnings
from pathlib import Path

from glassnet.errors import GlassnetError

__all__ = ["LOCK_FILE", "FolderInUseError", "folder_lock"]

LOCK_FILE = ".glassnet.lock"


class FolderInUseError(GlassnetError, RuntimeError):
    """Another live glassnet process holds the folder's lock."""


def _alive(pid: int) -> bool:
    """Whether a process with this id exists on this host."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _owner(path: Path) -> dict | None:
    """The lock file's record, or None when it is unreadable (being written, or
    damaged: treated as stale)."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _try_create(path: Path, record: dict) -> bool:
    try:
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, "w") as handle:
        handle.write(json.dumps(record))
    return True


def _refuse_or_clear(lock: Path, folder: Path) -> None:
    """Raise for a live owner; remove a stale lock (its owner is gone)."""
    owner = _owner(lock)
    here = socket.gethostname()
    if owner is not None:
        pid, host = owner.get("pid"), owner.get("host")
        if not isinstance(pid, int) or isinstance(pid, bool):
            pid = -1
        if host not in (None, here) or _alive(pid):
            started = owner.get("started")
            since = (
                time.strftime(" since %Y-%m-%d %H:%M:%S", time.localtime(started))
                if isinstance(started, int | float)
                else ""
            )
            raise FolderInUseError(
                f"{folder} is in use by glassnet process {pid} on {host}{since} "
                f"(lock file {lock}); wait for it to finish, or choose another "
                "folder. If that process is gone, delete the lock file"
            )
        warnings.warn(
            f"{folder}: taking over the lock of process {pid}, which is gone "
            "(a killed run)",
            RuntimeWarning,
            stacklevel=4,
        )
    with contextlib.suppress(FileNotFoundError):
        lock.unlink()


@contextlib.contextmanager
def folder_lock(folder):
    """Hold ``folder``'s lock within the block (the folder is created if needed)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise FileExistsError(f"{folder} is a file, not a folder; give a folder path")
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / LOCK_FILE
    record = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
    for _ in range(3):  # another process may take or clear it between our steps
        if _try_create(lock, record):
            break
        _refuse_or_clear(lock, folder)
    else:
        raise FolderInUseError(f"could not take the lock of {folder} ({lock})")
    try:
        yield lock
    finally:
        owner = _owner(lock)
        if owner is not None and owner.get("pid") == os.getpid():
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()
