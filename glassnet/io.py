"""Safe model files: one zip archive with a JSON manifest and ``.npy`` arrays.

The format (version 1)
----------------------
A glassnet archive is a zip file with exactly these members::

    manifest.json          a JSON object (UTF-8)
    arrays/<name>.npy      one NumPy .npy file (format 1.0) per array

Array names use letters, digits, ``_``, ``.`` and ``-`` only. The manifest holds the
caller's own keys plus::

    "format": "glassnet",
    "format_version": 1,
    "arrays": {"W1": {"shape": [4, 3], "dtype": "float32", "sha256": "..."}}

``dtype`` is one of :data:`ALLOWED_DTYPES`; arrays are stored little-endian in C
order, and ``sha256`` (present when written with ``checksums=True``) is the digest
of exactly those stored data bytes. Members are stored or deflated, with fixed
timestamps, so saving the same content twice gives the same bytes.

The guarantees
--------------
* Reading never executes code and never unpickles: only the dtypes above are
  accepted and ``.npy`` headers are parsed as literals.
* Reading never allocates more than the caller allows: the manifest, the zip
  directory and the ``.npy`` headers are size-capped, and each array's declared size
  is checked against ``max_array_bytes``/``max_total_bytes`` and against the zip
  headers before any of it is decompressed (a zip bomb is refused unread).
* A read has a memory budget (architecture D31): ``max_memory`` bytes, by default
  4 x the bytes of array data the file holds (as stored) + 64 MiB. The manifest's
  parsed size (bounded from its bytes before parsing), the declared arrays and
  what the caller will build from them (``check_declared``'s answer) are checked
  against it before each is allocated, so no file can make a read allocate more
  than 4 x what it holds, plus the margin, whatever it declares.
* Every way a file can be wrong raises :class:`ModelFileError` naming the file and
  the fault; damage is caught by each member's CRC-32 and, for arrays, sha256.
* Only the named file is opened; a path is a ``str`` or an ``os.PathLike`` (a
  ``bytes`` object is taken as a file name only when it is a short one, never
  as a file's contents).
* Writing is atomic: a temporary file in the target's folder is flushed, fsynced
  and renamed over the target, so readers see the old file or the new one, never a
  mix, and a failed write leaves the old file untouched (:mod:`glassnet._atomic_files`).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

import numpy as np

from glassnet import _archive_checks as checks
from glassnet._archive_checks import ALLOWED_DTYPES, ArchiveProblem
from glassnet._atomic_files import clean_stale_temporaries, write_atomically
from glassnet._regular_files import open_regular_file
from glassnet.errors import GlassnetError
from glassnet.validation import check_positive_int

__all__ = [
    "ALLOWED_DTYPES",
    "FORMAT_VERSION",
    "ModelFileError",
    "checked_path",
    "clean_stale_temporaries",
    "display_path",
    "shortened",
    "read_archive",
    "write_archive",
]

FORMAT_VERSION = 1
MAX_MANIFEST_BYTES = 16 * 2**20

_WRITE_CHUNK = 16 * 2**20
# What a damaged or hostile file can make the zip, zlib and struct layers raise.
_DAMAGE_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    struct.error,
    EOFError,
    OSError,
    ValueError,
    KeyError,
    IndexError,
    TypeError,
    OverflowError,
    UnicodeError,
    RuntimeError,  # includes NotImplementedError and RecursionError
)


class ModelFileError(GlassnetError, ValueError):
    """A model file or checkpoint could not be read: missing, damaged or unsafe."""


# --- writing ------------------------------------------------------------------------


def write_archive(
    path: str | os.PathLike,
    manifest: Mapping,
    arrays: Mapping[str, np.ndarray],
    *,
    checksums: bool = True,
    compress: bool = False,
) -> None:
    """Write ``manifest`` and ``arrays`` atomically as a glassnet archive at ``path``.

    ``manifest`` is a JSON-serializable mapping with string keys other than
    ``"format"``, ``"format_version"`` and ``"arrays"``. ``arrays`` maps names
    (letters, digits, ``_``, ``.``, ``-``) to arrays of an allowed dtype; they are
    stored little-endian in C order. ``checksums`` records each array's sha256;
    ``compress`` deflates the members (smaller, slower). Raises ``ValueError`` or
    ``TypeError`` for bad input before anything is written, and ``OSError`` if the
    file cannot be written, in which case an existing file at ``path`` is untouched.
    """
    target = Path(os.fspath(path))
    user = _check_user_manifest(manifest)
    prepared = _prepare_arrays(arrays)
    compression = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED

    def write(handle):
        entries = {}
        with zipfile.ZipFile(handle, "w", compression, allowZip64=True) as archive:
            for name, array in prepared:
                entries[name] = {"shape": list(array.shape), "dtype": array.dtype.name}
                digest = _write_npy(archive, checks.array_member(name), array)
                if checksums:
                    entries[name]["sha256"] = digest
            document = {"format": "glassnet", "format_version": FORMAT_VERSION}
            document.update(user)
            document["arrays"] = entries
            raw = json.dumps(document, indent=1).encode("utf-8")
            if len(raw) > MAX_MANIFEST_BYTES:
                raise ValueError(
                    f"the manifest takes {len(raw)} bytes as JSON; at most "
                    f"{MAX_MANIFEST_BYTES} can be read back"
                )
            archive.writestr(_member_info(checks.MANIFEST_MEMBER), raw)

    write_atomically(target, write)


def _check_user_manifest(manifest) -> dict:
    if not isinstance(manifest, Mapping):
        raise TypeError(f"manifest must be a dict; received {type(manifest).__name__}")
    for key in manifest:
        if not isinstance(key, str):
            raise TypeError(f"manifest keys must be strings; received key {key!r}")
        if key in checks.RESERVED_KEYS:
            raise ValueError(
                f"manifest key {key!r} is reserved for the file format; "
                f"reserved: {', '.join(checks.RESERVED_KEYS)}"
            )
    user = dict(manifest)
    try:
        json.dumps(user)
    except (TypeError, ValueError) as error:
        raise TypeError(f"manifest must be JSON-serializable: {error}") from None
    return user


def _prepare_arrays(arrays) -> list[tuple[str, np.ndarray]]:
    if not isinstance(arrays, Mapping):
        raise TypeError(f"arrays must be a dict; received {type(arrays).__name__}")
    prepared = []
    for name, value in arrays.items():
        if not isinstance(name, str) or not checks.ARRAY_NAME.fullmatch(name):
            raise ValueError(
                f"array name {name!r} is not allowed; use 1 to 200 letters, digits, "
                "'_', '.' or '-'"
            )
        array = np.asarray(value)
        if array.dtype.name not in ALLOWED_DTYPES or array.dtype.kind not in "biuf":
            raise ValueError(
                f"array {name!r} has dtype {array.dtype}; allowed: "
                f"{', '.join(ALLOWED_DTYPES)}"
            )
        stored = checks.stored_dtype(array.dtype.name)
        prepared.append((name, np.asarray(array, dtype=stored, order="C")))
    return prepared


def _member_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)  # timestamp fixed at 1980-01-01: reproducible bytes
    info.external_attr = 0o644 << 16
    return info


def _write_npy(archive: zipfile.ZipFile, member: str, array: np.ndarray) -> str:
    """Write one array as a .npy 1.0 member; return the sha256 of its data bytes."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header,
        {
            "descr": np.lib.format.dtype_to_descr(array.dtype),
            "fortran_order": False,
            "shape": array.shape,
        },
    )
    data = memoryview(array.reshape(-1).view(np.uint8))
    info = _member_info(member)
    info.compress_type = archive.compression
    info.file_size = len(header.getvalue()) + len(data)
    digest = hashlib.sha256()
    with archive.open(info, "w", force_zip64=info.file_size >= 2**31) as stream:
        stream.write(header.getvalue())
        for start in range(0, len(data), _WRITE_CHUNK):
            chunk = data[start : start + _WRITE_CHUNK]
            digest.update(chunk)
            stream.write(chunk)
    return digest.hexdigest()


# --- reading ------------------------------------------------------------------------


def display_path(path) -> str:
    """``path`` as a message shows it: quoted, and cut to its first and last 60
    characters when longer than 200 (a message never echoes a whole file)."""
    text = os.fsdecode(path) if isinstance(path, bytes | os.PathLike) else str(path)
    if len(text) <= 200:
        return repr(text)
    return f"{text[:60]!r}...{text[-60:]!r} (a name of {len(text)} characters)"


def checked_path(path) -> str | bytes:
    """``path`` as ``os.fspath`` gives it, after refusing what cannot be a file
    name: other types, and ``bytes`` that are a file's contents rather than its
    name (longer than 4096 bytes, holding NUL, or starting like a zip archive).
    Raises TypeError with a short message."""
    if isinstance(path, bytes):
        zip_start = path.startswith((b"PK\x03\x04", b"PK\x05\x06"))
        if len(path) > 4096 or b"\0" in path or zip_start:
            raise TypeError(
                f"the path of a model file must be a str or os.PathLike; received "
                f"{len(path)} bytes, which look like a file's contents rather than "
                "its name: write them to a file and pass its path"
            )
        return path
    try:
        text = os.fspath(path)
    except TypeError:
        raise TypeError(
            f"the path of a model file must be a str or os.PathLike; received a "
            f"{type(path).__name__}"
        ) from None
    if "\0" in text:
        raise TypeError(
            f"the path of a model file cannot hold a NUL character; received "
            f"{display_path(text)} (a file's contents rather than its name?)"
        )
    return text


def read_archive(
    path: str | os.PathLike,
    *,
    max_array_bytes: int = 2**31,
    max_total_bytes: int = 2**32,
    max_manifest_bytes: int = MAX_MANIFEST_BYTES,
    max_memory: int | None = None,
    verify_checksums: bool = True,
    check_declared=None,
) -> tuple[dict, dict[str, np.ndarray]]:
    """Read a glassnet archive; return ``(manifest, arrays)``.

    ``manifest`` is the caller's part of the manifest (the format keys removed), so
    ``read_archive`` returns what :func:`write_archive` was given. ``arrays`` maps
    names to writable, C-contiguous arrays that own their data, bitwise equal to
    those written. No array may declare more than ``max_array_bytes`` bytes, nor all
    of them more than ``max_total_bytes``; ``manifest.json`` may take at most
    ``max_manifest_bytes``. ``max_memory`` is the memory budget of the read
    (default: 4 x the array bytes the file holds + 64 MiB; see the module
    docstring). ``verify_checksums=False`` skips the sha256 comparison
    (the zip CRC-32 is always checked). ``check_declared(manifest, declared)``, when
    given, sees the caller's manifest and ``{name: (shape, dtype)}`` of every array
    before any array is read, and raises ``ValueError`` to refuse the file (e.g. a
    model file whose arrays do not fit its architecture); it may return the bytes
    the caller will allocate from the arrays, which count against the budget. Any
    fault in the file raises :class:`ModelFileError`.
    """
    max_array_bytes = check_positive_int("max_array_bytes", max_array_bytes)
    max_total_bytes = check_positive_int("max_total_bytes", max_total_bytes)
    max_manifest_bytes = check_positive_int("max_manifest_bytes", max_manifest_bytes)
    if max_memory is not None:
        max_memory = check_positive_int("max_memory", max_memory)
    target = checked_path(path)
    shown = display_path(target)
    limits = _Limits(
        max_array_bytes,
        max_total_bytes,
        max_manifest_bytes,
        max_memory,
        verify_checksums,
        check_declared,
    )
    try:
        with _open_regular_file(target) as fp:
            return _read(fp, limits)
    except ArchiveProblem as problem:
        raise ModelFileError(f"cannot load model file {shown}: {problem}") from None
    except FileNotFoundError:
        raise ModelFileError(f"cannot load model file {shown}: no such file") from None
    except PermissionError:
        raise ModelFileError(
            f"cannot load model file {shown}: permission denied"
        ) from None
    except OSError as error:  # the system's words, not its echo of the name
        raise ModelFileError(
            f"cannot load model file {shown}: {error.strerror or error}"
        ) from error
    except _DAMAGE_ERRORS as error:
        raise ModelFileError(
            f"cannot load model file {shown}: it is damaged or not a glassnet "
            f"archive ({type(error).__name__}: {str(error)[:200]})"
        ) from error


def _open_regular_file(path: str):
    """The archive opened for reading; a folder, FIFO or device is refused."""

    def refuse(is_folder: bool):
        raise ArchiveProblem(
            "it is a directory" if is_folder else "it is not a regular file"
        )

    return open_regular_file(path, refuse)


class _Limits(NamedTuple):
    max_array_bytes: int
    max_total_bytes: int
    max_manifest_bytes: int
    max_memory: int | None
    verify: bool
    check_declared: object


def _read(fp, limits: _Limits):
    size = os.fstat(fp.fileno()).st_size
    if size == 0:
        raise ArchiveProblem("the file is empty (0 bytes)")
    checks.check_central_directory(fp, size)
    with zipfile.ZipFile(fp) as archive:
        members = checks.check_members(archive.infolist(), size)
        budget = checks.MemoryBudget(limits.max_memory, members)
        raw = checks.read_member_bytes(
            archive, members[checks.MANIFEST_MEMBER], limits.max_manifest_bytes
        )
        parsed = checks.parsed_json_bytes(raw)
        budget.check(parsed, f"parsing its {checks.MANIFEST_MEMBER} ({len(raw)} bytes)")
        manifest, specs = checks.parse_manifest(raw, FORMAT_VERSION)
        del raw
        checks.check_member_set(members, specs)
        checks.check_sizes(
            specs, members, limits.max_array_bytes, limits.max_total_bytes
        )
        built = _check_declared(limits.check_declared, manifest, specs)
        arrays_bytes = sum(spec.nbytes for spec in specs)
        budget.check(
            parsed + arrays_bytes + built,
            f"loading it (its arrays: {checks.describe_bytes(arrays_bytes)} as "
            f"declared; what is built from them: {checks.describe_bytes(built)}; "
            f"its parsed manifest: {checks.describe_bytes(parsed)})",
        )
        arrays = {
            spec.name: checks.read_array(
                archive, members[spec.member], spec, limits.verify
            )
            for spec in specs
        }
    return manifest, arrays


def _check_declared(check, manifest: dict, specs) -> int:
    """The caller's verdict on the declared arrays: the bytes it will build from
    them (0 without a check); its ValueError refuses the file."""
    if check is None:
        return 0
    try:
        built = check(manifest, {s.name: (s.shape, s.dtype.name) for s in specs})
    except (ValueError, TypeError, KeyError) as error:
        raise ArchiveProblem(shortened(str(error))) from None
    return int(built or 0)


def shortened(text: str, limit: int = 600) -> str:
    """``text`` cut to ``limit`` characters (a message may quote a file's value:
    it never quotes a whole file)."""
    if len(text) <= limit:
        return text
    return f"{text[: limit - 60]} ... {text[-40:]} ({len(text)} characters)"
