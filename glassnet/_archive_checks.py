"""Checks behind :func:`glassnet.io.read_archive`: every rule a file must pass.

Everything here treats the archive as hostile. Each check runs before the memory it
guards is allocated, and every failure raises :class:`ArchiveProblem` with a short
reason; :mod:`glassnet.io` adds the path and turns it into ``ModelFileError``.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import struct
import zipfile
from dataclasses import dataclass

import numpy as np

ALLOWED_DTYPES = (
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float16",
    "float32",
    "float64",
)
MANIFEST_MEMBER = "manifest.json"
ARRAY_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,200}")
RESERVED_KEYS = ("format", "format_version", "arrays")

MAX_CENTRAL_DIRECTORY_BYTES = 4 * 2**20  # about 40 000 members; parsed in full
#: the memory budget of a read: BUDGET_FACTOR x the bytes of array data the file
#: holds (as stored, compressed or not) + BUDGET_MARGIN, unless the caller gives one
BUDGET_FACTOR = 4
BUDGET_MARGIN = 64 * 2**20
MAX_NPY_HEADER_TEXT = 10_000  # numpy's own default max_header_size
_NPY_MAGIC = b"\x93NUMPY"
_MAX_NDIM = 64
_SHA256 = re.compile(r"[0-9a-f]{64}")
_READ_CHUNK = 16 * 2**20
_LOCAL_HEADER_BYTES = 30


class ArchiveProblem(Exception):
    """A reason the archive is refused (internal; surfaces as ModelFileError)."""


@dataclass(frozen=True)
class ArraySpec:
    """One array as the manifest declares it."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype  # little-endian, as stored
    sha256: str | None

    @property
    def member(self) -> str:
        return array_member(self.name)

    @property
    def nbytes(self) -> int:
        count = 1
        for size in self.shape:
            count *= size
        return count * self.dtype.itemsize


def array_member(name: str) -> str:
    """The zip member that stores array ``name``."""
    return f"arrays/{name}.npy"


def stored_dtype(name: str) -> np.dtype:
    """The little-endian dtype that an allowed dtype name is stored as."""
    return np.dtype(name).newbyteorder("<")


# --- the zip container --------------------------------------------------------------


def check_central_directory(fp, file_size: int) -> None:
    """Refuse an archive whose central directory is too large to parse safely.

    ``zipfile`` reads the whole central directory into memory and builds one object
    per entry, so its declared size is read from the end-of-central-directory record
    (found exactly as ``zipfile`` finds it, zip64 record included) and capped first.
    """
    end_record = 22
    if file_size < end_record:
        raise ArchiveProblem(f"it is not a zip archive ({file_size} bytes)")
    fp.seek(file_size - end_record)
    tail = fp.read(end_record)
    if tail[:4] == b"PK\x05\x06" and tail[-2:] == b"\x00\x00":
        position = file_size - end_record
    else:
        search_start = max(file_size - 2**16 - end_record, 0)
        fp.seek(search_start)
        window = fp.read()
        found = window.rfind(b"PK\x05\x06")
        if found < 0 or len(window) - found < end_record:
            raise ArchiveProblem("it is not a zip archive (no end-of-archive record)")
        position = search_start + found
        tail = window[found : found + end_record]
    directory_size = struct.unpack("<4s4H2LH", tail)[5]
    if position >= 20 + 56:
        fp.seek(position - 20)
        locator = fp.read(20)
        if locator[:4] == b"PK\x06\x07":
            fp.seek(position - 20 - 56)
            record = fp.read(56)
            if record[:4] == b"PK\x06\x06":
                directory_size = struct.unpack("<4sQ2H2L4Q", record)[8]
    if directory_size > MAX_CENTRAL_DIRECTORY_BYTES:
        raise ArchiveProblem(
            f"its zip directory declares {directory_size} bytes; at most "
            f"{MAX_CENTRAL_DIRECTORY_BYTES} are read"
        )


def check_members(infos: list[zipfile.ZipInfo], file_size: int) -> dict:
    """Check member names and zip headers; return ``{name: ZipInfo}``.

    Names must be relative, ``/``-separated, free of ``..`` and unique. Members must
    be unencrypted, stored or deflated, and lie inside the file.
    """
    members = {}
    for info in infos:
        name = info.filename
        if "\x00" in info.orig_filename:
            raise ArchiveProblem(f"member name {info.orig_filename!r} holds a NUL byte")
        if "\\" in name:
            raise ArchiveProblem(f"member name {name!r} contains a backslash")
        if name.startswith("/") or re.match(r"[A-Za-z]:", name):
            raise ArchiveProblem(f"member name {name!r} is an absolute path")
        if ".." in name.split("/"):
            raise ArchiveProblem(f"member name {name!r} escapes the archive with '..'")
        if name in members:
            raise ArchiveProblem(f"member {name!r} appears more than once")
        if info.flag_bits & 0x1:
            raise ArchiveProblem(f"member {name!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ArchiveProblem(
                f"member {name!r} uses zip compression method {info.compress_type}; "
                "only stored (0) and deflated (8) are read"
            )
        if info.compress_type == zipfile.ZIP_STORED and (
            info.compress_size != info.file_size
        ):
            raise ArchiveProblem(
                f"member {name!r} is stored uncompressed but declares "
                f"{info.compress_size} stored bytes for {info.file_size} bytes of data"
            )
        if info.header_offset + _LOCAL_HEADER_BYTES + info.compress_size > file_size:
            raise ArchiveProblem(
                f"member {name!r} extends past the end of the file (truncated?)"
            )
        members[name] = info
    if MANIFEST_MEMBER not in members:
        raise ArchiveProblem(f"it has no {MANIFEST_MEMBER} (not a glassnet archive)")
    return members


def check_member_set(members: dict, specs: list[ArraySpec]) -> None:
    """The archive holds exactly the manifest plus one member per declared array."""
    expected = {MANIFEST_MEMBER, *(spec.member for spec in specs)}
    extra = sorted(set(members) - expected)
    missing = sorted(expected - set(members))
    if extra:
        raise ArchiveProblem(
            f"it holds member {extra[0]!r}, which the manifest does not list"
        )
    if missing:
        raise ArchiveProblem(
            f"member {missing[0]!r}, listed in the manifest, is missing"
        )


def read_member_bytes(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int):
    """Read a whole member after checking its declared size against ``limit``."""
    if info.file_size > limit:
        raise ArchiveProblem(
            f"member {info.filename!r} declares {info.file_size} bytes; "
            f"at most {limit} are read"
        )
    with archive.open(info) as stream:
        data = _read_exactly(stream, info.file_size, info.filename)
        _expect_end(stream, info.filename)
    return data


# --- the memory budget --------------------------------------------------------------


def describe_bytes(count: int) -> str:
    """``2519 bytes``, ``64.0 MiB``, ``3.4 GiB``: a size for a message."""
    if count < 2**20:
        return f"{count} bytes"
    if count < 2**30:
        return f"{count / 2**20:.1f} MiB"
    return f"{count / 2**30:.1f} GiB"


class MemoryBudget:
    """What a read may allocate: ``limit`` bytes, the caller's ``max_memory`` or
    ``BUDGET_FACTOR`` x the array bytes the file holds + ``BUDGET_MARGIN``.

    Each :meth:`check` comes before the memory it counts is allocated; a file
    that would take more is refused with an :class:`ArchiveProblem` saying what
    it declared and what the budget is."""

    def __init__(self, max_memory: int | None, members: dict):
        self.present = sum(
            info.compress_size
            for name, info in members.items()
            if name != MANIFEST_MEMBER
        )
        self.given = max_memory is not None
        if self.given:
            self.limit = max_memory
        else:
            self.limit = BUDGET_FACTOR * self.present + BUDGET_MARGIN

    def describe(self) -> str:
        if self.given:
            return f"the memory budget max_memory={self.limit}"
        return (
            f"the memory budget of {describe_bytes(self.limit)} ({BUDGET_FACTOR} x "
            f"the {describe_bytes(self.present)} of array data the file holds + "
            f"{describe_bytes(BUDGET_MARGIN)}; max_memory= sets another)"
        )

    def check(self, needed: int, what: str) -> None:
        """Refuse ``needed`` bytes for ``what`` (words) above the limit."""
        if needed > self.limit:
            raise ArchiveProblem(
                f"{what} needs up to {describe_bytes(needed)}, above {self.describe()}"
            )


def parsed_json_bytes(raw: bytes) -> int:
    """An upper bound on the memory ``json.loads`` takes for ``raw`` (with the
    bytes and their text, and the duplicate-key check of each object), from counts
    that need no parsing: every object or list at most 100 bytes, every key 250
    (a colon: the pair, the key check's entries, the object's), every string 60
    (two quotes), every further element 40 (a comma), plus the bytes themselves
    three times (4 bytes a character for non-ASCII text). A 16 MiB manifest of
    empty objects takes 370 MB as Python objects; this counts 830 MB, before
    anything is parsed (tests/test_model_files_budget.py holds it to what parsing
    takes, over ten shapes of JSON)."""
    text = 1 if raw.isascii() else 4
    structure = (
        100 * (raw.count(b"{") + raw.count(b"["))
        + 250 * raw.count(b":")
        + 30 * raw.count(b'"')
        + 40 * raw.count(b",")
    )
    return len(raw) * (1 + 2 * text) + structure


# --- the manifest -------------------------------------------------------------------


def parse_manifest(raw: bytes, max_version: int) -> tuple[dict, list[ArraySpec]]:
    """Parse ``manifest.json``; return the caller's part and the declared arrays."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ArchiveProblem(f"{MANIFEST_MEMBER} is not UTF-8 text") from None
    try:
        document = json.loads(text, object_pairs_hook=_reject_duplicate_keys)
    except (ValueError, RecursionError) as error:
        raise ArchiveProblem(f"{MANIFEST_MEMBER} is not valid JSON ({error})") from None
    if not isinstance(document, dict):
        raise ArchiveProblem(
            f"{MANIFEST_MEMBER} must hold a JSON object; "
            f"found {type(document).__name__}"
        )
    if document.get("format") != "glassnet":
        raise ArchiveProblem(
            f"{MANIFEST_MEMBER} has format {document.get('format')!r}, not 'glassnet'"
        )
    version = document.get("format_version")
    if type(version) is not int or version < 1:
        raise ArchiveProblem(
            f"{MANIFEST_MEMBER} has format_version {version!r}; "
            "expected an integer >= 1"
        )
    if version > max_version:
        raise ArchiveProblem(
            f"it was written by a newer glassnet (format version {version}); "
            f"this glassnet reads format versions up to {max_version}"
        )
    declared = document.get("arrays")
    if not isinstance(declared, dict):
        raise ArchiveProblem(f"{MANIFEST_MEMBER} has no 'arrays' object")
    specs = [_parse_array_entry(name, entry) for name, entry in declared.items()]
    user = {key: value for key, value in document.items() if key not in RESERVED_KEYS}
    return user, specs


def _reject_duplicate_keys(pairs):
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        repeated = next(key for key in keys if keys.count(key) > 1)
        raise ArchiveProblem(f"{MANIFEST_MEMBER} repeats the key {repeated!r}")
    return dict(pairs)


def _parse_array_entry(name, entry) -> ArraySpec:
    if not ARRAY_NAME.fullmatch(name):
        raise ArchiveProblem(
            f"array name {name!r} is not allowed (letters, digits, '_', '.', '-')"
        )
    if not isinstance(entry, dict) or not {"shape", "dtype"} <= entry.keys():
        raise ArchiveProblem(f"array {name!r} needs an object with 'shape' and 'dtype'")
    unknown = sorted(set(entry) - {"shape", "dtype", "sha256"})
    if unknown:
        raise ArchiveProblem(f"array {name!r} has unknown field {unknown[0]!r}")
    shape = entry["shape"]
    if (
        not isinstance(shape, list)
        or len(shape) > _MAX_NDIM
        or not all(type(size) is int and size >= 0 for size in shape)
    ):
        raise ArchiveProblem(
            f"array {name!r} has shape {shape!r}; expected a list of at most "
            f"{_MAX_NDIM} integers >= 0"
        )
    dtype = entry["dtype"]
    if dtype not in ALLOWED_DTYPES:
        raise ArchiveProblem(
            f"array {name!r} has dtype {dtype!r}, which glassnet does not load "
            f"(allowed: {', '.join(ALLOWED_DTYPES)})"
        )
    digest = entry.get("sha256")
    if digest is not None and not (
        isinstance(digest, str) and _SHA256.fullmatch(digest)
    ):
        raise ArchiveProblem(f"array {name!r} has a malformed sha256 {digest!r}")
    return ArraySpec(name, tuple(shape), stored_dtype(dtype), digest)


# --- sizes and arrays ---------------------------------------------------------------


def check_sizes(
    specs: list[ArraySpec], members: dict, max_array_bytes: int, max_total_bytes: int
) -> None:
    """Check declared sizes against the limits and the zip headers, before reading."""
    total = 0
    for spec in specs:
        if spec.nbytes > max_array_bytes:
            raise ArchiveProblem(
                f"array {spec.name!r} declares shape {spec.shape} of "
                f"{spec.dtype.name} = {spec.nbytes} bytes, above "
                f"max_array_bytes={max_array_bytes}"
            )
        total += spec.nbytes
    if total > max_total_bytes:
        raise ArchiveProblem(
            f"its arrays declare {total} bytes in all, above "
            f"max_total_bytes={max_total_bytes}"
        )
    for spec in specs:
        declared = members[spec.member].file_size
        header = declared - spec.nbytes
        if not 10 < header <= 12 + MAX_NPY_HEADER_TEXT:
            raise ArchiveProblem(
                f"member {spec.member!r} declares {declared} bytes, but array "
                f"{spec.name!r} of shape {spec.shape} and dtype {spec.dtype.name} "
                f"needs {spec.nbytes} bytes plus a .npy header; not decompressing it"
            )


def read_array(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, spec: ArraySpec, verify: bool
) -> np.ndarray:
    """Read one ``.npy`` member: header checked against ``spec``, then bounded data."""
    member = spec.member
    with archive.open(info) as stream:
        header_bytes = _check_npy_header(stream, spec)
        if header_bytes + spec.nbytes != info.file_size:
            raise ArchiveProblem(
                f"member {member!r} declares {info.file_size} bytes but its .npy "
                f"header and data make {header_bytes + spec.nbytes}"
            )
        array = np.empty(spec.shape, dtype=spec.dtype)
        raw = memoryview(array.reshape(-1).view(np.uint8))
        for start in range(0, len(raw), _READ_CHUNK):
            stop = min(start + _READ_CHUNK, len(raw))
            raw[start:stop] = _read_exactly(stream, stop - start, member)
        _expect_end(stream, member)
    if verify and spec.sha256 is not None:
        if hashlib.sha256(raw).hexdigest() != spec.sha256:
            raise ArchiveProblem(f"array {spec.name!r} fails its sha256 checksum")
    if spec.dtype == np.bool_ and len(raw) and np.frombuffer(raw, np.uint8).max() > 1:
        raise ArchiveProblem(f"boolean array {spec.name!r} holds bytes other than 0/1")
    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    return array


def _check_npy_header(stream, spec: ArraySpec) -> int:
    """Read and check a ``.npy`` header; return its length in bytes."""
    member = spec.member
    prefix = _read_exactly(stream, 8, member)
    if prefix[:6] != _NPY_MAGIC:
        raise ArchiveProblem(f"member {member!r} is not a .npy file (bad magic)")
    version = (prefix[6], prefix[7])
    readers = {
        (1, 0): ("<H", np.lib.format.read_array_header_1_0),
        (2, 0): ("<I", np.lib.format.read_array_header_2_0),
    }
    if version not in readers:
        raise ArchiveProblem(
            f"member {member!r} has unsupported .npy version {version}"
        )
    length_format, read_header = readers[version]
    length_bytes = _read_exactly(stream, struct.calcsize(length_format), member)
    (length,) = struct.unpack(length_format, length_bytes)
    if length > MAX_NPY_HEADER_TEXT:
        raise ArchiveProblem(f"member {member!r} has a {length}-byte .npy header")
    text = _read_exactly(stream, length, member)
    buffer = io.BytesIO(prefix + length_bytes + text)
    try:
        np.lib.format.read_magic(buffer)
        shape, fortran_order, dtype = read_header(
            buffer, max_header_size=MAX_NPY_HEADER_TEXT
        )
    except Exception as error:  # parsing an untrusted 10 kB string in memory
        raise ArchiveProblem(
            f"member {member!r} has an invalid .npy header ({error})"
        ) from None
    if dtype.str != spec.dtype.str or dtype.hasobject:
        raise ArchiveProblem(
            f"member {member!r} holds dtype {dtype.str!r}, but the manifest declares "
            f"{spec.dtype.name} (stored as {spec.dtype.str!r})"
        )
    if fortran_order:
        raise ArchiveProblem(f"member {member!r} is stored in Fortran order")
    if tuple(shape) != spec.shape:
        raise ArchiveProblem(
            f"member {member!r} holds shape {tuple(shape)}, but the manifest declares "
            f"{spec.shape}"
        )
    return len(buffer.getvalue())


def _read_exactly(stream, size: int, member: str) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise ArchiveProblem(
            f"member {member!r} ends after {len(data)} of {size} expected bytes"
        )
    return data


def _expect_end(stream, member: str) -> None:
    # Reading past the end also makes zipfile compare the CRC-32.
    if stream.read(1):
        raise ArchiveProblem(f"member {member!r} holds more data than declared")
