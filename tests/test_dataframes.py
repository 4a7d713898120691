"""pandas and polars DataFrames at the Python boundary (issue 22, point 5):
``Sequential`` and the estimators take them, record the column names (in the model
file too), read later frames by name (reordered columns work; a missing or unknown
column is refused naming it) and follow scikit-learn's conventions for the
estimators."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
pl = pytest.importorskip("polars")

import glassnet as gn  # noqa: E402
from glassnet.estimators import GlassClassifier, GlassRegressor  # noqa: E402
from glassnet.io import ModelFileError  # noqa: E402

COLUMNS = ["age", "income", "height"]


def _table(m=120, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 90, size=m),
            "income": rng.normal(50.0, 10.0, size=m),
            "height": rng.normal(1.7, 0.1, size=m),
        }
    )
    labels = np.where(frame["income"] + 0.2 * frame["age"] > 60, "rich", "poor")
    return frame, pd.Series(labels, name="wealth")


def _fitted_model(frame, labels):
    model = gn.Sequential(
        [gn.Standardization(), gn.Dense(5, "relu"), gn.Dense(1, "sigmoid")],
        classes=["poor", "rich"],
    )
    model.layers[0].adapt(frame.to_numpy(dtype=np.float64))
    model.fit(frame, labels, epochs=3, batch_size=32, rng=0, verbose=False)
    return model


def test_fit_records_the_columns_and_predict_reads_frames_by_name(tmp_path):
    frame, labels = _table()
    model = _fitted_model(frame, labels)
    assert model.column_names == COLUMNS
    rows = frame[COLUMNS].to_numpy(dtype=np.float64)
    expected = model.predict(rows)
    assert set(expected) <= {"poor", "rich"}
    shuffled = frame[["height", "age", "income"]]
    np.testing.assert_array_equal(model.predict(shuffled), expected)
    np.testing.assert_array_equal(model.predict(pl.from_pandas(shuffled)), expected)
    np.testing.assert_array_equal(
        model.predict_proba(shuffled), model.predict_proba(rows)
    )
    scores = model.evaluate(pl.from_pandas(shuffled), pl.Series(labels.to_numpy()))
    assert scores == model.evaluate(rows, labels.to_numpy())
    model.save(tmp_path / "m.glassnet")
    loaded = gn.load(tmp_path / "m.glassnet")
    assert loaded.column_names == COLUMNS
    assert loaded.feature_names == COLUMNS  # no table layers: the columns
    np.testing.assert_array_equal(loaded.predict(shuffled), expected)


def test_validation_frames_and_polars_training_frames():
    frame, labels = _table()
    model = gn.Sequential([gn.Dense(4, "relu"), gn.Dense(1, "sigmoid")])
    history = model.fit(
        pl.from_pandas(frame),
        pl.Series((labels == "rich").astype(int).to_numpy()),
        epochs=2,
        rng=0,
        verbose=False,
        validation_data=(frame[::-1][["income", "height", "age"]], labels == "rich"),
    )
    assert model.column_names == COLUMNS and len(history["val_cost"]) == 2


def test_missing_unknown_and_text_columns_are_refused_by_name():
    frame, labels = _table()
    model = _fitted_model(frame, labels)
    with pytest.raises(ValueError, match="missing column\\(s\\) 'height'"):
        model.predict(frame.drop(columns="height"))
    with pytest.raises(ValueError, match="column\\(s\\) 'city' that the model was not"):
        model.predict(frame.assign(city=1.0))
    with pytest.raises(ValueError, match="column 'age' holds String values"):
        model.predict(pl.from_pandas(frame.assign(age="old")))
    with pytest.raises(ValueError, match="missing column\\(s\\) 'age'"):
        model.fit(frame.drop(columns="age"), labels, epochs=1, verbose=False)


def test_frames_without_text_names_are_read_by_position():
    frame, labels = _table()
    unnamed = pd.DataFrame(frame.to_numpy())  # columns 0, 1, 2
    model = gn.Sequential([gn.Dense(3, "relu"), gn.Dense(1, "sigmoid")])
    model.fit(unnamed, (labels == "rich").astype(int), epochs=1, rng=0, verbose=False)
    assert model.column_names is None and model.feature_names is None
    np.testing.assert_array_equal(
        model.predict(unnamed), model.predict(frame.to_numpy(dtype=np.float64))
    )


def test_column_names_are_checked():
    with pytest.raises(TypeError, match="column_names\\[1\\] must be a text"):
        gn.Sequential([gn.Dense(1)], column_names=["a", 2])
    with pytest.raises(ValueError, match="repeats the column name\\(s\\) \\['a'\\]"):
        gn.Sequential([gn.Dense(1)], column_names=["a", "b", "a"])
    with pytest.raises(ValueError, match="1001 characters"):
        gn.Sequential([gn.Dense(1)], column_names=["x" * 1001])
    model = gn.Sequential([gn.Dense(1)], column_names=["a", "b"])
    with pytest.raises(
        ValueError, match="names 2 columns but the model is built for 3"
    ):
        model.build(3)
    built = gn.Sequential([gn.Dense(1)]).build(3)
    with pytest.raises(ValueError, match="names 2 columns but the model takes 3"):
        built.column_names = ["a", "b"]


def _rewrite_manifest(path, change):
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(members["manifest.json"])
    change(manifest["model"])
    members["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


@pytest.mark.parametrize(
    "names, words",
    [
        (["age", 5, "height"], "must be a text"),
        (["age", "income"], "names 2 columns"),
        (["age", "age", "height"], "repeats"),
        ("age,income,height", "must be a list"),
    ],
)
def test_a_model_file_s_column_names_are_checked_on_loading(tmp_path, names, words):
    frame, labels = _table()
    path = tmp_path / "m.glassnet"
    _fitted_model(frame, labels).save(path)
    _rewrite_manifest(path, lambda model: model.update(column_names=names))
    with pytest.raises(ModelFileError, match=words):
        gn.load(path)


def test_estimators_follow_scikit_learn_with_frames_read_by_name(tmp_path):
    frame, labels = _table()
    classifier = GlassClassifier(epochs=3, random_state=0).fit(
        pl.from_pandas(frame), labels
    )
    assert classifier.feature_names_in_.tolist() == COLUMNS
    assert classifier.n_features_in_ == 3
    assert classifier.model_.column_names == COLUMNS
    expected = classifier.predict(frame)
    shuffled = frame[["income", "height", "age"]]
    np.testing.assert_array_equal(classifier.predict(shuffled), expected)
    np.testing.assert_array_equal(
        classifier.predict_proba(pl.from_pandas(shuffled)),
        classifier.predict_proba(frame),
    )
    with pytest.raises(ValueError, match="missing column\\(s\\) 'age'"):
        classifier.predict(frame.drop(columns="age"))
    with pytest.raises(ValueError, match="'extra' that the model was not trained"):
        classifier.predict(frame.assign(extra=0.0))
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        classifier.predict(frame.to_numpy())
    unnamed = GlassClassifier(epochs=1, random_state=0).fit(frame.to_numpy(), labels)
    with pytest.warns(UserWarning, match="fitted without feature names"):
        unnamed.predict(frame)
    regressor = GlassRegressor(epochs=2, random_state=0).fit(frame, frame["income"])
    before = regressor.predict(frame)
    np.testing.assert_array_equal(regressor.predict(shuffled), before)
    regressor.partial_fit(shuffled, frame["income"])  # continues, by name
    assert regressor.n_iter_ == 3
    classifier.model_.save(tmp_path / "c.glassnet")
    assert gn.load(tmp_path / "c.glassnet").column_names == COLUMNS


@pytest.mark.slow
def test_arrays_never_import_pandas_or_polars():
    code = (
        "import sys, numpy as np, glassnet as gn\n"
        "m = gn.Sequential([gn.Dense(2, 'relu'), gn.Dense(1, 'sigmoid')])\n"
        "X = np.random.default_rng(0).normal(size=(20, 3)); y = (X[:, 0] > 0) * 1\n"
        "m.fit(X, y, epochs=1, verbose=False); m.predict(X); m.evaluate(X, y)\n"
        "print(sorted(n for n in ('pandas', 'polars', 'pyarrow') if n in sys.modules))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert output.returncode == 0, output.stderr
    assert output.stdout.strip() == "[]"
