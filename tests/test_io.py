"""Tests for glassnet.io: the archive format, atomic writes and hostile files.

Every malicious file below must be refused with ModelFileError, quickly (CPU time
under a second), naming the file, and without running the pickle payload that some
of them carry (the planted marker file must never appear).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import struct
import sys
import time
import tracemalloc
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import glassnet.io as gio
from glassnet._atomic_files import create_temporary
from glassnet.io import (
    ALLOWED_DTYPES,
    FORMAT_VERSION,
    ModelFileError,
    clean_stale_temporaries,
    read_archive,
    write_archive,
)

MARKER = "PLANTED_MARKER"
MANIFEST = {"model": "Sequential", "layers": [{"units": 4, "activation": "relu"}]}


def sample_arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "W1": rng.standard_normal((4, 3)).astype(np.float32),
        "b1": np.zeros((4, 1), dtype=np.float32),
        "step": np.array(7, dtype=np.int64),
        "mask": np.array([True, False, True]),
    }


# --- helpers ------------------------------------------------------------------------


def assert_refused(path, match: str | None = None, **limits) -> ModelFileError:
    """read_archive refuses ``path`` quickly, naming it, without running payloads."""
    start = time.process_time()
    with pytest.raises(ModelFileError, match=match) as caught:
        read_archive(path, **limits)
    assert time.process_time() - start < 1.0
    assert repr(str(path)) in str(caught.value)
    assert not (Path(path).parent / MARKER).exists()
    return caught.value


def assert_same_arrays(loaded: dict, expected: dict) -> None:
    assert loaded.keys() == expected.keys()
    for name, array in expected.items():
        stored = np.asarray(array)
        got = loaded[name]
        assert got.dtype == stored.dtype, name
        assert got.shape == stored.shape, name
        assert got.tobytes() == np.ascontiguousarray(stored).tobytes(), name


def peak_memory(action) -> int:
    """Peak traced allocation (bytes) while running ``action``."""
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def members_of(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def write_zip(path, members, compression=zipfile.ZIP_STORED) -> Path:
    """Write ``members`` (a dict or a list of (name, bytes) pairs) with zipfile."""
    items = members.items() if isinstance(members, dict) else members
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names
        with zipfile.ZipFile(path, "w", compression) as archive:
            for name, data in items:
                archive.writestr(name, data)
    return Path(path)


def handmade_zip(entries) -> bytes:
    """A zip built byte by byte, so headers may lie.

    ``entries``: (name, stored bytes, method, crc, declared size, flags) tuples.
    """
    body, directory = bytearray(), bytearray()
    for name, data, method, crc, size, flags in entries:
        encoded = name.encode()
        common = (flags, method, 0, 33, crc, len(data), size, len(encoded))
        directory += struct.pack(
            "<4s6H3L5H2L", b"PK\x01\x02", 20, 20, *common, 0, 0, 0, 0, 0, len(body)
        )
        directory += encoded
        body += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, *common, 0)
        body += encoded + data
    count = min(len(entries), 0xFFFF)
    end = struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(directory), len(body), 0
    )
    return bytes(body + directory + end)


def npy_bytes(array, allow_pickle=False) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def npy_header(shape, descr="<f4") -> bytes:
    buffer = io.BytesIO()
    header = {"descr": descr, "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue()


def document(arrays: dict) -> dict:
    """A valid manifest document for ``{name: (shape, dtype)}``."""
    entries = {
        name: {"shape": list(shape), "dtype": dtype}
        for name, (shape, dtype) in arrays.items()
    }
    return {"format": "glassnet", "format_version": 1, "arrays": entries}


def as_json(doc) -> bytes:
    return json.dumps(doc).encode()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("scratch")


@pytest.fixture
def good(tmp_path) -> Path:
    path = tmp_path / "model.glassnet"
    write_archive(path, MANIFEST, sample_arrays())
    return path


class Plant:
    """Unpickling this creates the marker file: a stand-in for arbitrary code."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def pickle_npy(marker: Path) -> bytes:
    return npy_bytes(np.array([Plant(marker), None], dtype=object), allow_pickle=True)


# --- round trips --------------------------------------------------------------------


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("dtype", ALLOWED_DTYPES)
def test_round_trip_every_dtype_is_bitwise_identical(tmp_path, dtype, compress):
    rng = np.random.default_rng(1)
    raw = rng.integers(0, 256, size=24 * 8, dtype=np.uint8)
    if dtype == "bool":
        values = raw[:24] % 2 == 1
    else:
        values = raw.view(np.dtype(dtype))[:24]  # includes NaN payloads for floats
    arrays = {
        "matrix": values.reshape(4, 6),
        "scalar": values[0].copy().reshape(()),
        "empty": values[:0].reshape(0, 3),
        "fortran": np.asfortranarray(values.reshape(4, 6)),
        "strided": values[::2],
    }
    path = tmp_path / "m.glassnet"
    write_archive(path, {"dtype": dtype}, arrays, compress=compress)
    manifest, loaded = read_archive(path)
    assert manifest == {"dtype": dtype}
    assert_same_arrays(loaded, arrays)
    for array in loaded.values():
        assert array.flags.writeable and array.flags.c_contiguous
        assert array.flags.owndata


def test_round_trip_large_array_and_byte_order(tmp_path):
    rng = np.random.default_rng(2)
    arrays = {
        "big": rng.standard_normal((1024, 1024)),  # 8 MiB of float64
        "half": rng.standard_normal(1000).astype(np.float16),
        "big_endian": np.arange(10, dtype=">i4"),
    }
    path = tmp_path / "big.glassnet"
    write_archive(path, {}, arrays)
    manifest, loaded = read_archive(path)
    assert manifest == {}
    assert np.array_equal(loaded["big_endian"], np.arange(10))
    assert loaded["big_endian"].dtype == np.dtype("int32")
    assert loaded["big"].tobytes() == arrays["big"].tobytes()
    assert loaded["half"].tobytes() == arrays["half"].tobytes()


def test_manifest_round_trips_and_format_keys_are_written(good):
    manifest, loaded = read_archive(good)
    assert manifest == MANIFEST
    assert_same_arrays(loaded, sample_arrays())
    written = json.loads(members_of(good)["manifest.json"])
    assert written["format"] == "glassnet"
    assert written["format_version"] == FORMAT_VERSION == 1
    assert written["model"] == "Sequential"
    w1 = sample_arrays()["W1"]
    assert written["arrays"]["W1"] == {
        "shape": [4, 3],
        "dtype": "float32",
        "sha256": hashlib.sha256(w1.tobytes()).hexdigest(),
    }
    assert sorted(members_of(good)) == sorted(
        ["manifest.json"] + [f"arrays/{name}.npy" for name in sample_arrays()]
    )


def test_checksums_false_writes_no_digest_and_still_loads(tmp_path):
    path = tmp_path / "m.glassnet"
    write_archive(path, {}, {"w": np.ones(3)}, checksums=False)
    written = json.loads(members_of(path)["manifest.json"])
    assert "sha256" not in written["arrays"]["w"]
    assert_same_arrays(read_archive(path)[1], {"w": np.ones(3)})


def test_writing_the_same_content_twice_gives_the_same_bytes(tmp_path):
    write_archive(tmp_path / "a", MANIFEST, sample_arrays())
    write_archive(tmp_path / "b", MANIFEST, sample_arrays())
    assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes()


@settings(max_examples=100, deadline=None)
@given(
    array=hnp.arrays(
        dtype=st.sampled_from(ALLOWED_DTYPES),
        shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),
    )
)
def test_round_trip_property(scratch, array):
    path = scratch / "property.glassnet"
    write_archive(path, {"n": 1}, {"x": array})
    manifest, loaded = read_archive(path)
    assert manifest == {"n": 1}
    assert_same_arrays(loaded, {"x": array})


# --- write validation ---------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["../evil", "a/b", "", "a b", "w\\1", "é", "x" * 201, "/abs", 3]
)
def test_write_refuses_bad_array_names(tmp_path, name):
    with pytest.raises(ValueError, match="array name"):
        write_archive(tmp_path / "m", {}, {name: np.zeros(2)})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "value",
    [
        np.array([object()], dtype=object),
        np.array(["text"]),
        np.array([b"bytes"]),
        np.array([1 + 2j]),
        np.array(["2020-01-01"], dtype="datetime64[D]"),
        np.zeros(2, dtype=[("a", "f4"), ("b", "i4")]),
        np.zeros(2, dtype=np.longdouble),
    ],
    ids=["object", "str", "bytes", "complex", "datetime", "structured", "longdouble"],
)
def test_write_refuses_unsupported_dtypes(tmp_path, value):
    if value.dtype.name in ALLOWED_DTYPES:
        pytest.skip("longdouble is float64 on this platform")
    with pytest.raises(ValueError, match="dtype"):
        write_archive(tmp_path / "m", {}, {"w": value})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("key", ["format", "format_version", "arrays"])
def test_write_refuses_reserved_manifest_keys(tmp_path, key):
    with pytest.raises(ValueError, match="reserved"):
        write_archive(tmp_path / "m", {key: 1}, {})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "manifest", [{"s": {1, 2}}, {"o": object()}, {1: "int key"}, ["not", "a dict"]]
)
def test_write_refuses_manifests_json_cannot_hold(tmp_path, manifest):
    with pytest.raises(TypeError):
        write_archive(tmp_path / "m", manifest, {})
    assert list(tmp_path.iterdir()) == []


def test_read_limits_are_validated(good):
    for limits in ({"max_array_bytes": 0}, {"max_total_bytes": -1}):
        with pytest.raises(ValueError) as caught:
            read_archive(good, **limits)
        assert not isinstance(caught.value, ModelFileError)


# --- atomic writes and temporaries --------------------------------------------------


def fail_on_second_array(monkeypatch, error):
    real = gio._write_npy
    calls = []

    def flaky(archive, member, array):
        calls.append(member)
        if len(calls) == 2:
            archive.writestr("arrays/partial.npy", b"\x93NUMPY half written")
            raise error
        return real(archive, member, array)

    monkeypatch.setattr(gio, "_write_npy", flaky)
    return calls


@pytest.mark.parametrize("error", [OSError(28, "No space left"), KeyboardInterrupt()])
def test_failed_write_keeps_the_old_file_and_removes_its_temporary(
    good, monkeypatch, error
):
    before = good.read_bytes()
    calls = fail_on_second_array(monkeypatch, error)
    with pytest.raises(type(error)):
        write_archive(good, {"new": True}, {"a": np.ones(5), "b": np.ones(5)})
    assert len(calls) == 2
    assert good.read_bytes() == before
    assert [p.name for p in good.parent.iterdir()] == [good.name]
    assert read_archive(good)[0] == MANIFEST


def test_failed_rename_keeps_the_old_file(good, monkeypatch):
    before = good.read_bytes()

    def refuse(source, target):
        raise PermissionError("target locked")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError):
        write_archive(good, {}, {"a": np.ones(2)})
    assert good.read_bytes() == before
    assert [p.name for p in good.parent.iterdir()] == [good.name]


def test_failed_first_write_leaves_nothing(tmp_path, monkeypatch):
    fail_on_second_array(monkeypatch, OSError(5, "I/O error"))
    with pytest.raises(OSError):
        write_archive(tmp_path / "m", {}, {"a": np.ones(2), "b": np.ones(2)})
    assert list(tmp_path.iterdir()) == []


def test_writing_over_a_folder_or_into_a_missing_one_names_the_target(tmp_path):
    folder = tmp_path / "runs"
    folder.mkdir()
    with pytest.raises(IsADirectoryError, match=r"runs: it is a folder; give a file"):
        write_archive(folder, {}, {"a": np.ones(2)})
    missing = tmp_path / "nowhere" / "m.glassnet"
    with pytest.raises(FileNotFoundError, match=r"the folder .*nowhere does not exist"):
        write_archive(missing, {}, {"a": np.ones(2)})
    assert [p.name for p in tmp_path.iterdir()] == ["runs"]  # nothing written
    assert list(folder.iterdir()) == []


def test_a_temporary_that_cannot_be_created_is_reported_as_the_target(
    tmp_path, monkeypatch
):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", "/x/.m.tmp-1-00000000")

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(PermissionError, match=r"cannot write .*m: Permission denied"):
        write_archive(tmp_path / "m", {}, {"a": np.ones(2)})


def test_write_goes_through_a_synced_temporary_beside_the_target(tmp_path, monkeypatch):
    renames, syncs = [], []
    real_replace, real_fsync = os.replace, os.fsync

    def record_replace(source, target):
        renames.append((Path(source), Path(target), Path(source).read_bytes()))
        real_replace(source, target)

    def record_fsync(fd):
        syncs.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "replace", record_replace)
    monkeypatch.setattr(os, "fsync", record_fsync)
    target = tmp_path / "model.glassnet"
    write_archive(target, MANIFEST, sample_arrays())
    [(source, destination, content)] = renames
    assert destination == target and source.parent == tmp_path
    assert re.fullmatch(
        rf"\.model\.glassnet\.tmp-{os.getpid()}-[0-9a-f]{{8}}", source.name
    )
    assert content == target.read_bytes()
    assert len(syncs) >= (1 if sys.platform == "win32" else 2)  # file, then folder
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_clean_stale_temporaries_removes_only_old_temporaries(tmp_path):
    old = time.time() - 3600
    stale = []
    for name in [".model.glassnet.tmp-123-0a1b2c3d", ".ckpt.tmp-9-ffffffff"]:
        (tmp_path / name).write_bytes(b"partial")
        os.utime(tmp_path / name, (old, old))
        stale.append(tmp_path / name)
    fd, crashed = create_temporary(tmp_path / "run.glassnet")  # a real one
    os.close(fd)
    os.utime(crashed, (old, old))
    stale.append(crashed)
    keep = [
        "model.glassnet",
        ".model.glassnet.tmp-1-xyz",
        "notes.tmp-1-0a1b2c3d",
        ".model.glassnet.tmp-12-0a1b2c3d.bak",
    ]
    for name in keep:
        (tmp_path / name).write_bytes(b"keep me")
        os.utime(tmp_path / name, (old, old))
    (tmp_path / ".folder.tmp-1-0a1b2c3d").mkdir()
    fresh = tmp_path / ".live.tmp-5-00000000"  # another writer, still busy
    fresh.write_bytes(b"in progress")

    removed = clean_stale_temporaries(tmp_path)

    assert sorted(removed) == sorted(stale)
    assert not any(path.exists() for path in stale)
    assert all((tmp_path / name).exists() for name in keep)
    assert (tmp_path / ".folder.tmp-1-0a1b2c3d").is_dir() and fresh.exists()
    assert clean_stale_temporaries(tmp_path, min_age_seconds=0) == [fresh]
    assert clean_stale_temporaries(tmp_path / "missing") == []


# --- pickles and dtypes -------------------------------------------------------------


def test_pickle_payload_is_armed(tmp_path):
    """Guard for the tests below: np.load with allow_pickle runs this payload."""
    armed = tmp_path / "armed-marker"
    loaded = np.load(io.BytesIO(pickle_npy(armed)), allow_pickle=True)
    loaded[0].close()
    assert armed.exists()


def test_pickle_payload_under_an_object_dtype_is_refused(tmp_path):
    path = write_zip(
        tmp_path / "evil.glassnet",
        {
            "manifest.json": as_json(document({"w": ([2], "object")})),
            "arrays/w.npy": pickle_npy(tmp_path / MARKER),
        },
    )
    assert_refused(path, "dtype 'object'")


def test_pickle_payload_under_a_numeric_dtype_is_refused(tmp_path):
    payload = pickle_npy(tmp_path / MARKER)
    stream = io.BytesIO(payload)
    np.lib.format.read_magic(stream)
    np.lib.format.read_array_header_1_0(stream)
    data_bytes = len(payload) - stream.tell()  # sizes agree; only the dtype lies
    path = write_zip(
        tmp_path / "evil.glassnet",
        {
            "manifest.json": as_json(document({"w": ([data_bytes], "uint8")})),
            "arrays/w.npy": payload,
        },
    )
    assert_refused(path, "holds dtype '\\|O'")
    assert_refused(path, "holds dtype", max_array_bytes=2**62, max_total_bytes=2**62)


@pytest.mark.parametrize(
    "dtype",
    ["object", "O", "|O", "V8", "<U4", "S3", "complex64", "float128", "<f4", 7, None],
)
def test_manifest_naming_a_forbidden_dtype_is_refused(tmp_path, dtype):
    path = write_zip(
        tmp_path / "m.glassnet",
        {
            "manifest.json": as_json(document({"w": ([2], dtype)})),
            "arrays/w.npy": npy_bytes(np.zeros(2, np.float32)),
        },
    )
    assert_refused(path, "does not load")


@pytest.mark.parametrize(
    ("descr", "match"),
    [
        (">f4", "holds dtype '>f4'"),
        ("<i4", "holds dtype '<i4'"),
        ([("a", "<f4")], "holds dtype"),
    ],
)
def test_npy_dtype_disagreeing_with_manifest_is_refused(tmp_path, descr, match):
    member = npy_header((2,), descr=descr) + bytes(8)
    path = write_zip(
        tmp_path / "m.glassnet",
        {
            "manifest.json": as_json(document({"w": ([2], "float32")})),
            "arrays/w.npy": member,
        },
    )
    assert_refused(path, match)


# --- names and members --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("../evil", "escapes"),
        ("arrays/../../evil.npy", "escapes"),
        ("/etc/evil", "absolute"),
        ("C:/evil", "absolute"),
        ("arrays\\w.npy", "backslash"),
    ],
)
def test_unsafe_member_names_are_refused(good, name, match):
    members = members_of(good)
    members[name] = b"evil"
    assert_refused(write_zip(good, members), match)


@pytest.mark.parametrize("name", ["../evil", "a/b", "", "x y"])
def test_unsafe_array_names_in_the_manifest_are_refused(tmp_path, name):
    path = write_zip(
        tmp_path / "m.glassnet",
        {
            "manifest.json": as_json(document({name: ([1], "float32")})),
            f"arrays/{name}.npy": npy_bytes(np.zeros(1, np.float32)),
        },
    )
    assert_refused(path)


def test_extra_member_is_refused(good):
    members = members_of(good)
    members["arrays/unlisted.npy"] = npy_bytes(np.zeros(1))
    assert_refused(write_zip(good, members), "does not list")


def test_missing_member_is_refused(good):
    members = members_of(good)
    del members["arrays/b1.npy"]
    assert_refused(write_zip(good, members), "'arrays/b1.npy'.*missing")


def test_missing_manifest_is_refused(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, w=np.ones(2))  # a zip of .npy files, but not a glassnet archive
    assert_refused(path, "no manifest.json")


@pytest.mark.parametrize("duplicate", ["arrays/W1.npy", "manifest.json"])
def test_duplicate_member_is_refused(good, duplicate):
    members = list(members_of(good).items())
    members.append((duplicate, dict(members)[duplicate]))
    assert_refused(write_zip(good, members), "more than once")


# --- damaged files ------------------------------------------------------------------


def test_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.glassnet"
    path.write_bytes(b"")
    assert_refused(path, "empty")


@pytest.mark.parametrize(
    "content",
    [b"hello, this is a text file\n", b"PK", b"\x00" * 5000, b"PK\x05\x06" + bytes(4)],
)
def test_not_a_zip_is_refused(tmp_path, content):
    path = tmp_path / "text.glassnet"
    path.write_bytes(content)
    assert_refused(path)


def test_missing_file_and_directory_are_refused(tmp_path):
    assert_refused(tmp_path / "nowhere.glassnet", "no such file")
    assert_refused(tmp_path, "a directory")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX named pipes")
@pytest.mark.timeout(20)
def test_named_pipe_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    assert_refused(tmp_path / "pipe", "not a regular file")


CUTS = {
    "1 byte": lambda n: 1,
    "21 bytes": lambda n: 21,
    "100 bytes": lambda n: 100,
    "half": lambda n: n // 2,
    "inside directory": lambda n: n - 40,
    "inside end record": lambda n: n - 10,
    "last byte": lambda n: n - 1,
}


@pytest.mark.parametrize("cut", CUTS, ids=list(CUTS))
def test_truncated_file_is_refused(good, cut):
    content = good.read_bytes()
    good.write_bytes(content[: CUTS[cut](len(content))])
    assert_refused(good)


def data_offset(content: bytes, info: zipfile.ZipInfo) -> int:
    name_length, extra_length = struct.unpack_from(
        "<2H", content, info.header_offset + 26
    )
    return info.header_offset + 30 + name_length + extra_length


def bit_positions(path) -> dict[str, int]:
    content = path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        infos = {info.filename: info for info in archive.infolist()}
        directory = archive.start_dir
    manifest = infos["manifest.json"]
    weights = infos["arrays/W1.npy"]
    npy_start = data_offset(content, weights)
    data_start = npy_start + weights.file_size - 48  # W1 holds 48 bytes of data
    end = len(content) - 22
    return {
        "manifest first byte": data_offset(content, manifest),
        "manifest middle": data_offset(content, manifest) + manifest.file_size // 2,
        "npy magic": npy_start,
        "npy header text": npy_start + 20,
        "array first data byte": data_start,
        "array last data byte": data_start + 47,
        "local header name": weights.header_offset + 30,
        "directory crc": directory + 16,
        "directory sizes": directory + 24,
        "directory name": directory + 46,
        "end record signature": end,
        "end record directory size": end + 12,
    }


POSITIONS = [
    "manifest first byte",
    "manifest middle",
    "npy magic",
    "npy header text",
    "array first data byte",
    "array last data byte",
    "local header name",
    "directory crc",
    "directory sizes",
    "directory name",
    "end record signature",
    "end record directory size",
]


@pytest.mark.parametrize("bit", [0, 7])
@pytest.mark.parametrize("where", POSITIONS)
def test_flipped_bit_is_refused(good, where, bit):
    assert sorted(bit_positions(good)) == sorted(POSITIONS)
    position = bit_positions(good)[where]
    content = bytearray(good.read_bytes())
    content[position] ^= 1 << bit
    good.write_bytes(bytes(content))
    assert_refused(good)


def test_flipped_bit_in_a_deflated_member_is_refused(tmp_path):
    path = tmp_path / "z.glassnet"
    write_archive(path, {}, {"w": np.arange(1000.0)}, compress=True)
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("arrays/w.npy")
    content = bytearray(path.read_bytes())
    content[data_offset(bytes(content), info) + info.compress_size // 2] ^= 0x10
    path.write_bytes(bytes(content))
    assert_refused(path)


def test_sha256_mismatch_is_refused(good):
    members = members_of(good)
    data = bytearray(members["arrays/W1.npy"])
    data[-1] ^= 0x01  # rewritten with a fresh CRC: only the sha256 notices
    members["arrays/W1.npy"] = bytes(data)
    write_zip(good, members)
    assert_refused(good, "sha256")
    _, arrays = read_archive(good, verify_checksums=False)
    assert arrays["W1"].tobytes() != sample_arrays()["W1"].tobytes()


def test_boolean_bytes_other_than_zero_and_one_are_refused(tmp_path):
    member = npy_header((2,), descr="|b1") + b"\x00\x02"
    path = write_zip(
        tmp_path / "m.glassnet",
        {
            "manifest.json": as_json(document({"m": ([2], "bool")})),
            "arrays/m.npy": member,
        },
    )
    assert_refused(path, "0/1")


@pytest.mark.parametrize(
    ("flags", "method", "match"),
    [
        (0x1, zipfile.ZIP_STORED, "member 'arrays/w.npy' is encrypted"),
        (0, zipfile.ZIP_BZIP2, "method 12"),
    ],
)
def test_encrypted_or_unusual_compression_is_refused(tmp_path, flags, method, match):
    manifest = as_json(document({"w": ([2], "float32")}))
    member = npy_bytes(np.zeros(2, np.float32))
    content = handmade_zip(
        [
            ("manifest.json", manifest, 0, zlib.crc32(manifest), len(manifest), 0),
            ("arrays/w.npy", member, method, zlib.crc32(member), len(member), flags),
        ]
    )
    path = tmp_path / "m.glassnet"
    path.write_bytes(content)
    assert_refused(path, match)


def test_member_sizes_that_disagree_or_overrun_the_file_are_refused(tmp_path):
    manifest = as_json(document({}))
    path = tmp_path / "m.glassnet"
    lying = handmade_zip(
        [("manifest.json", manifest, 0, zlib.crc32(manifest), len(manifest) + 1, 0)]
    )
    path.write_bytes(lying)
    assert_refused(path, "declares")
    overrun = bytearray(
        handmade_zip([("manifest.json", manifest, 0, zlib.crc32(manifest), 10**6, 0)])
    )
    directory = overrun.rindex(b"PK\x01\x02")
    struct.pack_into("<L", overrun, directory + 20, 10**6)  # compressed size too
    path.write_bytes(bytes(overrun))
    assert_refused(path, "past the end")


# --- the manifest -------------------------------------------------------------------


def archive_with_manifest(tmp_path, manifest: bytes) -> Path:
    return write_zip(
        tmp_path / "m.glassnet",
        {"manifest.json": manifest, "arrays/w.npy": npy_bytes(np.zeros(2, np.float32))},
    )


def test_future_format_version_is_refused_with_a_clear_message(tmp_path):
    doc = document({"w": ([2], "float32")})
    doc["format_version"] = 7
    error = assert_refused(archive_with_manifest(tmp_path, as_json(doc)))
    assert str(error).endswith(
        "was written by a newer glassnet (format version 7); "
        "this glassnet reads format versions up to 1"
    )


@pytest.mark.parametrize(
    "manifest",
    [
        b"{not json",
        b"",
        b"[1, 2, 3]",
        b'"a string"',
        b"\xff\xfe{}",
        b"[" * 100_000,
        b'{"a": ' + b"9" * 5000 + b"}",
    ],
    ids=["broken", "empty", "list", "string", "utf16", "deep", "hugeint"],
)
def test_manifest_that_is_not_a_json_object_is_refused(tmp_path, manifest):
    assert_refused(archive_with_manifest(tmp_path, manifest), "manifest.json")


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"format": "other"}, "format"),
        ({"format_version": "1"}, "format_version"),
        ({"format_version": True}, "format_version"),
        ({"format_version": 0}, "format_version"),
        ({"format_version": 1.0}, "format_version"),
        ({"arrays": []}, "arrays"),
        ({"arrays": {"w": [2]}}, "shape"),
        ({"arrays": {"w": {"shape": [-2], "dtype": "float32"}}}, "shape"),
        ({"arrays": {"w": {"shape": [2.0], "dtype": "float32"}}}, "shape"),
        ({"arrays": {"w": {"shape": [True], "dtype": "float32"}}}, "shape"),
        ({"arrays": {"w": {"shape": "2", "dtype": "float32"}}}, "shape"),
        ({"arrays": {"w": {"shape": [1] * 65, "dtype": "float32"}}}, "shape"),
        ({"arrays": {"w": {"shape": [2], "dtype": "float32", "sha256": "x"}}}, "sha"),
        ({"arrays": {"w": {"shape": [2], "dtype": "float32", "eval": 1}}}, "unknown"),
    ],
)
def test_malformed_manifest_fields_are_refused(tmp_path, change, match):
    doc = document({"w": ([2], "float32")})
    doc.update(change)
    assert_refused(archive_with_manifest(tmp_path, as_json(doc)), match)


def test_manifest_repeating_a_key_is_refused(tmp_path):
    # Two readers could disagree on which "arrays" counts: refuse the ambiguity.
    entries = as_json(document({"w": ([2], "float32")})["arrays"]).decode()
    text = as_json(document({"w": ([2], "float32")})).decode()
    text = text.replace('"arrays":', f'"arrays": {entries}, "arrays":')
    manifest = text.encode()
    assert json.loads(manifest)["arrays"] == json.loads(entries)  # valid JSON
    assert_refused(
        archive_with_manifest(tmp_path, manifest), "repeats the key 'arrays'"
    )


def test_manifest_above_its_size_cap_is_refused(good):
    assert_refused(good, "at most 64", max_manifest_bytes=64)


@pytest.mark.parametrize(
    ("manifest_shape", "npy_shape"), [([3, 2], (2, 3)), ([6], (6, 1)), ([], (1,))]
)
def test_declared_shape_disagreeing_with_npy_header_is_refused(
    tmp_path, manifest_shape, npy_shape
):
    data = bytes(4 * int(np.prod(npy_shape)))
    path = write_zip(
        tmp_path / "m.glassnet",
        {
            "manifest.json": as_json(document({"w": (manifest_shape, "float32")})),
            "arrays/w.npy": npy_header(npy_shape) + data,
        },
    )
    assert_refused(path, "shape")


def test_npy_member_with_trailing_bytes_is_refused(tmp_path):
    member = npy_bytes(np.zeros(10, np.float32)) + bytes(8)
    path = write_zip(
        tmp_path / "m.glassnet",
        {
            "manifest.json": as_json(document({"w": ([10], "float32")})),
            "arrays/w.npy": member,
        },
    )
    assert_refused(path, f"declares {len(member)} bytes but")


def test_fortran_ordered_npy_is_refused(tmp_path):
    member = npy_bytes(np.asfortranarray(np.zeros((2, 3), np.float32)))
    path = write_zip(
        tmp_path / "m.glassnet",
        {
            "manifest.json": as_json(document({"w": ([2, 3], "float32")})),
            "arrays/w.npy": member,
        },
    )
    assert_refused(path, "Fortran")


# --- sizes and bombs ----------------------------------------------------------------


def test_header_declaring_10_to_the_12_elements_is_refused(tmp_path):
    huge = {"manifest.json": as_json(document({"w": ([10**12], "float32")}))}
    huge["arrays/w.npy"] = npy_header((10**12,))
    path = write_zip(tmp_path / "huge.glassnet", huge)
    assert_refused(path, "max_array_bytes")
    # With the limits lifted, the zip header still shows the data is not there.
    assert_refused(
        path, "not decompressing", max_array_bytes=2**62, max_total_bytes=2**62
    )

    liar = {"manifest.json": as_json(document({"w": ([10], "float32")}))}
    liar["arrays/w.npy"] = npy_header((10**12,)) + bytes(40)
    assert_refused(write_zip(tmp_path / "liar.glassnet", liar), "shape")


def test_arrays_above_the_caller_limits_are_refused(good):
    assert_refused(good, "max_array_bytes=47", max_array_bytes=47)
    assert_refused(good, "max_total_bytes=60", max_total_bytes=60)
    manifest, _ = read_archive(
        good, max_array_bytes=48, max_total_bytes=48 + 16 + 8 + 3
    )
    assert manifest == MANIFEST


def deflated_zeros(mebibytes: int, prefix: bytes = b"") -> bytes:
    """A raw deflate stream of ``prefix`` then ``mebibytes`` MiB of zeros, made in ms.

    Each piece ends with a full flush, so the 1 MiB block can be repeated verbatim.
    """

    def piece(data: bytes) -> bytes:
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        return compressor.compress(data) + compressor.flush(zlib.Z_FULL_FLUSH)

    final = zlib.compressobj(9, zlib.DEFLATED, -15).flush()
    return piece(prefix) + piece(bytes(2**20)) * mebibytes + final


def test_deflated_zeros_helper_really_inflates():
    inflated = zlib.decompress(deflated_zeros(3, prefix=b"head"), -15)
    assert inflated == b"head" + bytes(3 * 2**20)


BOMB_CASES = {
    # member, declared file size, manifest shape for w
    "array with honest size": ("arrays/w.npy", 2**30, [10]),
    "array with lying size": ("arrays/w.npy", 128 + 40, [10]),
    "array declaring 1 GiB": ("arrays/w.npy", 2**30, [2**28 - 32]),
    "manifest with honest size": ("manifest.json", 2**30, [10]),
}


@pytest.mark.parametrize("case", BOMB_CASES, ids=list(BOMB_CASES))
def test_zip_bomb_is_refused_without_inflating(tmp_path, case):
    member, declared, shape = BOMB_CASES[case]
    bomb = deflated_zeros(1024, prefix=npy_header(tuple(shape)))  # inflates to 1 GiB
    manifest = as_json(document({"w": (shape, "float32")}))
    entries = {
        "manifest.json": (manifest, 0, zlib.crc32(manifest), len(manifest)),
        "arrays/w.npy": (npy_header((10,)) + bytes(40), 0, 0, 168),
    }
    entries[member] = (bomb, zipfile.ZIP_DEFLATED, 0xDEADBEEF, declared)
    path = tmp_path / "bomb.glassnet"
    path.write_bytes(handmade_zip([(name, *rest, 0) for name, rest in entries.items()]))
    assert len(bomb) < 2**21
    peak = peak_memory(lambda: assert_refused(path, max_array_bytes=2**29))
    assert peak < 100 * 2**20


def test_oversized_zip_directory_is_refused_before_parsing(tmp_path):
    name = b"x"
    entry = struct.pack(
        "<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 0, 0, 33, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0
    )
    directory = (entry + name) * 120_000  # 5.6 MB: 120 000 entries to parse
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 33, 0, 0, 0, 1, 0)
    body = local + name
    end = struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, len(directory), len(body), 0
    )
    path = tmp_path / "wide.glassnet"
    path.write_bytes(body + directory + end)
    peak = peak_memory(lambda: assert_refused(path, "zip directory"))
    assert peak < 8 * 2**20


# --- properties: arbitrary damage gives ModelFileError or the original content -------


@pytest.fixture(scope="module")
def originals(tmp_path_factory) -> dict[bool, bytes]:
    folder = tmp_path_factory.mktemp("originals")
    contents = {}
    for compress in (False, True):
        path = folder / f"{compress}.glassnet"
        write_archive(path, MANIFEST, sample_arrays(), compress=compress)
        contents[compress] = path.read_bytes()
    return contents


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(content=st.binary(max_size=4096), zip_like=st.booleans())
def test_random_bytes_raise_only_model_file_error(scratch, content, zip_like):
    if zip_like:
        content = b"PK\x03\x04" + content + b"PK\x05\x06" + content[-18:]
    path = scratch / "random.glassnet"
    path.write_bytes(content)
    with pytest.raises(ModelFileError):
        read_archive(path)


@settings(max_examples=200, deadline=None)
@given(
    compress=st.booleans(),
    edits=st.lists(
        st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)),
        min_size=1,
        max_size=6,
    ),
    keep=st.none() | st.floats(0, 1),
)
def test_mutated_archives_load_intact_or_raise_model_file_error(
    scratch, originals, compress, edits, keep
):
    content = bytearray(originals[compress])
    for where, value in edits:
        content[int(where * len(content))] = value
    if keep is not None:
        content = content[: int(keep * len(content))]
    path = scratch / "mutated.glassnet"
    path.write_bytes(bytes(content))
    try:
        manifest, arrays = read_archive(path)
    except ModelFileError:
        return
    assert manifest == MANIFEST
    assert_same_arrays(arrays, sample_arrays())
