"""Parquet files as data (issue 22, point 5): ``load_dataset("f.parquet")`` with the
CSV rules for the label column, the data budget checked from the metadata, clear
errors, and ``glassnet train / predict / evaluate`` on files written by pandas and
polars."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow")
pd = pytest.importorskip("pandas")
pl = pytest.importorskip("polars")

import glassnet as gn  # noqa: E402
from glassnet.data import load_dataset  # noqa: E402
from glassnet.data.budgets import DataFileError  # noqa: E402
from glassnet.data.csv_files import load_csv  # noqa: E402
from glassnet.data.parquet_files import read_parquet_table  # noqa: E402
from glassnet.errors import MissingDependencyError  # noqa: E402


def _frame(m=60, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 90, size=m),
            "income": rng.normal(50.0, 10.0, size=m),
            "smoker": rng.random(m) > 0.5,
        }
    )
    frame["outcome"] = np.where(frame["income"] > 50, "high", "low")
    return frame


@pytest.mark.parametrize("writer", ["pandas", "polars"])
def test_a_parquet_file_loads_as_its_csv_twin(tmp_path, writer):
    frame = _frame()
    path = tmp_path / "people.parquet"
    if writer == "pandas":
        frame.to_parquet(path)
    else:
        pl.from_pandas(frame).write_parquet(path)
    twin = frame.assign(smoker=frame["smoker"].astype(int))
    twin.to_csv(tmp_path / "people.csv", index=False)
    loaded, expected = load_dataset(path), load_csv(tmp_path / "people.csv")
    np.testing.assert_array_equal(loaded.X, expected.X)
    np.testing.assert_array_equal(loaded.y, expected.y)
    assert loaded.task == expected.task == "binary"
    assert loaded.classes == expected.classes == ["high", "low"]
    assert loaded.feature_names == ["age", "income", "smoker"]
    assert loaded.name == "people"


def test_the_label_column_rules_are_csv_s(tmp_path):
    frame = _frame().drop(columns="outcome")
    frame.insert(0, "Target", (frame.pop("age") > 50).astype(int))  # named: found
    frame.to_parquet(tmp_path / "a.pq")
    loaded = load_dataset(tmp_path / "a.pq")
    assert loaded.feature_names == ["income", "smoker"]
    np.testing.assert_array_equal(loaded.y, frame["Target"].to_numpy())
    by_name = load_dataset(tmp_path / "a.pq", label_column="income", task="regression")
    assert by_name.feature_names == ["Target", "smoker"]
    np.testing.assert_array_equal(by_name.y, frame["income"].to_numpy())
    by_index = load_dataset(tmp_path / "a.pq", label_column="-1")  # booleans: 0 / 1
    assert by_index.feature_names == ["Target", "income"]
    np.testing.assert_array_equal(by_index.y, frame["smoker"].to_numpy().astype(int))
    with pytest.raises(ValueError, match="'nope' is not a column"):
        load_dataset(tmp_path / "a.pq", label_column="nope")


def test_text_features_are_kept_as_text_as_csv_keeps_them(tmp_path):
    frame = _frame(m=12).assign(
        city=["Paris", "Lyon", None] * 4,
        port=pd.Categorical(["S", "C", "Q", "S"] * 3),
    )
    frame.to_parquet(tmp_path / "t.parquet")
    frame.assign(smoker=frame["smoker"].astype(int)).to_csv(
        tmp_path / "t.csv", index=False
    )
    loaded = load_dataset(tmp_path / "t.parquet", label_column="outcome")
    twin = load_csv(tmp_path / "t.csv", label_column="outcome")
    assert loaded.X.dtype == twin.X.dtype == object  # for the table layers (D40)
    assert loaded.feature_names == twin.feature_names
    assert loaded.X[:, 3:].tolist() == twin.X[:, 3:].tolist()  # None where empty
    np.testing.assert_array_equal(
        loaded.X[:, :3].astype(float), twin.X[:, :3].astype(float)
    )
    table = read_parquet_table(tmp_path / "t.parquet")
    assert table.names == [*frame.columns]
    assert table.column("city").tolist() == ["Paris", "Lyon", None] * 4


def test_a_feature_of_another_type_is_refused_by_name(tmp_path):
    frame = _frame().assign(seen=pd.Timestamp("2026-01-01"))
    frame.to_parquet(tmp_path / "f.parquet")
    with pytest.raises(
        DataFileError, match=r"feature column 'seen' \(index 4\) holds timestamp"
    ):
        load_dataset(tmp_path / "f.parquet", label_column="outcome")


def test_missing_values(tmp_path):
    frame = pl.DataFrame({"a": [1.0, None, 3.0, 4.0], "label": [0, 1, 0, 1]})
    frame.write_parquet(tmp_path / "holes.parquet")
    with pytest.warns(UserWarning, match="'a' has 1 missing value"):
        loaded = load_dataset(tmp_path / "holes.parquet")
    assert np.isnan(loaded.X[1, 0])
    frame = pl.DataFrame({"a": [1.0, 2.0, 3.0], "label": [0, None, 1]})
    frame.write_parquet(tmp_path / "nolabel.parquet")
    with pytest.raises(DataFileError, match="'label' is empty on row 1"):
        load_dataset(tmp_path / "nolabel.parquet")


def test_the_budget_is_checked_from_the_metadata_before_reading(tmp_path):
    m = 200_000  # 1.6 MB a column of float64; zeros compress to almost nothing
    pl.DataFrame({"a": np.zeros(m), "b": np.zeros(m), "y": np.zeros(m)}).write_parquet(
        tmp_path / "big.parquet"
    )
    assert (tmp_path / "big.parquet").stat().st_size < 100_000
    with pytest.raises(DataFileError, match=r"big.parquet.*max_total_bytes") as caught:
        load_dataset(tmp_path / "big.parquet", budget={"max_total_bytes": 2**20})
    # column a, counted before anything is read: 200000 float64 values as stored
    # and the Dataset's float64 copy of them, after the metadata (4 x its bytes)
    needed = re.search(r"with column 'a' the load needs (\d+) bytes", str(caught.value))
    assert needed and 3_200_000 < int(needed.group(1)) < 3_200_000 + 4 * 2**12
    with pytest.raises(DataFileError, match="max_array_bytes"):
        load_dataset(tmp_path / "big.parquet", budget={"max_array_bytes": 2**20})
    assert load_dataset(tmp_path / "big.parquet").X.shape == (m, 2)


def test_a_footer_longer_than_the_file_is_refused_before_parsing(tmp_path):
    _frame().to_parquet(tmp_path / "f.parquet")
    data = (tmp_path / "f.parquet").read_bytes()
    (tmp_path / "lying.parquet").write_bytes(
        data[:-8] + (10**8).to_bytes(4, "little") + b"PAR1"
    )
    with pytest.raises(DataFileError, match="footer declares 100000000 bytes"):
        load_dataset(tmp_path / "lying.parquet")


def test_not_parquet(tmp_path):
    (tmp_path / "fake.parquet").write_text("a,b\n1,2\n")
    with pytest.raises(DataFileError, match="cannot read .*fake.parquet as Parquet"):
        load_dataset(tmp_path / "fake.parquet")
    (tmp_path / "folder.parquet").mkdir()
    with pytest.raises(ValueError):
        load_dataset(tmp_path / "folder.parquet")


def test_missing_pyarrow_names_the_extra(tmp_path, monkeypatch):
    _frame().to_parquet(tmp_path / "f.parquet")
    for name in [n for n in sys.modules if n == "pyarrow" or n.startswith("pyarrow.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if not installed
    with pytest.raises(MissingDependencyError, match=r'"glassnet\[parquet\]"'):
        load_dataset(tmp_path / "f.parquet")


def _glassnet(*args, cwd):
    process = subprocess.run(
        [sys.executable, "-m", "glassnet", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert process.returncode == 0, process.stderr
    return process.stdout


@pytest.mark.slow
def test_train_predict_evaluate_on_parquet_files_agree_with_python(tmp_path):
    frame = _frame(m=200, seed=1)
    pl.from_pandas(frame).write_parquet(tmp_path / "train.parquet")
    _glassnet(
        "train", "--data", "train.parquet", "--epochs", "15", "--quiet",
        "--out", "run", cwd=tmp_path,
    )  # fmt: skip
    new = _frame(m=40, seed=2)
    reordered = new[["outcome", "smoker", "income", "age"]]  # by name, not position
    reordered.to_parquet(tmp_path / "new.parquet")
    printed = _glassnet("predict", "run", "new.parquet", cwd=tmp_path).split()
    model = gn.load(tmp_path / "run" / "model.glassnet")
    assert model.column_names == ["age", "income", "smoker"]
    X = new[["age", "income", "smoker"]].to_numpy(dtype=np.float64)
    assert printed == model.predict(X).tolist()
    assert printed == model.predict(reordered.drop(columns="outcome")).tolist()
    table = _glassnet(
        "evaluate", "run", "--data", "new.parquet", "--label-column", "outcome",
        cwd=tmp_path,
    )  # fmt: skip
    row = table.splitlines()[1].split()
    scores = model.evaluate(X, new["outcome"].to_numpy(dtype=object))
    assert row[0] == "data" and int(row[1]) == 40
    assert float(row[3]) == pytest.approx(scores["accuracy"], abs=5e-5)
    assert float(row[2]) == pytest.approx(scores["cost"], abs=5e-5)


@pytest.mark.slow
def test_a_table_with_text_columns_trains_and_predicts_from_parquet(tmp_path):
    frame = _frame(m=150, seed=3).assign(
        city=lambda f: np.where(f["age"] > 50, "Paris", "Lyon")
    )
    frame.to_parquet(tmp_path / "t.parquet")
    _glassnet(
        "train", "--data", "t.parquet", "--label-column", "outcome",
        "--epochs", "5", "--quiet", "--out", "run", cwd=tmp_path,
    )  # fmt: skip
    new = _frame(m=20, seed=4).assign(city=["Paris", "Lyon", "Nice", None] * 5)
    new[["city", "outcome", "income", "smoker", "age"]].to_parquet(tmp_path / "n.pq")
    printed = _glassnet("predict", "run", "n.pq", cwd=tmp_path).split()
    model = gn.load(tmp_path / "run" / "model.glassnet")
    assert model.table_layers()  # the text column made a table model (D40)
    with pytest.warns(UserWarning, match="'Nice'"):  # unseen: city=(other)
        expected = model.predict(new)
    assert printed == [str(v) for v in expected.tolist()]


@pytest.mark.slow
def test_a_process_that_read_parquet_with_polars_loaded_exits_cleanly(tmp_path):
    # pyarrow's reader over a Python file object aborted the interpreter at exit
    # ("terminate called without an active exception") once polars was imported
    _frame().to_parquet(tmp_path / "f.parquet")
    code = (
        "import polars\n"
        "from glassnet.data import load_dataset\n"
        f"print(load_dataset({str(tmp_path / 'f.parquet')!r}).X.shape)\n"
    )
    process = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert process.returncode == 0, process.stderr
    assert process.stdout.strip() == "(60, 3)"
