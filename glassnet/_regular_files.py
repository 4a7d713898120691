"""Opening a file to read only when it is a regular file.

A path given as data or as a model file may name a folder, a FIFO (opening one for
reading blocks until a writer comes) or a device. :func:`open_regular_file` opens it
without blocking (``O_NONBLOCK``), checks the kind with ``fstat`` on the open
descriptor (no window between a check and the open), and returns ``open(fd, "rb")``
for a regular file; for anything else it calls the caller's ``refuse(is_folder)``,
which raises the caller's own error with its own words.
"""

from __future__ import annotations

import os
import stat

__all__ = ["open_regular_file"]


def open_regular_file(path, refuse):
    """``open(path, "rb")`` of a regular file; ``refuse(is_folder)`` otherwise (it
    must raise). ``FileNotFoundError`` and other ``OSError`` from opening pass."""
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            refuse(stat.S_ISDIR(mode))
            raise AssertionError("refuse() must raise")  # pragma: no cover
        return open(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
