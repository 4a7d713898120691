"""Data-parallel training on torch.distributed: real processes, real ``gloo`` on
127.0.0.1, no mocks.

The slow tests start real processes: two "nodes" of one process each through
``torchrun`` (this file's :func:`worker`, run as a script), ``glassnet train
--nproc 2``, and a run whose process 1 is killed with SIGKILL. Their results are
compared with single-process training computed here, in the test's own process:

- float64: 52 Adam steps with L2 and an uneven last batch (203 examples in batches
  of 16, the last one 11, split 6 + 5) reach the single process's weights within
  1e-12 relative (``||w_2 - w_1|| / ||w_1||``), from arrays in memory and from an
  ``.npy`` file that stays on disk, and with batches of 3 (a process with no
  example in the last batch of 1); float32 within 1e-5;
- dropout: masks differ by process, and a second run draws the same ones;
- batch norm: per-process statistics, equal to a single-process emulation of
  exactly that rule (each shard normalized by its own mean and variance, weighted
  gradients, running statistics averaged after each epoch) within 1e-12, and not
  equal to single-process batch norm;
- processes built from different seeds, or given shuffles that differ, stop with
  a one-line error;
- ``glassnet train --nproc 2`` writes the single process's model, and its
  checkpoint resumes in one process to the uninterrupted run's weights.

The fast tests check the pieces in this process (shards, per-process streams, the
environment, the command's choice to launch).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet.backend import to_numpy
from glassnet.distributed.data_parallel import rank_generator, shard_bounds

HERE = Path(__file__).resolve()
ENV = {
    **os.environ,
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
}
WALL = 120  # seconds any process of these tests may take before it is killed


# --- the models and data, shared by the worker and the references ---------------


def _data(dtype="float64"):
    generator = np.random.default_rng(5)
    X = generator.standard_normal((203, 6))
    y = np.argmax(X @ generator.standard_normal((6, 3)), axis=1)
    return X.astype(dtype), y


def _dense_model():
    return gn.Sequential(
        [gn.Dense(8, "relu"), gn.Dense(8, "tanh"), gn.Dense(3, "softmax")]
    )


def _dropout_model():
    return gn.Sequential(
        [gn.Dense(16, "relu"), gn.Dropout(0.7), gn.Dense(3, "softmax")]
    )


def _batchnorm_model():
    return gn.Sequential(
        [
            gn.Dense(8, "linear"),
            gn.BatchNorm(),
            gn.Activation("relu"),
            gn.Dense(3, "softmax"),
        ]
    )


def _fit(model, dtype, group=None, epochs=4, rng=0, X=None, rows=None, **options):
    X_memory, y = _data(dtype)
    options.setdefault("batch_size", 16)
    model.fit(
        (X_memory if X is None else X)[:rows],
        y[:rows],
        epochs=epochs,
        optimizer=gn.Adam(0.01),
        rng=rng,
        dtype=dtype,
        verbose=False,
        distributed=group,
        **options,
    )
    return model


class _FirstMask(gn.callbacks.Callback):
    """Keeps the Dropout layer's mask of the first step (its cache holds it)."""

    def __init__(self):
        self.mask = None

    def on_batch_end(self, batch, logs=None):
        if self.mask is None:
            layer = next(l for l in self.model.layers if isinstance(l, gn.Dropout))
            self.mask = np.array(layer._cache[0])


def worker(out: Path) -> None:
    """One process of the two-node run (started by torchrun): train each model,
    save what the test compares."""
    from glassnet import distributed

    results = {}
    with distributed.init(timeout=60) as group:
        for dtype in ("float64", "float32"):
            model = _fit(_dense_model(), dtype, group, regularizer=gn.L2(0.3))
            results[f"dense_{dtype}"] = model.flat_params
        on_disk = np.load(out / "X.npy", mmap_mode="r")  # rows that stay on disk
        model = _fit(
            _dense_model(), "float64", group, X=on_disk, regularizer=gn.L2(0.3)
        )
        results["dense_on_disk"] = model.flat_params
        # 7 rows in batches of 3: shards of 2 + 1, and a last batch of 1 + 0
        model = _fit(_dense_model(), "float64", group, rows=7, batch_size=3)
        results["dense_empty_shard"] = model.flat_params
        for attempt in (0, 1):
            first = _FirstMask()
            model = _fit(
                _dropout_model(), "float64", group, epochs=2, callbacks=[first]
            )
            results[f"dropout_{attempt}"] = model.flat_params
            results[f"mask_{attempt}"] = first.mask
        model = _fit(_batchnorm_model(), "float64", group, epochs=2)
        results["batchnorm"] = model.flat_params
        for key, value in model.state.items():
            results[f"batchnorm_{key}"] = value
        refusals = []
        for options in (
            {"rng": group.rank},  # other weights and shuffling
            {"shuffle": lambda e, m: np.random.default_rng(group.rank).permutation(m)},
        ):
            try:
                _fit(_dense_model(), "float64", group, **options)
                refusals.append("no error")
            except distributed.DistributedError as error:
                refusals.append(str(error))
        np.savez(out / f"rank{group.rank}.npz", **results)
        (out / f"rank{group.rank}.json").write_text(json.dumps(refusals))


# --- fast: the pieces ------------------------------------------------------------


def test_shards_are_contiguous_and_differ_by_one_at_most():
    for size in (1, 2, 7, 16, 203):
        for world in (1, 2, 3, 5):
            bounds = [shard_bounds(size, rank, world) for rank in range(world)]
            assert bounds[0][0] == 0 and bounds[-1][1] == size
            assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:], strict=False))
            sizes = [stop - start for start, stop in bounds]
            assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes)[::-1]


def test_per_process_streams_differ_by_rank_and_epoch_and_are_reproducible():
    source = np.random.default_rng(3)
    before = source.bit_generator.state
    draws = {
        (rank, epoch): rank_generator(source, rank, epoch).random(4)
        for rank in range(2)
        for epoch in range(2)
    }
    assert source.bit_generator.state == before  # the saved stream does not move
    assert len({tuple(d) for d in draws.values()}) == 4
    again = rank_generator(np.random.default_rng(3), 1, 1).random(4)
    np.testing.assert_array_equal(again, draws[1, 1])


def test_the_environment_is_checked(monkeypatch):
    from glassnet.distributed import environment, is_distributed_environment

    good = {"RANK": "1", "WORLD_SIZE": "2", "MASTER_ADDR": "h", "MASTER_PORT": "9"}
    assert environment(good)["rank"] == 1 and is_distributed_environment(good)
    assert not is_distributed_environment({"WORLD_SIZE": "1"})
    with pytest.raises(ValueError, match=r"RANK='2' must be an integer from 0 to 1"):
        environment({**good, "RANK": "2"})
    with pytest.raises(ValueError, match="MASTER_PORT not set"):
        environment({k: v for k, v in good.items() if k != "MASTER_PORT"})


def test_nproc_launches_only_outside_a_run(monkeypatch):
    from types import SimpleNamespace

    from glassnet.distributed.command import needs_launch

    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert needs_launch(SimpleNamespace(nproc=2))
    assert not needs_launch(SimpleNamespace(nproc=1))
    assert not needs_launch(SimpleNamespace(nproc=None))
    with pytest.raises(ValueError, match="--nproc must be an integer >= 1"):
        needs_launch(SimpleNamespace(nproc=0))
    monkeypatch.setenv("WORLD_SIZE", "2")  # one of torchrun's processes
    assert not needs_launch(SimpleNamespace(nproc=2))


def test_nproc_zero_is_a_one_line_error(capsys):
    from glassnet.cli import main

    assert main(["train", "--nproc", "0"]) == 2
    assert "--nproc must be an integer >= 1" in capsys.readouterr().err


# --- slow: real processes -------------------------------------------------------


def _relative(a, b) -> float:
    return float(np.linalg.norm(np.asarray(a) - b) / np.linalg.norm(b))


def _run(command, **options):
    return subprocess.run(
        command, env=ENV, capture_output=True, text=True, timeout=WALL, **options
    )


def _per_process_batchnorm(world: int = 2, epochs: int = 2):
    """The documented rule, computed in one process: each shard of a batch is
    normalized with its own statistics (its own running averages), the gradients
    are weighted by the shard's examples, the running statistics averaged after
    each epoch."""
    from glassnet.targets import prepare_targets

    X, y = _data("float64")
    model, rng = _batchnorm_model(), np.random.default_rng(0)
    model.build(X.shape[1], rng=rng, dtype="float64")  # as fit(rng=0) draws them
    Y, loss, optimizer = prepare_targets(model, y), model.default_loss(), gn.Adam(0.01)
    running = [
        dict((k, v.copy()) for k, v in model.state.items()) for _ in range(world)
    ]
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X), 16):
            index = order[start : start + 16]
            total = np.zeros_like(model.flat_grads)
            for shard, statistics in zip(
                np.array_split(index, world), running, strict=True
            ):
                model.set_weights({**model.get_weights(), **statistics})
                AL = model.forward(X[shard].T, training=True)
                model.backward(AL, Y[shard].T, loss)
                total += model.flat_grads * (len(shard) / len(index))
                statistics.update((k, v.copy()) for k, v in model.state.items())
            model.flat_grads[...] = total
            optimizer.update(model.params, model.grads)
        mean = {k: sum(s[k] for s in running) / world for k in running[0]}
        for statistics in running:
            statistics.update((k, v.copy()) for k, v in mean.items())
    model.set_weights({**model.get_weights(), **mean})
    return model


@pytest.mark.slow
def test_two_nodes_reach_the_single_process_weights(tmp_path):
    from glassnet.distributed.launch import free_port

    np.save(tmp_path / "X.npy", _data("float64")[0])
    port = str(free_port())
    nodes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "torch.distributed.run",
                "--nnodes",
                "2",
                "--node-rank",
                str(node),
                "--nproc-per-node",
                "1",
                "--master-addr",
                "127.0.0.1",
                "--master-port",
                port,
                str(HERE),
                "worker",
                str(tmp_path),
            ],
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for node in (0, 1)
    ]
    try:
        outputs = [node.communicate(timeout=WALL)[0] for node in nodes]
    finally:
        for node in nodes:
            node.kill()
    assert [node.returncode for node in nodes] == [0, 0], outputs
    ranks = [np.load(tmp_path / f"rank{r}.npz") for r in (0, 1)]
    for key in ranks[0].files:  # one model: every process ends on the same numbers
        if not key.startswith("mask"):
            np.testing.assert_array_equal(ranks[0][key], ranks[1][key], err_msg=key)
    # the same global batches in one process: the same weights
    for dtype, tolerance in (("float64", 1e-12), ("float32", 1e-5)):
        single = _fit(_dense_model(), dtype, regularizer=gn.L2(0.3)).flat_params
        assert _relative(ranks[0][f"dense_{dtype}"], single) < tolerance, dtype
        if dtype == "float64":  # the same rows read from disk by each process
            assert _relative(ranks[0]["dense_on_disk"], single) < tolerance
    single = _fit(_dense_model(), "float64", rows=7, batch_size=3).flat_params
    assert _relative(ranks[0]["dense_empty_shard"], single) < 1e-12
    # dropout: the masks differ by process, and are drawn again the same
    first, second = ranks[0]["mask_0"], ranks[1]["mask_0"]
    assert first.shape == second.shape == (16, 8)
    assert not np.array_equal(first, second)
    for rank in ranks:
        np.testing.assert_array_equal(rank["mask_0"], rank["mask_1"])
        np.testing.assert_array_equal(rank["dropout_0"], rank["dropout_1"])
    # batch norm: per-process statistics, as documented (not single-process ones)
    emulated = _per_process_batchnorm()
    assert _relative(ranks[0]["batchnorm"], emulated.flat_params) < 1e-12
    for key, value in emulated.state.items():
        assert _relative(ranks[0][f"batchnorm_{key}"], value) < 1e-12, key
    single = _fit(_batchnorm_model(), "float64", epochs=2).flat_params
    assert _relative(ranks[0]["batchnorm"], single) > 1e-6
    # processes built from different seeds, or shuffling differently, refuse to
    # train, in one line
    for rank in (0, 1):
        seeds, orders = json.loads((tmp_path / f"rank{rank}.json").read_text())
        assert "do not agree on the weights" in seeds and "\n" not in seeds
        assert "drew different orders of the examples for epoch 0" in orders


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_one_process_group_trains_as_without_one(backend, monkeypatch):
    """A group of one process (real gloo, in this process): the NumPy path and the
    torch backend's device path (the GPUs' path, here on the CPU) give fit's own
    weights, and dropout's per-process masks are drawn again the same."""
    from glassnet import distributed
    from glassnet.distributed.launch import free_port

    environment = {"RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1"}
    for name, value in {**environment, "MASTER_PORT": str(free_port())}.items():
        monkeypatch.setenv(name, value)
    with distributed.init(timeout=60) as group:
        model = _fit(_dense_model(), "float64", group, backend=backend)
        dropped = [
            _fit(_dropout_model(), "float64", group, epochs=2, backend=backend)
            for _ in range(2)
        ]
    single = _fit(_dense_model(), "float64", backend=backend)
    assert single.backend == model.backend == backend
    assert _relative(to_numpy(model.flat_params), to_numpy(single.flat_params)) < 1e-12
    np.testing.assert_array_equal(*(to_numpy(m.flat_params) for m in dropped))


@pytest.mark.slow
def test_nccl_on_a_gpu():
    """On a CUDA machine: the torch backend on this process's GPU, carried by
    nccl (a group of one process); skipped elsewhere."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device: nccl needs a GPU")
    from glassnet import distributed
    from glassnet.distributed.launch import free_port

    os.environ.update(
        RANK="0", WORLD_SIZE="1", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(free_port())
    )
    with distributed.init(device="cuda", timeout=60) as group:
        assert group.backend == "nccl"
        model = _fit(
            _dense_model(), "float64", group, backend="torch", device=group.device
        )
    single = _fit(_dense_model(), "float64", backend="torch", device="cuda")
    assert (
        _relative(
            gn.backend.to_numpy(model.flat_params),
            gn.backend.to_numpy(single.flat_params),
        )
        < 1e-12
    )


def _weights(folder: Path):
    return gn.load(folder / "model.glassnet").flat_params


@pytest.mark.slow
def test_nproc_trains_the_single_process_model_and_resumes_with_one(tmp_path):
    from glassnet.cli import main

    options = ["--data", "digits", "--dtype", "float64", "--layers", "32", "--quiet"]
    two = tmp_path / "two"
    done = _run(
        [sys.executable, "-m", "glassnet", "train", *options, "--epochs", "2"]
        + ["--checkpoint-every", "1", "--nproc", "2", "--out", str(two)],
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("trained in") == 1  # process 0 prints, once
    assert sorted(p.name for p in two.iterdir()) == sorted(
        [
            "checkpoint.glassnet",
            "config.json",
            "history.csv",
            "learning_curve.png",
            "model.glassnet",
            "report.html",
            "results.json",
        ]
    )
    one = tmp_path / "one"
    assert main(["train", *options, "--epochs", "2", "--out", str(one)]) == 0
    assert _relative(_weights(two), _weights(one)) < 1e-12
    # 2 epochs on 2 processes, resumed to 4 in one process = 4 epochs in one
    assert main(["train", "--resume", str(two), "--epochs", "4", "--quiet"]) == 0
    four = tmp_path / "four"
    assert main(["train", *options, "--epochs", "4", "--out", str(four)]) == 0
    assert _relative(_weights(two), _weights(four)) < 1e-12
    history = json.loads((two / "results.json").read_text())
    assert history["epochs_run"] == 4
    # the logs too: epoch costs summed over the processes, training metrics from
    # every process's predictions, validation scores (2 epochs on 2 processes)
    logged = [
        np.genfromtxt(folder / "history.csv", delimiter=",", names=True)
        for folder in (two, four)
    ]
    assert logged[0].dtype.names == logged[1].dtype.names
    for name in logged[0].dtype.names:
        np.testing.assert_allclose(logged[0][name], logged[1][name], rtol=1e-9)


@pytest.mark.slow
def test_device_trains_on_the_torch_backend(tmp_path):
    """``glassnet train --device cpu``: the torch backend (the GPUs' path) from the
    command line; the same model as NumPy's, to the rounding of the products."""
    from glassnet.cli import main

    options = ["--data", "digits", "--dtype", "float64", "--layers", "16"]
    options += ["--epochs", "2", "--quiet"]
    assert (
        main(["train", *options, "--device", "cpu", "--out", str(tmp_path / "t")]) == 0
    )
    assert main(["train", *options, "--out", str(tmp_path / "n")]) == 0
    assert _relative(_weights(tmp_path / "t"), _weights(tmp_path / "n")) < 1e-10


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(word) for word in path.read_text().split()] if path.exists() else []


@pytest.mark.slow
def test_a_killed_process_ends_the_others_with_a_clear_error(tmp_path):
    out = tmp_path / "run"
    environment = {**ENV, "GLASSNET_DISTRIBUTED_TIMEOUT": "600"}
    launcher = subprocess.Popen(
        [sys.executable, "-m", "glassnet", "train", "--data", "digits", "--nproc"]
        + ["2", "--epochs", "100000", "--layers", "16", "--out", str(out)]
        + ["--checkpoint-every", "1", "--quiet"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + WALL
        while not (out / "checkpoint.glassnet").exists():  # an epoch is done
            assert launcher.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        children = _children(launcher.pid)
        assert len(children) == 2
        os.kill(children[1], signal.SIGKILL)
        # not a hang: the others end well within the 600 s collective timeout
        _, errors = launcher.communicate(timeout=60)
    finally:
        launcher.kill()
    assert launcher.returncode == 2
    assert "process 1 of 2 was killed by SIGKILL" in errors
    assert "process 0 of 2 lost the other processes during" in errors  # a collective
    assert not any(Path(f"/proc/{pid}").exists() for pid in children)


if __name__ == "__main__" and sys.argv[1:2] == ["worker"]:
    worker(Path(sys.argv[2]))
