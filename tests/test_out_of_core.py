"""Rows that stay on disk (issue 23, point 1; architecture D39): training from a
.npy file, a folder of .npy shards, an HDF5 dataset or a memmap gives the bits
training on the same arrays in memory gives; the streaming statistics match the
in-memory ones; predict and evaluate stream; memory does not grow with the file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import glassnet as gn
from glassnet.data import on_disk
from glassnet.data.on_disk import RowSubset, open_rows
from glassnet.layers.preprocessing import spread_statistics

h5py = pytest.importorskip("h5py")


def _data(m=1500, n=24, seed=0):
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.1, 50, n)
    X = (rng.normal(size=(m, n)) * scale + rng.uniform(-100, 100, n)).astype(np.float32)
    y = rng.integers(0, 3, m)
    return X, y


def _write(kind, X, folder):
    """X saved the way a user saves it: np.save, shards, h5py (chunked, gzip)."""
    if kind in ("npy", "memmap"):
        path = folder / "X.npy"
        np.save(path, X)
        return np.load(path, mmap_mode="r") if kind == "memmap" else open_rows(path)
    if kind == "shards":
        (folder / "X").mkdir()
        for number, part in enumerate(np.array_split(X, 4)):
            np.save(folder / "X" / f"part-{number:05d}.npy", part)
        return open_rows(folder / "X")
    path = folder / "X.h5"
    with h5py.File(path, "w") as handle:
        if kind == "h5":  # compressed chunks: read by h5py selections
            handle.create_dataset(
                "X", data=X, chunks=(8, X.shape[1]), compression="gzip"
            )
        else:  # contiguous, uncompressed: read with pread at the dataset's offset
            handle.create_dataset("X", data=X)
    return open_rows(path)


def _train(X, y, validation=None, seed=1):
    model = gn.Sequential(
        [
            gn.Standardization(),
            gn.Dense(12, "relu"),
            gn.Dropout(0.8),
            gn.Dense(3, "softmax"),
        ]
    )
    model.layers[0].adapt(X)
    model.history = model.fit(
        X,
        y,
        epochs=3,
        batch_size=50,
        optimizer="adam",
        rng=seed,
        verbose=False,
        validation_data=validation,
        metrics=["accuracy"],
    )
    return model


def _same_weights(a, b) -> bool:
    wa, wb = a.get_weights(), b.get_weights()
    return wa.keys() == wb.keys() and all(np.array_equal(wa[k], wb[k]) for k in wa)


@pytest.mark.parametrize("kind", ["npy", "shards", "h5", "h5-contiguous", "memmap"])
def test_training_from_disk_is_bitwise_training_in_memory(kind, tmp_path):
    X, y = _data()
    rows = _write(kind, X, tmp_path)
    in_memory = _train(X, y, validation=(X[:300], y[:300]))
    dev = rows[:300] if kind == "memmap" else rows.rows(np.arange(300))
    from_disk = _train(rows, y, validation=(dev, y[:300]))
    assert _same_weights(in_memory, from_disk)
    assert in_memory.history.history == from_disk.history.history
    # predict and evaluate stream the rows and give the same bits
    assert np.array_equal(from_disk.predict_proba(rows), in_memory.predict_proba(X))
    assert from_disk.evaluate(rows, y) == in_memory.evaluate(X, y)


def test_uint8_images_on_disk_are_converted_per_batch(tmp_path):
    """Image-shaped uint8 pixels (m, 8, 8): Flatten and Rescaling in the model,
    the rows converted to float32 a batch at a time, the same bits."""
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, size=(600, 8, 8), dtype=np.uint8)
    y = rng.integers(0, 2, 600)
    np.save(tmp_path / "images.npy", images)

    def train(X):
        model = gn.Sequential(
            [gn.Flatten((8, 8, 1)), gn.Rescaling(1 / 255), gn.Dense(1, "sigmoid")]
        )
        model.fit(X, y, epochs=2, batch_size=32, rng=0, verbose=False)
        return model

    assert _same_weights(train(images), train(open_rows(tmp_path / "images.npy")))


def test_split_by_index_trains_like_the_rows_it_names(tmp_path):
    X, y = _data(seed=2)
    rows = _write("npy", X, tmp_path)
    index = np.random.default_rng(0).permutation(len(X))[:900]
    train_rows = rows.rows(index)  # sorted, nothing copied
    assert isinstance(train_rows, RowSubset) and train_rows.shape == (900, X.shape[1])
    kept = np.sort(index)
    assert _same_weights(_train(X[kept], y[kept]), _train(train_rows, y[kept]))


@pytest.mark.parametrize("kind", ["npy", "shards", "h5", "h5-contiguous"])
def test_streaming_statistics_match_in_memory(kind, tmp_path, monkeypatch):
    """Many blocks (the pass's block shrunk to a few rows), a constant feature and
    large offsets: mean and spread within 1e-6 relative of the in-memory ones."""
    monkeypatch.setattr(on_disk, "CHUNK_BYTES", 7 * 24 * 8)  # 7 rows a block
    X, _ = _data(m=2000, seed=5)
    X[:, 3] = 1234.5  # constant
    X[:, 4] += 1e5  # far from 0
    X[::97, 5] = 1e4  # rare large values: the floor decides the spread
    rows = _write(kind, X, tmp_path)
    for floor in (0.1, 0.0):
        mu, spread = spread_statistics(X, floor)
        mu_streamed, spread_streamed = rows.scan().moments.spread_statistics(floor)
        np.testing.assert_allclose(mu_streamed, mu, rtol=1e-6)
        np.testing.assert_allclose(spread_streamed, spread, rtol=1e-6)
    layer = gn.Standardization().adapt(rows)
    np.testing.assert_allclose(
        layer.statistics()[1].ravel(), spread_statistics(X, 0.1)[1], rtol=1e-6
    )


def test_nan_on_disk_is_named_by_row_and_feature(tmp_path):
    X, y = _data()
    X[1234, 7] = np.nan
    rows = _write("shards", X, tmp_path)
    model = gn.Sequential([gn.Dense(3, "softmax")])
    with pytest.raises(ValueError, match=r"example 1234, feature 7 is nan"):
        model.fit(rows, y, epochs=1, verbose=False)
    with pytest.raises(ValueError, match="example 1234"):
        gn.Standardization().adapt(rows)


def test_bad_rows_on_disk_are_refused_clearly(tmp_path):
    X, y = _data()
    rows = _write("npy", X, tmp_path)
    model = gn.Sequential([gn.Dense(3, "softmax")])
    model.build(X.shape[1] + 1, rng=0)
    with pytest.raises(ValueError, match=r"X\.npy .* has 24 features .* built for 25"):
        model.fit(rows, y, epochs=1, verbose=False)
    with pytest.raises(ValueError, match="same number of examples"):
        gn.Sequential([gn.Dense(3, "softmax")]).fit(rows, y[:-1], verbose=False)
    np.save(tmp_path / "fortran.npy", np.asfortranarray(X))
    with pytest.raises(ValueError, match="Fortran .* C order"):
        open_rows(tmp_path / "fortran.npy")
    (tmp_path / "mixed").mkdir()
    np.save(tmp_path / "mixed" / "a.npy", X[:10])
    np.save(tmp_path / "mixed" / "b.npy", X[:10, :5])
    with pytest.raises(ValueError, match="b.npy holds rows of shape"):
        open_rows(tmp_path / "mixed")
    (tmp_path / "data.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="rows on disk are a .npy file"):
        open_rows(tmp_path / "data.csv")


@pytest.mark.slow
def test_memory_does_not_grow_with_the_file(tmp_path):
    """A 192 MiB file, above the data budget the child is given (loading it is
    refused), trains for an epoch from disk while the child's resident memory
    grows by less than a quarter of the file."""
    m, n = 196_608, 256  # 192 MiB of float32
    rng = np.random.default_rng(0)
    X = np.lib.format.open_memmap(tmp_path / "X.npy", "w+", np.float32, (m, n))
    for start in range(0, m, 8192):
        X[start : start + 8192] = rng.normal(size=(8192, n))
    X.flush()
    del X
    np.save(tmp_path / "y.npy", rng.integers(0, 2, m))
    script = textwrap.dedent(
        """
        import sys
        import numpy as np
        import glassnet as gn
        from glassnet.data import on_disk
        from glassnet.data.npy_files import read_feature_array

        def peak_kib():  # the child's own VmHWM (ru_maxrss keeps the parent's)
            with open("/proc/self/status") as status:
                line = next(x for x in status if x.startswith("VmHWM"))
            return int(line.split()[1])

        folder = sys.argv[1]
        try:
            read_feature_array(folder + "/X.npy")  # the loaders' way: refused
            print("loaded")
        except ValueError as error:
            print("refused:", str(error)[:200])
        y = np.load(folder + "/y.npy")
        rows = on_disk.open_rows(folder + "/X.npy")
        model = gn.Sequential([gn.Standardization(), gn.Dense(8, "relu"),
                               gn.Dense(1, "sigmoid")])
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")  # the peak starts again from the current memory
        before = peak_kib()
        model.layers[0].adapt(rows)
        model.fit(rows, y, epochs=1, batch_size=256, rng=0, verbose=False)
        model.evaluate(rows, y)
        print("grew_kib", peak_kib() - before)
        """
    )
    environment = dict(os.environ, GLASSNET_DATA_BUDGET="max_array_bytes=32MiB")
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "refused:" in done.stdout and "data budget" in done.stdout
    grew_kib = int(done.stdout.split("grew_kib")[1])
    assert grew_kib * 1024 < (m * n * 4) / 4, done.stdout


def _data_folder(folder, X, y, classes=None):
    """A data folder on disk as a user writes one: X.npy, y.npy, classes.json."""
    folder.mkdir()
    np.save(folder / "X.npy", X)
    np.save(folder / "y.npy", y)
    if classes is not None:
        (folder / "classes.json").write_text(json.dumps(classes))
    return folder


def test_a_data_folder_is_split_by_index_like_the_same_arrays(tmp_path):
    """prepare_data on a data folder: the same examples in each split as the
    in-memory split of the same arrays (in the file's order), the training rows
    standardized in one streaming pass."""
    from glassnet.data.on_disk import RowSubset
    from glassnet.run_config import RunConfig
    from glassnet.runs import prepare_data

    X, y = _data(m=1000, seed=4)
    folder = _data_folder(tmp_path / "data", X, y)
    np.savez(tmp_path / "same.npz", X=X, y=y)
    on_disk_parts = prepare_data(RunConfig(data=str(folder), split_seed=3))
    in_memory = prepare_data(RunConfig(data=str(tmp_path / "same.npz"), split_seed=3))
    for name in ("train", "dev", "test"):
        rows, labels = on_disk_parts["splits"][name]
        X_part, y_part = in_memory["splits"][name]
        assert isinstance(rows, RowSubset)
        read = rows[np.arange(len(rows))]  # in the file's order
        mine, theirs = np.lexsort(read.T), np.lexsort(X_part.T)  # one order for both
        np.testing.assert_array_equal(read[mine], X_part[theirs])
        np.testing.assert_array_equal(labels[mine], y_part[theirs])
    layer = on_disk_parts["preprocessing"][-1]
    reference = in_memory["preprocessing"][-1]
    for mine, theirs in zip(layer.statistics(), reference.statistics(), strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-6)


@pytest.mark.slow
def test_glassnet_train_evaluate_and_predict_from_disk(tmp_path):
    X, y = _data(m=900, seed=6)
    names = ["red", "green", "blue"]
    folder = _data_folder(tmp_path / "data", X, y, classes=names)
    run = tmp_path / "run"

    def glassnet(*arguments, **environment):
        return subprocess.run(
            [sys.executable, "-m", "glassnet", *map(str, arguments)],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, **environment},
        )

    trained = glassnet("train", "--data", folder, "--epochs", "3", "--out", run)
    assert trained.returncode == 0, trained.stderr
    assert "examples: train 540, dev 180, test 180" in trained.stdout
    results = json.loads((run / "results.json").read_text())
    assert results["results"]["test"]["examples"] == 180
    scored = glassnet("evaluate", run, "--data", folder)
    assert scored.returncode == 0 and "900" in scored.stdout, scored.stderr
    tight = {"GLASSNET_DATA_BUDGET": "max_array_bytes=20000"}  # X streamed, y loaded
    assert glassnet("evaluate", run, "--data", folder, **tight).stdout == scored.stdout
    # predict reads X.npy whole within the budget and streams it past the budget
    loaded = glassnet("predict", run, folder / "X.npy")
    streamed = glassnet(
        "predict", run, folder / "X.npy", GLASSNET_DATA_BUDGET="max_array_bytes=1000"
    )
    assert loaded.returncode == 0 and streamed.returncode == 0, streamed.stderr
    assert streamed.stdout == loaded.stdout
    assert set(loaded.stdout.split()) <= set(names)


def test_rows_index_like_an_array_and_load_within_the_budget(tmp_path, monkeypatch):
    X, _ = _data(m=300, seed=8)
    rows = _write("shards", X, tmp_path)
    index = np.array([299, 3, 150, 3, -1])
    np.testing.assert_array_equal(rows[index], X[index])
    np.testing.assert_array_equal(rows[10:20], X[10:20])
    np.testing.assert_array_equal(rows[7], X[7])
    np.testing.assert_array_equal(np.asarray(rows), X)
    monkeypatch.setenv("GLASSNET_DATA_BUDGET", "max_array_bytes=1000")
    with pytest.raises(ValueError, match="max_array_bytes"):
        np.asarray(rows)


def test_compressed_hdf5_chunks_of_many_rows_warn(tmp_path):
    from glassnet._kernels import PerformanceWarning

    X, _ = _data(m=600)
    with h5py.File(tmp_path / "big-chunks.h5", "w") as handle:
        handle.create_dataset("X", data=X, chunks=(200, X.shape[1]), compression="gzip")
    with pytest.warns(PerformanceWarning, match="gzip chunks of 200 rows"):
        rows = open_rows(tmp_path / "big-chunks.h5")
    np.testing.assert_array_equal(rows[[5, 450, 7]], X[[5, 450, 7]])


def test_an_hdf5_file_over_the_budget_is_trained_from_disk(tmp_path, monkeypatch):
    """The course's layout (train_set_x uint8 pictures, train_set_y (1, m),
    list_classes): within the budget it is loaded; past it, the same split's
    examples stay on disk, and the input layers are the same."""
    from glassnet.data.on_disk import RowSubset
    from glassnet.run_config import RunConfig
    from glassnet.runs import prepare_data

    rng = np.random.default_rng(9)
    pictures = rng.integers(0, 256, size=(400, 4, 4, 3), dtype=np.uint8)
    labels = rng.integers(0, 2, size=(1, 400))
    path = tmp_path / "cats.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("train_set_x", data=pictures)
        handle.create_dataset("train_set_y", data=labels)
        handle.create_dataset("list_classes", data=[b"non-cat", b"cat"])
    config = RunConfig(data=str(path), split_seed=1)
    in_memory = prepare_data(config)
    monkeypatch.setenv("GLASSNET_DATA_BUDGET", "max_array_bytes=4096")
    on_disk_parts = prepare_data(config)
    assert on_disk_parts["dataset"].classes == ["non-cat", "cat"]
    for name in ("train", "dev", "test"):
        rows, y_part = on_disk_parts["splits"][name]
        X_part, y_memory = in_memory["splits"][name]
        assert isinstance(rows, RowSubset)
        read = rows[np.arange(len(rows))].astype(np.float32)
        mine, theirs = np.lexsort(read.T), np.lexsort(X_part.T)
        np.testing.assert_array_equal(read[mine], X_part[theirs])
        np.testing.assert_array_equal(y_part[mine], y_memory[theirs])
    layers = [type(layer).__name__ for layer in on_disk_parts["preprocessing"]]
    assert layers == [type(layer).__name__ for layer in in_memory["preprocessing"]]


@pytest.mark.slow
def test_the_benchmark_runs_in_a_tiny_configuration(tmp_path):
    """benchmarks/out_of_core.py end to end on 3000 rows (so it cannot rot): both
    modes, the same epoch costs, the file deleted afterwards."""
    script = os.path.join(
        os.path.dirname(__file__), "..", "benchmarks", "out_of_core.py"
    )
    done = subprocess.run(
        [sys.executable, script, "--rows", "3000", "--epochs", "1"]
        + ["--folder", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "| disk | 0.01 GB |" in done.stdout and "| memory |" in done.stdout
    assert "every run's epoch costs identical: True" in done.stdout
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_rows_on_disk_train_on_the_torch_backend_like_arrays(tmp_path):
    """Batches read on the host and moved to the model's device: the bits of the
    torch backend's own device gather (CPU torch here)."""
    pytest.importorskip("torch")
    X, y = _data(m=600, seed=10)
    rows = _write("npy", X, tmp_path)

    def train(data):
        model = gn.Sequential([gn.Dense(8, "relu"), gn.Dense(3, "softmax")])
        model.fit(
            data,
            y,
            epochs=2,
            batch_size=50,
            rng=0,
            verbose=False,
            optimizer="adam",
            backend="torch",
            device="cpu",
        )
        return model.to("numpy").get_weights()

    on_disk_weights, in_memory_weights = train(rows), train(X)
    assert all(
        np.array_equal(on_disk_weights[k], v) for k, v in in_memory_weights.items()
    )


def test_separate_dev_data_beside_a_data_folder(tmp_path):
    """--dev-data: another data folder (on disk) or a small .npz (loaded), its
    labels coded in the training data's classes."""
    from glassnet.run_config import RunConfig
    from glassnet.runs import prepare_data

    X, y = _data(m=500, seed=11)
    names = np.array(["ant", "bee", "cat"])
    train = _data_folder(tmp_path / "train", X, names[y])
    dev_y = np.array(["cat", "bee"] * 50)  # only two classes: codes would differ
    np.savez(tmp_path / "dev.npz", X=X[:100], y=dev_y)
    _data_folder(tmp_path / "dev", X[:100], dev_y)
    for dev in (tmp_path / "dev.npz", tmp_path / "dev"):
        config = RunConfig(data=str(train), dev_data=str(dev))
        prepared = prepare_data(config)
        assert prepared["dataset"].classes == ["ant", "bee", "cat"]
        X_dev, y_dev = prepared["splits"]["dev"]
        assert len(X_dev) == 100 and list(y_dev[:2]) == [2, 1]
        assert prepared["split"]["sizes"]["train"] == 400  # 80/20 train/test
