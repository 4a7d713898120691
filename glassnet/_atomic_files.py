"""Atomic file writes: a synced temporary beside the target, renamed over it.

:func:`write_atomically` has ``write(handle)`` fill a temporary
``.<basename>.tmp-<pid>-<8 hex digits>`` created exclusively in the target's folder,
flushes and fsyncs it, renames it over the target and fsyncs the folder, so a
reader sees the old file or the new one, never a mix, and a failed write leaves
the old file untouched. A write killed half-way leaves its temporary behind;
:func:`clean_stale_temporaries` removes those once they are old or their writer is
gone. :func:`glassnet.io.write_archive` writes every glassnet archive this way.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import time
from pathlib import Path

TEMPORARY_NAME = re.compile(r"\..+\.tmp-\d+-[0-9a-f]{8}")


def write_atomically(target: Path, write) -> None:
    """Call ``write(handle)`` on a temporary beside ``target``, then swap it in.

    A target that is a folder, or whose folder does not exist, raises
    ``IsADirectoryError`` / ``FileNotFoundError`` naming the target before anything is
    written; any other failure to create the temporary raises ``OSError`` naming the
    target, not the temporary."""
    if target.is_dir():
        raise IsADirectoryError(
            f"cannot write {target}: it is a folder; give a file path inside it"
        )
    if not target.parent.is_dir():
        raise FileNotFoundError(
            f"cannot write {target}: the folder {target.parent} does not exist"
        )
    try:
        fd, temporary = create_temporary(target)
    except FileExistsError:
        raise
    except OSError as error:
        raise OSError(error.errno, f"cannot write {target}: {error.strerror}") from None
    try:
        with open(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    fsync_directory(target.parent)


def write_json_atomically(target, value, *, allow_nan: bool = False) -> Path:
    """Write ``value`` as indented JSON to ``target``, atomically (NaN and
    infinities only with ``allow_nan``, as Python's json writes them)."""
    target = Path(target)
    text = json.dumps(value, indent=2, allow_nan=allow_nan) + "\n"
    write_atomically(target, lambda handle: handle.write(text.encode("utf-8")))
    return target


def create_temporary(target: Path) -> tuple[int, Path]:
    """Create ``.<basename>.tmp-<pid>-<random>`` exclusively in the target's folder."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        name = f".{target.name[:128]}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
        temporary = target.parent / name
        try:
            return os.open(temporary, flags, 0o666), temporary
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file beside {target}")


def fsync_directory(directory: Path) -> None:
    """Make a rename durable by syncing its folder (best effort; not on Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def writer_alive(name: str) -> bool:
    """Whether the process that named a temporary ``.x.tmp-<pid>-<hex>`` still runs."""
    pid = int(name.rsplit(".tmp-", 1)[1].split("-")[0])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_temporaries(
    directory: str | os.PathLike,
    *,
    min_age_seconds: float = 60.0,
    target: str | None = None,
    dead_writers_only: bool = False,
) -> list[Path]:
    """Remove temporaries left in ``directory`` by interrupted writes; return them.

    Only regular files named like ``.<basename>.tmp-<pid>-<8 hex digits>`` (the
    pattern :func:`create_temporary` gives) and untouched for ``min_age_seconds`` are
    removed, so a write in progress in another process keeps its file. ``target``
    limits the cleaning to one file's temporaries; ``dead_writers_only`` keeps those
    whose writing process (the pid in the name) is still alive, whatever their age.
    A missing folder has nothing to clean and gives ``[]``.
    """
    folder = Path(os.fspath(directory))
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except FileNotFoundError:
        return []
    now = time.time()
    removed = []
    for entry in entries:
        if target is not None and not entry.name.startswith(f".{target}.tmp-"):
            continue
        if dead_writers_only and writer_alive(entry.name):
            continue
        if not TEMPORARY_NAME.fullmatch(entry.name):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            if now - entry.stat(follow_symlinks=False).st_mtime < min_age_seconds:
                continue
            os.unlink(entry.path)
        except FileNotFoundError:
            continue
        removed.append(folder / entry.name)
    return removed
