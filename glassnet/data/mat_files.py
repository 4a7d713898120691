"""Bounded reading of MATLAB ``.mat`` files (versions 4 and 5/7).

``scipy.io.loadmat`` decompresses and allocates whatever a file's tags declare: a
200 KB compressed ``.mat`` took 1.9 GB. Here the file's variables are listed first
from their headers (class, dimensions, name; a compressed variable's first bytes
only are inflated), the variables glassnet will use are checked against the data
budget (:mod:`glassnet.data.budgets`), each compressed one is inflated once into
nothing to check that it holds no more than its declared shape needs, and only
then does SciPy read those variables (``variable_names=``), and no others.
"""

from __future__ import annotations

import math
import os
import struct
import zlib
from dataclasses import dataclass

import numpy as np

from glassnet.data.budgets import DataFileError, Meter, describe_bytes
from glassnet.data.npy_files import open_regular_file

__all__ = ["MatVariable", "scan_mat", "check_variables"]

MAX_VARIABLES = 65_536
_HEAD_BYTES = 8192  # the inflated start of a variable: tag, flags, dims, name
_CHUNK = 2**20
_MI_MATRIX, _MI_COMPRESSED = 14, 15
# class number -> (MATLAB class, numpy dtype SciPy gives it; None: not numeric)
_CLASSES = {
    1: ("cell", None),
    2: ("struct", None),
    3: ("object", None),
    4: ("char", "U1"),
    5: ("sparse", "f8"),
    6: ("double", "f8"),
    7: ("single", "f4"),
    8: ("int8", "i1"),
    9: ("uint8", "u1"),
    10: ("int16", "i2"),
    11: ("uint16", "u2"),
    12: ("int32", "i4"),
    13: ("uint32", "u4"),
    14: ("int64", "i8"),
    15: ("uint64", "u8"),
    16: ("function", None),
    17: ("opaque", None),
}
_V4_PRECISION = {0: "f8", 1: "f4", 2: "i4", 3: "i2", 4: "u2", 5: "u1"}


@dataclass
class MatVariable:
    """One variable as its header declares it."""

    name: str
    class_name: str
    shape: tuple[int, ...]
    complex: bool = False
    nzmax: int = 0
    offset: int = 0  # where its stored bytes start in the file
    stored: int = 0  # its stored bytes (compressed or not)
    compressed: bool = False
    declared: int = 0  # bytes its matrix element declares (tag included)
    header: int = 0  # bytes of the matrix element before the data

    @property
    def dtype(self):
        numeric = dict(_CLASSES.values()).get(self.class_name)
        return None if numeric is None else np.dtype(numeric)

    def describe(self) -> str:
        shape = "x".join(map(str, self.shape))
        return f"variable {self.name!r} ({shape} {self.class_name})"

    def allowed_bytes(self, meter: Meter) -> int:
        """The most bytes its matrix element may hold for its declared shape."""
        count = math.prod(self.shape)
        parts = 2 if self.complex else 1
        if self.class_name == "sparse":
            columns = self.shape[1] if len(self.shape) > 1 else 1
            data = self.nzmax * (4 + 8 * parts) + (columns + 1) * 4
        elif self.class_name == "cell":
            return self.header + meter.budget.max_array_bytes
        else:
            data = count * 8 * parts  # stored as at most 8 bytes a value
        return self.header + data + 64


# ------------------------------------------------------------------ version 5


def _tag(buffer, position, endian):
    """``(mdtype, nbytes, data_start, next_position)`` of the tag at position."""
    first, second = struct.unpack_from(endian + "II", buffer, position)
    if first >> 16:  # the small data element format
        return first & 0xFFFF, first >> 16, position + 4, position + 8
    padded = second + (-second) % 8
    return first, second, position + 8, position + 8 + padded


def _parse_matrix_header(head: bytes, endian: str, meter: Meter) -> MatVariable:
    """Class, dims and name from the start of a miMATRIX element (its tag first)."""
    mdtype, nbytes, position, _ = _tag(head, 0, endian)
    if mdtype != _MI_MATRIX:
        raise meter.error(f"it holds a data element of type {mdtype}, not a matrix")
    _, _, data, position = _tag(head, position, endian)
    flags, nzmax = struct.unpack_from(endian + "II", head, data)
    _, dims_bytes, data, position = _tag(head, position, endian)
    if dims_bytes > 4 * 64:
        raise meter.error(f"a variable declares {dims_bytes // 4} dimensions")
    shape = struct.unpack_from(f"{endian}{dims_bytes // 4}i", head, data)
    _, name_bytes, data, position = _tag(head, position, endian)
    name = bytes(head[data : data + name_bytes]).decode("latin-1")
    if len(name) != name_bytes or any(d < 0 for d in shape):
        raise meter.error(f"variable {name!r} has a damaged header")
    class_name = _CLASSES.get(flags & 0xFF, (f"class {flags & 0xFF}", None))[0]
    return MatVariable(
        name=name,
        class_name=class_name,
        shape=tuple(shape),
        complex=bool(flags & 0x800),
        nzmax=nzmax,
        declared=nbytes + 8,
        header=position,
    )


def _inflate(handle, variable: MatVariable, limit: int) -> tuple[bytes, int]:
    """Inflate a compressed variable into nothing, ``_CHUNK`` bytes at a time:
    ``(its first _HEAD_BYTES bytes, its inflated size)``, stopping as soon as that
    size passes ``limit``."""
    handle.seek(variable.offset)
    inflater = zlib.decompressobj()
    left, total, kept = variable.stored, 0, []
    pending = b""
    while True:
        if not pending:
            if left <= 0:
                break
            pending = handle.read(min(_CHUNK, left))
            left -= len(pending)
            if not pending:
                break
        out = inflater.decompress(pending, _CHUNK)
        pending = inflater.unconsumed_tail
        if sum(map(len, kept)) < _HEAD_BYTES:
            kept.append(out[:_HEAD_BYTES])
        total += len(out)
        if total > limit or inflater.eof:
            break
    return b"".join(kept)[:_HEAD_BYTES], total


def _scan_v5(handle, size: int, endian: str, meter: Meter) -> list[MatVariable]:
    variables, position = [], 128
    while position + 8 <= size:
        handle.seek(position)
        mdtype, nbytes = struct.unpack(endian + "II", handle.read(8))
        if position + 8 + nbytes > size:
            raise meter.error(
                f"a variable at byte {position} declares {nbytes} bytes but the "
                f"file ends {size - position - 8} bytes later (truncated?)"
            )
        if mdtype == _MI_COMPRESSED:
            probe = MatVariable("", "", (), offset=position + 8, stored=nbytes)
            head, _ = _inflate(handle, probe, _HEAD_BYTES)
        elif mdtype == _MI_MATRIX:
            handle.seek(position)
            head = handle.read(min(nbytes + 8, _HEAD_BYTES))
        else:
            raise meter.error(f"it holds a top-level element of type {mdtype}")
        variable = _parse_matrix_header(head, endian, meter)
        variable.offset, variable.stored = position + 8, nbytes
        variable.compressed = mdtype == _MI_COMPRESSED
        variables.append(variable)
        if len(variables) > MAX_VARIABLES:
            raise meter.error(f"it holds more than {MAX_VARIABLES} variables")
        position += 8 + nbytes
    return variables


# ------------------------------------------------------------------ version 4


def _v4_header(raw: bytes):
    for endian in ("<", ">"):
        mopt, rows, columns, imaginary, name_length = struct.unpack(endian + "5i", raw)
        machine, rest = divmod(mopt, 1000)
        zero, rest = divmod(rest, 100)
        precision, kind = divmod(rest, 10)
        if (
            0 <= mopt < 5000
            and machine in (0, 1)
            and zero == 0
            and precision in _V4_PRECISION
            and kind in (0, 1, 2)
            and min(rows, columns, name_length) >= 0
        ):
            return rows, columns, bool(imaginary), name_length, precision, kind
    return None


def _scan_v4(handle, size: int, meter: Meter) -> list[MatVariable]:
    variables, position = [], 0
    while position + 20 <= size:
        handle.seek(position)
        header = _v4_header(handle.read(20))
        if header is None:
            raise meter.error(f"it has a damaged MATLAB 4 header at byte {position}")
        rows, columns, imaginary, name_length, precision, kind = header
        itemsize = np.dtype(_V4_PRECISION[precision]).itemsize
        data = rows * columns * itemsize * (2 if imaginary else 1)
        name = handle.read(min(name_length, 4096)).rstrip(b"\x00").decode("latin-1")
        stored = 20 + name_length + data
        if position + stored > size:
            raise meter.error(
                f"variable {name!r} declares {rows}x{columns} values but the file "
                "ends before them (truncated?)"
            )
        class_name = ("double", "char", "sparse")[kind]
        variables.append(
            MatVariable(
                name,
                class_name,
                (rows, columns),
                imaginary,
                stored=stored,
                header=20 + name_length,
            )
        )
        if len(variables) > MAX_VARIABLES:
            raise meter.error(f"it holds more than {MAX_VARIABLES} variables")
        position += stored
    return variables


def scan_mat(path, meter: Meter) -> list[MatVariable]:
    """The variables of a ``.mat`` file as their headers declare them (nothing is
    read past a header). A MATLAB 7.3 file (HDF5) raises DataFileError."""
    with open_regular_file(path) as handle:
        size = os.fstat(handle.fileno()).st_size
        first = handle.read(4)
        if len(first) < 4:
            raise meter.error("it is not a MATLAB file (too short)")
        try:
            if 0 in first:
                return _scan_v4(handle, size, meter)
            handle.seek(0)
            header = handle.read(128)
            endian = {b"IM": "<", b"MI": ">"}.get(header[126:128])
            if len(header) < 128 or endian is None:
                raise meter.error("it is not a MATLAB file (no MATLAB 5 header)")
            (version,) = struct.unpack(endian + "H", header[124:126])
            if version == 0x0200:
                raise DataFileError(
                    f"{path} is a MATLAB v7.3 file (HDF5 inside); save it with -v7 or "
                    "read it with h5py"
                )
            return _scan_v5(handle, size, endian, meter)
        except (struct.error, zlib.error, UnicodeDecodeError) as error:
            raise meter.error(f"it is a damaged MATLAB file ({error})") from None


_LABEL_CLASSES = ("cell", "char")


def check_variables(path, variables, meter: Meter, *, labels=()) -> None:
    """Check the variables glassnet will read against the budget, and inflate each
    compressed one (into nothing) to see that it holds no more than its declared
    shape needs. ``labels`` names the variables that may hold text (cell arrays of
    strings, char matrices) as well as numbers."""
    with open_regular_file(path) as handle:
        for variable in variables:
            what = variable.describe()
            allowed_classes = _LABEL_CLASSES if variable.name in labels else ()
            if variable.dtype is None and variable.class_name not in allowed_classes:
                raise meter.error(
                    f"{what} is a MATLAB {variable.class_name}; glassnet reads numeric "
                    "or logical matrices"
                    + (" (and cell arrays of strings for labels)" if labels else "")
                    + "; convert it (e.g. cell2mat) and save it again"
                )
            if variable.class_name == "cell":
                meter.add_bytes(what, math.prod(variable.shape) * 128)
            else:
                shape = variable.shape
                dense = "f8" if variable.class_name == "sparse" else variable.dtype
                meter.array(what, shape, dense)
            allowed = variable.allowed_bytes(meter)
            if variable.compressed:
                if variable.declared > allowed:
                    raise meter.error(
                        f"{what} declares {describe_bytes(variable.declared)}, more "
                        "than its shape needs; not inflating it"
                    )
                _, inflated = _inflate(handle, variable, allowed)
                if inflated > allowed:
                    raise meter.error(
                        f"{what} inflates to more than {describe_bytes(allowed)}, "
                        "more than its shape needs (a compression bomb?); not "
                        "reading it"
                    )
            elif variable.declared and variable.stored > allowed:
                raise meter.error(
                    f"{what} takes {describe_bytes(variable.stored)}, more than its "
                    "shape needs"
                )
