"""Hostile data files, each loaded in a process of its own (issue 20, points 3-6, 10).

Every case writes its input under ``<case>/in`` (and whatever it points at under
``<case>/outside``), then a fresh Python process loads it the way glassnet does
(``load_dataset``, or ``glassnet predict``'s readers) and reports what happened.
For each case the test asserts:

* the outcome: a clear error (a ValueError, never MemoryError, whose message names
  the file and matches the case) or, for the legitimate variants, a correct load;
* the load took under 5 s and the process's peak memory (its maximum resident set
  size, from ``os.wait4``) stayed under 400 MB, interpreter and imports included;
* no file outside ``<case>/in`` was opened or listed, apart from Python's, the
  libraries' and the system's own files: the child records every ``open``,
  ``os.listdir`` and ``os.scandir`` audit event (``sys.addaudithook``), and, for
  HDF5 inputs where ``strace`` is installed, the whole process runs under
  ``strace -f`` so that the files the HDF5 C library opens by itself (external
  storage, external links, plugins) are seen too. The other readers (NumPy, CSV,
  scipy.io for .mat, Pillow) open their input from Python, where the audit hook
  sees every open; tracing them too tripled their time (about 0.6 s -> 1.9 s a
  case) and found nothing more.

The bombs are real: their deflate streams are built from one compressed MiB of
zeros repeated, so a 4 MB file inflates to gigabytes, and nothing but the checks
keeps the process under 400 MB.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import shutil
import site
import struct
import subprocess
import sys
import sysconfig
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io

import glassnet

pytestmark = pytest.mark.slow  # a Python process per file

MAX_SECONDS = 5.0
MAX_RSS_BYTES = 400 * 10**6
MARKER = "PLANTED_MARKER"

# --- the child process ----------------------------------------------------------

CHILD = r"""
import json, sys, time
seen = []

def audit(event, args):
    if event == "open" and isinstance(args[0], (str, bytes)):
        seen.append(("open", args[0] if isinstance(args[0], str) else args[0].decode()))
    elif event in ("os.listdir", "os.scandir") and isinstance(args[0], (str, bytes)):
        seen.append(("list", args[0] if isinstance(args[0], str) else args[0].decode()))

sys.addaudithook(audit)
spec = json.loads(sys.argv[1])
import numpy as np
from glassnet.data import load_dataset
from glassnet.data.csv_files import read_rows
from glassnet.data.npy_files import read_feature_array
from glassnet.data.h5_files import read_unlabelled_features


def summary(result):
    if result is None:
        return None
    if isinstance(result, np.ndarray):
        return {"shape": list(result.shape), "max": float(result.max())}
    if isinstance(result, tuple):  # read_rows
        return {"header": result[0], "rows": len(result[1])}
    return {
        "shape": list(result.X.shape),
        "max": float(result.X.max()),
        "first": [float(v) for v in result.X.reshape(len(result.X), -1)[0][:4]],
        "y": result.y[:8].tolist(),
        "classes": result.classes,
        "task": result.task,
        "test_shape": None if result.X_test is None else list(result.X_test.shape),
    }


calls = {
    "load_dataset": load_dataset,
    "read_feature_array": read_feature_array,
    "read_rows": read_rows,
    "read_unlabelled_features": read_unlabelled_features,
}
start = time.perf_counter()
try:
    result = calls[spec["call"]](spec["path"], **spec["options"])
    out = {"ok": True, "result": summary(result)}
except BaseException as error:
    out = {
        "ok": False,
        "type": type(error).__name__,
        "bases": [kind.__name__ for kind in type(error).__mro__],
        "message": str(error),
    }
out["seconds"] = time.perf_counter() - start
out["seen"] = seen
with open("/proc/self/status") as status:  # the peak of this process's own memory
    for line in status:
        if line.startswith("VmHWM:"):
            out["peak"] = int(line.split()[1]) * 1024
print(json.dumps(out))
"""


def _system_roots() -> list[Path]:
    """Folders whose files any Python process of this installation may open."""
    paths = {
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        *site.getsitepackages(),
        *sysconfig.get_paths().values(),
        str(Path(glassnet.__file__).parents[1]),  # the editable install's source
        "/usr/lib",
        "/usr/lib64",
        "/usr/local/lib",
        "/lib",
        "/lib64",
        "/proc",
        "/sys",
        "/dev",
        "/usr/share/zoneinfo",
        "/usr/share/locale",
        "/etc/ld.so.cache",
        "/etc/localtime",
        "/etc/locale.alias",
        "/etc/ssl",  # libcrypto's configuration and certificates, read as it loads
    }
    return sorted({Path(p).resolve() for p in paths if p})


SYSTEM_ROOTS = _system_roots()
_TRACED = re.compile(r'open(?:at2?)?\((?:[^"]*?)"((?:[^"\\]|\\.)*)".*\)\s+=\s+\d+')


def _traced_paths(trace: Path) -> list[str]:
    """Paths the traced process opened successfully (strace's -o output)."""
    if not trace.exists():
        return []
    return [
        m.group(1) for m in map(_TRACED.search, trace.read_text().splitlines()) if m
    ]


def _outside(paths, inputs: Path, cwd: Path) -> list[str]:
    """The paths, resolved, that are neither inputs nor system files."""
    found = []
    for text in paths:
        path = Path(text) if os.path.isabs(text) else cwd / text
        resolved = path.resolve()
        if resolved.is_relative_to(inputs) or resolved == cwd:
            continue
        if any(resolved.is_relative_to(root) for root in SYSTEM_ROOTS):
            continue
        found.append(f"{text} -> {resolved}" if str(resolved) != text else text)
    return sorted(set(found))


def _wait(child: subprocess.Popen, timeout: float):
    """Reap the child with os.wait4, which gives its own peak memory (its waited
    descendants included), unlike RUSAGE_CHILDREN's maximum over every child."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            child.returncode = os.waitstatus_to_exitcode(status)
            return status, usage
        if time.monotonic() > deadline:
            child.kill()
            os.wait4(child.pid, 0)
            child.returncode = -9
            raise AssertionError(f"the load did not end within {timeout} s")
        time.sleep(0.01)


HDF5_SUFFIXES = (".h5", ".hdf5")
"""The inputs read by a C library that can open other files by itself (HDF5)."""


def run_child(call: str, path: Path, options: dict, folder: Path) -> dict:
    """Run one load in a fresh process; its report plus wall time, peak memory and
    the files it opened outside the inputs."""
    cwd = folder / "cwd"
    cwd.mkdir(exist_ok=True)
    spec = json.dumps({"call": call, "path": str(path), "options": options})
    command = [sys.executable, "-I", "-c", CHILD, spec]
    trace = folder / "strace.txt"
    if shutil.which("strace") and path.suffix in HDF5_SUFFIXES:
        command = ["strace", "-f", "-qq", "-e", "trace=open,openat,openat2"]
        command += ["-o", str(trace), sys.executable, "-I", "-c", CHILD, spec]
    started = time.perf_counter()
    with (
        open(folder / "stdout.txt", "wb") as out,
        open(folder / "stderr.txt", "wb") as err,
    ):
        child = subprocess.Popen(
            command, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err
        )
    status, usage = _wait(child, timeout=120)
    wall = time.perf_counter() - started
    stdout = (folder / "stdout.txt").read_bytes()
    stderr = (folder / "stderr.txt").read_bytes()
    lines = stdout.decode().strip().splitlines()
    assert lines, f"the child printed nothing; stderr:\n{stderr.decode()[-3000:]}"
    report = json.loads(lines[-1])
    report["wall"] = wall
    # os.wait4's figure includes the memory of the process it was forked from
    # (Linux keeps the larger of the two across exec), so the child's own VmHWM
    # is the peak asserted; both are shown
    report["rss"] = report.pop("peak")
    report["rss_wait4"] = usage.ru_maxrss * 1024
    seen = [p for _, p in report.pop("seen")] + _traced_paths(trace)
    report["outside"] = _outside(seen, (folder / "in").resolve(), cwd.resolve())
    return report


# --- bombs: deflate streams that inflate to gigabytes ---------------------------


def _raw_deflate(prefix: bytes, zero_mebibytes: int, suffix: bytes = b"") -> bytes:
    """A raw deflate stream of prefix + zero_mebibytes MiB of zeros + suffix, from
    one compressed MiB repeated (each piece ends on a full flush)."""

    def piece(data: bytes) -> bytes:
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        return compressor.compress(data) + compressor.flush(zlib.Z_FULL_FLUSH)

    final = zlib.compressobj(9, zlib.DEFLATED, -15)
    tail = final.compress(suffix) + final.flush()
    return piece(prefix) + piece(bytes(2**20)) * zero_mebibytes + tail


def _zlib_zeros(size: int) -> bytes:
    """A valid zlib stream (RFC 1950) of ``size`` zero bytes."""
    mebibytes, rest = divmod(size, 2**20)
    adler = ((size % 65521) << 16) | 1  # the Adler-32 of `size` zero bytes
    return (
        b"\x78\xda"
        + _raw_deflate(b"", mebibytes, bytes(rest))
        + struct.pack(">I", adler)
    )


def _zlib_stream(prefix: bytes, zero_mebibytes: int, suffix: bytes = b"") -> bytes:
    """The same wrapped as zlib data (RFC 1950); its checksum is not computed
    (nothing should read that far)."""
    return b"\x78\xda" + _raw_deflate(prefix, zero_mebibytes, suffix) + b"\0\0\0\0"


def _zip(path: Path, members) -> None:
    """A zip of deflated members ``(name, data, declared size)``, its headers
    declaring those sizes."""
    body, directory = b"", b""
    for name, data, declared in members:
        encoded = name.encode()
        common = (0, 8, 0, 33, 0, len(data), declared, len(encoded))
        directory += struct.pack(
            "<4s6H3L5H2L", b"PK\x01\x02", 20, 20, *common, 0, 0, 0, 0, 0, len(body)
        )
        directory += encoded
        body += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, *common, 0) + encoded
        body += data
    count = len(members)
    end = struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(directory), len(body), 0
    )
    path.write_bytes(body + directory + end)


def _deflated_npy(array) -> tuple[bytes, int]:
    buffer = io.BytesIO()
    np.save(buffer, array)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    raw = buffer.getvalue()
    return compressor.compress(raw) + compressor.flush(), len(raw)


def _npy_header(shape, descr="<f8") -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": descr, "fortran_order": False, "shape": shape}
    )
    return buffer.getvalue()


def _png(path: Path, width: int, height: int, *, depth=8, colour=0, rows=None):
    """A PNG; without ``rows`` its pixels are zeros, deflated by repetition, so a
    9000x9000 picture takes about 80 KB."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    if rows is None:
        channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
        data = _zlib_zeros((1 + width * channels * depth // 8) * height)
    else:
        data = zlib.compress(rows)
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", data)
        + chunk(b"IEND", b"")
    )


def _save_png(path: Path, array) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array)).save(path)


class _Plant:
    """Unpickling this would create the marker file."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


# --- the cases --------------------------------------------------------------------


@dataclass
class Case:
    make: object  # make(folder) -> the input path, written under folder / "in"
    error: str | None = None  # what the error must say; None: it must load
    call: str = "load_dataset"
    options: dict = field(default_factory=dict)
    check: object = None  # check(result summary) for a load


def _in(folder: Path, name: str) -> Path:
    (folder / "in").mkdir(parents=True, exist_ok=True)
    return folder / "in" / name


def _outside_dir(folder: Path) -> Path:
    outside = folder / "outside"
    outside.mkdir(parents=True, exist_ok=True)
    return outside


# .npz and .npy


def make_npz_zip_bomb(folder):
    """3.6 MB inflating to 3.8 GB: X declares (30000, 16000) float64, honestly."""
    path = _in(folder, "bomb.npz")
    header = _npy_header((30000, 16000))
    data = _raw_deflate(header, 3662, bytes(30000 * 16000 * 8 - 3662 * 2**20))
    labels = ("y.npy", *_deflated_npy(np.zeros(30000)))
    _zip(path, [("X.npy", data, len(header) + 30000 * 16000 * 8), labels])
    return path


def make_npz_lying_sizes(folder):
    """The .npy header declares 800 KB of X, the zip header 3.8 GB (and the member
    inflates to that): the sizes must agree before anything is inflated."""
    path = _in(folder, "lying.npz")
    header = _npy_header((1000, 100))
    data = _raw_deflate(header, 3662)
    labels = ("y.npy", *_deflated_npy(np.zeros(1000)))
    _zip(path, [("X.npy", data, len(header) + 3662 * 2**20), labels])
    return path


def make_npz_pickle(folder):
    path = _in(folder, "pickle.npz")
    plant = np.array([_Plant(str(_outside_dir(folder) / MARKER)), None], dtype=object)
    np.savez(path, X=np.ones((2, 2)), y=plant)  # numpy pickles the object array
    return path


def make_npz_byte_labels(folder):
    path = _in(folder, "bytes.npz")
    y = np.array([b"cat", b"dog", b"cat", b"cat"])
    np.savez_compressed(
        path,
        X=np.arange(16, dtype=np.uint8).reshape(4, 2, 2),
        y=y,
        classes=np.array([b"cat", b"dog"]),
        feature_names=np.array([b"a", b"b", b"c", b"d"]),
    )
    return path


def check_byte_labels(result):
    assert result["classes"] == ["cat", "dog"], result
    assert result["y"] == [0, 1, 0, 0] and result["shape"] == [4, 4]
    assert result["max"] == pytest.approx(15 / 255)


def make_npy_huge_shape(folder):
    """A 128-byte .npy declaring 10**12 float64 values."""
    path = _in(folder, "huge.npy")
    path.write_bytes(_npy_header((10**6, 10**6)))
    return path


def make_npy_truncated(folder):
    """A .npy declaring (20000, 20000) float64 (3.2 GB) holding 1 MB of it."""
    path = _in(folder, "short.npy")
    path.write_bytes(_npy_header((20000, 20000)) + bytes(2**20))
    return path


def make_npy_object(folder):
    path = _in(folder, "objects.npy")
    plant = np.array([_Plant(str(_outside_dir(folder) / MARKER))], dtype=object)
    np.save(path, plant, allow_pickle=True)
    return path


# HDF5


def make_h5_external_storage(folder):
    secret = _outside_dir(folder) / "secret.txt"
    secret.write_bytes(b"root:x:0:0:root:/root:/bin/bash\n" * 4)
    path = _in(folder, "external.h5")
    with h5py.File(path, "w") as handle:
        handle.create_dataset(
            "X", shape=(4, 8), dtype="u1", external=[(str(secret), 0, 32)]
        )
        handle["y"] = np.array([0, 1, 0, 1])
    return path


def make_h5_external_storage_passwd(folder):
    path = _in(folder, "passwd.h5")
    with h5py.File(path, "w") as handle:
        handle.create_dataset(
            "X", shape=(2, 8), dtype="u1", external=[("/etc/passwd", 0, 16)]
        )
        handle["y"] = np.array([0, 1])
    return path


def make_h5_features_only_external(folder):
    """Features without labels (what `glassnet predict` reads) kept in /etc/passwd."""
    path = _in(folder, "rows.h5")
    with h5py.File(path, "w") as handle:
        handle.create_dataset(
            "X", shape=(2, 8), dtype="u1", external=[("/etc/passwd", 0, 16)]
        )
    return path


def _other_h5(folder) -> Path:
    other = _outside_dir(folder) / "other.h5"
    with h5py.File(other, "w") as handle:
        handle["data"] = np.ones((4, 3))
        handle["labels"] = np.array([0, 1, 0, 1])
    return other


def make_h5_external_link(folder):
    other = _other_h5(folder)
    path = _in(folder, "extlink.h5")
    with h5py.File(path, "w") as handle:
        handle["X"] = h5py.ExternalLink(str(other), "/data")
        handle["y"] = np.array([0, 1, 0, 1])
    return path


def make_h5_soft_link_to_external(folder):
    other = _other_h5(folder)
    path = _in(folder, "softext.h5")
    with h5py.File(path, "w") as handle:
        group = handle.create_group("g")
        group["ext"] = h5py.ExternalLink(str(other), "/")
        handle["X"] = h5py.SoftLink("/g/ext/data")
        handle["y"] = np.array([0, 1, 0, 1])
    return path


def make_h5_virtual(folder):
    other = _other_h5(folder)
    path = _in(folder, "virtual.h5")
    with h5py.File(path, "w") as handle:
        layout = h5py.VirtualLayout(shape=(4, 3), dtype="f8")
        layout[:] = h5py.VirtualSource(str(other), "data", shape=(4, 3))
        handle.create_virtual_dataset("X", layout)
        handle["y"] = np.array([0, 1, 0, 1])
    return path


def make_h5_unwritten_huge(folder):
    """An 8 GB chunked dataset of which nothing is written (a few KB on disk)."""
    path = _in(folder, "unwritten.h5")
    with h5py.File(path, "w") as handle:
        handle.create_dataset(
            "X", shape=(100_000, 10_000), chunks=(100, 1000), dtype="f8"
        )
        handle["y"] = np.zeros(100_000)
    return path


def make_h5_unwritten_small(folder):
    path = _in(folder, "empty.h5")
    with h5py.File(path, "w") as handle:
        handle.create_dataset("X", shape=(1000, 100), chunks=(100, 100), dtype="f8")
        handle["y"] = np.zeros(1000)
    return path


def make_h5_huge_chunk(folder):
    """A 10-value resizable dataset stored in one 2 GiB chunk (2 MB deflated)."""
    path = _in(folder, "chunk.h5")
    with h5py.File(path, "w") as handle:
        dataset = handle.create_dataset(
            "X",
            shape=(10, 1),
            maxshape=(None, 1),
            chunks=(2**28, 1),
            dtype="f8",
            compression="gzip",
        )
        dataset.id.write_direct_chunk((0, 0), _zlib_zeros(2**31))
        handle["y"] = np.arange(10) % 2
    return path


def make_h5_group(folder):
    path = _in(folder, "group.h5")
    with h5py.File(path, "w") as handle:
        handle.create_group("X")["inner"] = np.ones(3)
        handle["y"] = np.array([0, 1, 0])
    return path


def make_h5_plugin_filter(folder):
    """X compressed with filter 307 (bzip2), which HDF5 would look for as a plugin."""
    path = _in(folder, "plugin.h5")
    with h5py.File(path, "w") as handle:
        dataset = handle.create_dataset(
            "X",
            shape=(4, 4),
            chunks=(4, 4),
            dtype="f8",
            compression=307,
            allow_unknown_filter=True,
        )
        dataset.id.write_direct_chunk((0, 0), b"not really bzip2")
        handle["y"] = np.array([0, 1, 0, 1])
    return path


def make_h5_string_labels(folder):
    """The course layout with text labels: fixed-length byte strings and a
    variable-length string test set, plus its test file beside it."""
    path = _in(folder, "train_pets.h5")
    with h5py.File(path, "w") as handle:
        handle["train_set_x"] = np.full((4, 2, 2, 3), 51, dtype=np.uint8)
        handle["train_set_y"] = np.array([b"cat", b"dog", b"dog", b"cat"])
    with h5py.File(_in(folder, "test_pets.h5"), "w") as handle:
        handle["test_set_x"] = np.zeros((2, 2, 2, 3), dtype=np.uint8)
        handle.create_dataset(
            "test_set_y", data=["dog", "cat"], dtype=h5py.string_dtype()
        )
    return path


def check_string_labels(result):
    assert result["classes"] == ["cat", "dog"] and result["y"] == [0, 1, 1, 0]
    assert result["test_shape"] == [2, 12] and result["max"] == pytest.approx(0.2)


# MATLAB


def _mat_header() -> bytes:
    text = b"MATLAB 5.0 MAT-file, hostile test".ljust(116)
    return text + bytes(8) + struct.pack("<H", 0x0100) + b"IM"


def _matrix_prefix(name: bytes, dims, data_bytes: int, declared=None) -> bytes:
    """A miMATRIX element's start: tag, flags, dims, name, and the data tag of a
    double array; the matrix tag declares ``declared`` bytes (default: honest)."""
    padded = name + bytes(-len(name) % 8)
    dims_data = struct.pack(f"<{len(dims)}i", *dims)
    dims_data += bytes(-len(dims_data) % 8)
    body = struct.pack("<2I2I", 6, 8, 6, 0)
    body += struct.pack("<2I", 5, 4 * len(dims)) + dims_data
    body += struct.pack("<2I", 1, len(name)) + padded
    body += struct.pack("<2I", 9, data_bytes)  # miDOUBLE data
    declared = len(body) + data_bytes if declared is None else declared
    return struct.pack("<2I", 14, declared) + body


def _compressed_element(stream: bytes) -> bytes:
    return struct.pack("<2I", 15, len(stream)) + stream


def _y_variable() -> bytes:
    y = _matrix_prefix(b"y", (2, 1), 16) + struct.pack("<2d", 0, 1)
    return _compressed_element(zlib.compress(y))


def make_mat_bomb_declared(folder):
    """X declares 100000 x 100000 doubles (80 GB) in a small compressed file."""
    path = _in(folder, "declared.mat")
    data_bytes = 2**31  # the uint32 tags cannot hold 80 GB; the dims declare it
    prefix = _matrix_prefix(b"X", (100_000, 100_000), data_bytes)
    x = _compressed_element(_zlib_stream(prefix, 64))
    path.write_bytes(_mat_header() + x + _y_variable())
    return path


def make_mat_bomb_hidden(folder):
    """X declares 2x1 doubles but its data tag and stream hold 1.9 GB of zeros."""
    path = _in(folder, "hidden.mat")
    prefix = _matrix_prefix(b"X", (2, 1), 1900 * 2**20)
    x = _compressed_element(_zlib_stream(prefix, 1900))
    path.write_bytes(_mat_header() + x + _y_variable())
    return path


def make_mat_bomb_lying(folder):
    """The same, its matrix tag declaring the 16 bytes that 2x1 doubles take."""
    path = _in(folder, "lying.mat")
    prefix = _matrix_prefix(b"X", (2, 1), 1900 * 2**20, declared=56 + 16)
    x = _compressed_element(_zlib_stream(prefix, 1900))
    path.write_bytes(_mat_header() + x + _y_variable())
    return path


def make_mat_cell_features(folder):
    path = _in(folder, "cells.mat")
    cells = np.empty((2, 1), dtype=object)
    cells[0, 0], cells[1, 0] = np.ones(3), np.ones(5)
    scipy.io.savemat(path, {"X": cells, "y": np.array([[0], [1]])})
    return path


def make_mat_struct(folder):
    path = _in(folder, "struct.mat")
    scipy.io.savemat(path, {"X": {"a": np.ones(2)}, "y": np.array([0])})
    return path


def make_mat_cell_labels(folder):
    """Text labels in a cell array of strings, compressed, with a test set."""
    path = _in(folder, "labels.mat")
    labels = np.empty((4, 1), dtype=object)
    labels[:, 0] = ["cat", "dog", "dog", "cat"]
    test_labels = np.empty((2, 1), dtype=object)
    test_labels[:, 0] = ["dog", "cat"]
    scipy.io.savemat(
        path,
        {
            "X": np.arange(8.0).reshape(4, 2),
            "y": labels,
            "Xval": np.zeros((2, 2)),
            "yval": test_labels,
            "unused": np.ones((3, 3)),
        },
        do_compression=True,
    )
    return path


def check_mat_labels(result):
    assert result["classes"] == ["cat", "dog"] and result["y"] == [0, 1, 1, 0]
    assert result["test_shape"] == [2, 2] and result["first"] == [0.0, 1.0]


def make_mat_v4(folder):
    path = _in(folder, "old.mat")
    scipy.io.savemat(
        path,
        {"X": np.arange(6.0).reshape(3, 2), "y": np.array([[1.0, 2.0, 1.0]])},
        format="4",
    )
    return path


def check_mat_v4(result):
    assert result["shape"] == [3, 2] and result["classes"] == [1, 2]


def make_mat_v4_huge(folder):
    """A MATLAB 4 header declaring 100000 x 100000 doubles, and no data."""
    path = _in(folder, "old_huge.mat")
    path.write_bytes(struct.pack("<5i", 0, 100_000, 100_000, 0, 2) + b"X\0")
    return path


# images


def make_png_9000(folder):
    """Four 80 KB PNGs of 9000 x 9000 pixels (the issue's 3.6 GB)."""
    root = folder / "in" / "pictures"
    _png(root / "cat" / "a.png", 9000, 9000)
    (root / "dog").mkdir()
    for name in ("cat/b.png", "dog/a.png", "dog/b.png"):
        shutil.copy(root / "cat" / "a.png", root / name)
    return root


def make_png_pillow_bomb(folder):
    """A 20000 x 20000 PNG: past Pillow's own limit, whose error must be ours."""
    root = folder / "in" / "bomb"
    _png(root / "cat_1.png", 20000, 20000)
    _png(root / "dog_1.png", 8, 8)
    return root


def make_png_many(folder):
    """Ten 5000 x 5000 PNGs: each within the per-picture cap, 2.25 GB as float64."""
    root = folder / "in" / "many"
    _png(root / "cat" / "0.png", 5000, 5000)
    (root / "dog").mkdir()
    for index in range(1, 10):
        shutil.copy(
            root / "cat" / "0.png",
            root / ("cat" if index < 5 else "dog") / f"{index}.png",
        )
    return root


def make_png_many_resized(folder):
    """Fifty 5000 x 5000 PNGs to shrink to 8 x 8: 1.25 G pixels to decode."""
    root = folder / "in" / "resized"
    _png(root / "cat" / "0.png", 5000, 5000)
    for index in range(1, 50):
        label = "cat" if index < 25 else "dog"
        (root / label).mkdir(exist_ok=True)
        os.link(root / "cat" / "0.png", root / label / f"{index}.png")
    return root


def _outside_pictures(folder) -> Path:
    outside = _outside_dir(folder) / "elsewhere"
    for index in range(3):
        _save_png(outside / f"{index}.png", np.full((4, 4), 200, dtype=np.uint8))
    return outside


def make_symlinked_class(folder):
    root = folder / "in" / "linked"
    _save_png(root / "cat" / "a.png", np.zeros((4, 4), dtype=np.uint8))
    (root / "dog").symlink_to(_outside_pictures(folder), target_is_directory=True)
    return root


def make_symlinked_picture(folder):
    root = folder / "in" / "linkedfile"
    _save_png(root / "cat" / "a.png", np.zeros((4, 4), dtype=np.uint8))
    (root / "dog").mkdir()
    (root / "dog" / "a.png").symlink_to(_outside_pictures(folder) / "0.png")
    return root


def make_symlinked_subfolder(folder):
    root = folder / "in" / "linkedsub"
    _save_png(root / "cat" / "a.png", np.zeros((4, 4), dtype=np.uint8))
    _save_png(root / "dog" / "a.png", np.zeros((4, 4), dtype=np.uint8))
    (root / "dog" / "more").symlink_to(
        _outside_pictures(folder), target_is_directory=True
    )
    return root


def make_symlink_inside(folder):
    """A picture linked to another inside the folder is read (it is an input)."""
    root = folder / "in" / "inside"
    _save_png(root / "cat" / "a.png", np.zeros((4, 4), dtype=np.uint8))
    _save_png(root / "dog" / "a.png", np.full((4, 4), 255, dtype=np.uint8))
    (root / "dog" / "b.png").symlink_to(root / "dog" / "a.png")
    return root


def check_symlink_inside(result):
    assert result["shape"] == [3, 16] and result["y"] == [0, 1, 1]


def make_png_16bit(folder):
    """16-bit greyscale PNGs, and an 8-bit one beside them."""
    root = folder / "in" / "deep"
    _save_png(root / "cat" / "a.png", np.full((2, 3), 40000, dtype=np.uint16))
    _save_png(root / "cat" / "b.png", np.full((2, 3), 65535, dtype=np.uint16))
    _save_png(root / "dog" / "c.png", np.full((2, 3), 255, dtype=np.uint8))
    return root


def check_png_16bit(result):
    assert result["shape"] == [3, 6] and result["max"] == pytest.approx(1.0)
    assert result["first"] == pytest.approx([40000 / 65535] * 4)  # not saturated


def make_fifo_picture(folder):
    """A FIFO named like a picture must not block the load."""
    root = folder / "in" / "fifo"
    _save_png(root / "cat_1.png", np.zeros((2, 2), dtype=np.uint8))
    os.mkfifo(root / "dog_1.png")
    return root


# CSV


def make_csv_duplicate_header(folder):
    path = _in(folder, "dup.csv")
    rows = "\n".join(f"{i},{2 * i},{3 * i},{i % 2}" for i in range(20))
    path.write_text("a,a,a,label\n" + rows + "\n")
    return path


def make_csv_gz_bomb(folder):
    """1 MB of gzip inflating to 1.5 GiB of "0,0,...", declaring its size."""
    return _csv_bomb(folder, "bomb.csv.gz", honest=True)


def make_csv_gz_bomb_lying(folder):
    """The same, its gzip trailer claiming 100 bytes."""
    return _csv_bomb(folder, "lying.csv.gz", honest=False)


def _csv_bomb(folder, name, honest):
    path = _in(folder, name)
    line = b"0," * 31 + b"0\n"
    block = line * (2**20 // len(line))
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    count = 1536
    size = len(block) * count if honest else 100
    body = piece * count + zlib.compressobj(9, zlib.DEFLATED, -15).flush()
    header = b"a," * 31 + b"label\n"
    first = gzip.compress(header)  # a member of its own, then the bomb's
    path.write_bytes(
        first
        + b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
        + body
        + struct.pack("<2I", 0, size & 0xFFFFFFFF)
    )
    return path


def make_csv_long_label(folder):
    """Text labels, one of them 100 000 characters long: 20 000 of them as a NumPy
    string array would take 8 GB."""
    path = _in(folder, "long.csv")
    lines = [f"{i},{i % 3}x" for i in range(20_000)]
    lines[7] = "7," + "z" * 100_000
    path.write_text("f,label\n" + "\n".join(lines) + "\n")
    return path


def make_csv_fifo(folder):
    path = _in(folder, "fifo.csv")
    os.mkfifo(path)
    return path


def make_csv_text_labels(folder):
    path = _in(folder, "flowers.csv.gz")
    rows = "\n".join(f"{i},{i / 2},{'rose' if i % 3 else 'lily'}" for i in range(30))
    path.write_bytes(gzip.compress(("x1,x2,label\n" + rows + "\n").encode()))
    return path


def check_csv_text_labels(result):
    assert result["classes"] == ["lily", "rose"] and result["shape"] == [30, 2]


BUDGET = r"above the data budget's"
CASES = {
    # .npz / .npy
    "npz_zip_bomb": Case(make_npz_zip_bomb, rf"array 'X' declares.*{BUDGET} max_array"),
    "npz_lying_sizes": Case(
        make_npz_lying_sizes, r"declares shape \(1000, 100\).*holds"
    ),
    "npz_pickle": Case(make_npz_pickle, r"array 'y' is an array of Python objects"),
    "npz_byte_labels": Case(make_npz_byte_labels, check=check_byte_labels),
    "predict_npz_bomb": Case(
        make_npz_zip_bomb, rf"declares.*{BUDGET}", call="read_feature_array"
    ),
    "predict_npy_huge_shape": Case(
        make_npy_huge_shape, rf"declares shape.*{BUDGET}", call="read_feature_array"
    ),
    "predict_npy_truncated": Case(
        make_npy_truncated, rf"declares shape.*{BUDGET}", call="read_feature_array"
    ),
    "predict_npy_pickle": Case(
        make_npy_object, r"Python objects.*never unpickles", call="read_feature_array"
    ),
    # HDF5
    "h5_external_storage": Case(make_h5_external_storage, r"external file"),
    "h5_external_storage_passwd": Case(make_h5_external_storage_passwd, r"/etc/passwd"),
    "predict_h5_external_storage": Case(
        make_h5_features_only_external,
        r"/etc/passwd",
        call="read_unlabelled_features",
    ),
    "h5_external_link": Case(make_h5_external_link, r"'X' is an external link"),
    "h5_soft_link_to_external": Case(
        make_h5_soft_link_to_external, r"'ext' is an external link"
    ),
    "h5_virtual_dataset": Case(make_h5_virtual, r"virtual dataset"),
    "h5_unwritten_huge": Case(make_h5_unwritten_huge, rf"'X' declares.*{BUDGET}"),
    "h5_unwritten_small": Case(make_h5_unwritten_small, r"holds no data"),
    "h5_huge_chunk": Case(make_h5_huge_chunk, rf"a chunk of dataset 'X'.*{BUDGET}"),
    "h5_group_as_X": Case(make_h5_group, r"'X' is a group, not an array"),
    "h5_plugin_filter": Case(make_h5_plugin_filter, r"filter 307.*plugin"),
    "h5_string_labels": Case(make_h5_string_labels, check=check_string_labels),
    # MATLAB
    "mat_bomb_declared": Case(
        make_mat_bomb_declared, rf"'X' \(100000x100000.*{BUDGET}"
    ),
    "mat_bomb_hidden": Case(make_mat_bomb_hidden, r"'X' \(2x1 double\) declares"),
    "mat_bomb_lying": Case(make_mat_bomb_lying, r"'X' \(2x1 double\) inflates to"),
    "mat_cell_features": Case(make_mat_cell_features, r"'X' \(2x1 cell\).*MATLAB cell"),
    "mat_struct": Case(make_mat_struct, r"MATLAB struct"),
    "mat_cell_labels": Case(make_mat_cell_labels, check=check_mat_labels),
    "mat_v4": Case(make_mat_v4, check=check_mat_v4),
    "mat_v4_huge": Case(make_mat_v4_huge, r"declares 100000x100000 values.*truncated"),
    # image folders
    "png_9000x9000": Case(make_png_9000, rf"9000x9000 = 81000000 pixels, {BUDGET}"),
    "png_pillow_bomb": Case(make_png_pillow_bomb, r"more pixels than Pillow opens"),
    "png_many": Case(make_png_many, rf"{BUDGET} max_total_bytes"),
    "png_many_resized": Case(
        make_png_many_resized, rf"{BUDGET} max_total_pixels", options={"size": 8}
    ),
    "symlinked_class_folder": Case(make_symlinked_class, r"lead out of it.*dog ->"),
    "symlinked_picture": Case(make_symlinked_picture, r"dog/a\.png ->"),
    "symlinked_subfolder": Case(make_symlinked_subfolder, r"dog/more ->"),
    "symlink_inside": Case(make_symlink_inside, check=check_symlink_inside),
    "png_16bit": Case(make_png_16bit, check=check_png_16bit),
    "fifo_picture": Case(make_fifo_picture, None, check=lambda r: None),
    # CSV
    "csv_duplicate_header": Case(make_csv_duplicate_header, r"repeats column name"),
    "predict_csv_duplicate_header": Case(
        make_csv_duplicate_header, r"'a' at columns 0, 1, 2", call="read_rows"
    ),
    "csv_gz_bomb": Case(make_csv_gz_bomb, r"inflates to more than"),
    "csv_gz_bomb_lying": Case(make_csv_gz_bomb_lying, r"inflates to more than"),
    "csv_long_label": Case(make_csv_long_label, rf"text labels.*{BUDGET}"),
    "csv_fifo": Case(make_csv_fifo, r"not a regular file"),
    "csv_text_labels": Case(make_csv_text_labels, check=check_csv_text_labels),
}


@pytest.mark.timeout(180)
@pytest.mark.parametrize("name", list(CASES))
def test_hostile_data_file(name, tmp_path):
    case = CASES[name]
    path = case.make(tmp_path)
    report = run_child(case.call, path, case.options, tmp_path)
    shown = {k: v for k, v in report.items() if k != "seen"}
    if case.error is None:
        assert report["ok"], shown
        case.check(report["result"])
    else:
        assert not report["ok"], shown
        assert "ValueError" in report["bases"], shown
        assert "MemoryError" not in report["bases"], shown
        assert re.search(case.error, report["message"], re.S), shown
        assert path.name in report["message"], shown
    assert report["seconds"] < MAX_SECONDS, shown
    assert report["rss"] < MAX_RSS_BYTES, shown
    assert report["outside"] == [], shown
    assert not (tmp_path / "outside" / MARKER).exists()
