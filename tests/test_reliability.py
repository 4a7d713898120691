"""Reliability: training killed with SIGKILL and resumed, kills during checkpoint
writes, and hostile model files through ``gn.load`` and ``glassnet predict``.

Every process here is real (``tests/reliability_worker.py`` for training, ``python
-m glassnet`` for the CLI) and is killed and reaped by the ``processes`` fixture even
when a test fails. Worker processes run with one BLAS thread, the reference runs
included, so that they compare like with like.

The tests that start processes are marked ``slow``; the in-process ones (resuming
without the rng state, ``gn.load`` on the hostile files) stay in the fast tier.
"""

from __future__ import annotations

import io
import json
import os
import queue
import random
import re
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet.backend import rng_from_state
from glassnet.io import write_archive
from glassnet.persistence import load_checkpoint

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import reliability_worker as worker  # noqa: E402
from hostile_model_files import (  # noqa: E402  (the zip and npy builders)
    deflated_zeros,
    handmade_zip,
    npy_header,
)

WORKER = HERE / "reliability_worker.py"
PROJECT = HERE.parent
ENV = {
    **os.environ,
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
}
TEMPORARY = re.compile(r"\.(?P<target>.+)\.tmp-(?P<pid>\d+)-[0-9a-f]{8}")
EPOCHS = 12


# --- processes ----------------------------------------------------------------------


class Process:
    """A child process whose stdout lines are collected by a reader thread."""

    def __init__(self, args, *, cwd, stderr_path):
        self._stderr = open(stderr_path, "wb")
        self.popen = subprocess.Popen(
            args,
            cwd=cwd,
            env=ENV,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        self.lines: queue.Queue = queue.Queue()
        self.seen: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.popen.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def wait_for(self, wanted: str, timeout: float = 30.0) -> bool:
        """True once a line equal to ``wanted`` arrives; False if the process ends."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"no line {wanted!r} within {timeout} s; saw {self.seen[-5:]}"
                )
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                return False
            self.seen.append(line)
            if line == wanted:
                return True

    def kill(self) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
        return self.finish(10)

    def finish(self, timeout: float) -> int:
        try:
            rc = self.popen.wait(timeout)
        finally:
            self.close()
        self._reader.join(5)
        while True:
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                return rc
            if line is not None:
                self.seen.append(line)

    def close(self):
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(10)
        self._stderr.close()

    def stderr_text(self) -> str:
        self._stderr.flush()
        return Path(self._stderr.name).read_text(errors="replace")


@pytest.fixture
def processes(tmp_path):
    """Start workers with ``processes(out, ...)``; all are killed at teardown."""
    started: list[Process] = []

    def start(out: Path, *options, data: Path, resume: bool = False) -> Process:
        args = [sys.executable, str(WORKER), "--data", str(data), "--out", str(out)]
        args += [*map(str, options)] + (["--resume"] if resume else [])
        stderr = tmp_path / f"worker-{len(started)}.err"
        process = Process(args, cwd=tmp_path, stderr_path=stderr)
        started.append(process)
        return process

    yield start
    for process in started:
        process.close()


@pytest.fixture(scope="module")
def digits_file(tmp_path_factory) -> Path:
    from sklearn.datasets import load_digits

    digits = load_digits()
    path = tmp_path_factory.mktemp("data") / "digits.npz"
    np.savez(path, X=digits.data / 16.0, y=digits.target)
    return path


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory) -> Path:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((32, 16))
    path = tmp_path_factory.mktemp("data") / "tiny.npz"
    np.savez(path, X=X, y=(X[:, 0] + X[:, 1] > 0).astype(np.int64))
    return path


def read_result(out: Path) -> tuple[dict, str]:
    with np.load(out / "weights.npz") as archive:
        weights = {key: archive[key] for key in archive.files}
    return weights, (out / "history.json").read_text()


def assert_bitwise_equal(got: dict, expected: dict) -> None:
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key].dtype == value.dtype, key
        assert got[key].shape == value.shape, key
        assert got[key].tobytes() == value.tobytes(), f"{key} differs"


def temporaries(folder: Path) -> list[tuple[str, int]]:
    """``(name, pid)`` of every write temporary in ``folder``."""
    found = []
    for entry in os.listdir(folder):
        match = TEMPORARY.fullmatch(entry)
        if match:
            found.append((entry, int(match["pid"])))
    return found


# --- 1. kill -9 and resume: bitwise the uninterrupted run -----------------------------


@pytest.mark.slow  # real worker processes, killed and resumed
@pytest.mark.timeout(90)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_killed_and_resumed_training_is_bitwise_the_uninterrupted_run(
    tmp_path, processes, digits_file, dtype
):
    """Kill the worker with SIGKILL at 3 random epochs, resume each time, and get
    exactly the weights and History of a run that was never interrupted."""
    options = ("--dtype", dtype, "--epochs", EPOCHS, "--seed", 7)
    reference = processes(tmp_path / "reference", *options, data=digits_file)
    assert reference.finish(60) == 0, reference.stderr_text()
    expected_weights, expected_history = read_result(tmp_path / "reference")
    assert len(json.loads(expected_history)["epoch"]) == EPOCHS

    chooser = random.Random(f"kill-{dtype}")
    kill_epochs = sorted(chooser.sample(range(1, EPOCHS - 1), 3))
    out = tmp_path / "killed"
    checkpoint = out / worker.CHECKPOINT
    last_epoch = -1
    for target in kill_epochs:
        run = processes(
            out, *options, "--sleep", 0.1, data=digits_file, resume=checkpoint.exists()
        )
        assert run.wait_for(f"epoch {target}"), run.stderr_text()
        # The checkpoint of epoch target - 1 is on disk; kill a little later, maybe
        # while epoch `target` trains or its checkpoint is being written.
        time.sleep(chooser.uniform(0.0, 0.15))
        assert run.kill() == -signal.SIGKILL, "the worker ended before the kill"
        assert not (out / "weights.npz").exists()
        state = load_checkpoint(checkpoint)
        epoch = state["extra"]["epoch"]
        assert target - 1 <= epoch <= target, (target, epoch)
        assert epoch >= last_epoch, "the checkpoint went back in time"
        assert len(state["history"].epoch) == epoch + 1
        last_epoch = epoch

    final = processes(out, *options, data=digits_file, resume=True)
    assert final.finish(60) == 0, final.stderr_text()
    assert final.seen[1] == "train-begin"
    assert final.seen[2] == f"epoch {last_epoch + 1}", "it did not resume"
    weights, history = read_result(out)
    assert_bitwise_equal(weights, expected_weights)
    assert history == expected_history
    assert all(w.dtype == np.dtype(dtype) for w in weights.values())


def _load_digits():
    from sklearn.datasets import load_digits

    digits = load_digits()
    return digits.data / 16.0, digits.target


@pytest.mark.timeout(60)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_resuming_without_the_rng_state_differs(tmp_path, dtype):
    """The rng streams in the checkpoint matter: continuing from the checkpoint's
    weights and optimizer state with fresh rngs gives a different model; restoring
    both rng streams by hand gives bitwise the uninterrupted run."""
    X, y = _load_digits()
    reference, _ = worker.train(X, y, dtype=dtype, epochs=EPOCHS)
    expected = reference.get_weights()

    split = 5
    path = tmp_path / "half.glassnet"
    worker.train(X, y, dtype=dtype, epochs=split, checkpoint=path)
    state = load_checkpoint(path)
    assert state["extra"]["epoch"] == split - 1

    resumed, _ = worker.train(X, y, dtype=dtype, epochs=EPOCHS, resume=path)
    assert_bitwise_equal(resumed.get_weights(), expected)

    def continue_by_hand(shuffle_rng, dropout_rng):
        state = load_checkpoint(path)  # a fresh optimizer with the saved moments
        model = worker.build_model("digits").build(64, rng=7, dtype=dtype)
        model.set_weights(state["model"].get_weights())
        if dropout_rng is not None:
            model.layers[1].rng = dropout_rng
        model.fit(
            X,
            y,
            epochs=EPOCHS - split,
            batch_size=64,
            optimizer=state["optimizer"],
            rng=shuffle_rng,
            verbose=False,
        )
        return model.get_weights()

    extra = state["extra"]
    restored = continue_by_hand(
        rng_from_state(extra["rng"]), rng_from_state(extra["layer_rngs"][0])
    )
    assert_bitwise_equal(restored, expected)  # the control: only the rngs vary below

    for name, shuffle_rng, dropout_rng in [
        ("fresh rngs", 7, None),
        ("fresh shuffle rng", 7, rng_from_state(extra["layer_rngs"][0])),
        ("fresh dropout rng", rng_from_state(extra["rng"]), np.random.default_rng(7)),
    ]:
        weights = continue_by_hand(shuffle_rng, dropout_rng)
        differences = [
            float(np.max(np.abs(weights[k] - expected[k]))) for k in expected
        ]
        assert max(differences) > 1e-4, f"{name}: the rng state made no difference"


# --- 2. kills during checkpoint writes ----------------------------------------------


@pytest.mark.slow  # 21 real processes, killed
@pytest.mark.timeout(120)
def test_kills_during_checkpoint_writes_never_leave_a_corrupt_checkpoint(
    tmp_path, processes, tiny_file
):
    """20 SIGKILLs at random moments of a run that writes a checkpoint every few
    milliseconds: the checkpoint always loads (the previous one at worst), and the
    temporaries of killed writes are cleaned when training starts again."""
    out = tmp_path / "run"
    checkpoint = out / worker.CHECKPOINT
    options = ("--net", "tiny", "--epochs", 10**6, "--batch-size", 0)
    chooser = random.Random("write-kills")
    last_epoch, killed_in_write, killed_pids = -1, 0, set()
    for kill in range(21):
        run = processes(out, *options, data=tiny_file, resume=checkpoint.exists())
        assert run.wait_for("train-begin"), run.stderr_text()
        stale = [t for t in temporaries(out) if t[1] in killed_pids]
        assert not stale, f"start {kill}: stray temporaries were not cleaned: {stale}"
        if kill == 20:
            run.kill()
            break
        time.sleep(chooser.uniform(0.02, 0.25))
        assert run.kill() == -signal.SIGKILL
        killed_pids.add(run.pid)
        left = [t for t in temporaries(out) if t[1] == run.pid]
        killed_in_write += bool(left)
        if not checkpoint.exists():
            assert last_epoch == -1, "the checkpoint disappeared"
            continue
        state = load_checkpoint(checkpoint)  # never ModelFileError
        epoch = state["extra"]["epoch"]
        assert epoch >= last_epoch
        assert state["history"].epoch == list(range(epoch + 1))
        assert state["optimizer"].t == epoch + 1  # one full batch per epoch
        last_epoch = epoch
    assert last_epoch > 20, "the runs made too little progress to test anything"
    assert killed_in_write >= 3, (
        f"only {killed_in_write} of 20 kills hit a checkpoint write; the test did "
        "not exercise interrupted writes"
    )


@pytest.mark.slow  # real processes
@pytest.mark.timeout(60)
def test_starting_a_run_spares_the_temporary_of_another_runs_write(
    tmp_path, processes, tiny_file
):
    """Two runs checkpoint into one folder under different names. Starting the second
    must not delete the first's write in progress (clean_stale_temporaries' promise:
    "a write in progress in another process keeps its file"); if it does, the first
    run dies in os.replace with FileNotFoundError."""
    out = tmp_path / "shared"
    options = ("--net", "tiny", "--epochs", 10**6, "--batch-size", 0)
    first = processes(out, *options, data=tiny_file)
    assert first.wait_for("epoch 5"), first.stderr_text()
    with np.load(tiny_file) as archive:
        X, y = archive["X"], archive["y"]
    for attempt in range(20):
        model = worker.build_model("tiny")
        model.fit(
            X, y, epochs=1, checkpoint=out / "other.glassnet", verbose=False, rng=0
        )
        time.sleep(0.01)
        assert first.popen.poll() is None, (
            f"the first run died after the second started {attempt + 1} time(s):\n"
            + first.stderr_text()[-600:]
        )
    first.kill()


# --- 4. hostile model files through gn.load and `glassnet predict` -------------------

MARKER_NAME = "PLANTED_MARKER"


class _Plant:
    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _npy(array, allow_pickle=False) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def _small_model():
    return gn.Sequential([gn.Dense(3, "relu"), gn.Dense(1, "sigmoid")]).build(4, rng=0)


def _model_parts():
    model = _small_model()
    manifest = {"kind": "model", "model": model.get_config(), "extra": {}}
    arrays = {f"param.{k}": v for k, v in model.params.items()}
    return manifest, arrays


def _zip(path: Path, members: dict) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def _members(path: Path) -> dict:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def _manifest_document(path: Path) -> dict:
    return json.loads(_members(path)["manifest.json"])


def _good_file(folder: Path) -> Path:
    path = folder / "good.glassnet"
    _small_model().save(path)
    return path


def make_pickle_payload(folder: Path, path: Path) -> None:
    """An .npy of pickled objects (allow_pickle=True) that would plant a file."""
    manifest, arrays = _model_parts()
    write_archive(path, manifest, arrays)
    members = _members(path)
    members["arrays/param.W1.npy"] = _npy(
        np.array([_Plant(str(folder / MARKER_NAME)), None], dtype=object),
        allow_pickle=True,
    )
    _zip(path, members)


def make_raw_pickle(folder: Path, path: Path) -> None:
    """A bare pickle stream (what torch.save / joblib would write), not a zip."""
    import pickle

    path.write_bytes(pickle.dumps(_Plant(str(folder / MARKER_NAME))))


def make_object_dtype(folder: Path, path: Path) -> None:
    """The manifest itself declares an object-dtype array."""
    manifest, arrays = _model_parts()
    write_archive(path, manifest, arrays)
    members = _members(path)
    document = json.loads(members["manifest.json"])
    document["arrays"]["param.W1"]["dtype"] = "object"
    document["arrays"]["param.W1"].pop("sha256", None)
    members["manifest.json"] = json.dumps(document).encode()
    members["arrays/param.W1.npy"] = _npy(
        np.array([_Plant(str(folder / MARKER_NAME))], dtype=object), allow_pickle=True
    )
    _zip(path, members)


def _with_layer_type(kind):
    def make(folder: Path, path: Path) -> None:
        manifest, arrays = _model_parts()
        manifest["model"]["layers"][0] = {
            "type": kind,
            "config": {"command": f"touch {folder / MARKER_NAME}", "units": 3},
        }
        write_archive(path, manifest, arrays)

    return make


def make_dotdot_member(folder: Path, path: Path) -> None:
    good = _good_file(folder)
    members = _members(good)
    members["../escape.npy"] = members.pop("arrays/param.W1.npy")
    _zip(path, members)


def make_truncated(folder: Path, path: Path) -> None:
    data = _good_file(folder).read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])


def make_flipped_bit(folder: Path, path: Path) -> None:
    good = _good_file(folder)
    data = bytearray(good.read_bytes())
    with zipfile.ZipFile(good) as archive:
        info = archive.getinfo("arrays/param.W1.npy")
    # A bit inside W1's 48 data bytes (past the local header and the .npy header).
    data_start = info.header_offset + 30 + len(info.filename) + info.file_size - 48
    data[data_start + 5] ^= 0x10
    path.write_bytes(bytes(data))


def make_empty(folder: Path, path: Path) -> None:
    path.write_bytes(b"")


def make_huge_header(folder: Path, path: Path) -> None:
    """An array whose manifest and .npy header declare 10**12 elements."""
    manifest, arrays = _model_parts()
    write_archive(path, manifest, arrays)
    members = _members(path)
    document = json.loads(members["manifest.json"])
    document["arrays"]["param.W1"] = {"shape": [10**12], "dtype": "float32"}
    members["manifest.json"] = json.dumps(document).encode()
    members["arrays/param.W1.npy"] = npy_header((10**12,))
    _zip(path, members)


def _zip_bomb(declared_shape, declared_size):
    """W1's member is a deflate stream of 1 GiB (from under 2 MiB of file) behind a
    .npy header for ``declared_shape``; the zip header declares ``declared_size``."""

    def make(folder: Path, path: Path) -> None:
        manifest, arrays = _model_parts()
        write_archive(path, manifest, arrays)
        members = _members(path)
        document = json.loads(members["manifest.json"])
        document["arrays"]["param.W1"] = {"shape": declared_shape, "dtype": "float32"}
        raw_manifest = json.dumps(document).encode()
        bomb = deflated_zeros(2**30, prefix=npy_header(declared_shape))
        entries = [("manifest.json", raw_manifest, 0, zlib.crc32(raw_manifest))]
        entries[0] += (len(raw_manifest),)
        for name, data in members.items():
            if name == "arrays/param.W1.npy":
                entries.append((name, bomb, zipfile.ZIP_DEFLATED, 1, declared_size))
            elif name != "manifest.json":
                entries.append((name, data, 0, zlib.crc32(data), len(data)))
        path.write_bytes(handmade_zip(entries))

    return make


def make_future_version(folder: Path, path: Path) -> None:
    good = _good_file(folder)
    members = _members(good)
    document = json.loads(members["manifest.json"])
    document["format_version"] = 99
    members["manifest.json"] = json.dumps(document).encode()
    _zip(path, members)


HOSTILE = {
    "pickle-payload-npy": (make_pickle_payload, "dtype|pickle|object"),
    "raw-pickle-file": (make_raw_pickle, "not a zip|damaged"),
    "object-dtype": (make_object_dtype, "object"),
    "unknown-layer": (_with_layer_type("Lambda"), "unknown layer type"),
    "os.system-layer": (_with_layer_type("os.system"), "unknown layer type"),
    "dotdot-member": (make_dotdot_member, r"\.\."),
    "truncated": (make_truncated, "truncated|damaged|zip|ends after"),
    "flipped-bit": (make_flipped_bit, "sha256|CRC|damaged"),
    "empty": (make_empty, "empty"),
    "10**12-elements": (make_huge_header, "max_array_bytes"),
    # The zip header declares W1's true (3, 4) size; the stream inflates to 1 GiB.
    "zip-bomb-lying-size": (_zip_bomb([3, 4], 128 + 48), "damaged|CRC|more data"),
    # Header and manifest honestly declare a 1 GiB W1, within read_archive's default
    # max_array_bytes (2 GiB), for a layer whose W1 is (3, 4).
    "zip-bomb-declared-1GiB": (_zip_bomb([2**28 - 32], 2**30), "."),
    "future-version": (make_future_version, "newer glassnet"),
}


@pytest.fixture(scope="module")
def hostile_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hostile")
    files = {}
    for name, (make, _) in HOSTILE.items():
        sub = folder / name
        sub.mkdir()
        make(sub, sub / "model.glassnet")
        files[name] = sub / "model.glassnet"
    return files


@pytest.mark.timeout(30)
@pytest.mark.parametrize("case", HOSTILE, ids=list(HOSTILE))
def test_gn_load_refuses_hostile_model_files(hostile_files, case):
    """Each file is refused with ModelFileError naming it, in well under a second of
    CPU and 64 MiB of memory (gn.load knows the architecture, so no array larger than
    it needs is worth reading), and no payload runs."""
    path = hostile_files[case]
    started = time.process_time()
    tracemalloc.start()
    try:
        with pytest.raises(gn.ModelFileError, match=HOSTILE[case][1]) as caught:
            gn.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    seconds = time.process_time() - started
    assert peak < 64 * 2**20, f"gn.load allocated {peak / 2**20:.0f} MiB first"
    assert seconds < 1.0, f"gn.load took {seconds:.1f} s of CPU"
    assert str(path) in str(caught.value)
    assert not (path.parent / MARKER_NAME).exists()
    with pytest.raises(gn.ModelFileError):  # a checkpoint reader is no way around
        load_checkpoint(path)
    assert not (path.parent / MARKER_NAME).exists()


def test_the_hostile_file_makers_start_from_a_loadable_file(tmp_path):
    """The controls: the files the makers edit load fine before being edited."""
    manifest, arrays = _model_parts()
    write_archive(tmp_path / "plain.glassnet", manifest, arrays)
    assert gn.load(tmp_path / "plain.glassnet").n_x == 4
    assert gn.load(_good_file(tmp_path)).n_x == 4


def _cli(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "glassnet", *map(str, args)],
        cwd=cwd,
        env=ENV,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_one_line_error(result: subprocess.CompletedProcess, match=None) -> str:
    """Exit status 2, exactly one stderr line `glassnet: error: ...`, no traceback,
    and not the CLI's own "unexpected <Exception>" label."""
    lines = result.stderr.splitlines()
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert len(lines) == 1, f"expected one stderr line, got:\n{result.stderr}"
    assert lines[0].startswith("glassnet: error: "), lines[0]
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    assert "unexpected " not in lines[0], lines[0]
    if match is not None:
        assert re.search(match, lines[0]), lines[0]
    return lines[0]


@pytest.mark.slow  # a real glassnet process per file
@pytest.mark.timeout(90)
def test_glassnet_predict_refuses_hostile_model_files(tmp_path, hostile_files):
    """The same files through a real `glassnet predict MODEL FILE` process each."""
    features = tmp_path / "x.csv"
    features.write_text("0.1,0.2,0.3,0.4\n0.5,0.6,0.7,0.8\n")
    good = _good_file(tmp_path)
    ok = _cli("predict", good, features, cwd=tmp_path)
    assert ok.returncode == 0 and ok.stderr == "", ok.stderr
    assert len(ok.stdout.splitlines()) == 2
    for case, path in hostile_files.items():
        result = _cli("predict", path, features, cwd=tmp_path)
        line = assert_one_line_error(result, HOSTILE[case][1])
        assert "cannot load model file" in line, (case, line)
        assert not (path.parent / MARKER_NAME).exists(), case
