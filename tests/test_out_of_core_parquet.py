"""Parquet rows streamed by row group through a shuffle buffer (issue 23, point 1;
architecture D39): every row once an epoch, reproducible from the seed, the
buffer's locality, the streaming statistics, and training, evaluate and predict
from the file."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet.batches import StreamBatches
from glassnet.data.streams import ParquetRows, shuffle_plan
from glassnet.layers.preprocessing import spread_statistics

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def _table(m=1800, n=5, seed=0):
    rng = np.random.default_rng(seed)
    X = (rng.normal(size=(m, n)) * [1, 10, 0.1, 5, 2] + [0, 100, -3, 0, 7]).astype(
        np.float32
    )
    y = (X[:, 0] + 0.1 * X[:, 1] - 10 > 0).astype(np.int64)
    columns = {f"x{j}": X[:, j] for j in range(n)}
    return X, y, pa.table({**columns, "label": y})


@pytest.fixture
def parquet_file(tmp_path):
    X, y, table = _table()
    path = tmp_path / "train.parquet"
    pq.write_table(table, path, row_group_size=100)  # 18 row groups
    return X, y, path


def test_rows_and_labels_of_a_file_and_a_folder(parquet_file, tmp_path):
    X, y, path = parquet_file
    rows = ParquetRows(path)
    assert rows.shape == X.shape and rows.label_column == "label"
    assert len(rows.groups) == 18
    np.testing.assert_array_equal(rows.labels(), y)
    np.testing.assert_array_equal(rows.read(0, len(X), np.empty_like(X)), X)
    folder = tmp_path / "parts"
    folder.mkdir()
    _, _, table = _table()
    for number, start in enumerate(range(0, 1800, 600)):
        pq.write_table(table.slice(start, 600), folder / f"part-{number}.parquet")
    in_folder = ParquetRows(folder)
    assert in_folder.shape == X.shape
    np.testing.assert_array_equal(in_folder.read(0, 1800, np.empty_like(X)), X)


@pytest.mark.parametrize("buffer_rows", [64, 250, 5000])
def test_every_row_once_an_epoch_in_the_planned_order(parquet_file, buffer_rows):
    """The batches hold exactly the rows (and labels) the plan's order names,
    each row once, full batches but the last."""
    X, y, path = parquet_file
    rows = ParquetRows(path, buffer_rows=buffer_rows)
    Y = y.reshape(-1, 1)
    batches = StreamBatches(rows, Y, 64, np.float32)
    order = batches.epoch_order(np.arange(len(X)), np.random.default_rng(7))
    assert np.array_equal(np.sort(order), np.arange(len(X)))
    seen, sizes = [], []
    for X_batch, Y_batch in batches.epoch(order, None):
        start = sum(sizes)
        np.testing.assert_array_equal(X_batch, X[order[start : start + len(X_batch)]])
        np.testing.assert_array_equal(Y_batch, Y[order[start : start + len(X_batch)]])
        seen.append(order[start : start + len(X_batch)])
        sizes.append(len(X_batch))
    assert sizes == [64] * (len(X) // 64) + [len(X) % 64]
    assert np.array_equal(np.sort(np.concatenate(seen)), np.arange(len(X)))


def test_the_order_is_the_seeds_and_the_buffer_bounds_it(parquet_file):
    X, y, path = parquet_file
    rows = ParquetRows(path)
    sizes = rows.group_sizes
    first = shuffle_plan(sizes, 200, 50, np.random.default_rng(3)).order
    again = shuffle_plan(sizes, 200, 50, np.random.default_rng(3)).order
    other = shuffle_plan(sizes, 200, 50, np.random.default_rng(4)).order
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    assert not np.array_equal(first, np.arange(len(X)))
    # a 200-row buffer over 100-row groups: the first batch comes from the first
    # two or three groups loaded, where a uniform shuffle would touch most groups
    assert len(np.unique(first[:50] // 100)) <= 3
    whole = shuffle_plan(sizes, len(X), 50, np.random.default_rng(3)).order
    assert len(np.unique(whole[:50] // 100)) > 3  # a buffer of all rows: uniform


def test_training_from_parquet_is_reproducible(parquet_file):
    X, y, path = parquet_file

    def train(seed):
        rows = ParquetRows(path, buffer_rows=300)
        model = gn.Sequential(
            [gn.Standardization(), gn.Dense(8, "relu"), gn.Dense(1, "sigmoid")]
        )
        model.layers[0].adapt(rows)
        history = model.fit(
            rows,
            rows.labels(),
            epochs=4,
            batch_size=32,
            optimizer="adam",
            rng=seed,
            verbose=False,
            metrics=["accuracy"],
        )
        return model, history, rows

    model, history, rows = train(0)
    again, _, _ = train(0)
    other, _, _ = train(1)
    weights = model.get_weights()
    assert all(np.array_equal(weights[k], v) for k, v in again.get_weights().items())
    assert not np.array_equal(weights["W1"], other.get_weights()["W1"])
    # the metrics follow the buffer's order: accuracy over the epoch's batches
    assert 0.5 < history.history["accuracy"][-1] <= 1
    # evaluate and predict read the rows in order, the same bits as in memory
    assert model.evaluate(rows, y) == model.evaluate(X, y)
    np.testing.assert_array_equal(model.predict(rows), model.predict(X))


def test_streaming_statistics_of_parquet_match_in_memory(parquet_file):
    X, _, path = parquet_file
    rows = ParquetRows(path)
    mu, spread = spread_statistics(X, 0.1)
    mu_streamed, spread_streamed = rows.scan().moments.spread_statistics(0.1)
    np.testing.assert_allclose(mu_streamed, mu, rtol=1e-6)
    np.testing.assert_allclose(spread_streamed, spread, rtol=1e-6)


def test_missing_values_and_text_features_are_refused(tmp_path):
    X, y, table = _table(m=300)
    values = X[:, 2].astype(object)
    values[123] = None
    holed = table.set_column(2, "x2", pa.array(values.tolist(), type=pa.float32()))
    pq.write_table(holed, tmp_path / "holes.parquet", row_group_size=100)
    rows = ParquetRows(tmp_path / "holes.parquet")
    with pytest.raises(ValueError, match="example 123, feature 2 is nan"):
        gn.Sequential([gn.Dense(1, "sigmoid")]).fit(rows, y, verbose=False)
    text = table.append_column("city", pa.array(["a"] * 300))
    pq.write_table(text, tmp_path / "text.parquet")
    with pytest.raises(ValueError, match="feature column 'city' holds string"):
        ParquetRows(tmp_path / "text.parquet")
    with pytest.raises(ValueError, match="cannot be split by index"):
        ParquetRows(tmp_path / "holes.parquet").rows([0, 1])


def test_parquet_in_file_order_is_bitwise_training_in_memory(parquet_file):
    """Without shuffling the rows come in the file's order, row group by row
    group: the same bits as training on the array in memory."""
    X, y, path = parquet_file

    def train(rows):
        model = gn.Sequential([gn.Dense(6, "tanh"), gn.Dense(1, "sigmoid")])
        model.fit(rows, y, epochs=2, batch_size=64, rng=0, shuffle=False, verbose=False)
        return model.get_weights()

    from_file, in_memory = train(ParquetRows(path)), train(X)
    assert all(np.array_equal(from_file[k], in_memory[k]) for k in in_memory)
    with pytest.raises(ValueError, match="shuffle buffer's order"):
        gn.Sequential([gn.Dense(1, "sigmoid")]).fit(
            ParquetRows(path), y, shuffle=lambda epoch, m: np.arange(m), verbose=False
        )
