"""Bounded reading of NumPy files: ``.npy`` arrays and ``.npz`` archives.

``np.load`` trusts what a file declares: an ``.npz`` member whose zip header or
``.npy`` header declares gigabytes is decompressed into gigabytes (a 4 MB zip bomb
took 8 GB), and it reads every member asked for, whatever its size. Here each
array's ``.npy`` header is read first (at most 10 000 bytes, parsed as a literal),
its dtype must be a plain number, boolean or string type (an object array, i.e. a
pickle, is refused unread), its shape is checked against the data budget
(:mod:`glassnet.data.budgets`) and against the bytes the zip directory or the file
holds, and only then is memory allocated and the data read. Only the members
asked for are opened.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib

import numpy as np

from glassnet import _regular_files
from glassnet.data.budgets import DataFileError, Meter, describe_bytes

__all__ = ["read_npy", "read_npz", "read_feature_array"]

MAX_HEADER_TEXT = 10_000  # numpy's own default max_header_size
MAX_DIRECTORY_BYTES = 2**20  # about 20 000 members
_MAGIC = b"\x93NUMPY"
_READ_CHUNK = 16 * 2**20
_LOCAL_HEADER_BYTES = 30
_KINDS = "biufcSU"  # bool, numbers, bytes and text; never objects
_DAMAGE = (zipfile.BadZipFile, zlib.error, struct.error, EOFError, OSError)


def open_regular_file(path):
    """``open(path, "rb")`` of a regular file; a folder, FIFO or device is refused
    (opening a FIFO does not wait for a writer)."""

    def refuse(is_folder: bool):
        kind = "a folder" if is_folder else "not a regular file"
        raise DataFileError(f"cannot read {path}: it is {kind}")

    try:
        return _regular_files.open_regular_file(path, refuse)
    except FileNotFoundError:
        raise FileNotFoundError(f"no such file: {path}") from None


# ------------------------------------------------------------------ .npy headers


def _read_exactly(stream, size: int, what: str, meter: Meter) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise meter.error(f"{what} ends after {len(data)} of {size} expected bytes")
    return data


def read_header(stream, what: str, meter: Meter):
    """``(shape, fortran_order, dtype, header_bytes)`` of a ``.npy`` stream, checked:
    versions 1 and 2, a header of at most 10 000 bytes, a plain dtype."""
    prefix = _read_exactly(stream, 8, what, meter)
    if prefix[:6] != _MAGIC:
        raise meter.error(f"{what} is not a .npy array (bad magic bytes)")
    readers = {
        (1, 0): ("<H", np.lib.format.read_array_header_1_0),
        (2, 0): ("<I", np.lib.format.read_array_header_2_0),
    }
    version = (prefix[6], prefix[7])
    if version not in readers:
        raise meter.error(f"{what} has .npy format version {version}; read: 1.0, 2.0")
    length_format, read = readers[version]
    raw_length = _read_exactly(stream, struct.calcsize(length_format), what, meter)
    (length,) = struct.unpack(length_format, raw_length)
    if length > MAX_HEADER_TEXT:
        raise meter.error(
            f"{what} has a {length}-byte .npy header; at most {MAX_HEADER_TEXT}"
        )
    text = _read_exactly(stream, length, what, meter)
    buffer = io.BytesIO(prefix + raw_length + text)
    try:
        np.lib.format.read_magic(buffer)
        shape, fortran_order, dtype = read(buffer, max_header_size=MAX_HEADER_TEXT)
    except Exception as error:  # an untrusted 10 kB literal, parsed in memory
        raise meter.error(f"{what} has an invalid .npy header ({error})") from None
    if dtype.hasobject:
        raise meter.error(
            f"{what} is an array of Python objects (dtype object), stored as a "
            "pickle; glassnet never unpickles data files (object arrays are "
            "refused unread): save numbers or strings"
        )
    if dtype.kind not in _KINDS or dtype.subdtype is not None or dtype.names:
        raise meter.error(
            f"{what} has dtype {dtype}; glassnet reads booleans, integers, floats "
            "and strings"
        )
    return tuple(shape), bool(fortran_order), dtype, len(buffer.getvalue())


def _read_data(stream, shape, fortran_order, dtype, what, meter) -> np.ndarray:
    """Read the data of an already budgeted array, chunk by chunk, into its memory."""
    if fortran_order:
        array = np.empty(shape[::-1], dtype=dtype).T
        raw = memoryview(array.T.reshape(-1).view(np.uint8))
    else:
        array = np.empty(shape, dtype=dtype)
        raw = memoryview(array.reshape(-1).view(np.uint8))
    for start in range(0, len(raw), _READ_CHUNK):
        stop = min(start + _READ_CHUNK, len(raw))
        raw[start:stop] = _read_exactly(stream, stop - start, what, meter)
    if dtype.kind == "b" and len(raw) and np.frombuffer(raw, np.uint8).max() > 1:
        raise meter.error(f"{what} is boolean but holds bytes other than 0 and 1")
    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    return array


def _budgeted_header(stream, what, meter, available: int, copy: bool):
    shape, fortran_order, dtype, header = read_header(stream, what, meter)
    nbytes = meter.array(what, shape, dtype, copy=copy)
    if header + nbytes != available:
        raise meter.error(
            f"{what} declares shape {shape} of {dtype} ({describe_bytes(nbytes)} of "
            f"data) but holds {describe_bytes(max(available - header, 0))}; not "
            "reading it"
        )
    return shape, fortran_order, dtype


def read_npy(path, meter: Meter, *, copy: bool = True) -> np.ndarray:
    """The array of a ``.npy`` file, its header checked against ``meter`` and the
    file's size before the data is allocated."""
    what = f"array {os.path.basename(str(path))!r}"
    with open_regular_file(path) as handle:
        size = os.fstat(handle.fileno()).st_size
        shape, fortran_order, dtype = _budgeted_header(handle, what, meter, size, copy)
        return _read_data(handle, shape, fortran_order, dtype, what, meter)


# ---------------------------------------------------------------------- .npz


def _directory_size(handle, file_size: int, meter: Meter) -> None:
    """Refuse a zip directory above MAX_DIRECTORY_BYTES before zipfile parses it
    (zipfile builds one object per member)."""
    from glassnet._archive_checks import ArchiveProblem, check_central_directory

    try:
        check_central_directory(handle, file_size)
    except ArchiveProblem as problem:
        raise meter.error(f"it is not a readable .npz archive: {problem}") from None
    handle.seek(0)


class NpzReader:
    """The ``.npy`` members of an ``.npz`` archive, each read only when asked."""

    def __init__(self, path, meter: Meter):
        self.path, self.meter = path, meter
        self.handle = open_regular_file(path)
        try:
            self.size = os.fstat(self.handle.fileno()).st_size
            _directory_size(self.handle, self.size, meter)
            self.archive = zipfile.ZipFile(self.handle)
            self.members = {
                info.filename[: -len(".npy")]: info
                for info in self.archive.infolist()
                if info.filename.endswith(".npy")
            }
        except BaseException:
            self.handle.close()
            raise

    @property
    def keys(self) -> list[str]:
        return sorted(self.members)

    def close(self):
        self.archive.close()
        self.handle.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _open_member(self, key: str):
        info = self.members[key]
        what = f"array {key!r}"
        if info.flag_bits & 0x1:
            raise self.meter.error(f"{what} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise self.meter.error(
                f"{what} uses zip compression method {info.compress_type}; read: "
                "stored (0) and deflated (8), as numpy writes them"
            )
        end = info.header_offset + _LOCAL_HEADER_BYTES + info.compress_size
        if end > self.size:
            raise self.meter.error(f"{what} extends past the end of the file")
        return info, what, self.archive.open(info)

    def read_all(self, keys) -> dict[str, np.ndarray]:
        """``{key: array}`` of the members ``keys``: every ``.npy`` header is read
        and budgeted before any data is."""
        try:
            return self._read_all(keys)
        except _DAMAGE as error:
            raise self.meter.error(
                f"it is damaged ({type(error).__name__}: {error})"
            ) from None

    def _read_all(self, keys) -> dict[str, np.ndarray]:
        headers = {}
        for key in keys:
            info, what, stream = self._open_member(key)
            with stream:
                headers[key] = _budgeted_header(
                    stream, what, self.meter, info.file_size, True
                )
        arrays = {}
        for key in keys:
            info, what, stream = self._open_member(key)
            with stream:
                read_header(stream, what, self.meter)
                arrays[key] = _read_data(stream, *headers[key], what, self.meter)
                if stream.read(1):  # reading to the end also checks the CRC-32
                    raise self.meter.error(f"{what} holds more data than declared")
        return arrays


def open_npz(path, meter: Meter) -> NpzReader:
    """An :class:`NpzReader`; a damaged archive raises DataFileError."""
    try:
        return NpzReader(path, meter)
    except _DAMAGE as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise meter.error(
            f"it is not a readable .npz archive ({type(error).__name__}: {error})"
        ) from None


def read_npz(path, keys, meter: Meter) -> dict[str, np.ndarray]:
    """The arrays ``keys`` (those present) of the ``.npz`` at ``path``."""
    with open_npz(path, meter) as archive:
        return archive.read_all([key for key in keys if key in archive.members])


def read_feature_array(path, *, budget=None) -> np.ndarray:
    """Feature rows from a ``.npy`` file or the array ``X`` (or ``x``) of an
    ``.npz`` archive (``glassnet predict``), within the data budget."""
    meter = Meter(path, budget)
    if str(path).lower().endswith(".npz"):
        with open_npz(path, meter) as archive:
            key = next((k for k in ("X", "x") if k in archive.members), None)
            if key is None:
                raise DataFileError(
                    f"{path} has no array named X; found {archive.keys}"
                )
            return archive.read_all([key])[key]
    try:
        return read_npy(path, meter)
    except _DAMAGE as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise meter.error(f"it is damaged ({error})") from None
