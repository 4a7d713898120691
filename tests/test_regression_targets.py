"""Regression targets (architecture D29): the model carries the mean and spread of
its training targets (``model.target_scale``), trains and is scored on standardized
targets, and answers in the user's units in every path (``predict``, ``evaluate``,
the model file, ``glassnet train``'s table and results.json, ``glassnet evaluate``
and ``glassnet predict``); the regression metrics R^2, RMSE and MAE."""

from __future__ import annotations

import copy
import json
import pickle
import re

import numpy as np
import pytest
from sklearn import metrics as sk_metrics
from test_cli import cli, ok, read_results

import glassnet as gn
from glassnet import metrics as gm
from glassnet.targets import TargetScale

FIT = {"verbose": False, "rng": 0}


# ------------------------------------------------------------------ the metrics


def test_metrics_hand_worked():
    """y = (1, 2, 3, 4), y_hat = (1, 2, 3, 6): residuals (0, 0, 0, -2), so
    SS_res = 4; y_bar = 2.5, SS_tot = 2.25 + 0.25 + 0.25 + 2.25 = 5;
    R^2 = 1 - 4/5 = 0.2, RMSE = sqrt(4/4) = 1, MAE = 2/4 = 0.5."""
    y, y_hat = [1, 2, 3, 4], [1.0, 2.0, 3.0, 6.0]
    assert gm.r2(y, y_hat) == pytest.approx(0.2, abs=1e-15)
    assert gm.rmse(y, y_hat) == pytest.approx(1.0, abs=1e-15)
    assert gm.mae(y, y_hat) == pytest.approx(0.5, abs=1e-15)
    # predicting the mean of y_true scores 0; perfect predictions 1
    assert gm.r2(y, [2.5] * 4) == pytest.approx(0.0, abs=1e-15)
    assert gm.r2(y, y) == 1.0 and gm.rmse(y, y) == 0.0 and gm.mae(y, y) == 0.0


def test_metrics_second_hand_worked_case():
    """y = (3, -0.5, 2, 7), y_hat = (2.5, 0, 2, 8): errors (0.5, -0.5, 0, -1);
    SS_res = 1.5, MSE = 0.375, RMSE = sqrt(0.375); MAE = 2/4 = 0.5;
    y_bar = 2.875, SS_tot = 29.1875, R^2 = 1 - 1.5/29.1875."""
    y, y_hat = [3, -0.5, 2, 7], [2.5, 0.0, 2, 8]
    assert gm.r2(y, y_hat) == pytest.approx(1 - 1.5 / 29.1875, rel=1e-14)
    assert gm.rmse(y, y_hat) == pytest.approx(np.sqrt(0.375), rel=1e-14)
    assert gm.mae(y, y_hat) == pytest.approx(0.5, rel=1e-14)


def test_metrics_agree_with_scikit_learn():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(40, 3)) * [1.0, 10.0, 100.0]
    y_hat = y + rng.normal(size=y.shape) * [0.5, 3.0, 20.0]
    assert gm.r2(y, y_hat) == pytest.approx(sk_metrics.r2_score(y, y_hat), rel=1e-12)
    assert gm.mae(y, y_hat) == pytest.approx(
        sk_metrics.mean_absolute_error(y, y_hat), rel=1e-12
    )
    assert gm.rmse(y, y_hat) == pytest.approx(
        np.sqrt(
            sk_metrics.mean_squared_error(y, y_hat, multioutput="raw_values")
        ).mean(),
        rel=1e-12,
    )
    # (m,) against (m, 1) is one output
    assert gm.r2(y[:, 0], y_hat[:, :1]) == pytest.approx(
        sk_metrics.r2_score(y[:, 0], y_hat[:, 0]), rel=1e-12
    )
    # a constant y_true: 1 when predicted exactly, else 0 (scikit-learn's values)
    assert gm.r2([2.0, 2.0], [2.0, 2.0]) == 1.0
    assert gm.r2([2.0, 2.0], [2.0, 3.0]) == 0.0


def test_metrics_are_registered_and_refuse_bad_input():
    for name in gm.REGRESSION_METRICS:
        assert gm.get_metric(name) is getattr(gm, name)
        assert name in gm.metric_names()
    with pytest.raises(ValueError, match="same shape"):
        gm.r2([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="finite"):
        gm.rmse([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(ValueError, match="numeric values"):
        gm.mae(["a", "b"], [1.0, 2.0])
    with pytest.raises(ValueError, match="at least one example"):
        gm.r2([], [])


# ------------------------------------------------------------- the target scale


def test_target_scale_from_training_targets():
    y = np.array([[1.0, 5.0], [3.0, 5.0], [5.0, 5.0]])
    scale = TargetScale.from_targets(y)
    np.testing.assert_array_equal(scale.mean, [3.0, 5.0])
    # population std of (1, 3, 5) = sqrt(8/3); a constant output gets spread 1
    np.testing.assert_allclose(scale.spread, [np.sqrt(8 / 3), 1.0], rtol=1e-15)
    standard = scale.standardize(y)
    np.testing.assert_allclose(standard.mean(axis=0), 0, atol=1e-15)
    np.testing.assert_allclose(standard[:, 0].std(), 1, rtol=1e-15)
    np.testing.assert_allclose(scale.restore(standard), y, rtol=1e-15)
    assert TargetScale.from_config(scale.get_config()) == scale
    assert json.loads(json.dumps(scale.get_config())) == scale.get_config()


@pytest.mark.parametrize(
    "config, message",
    [
        ({"mean": [1.0], "spread": [0.0]}, "positive"),
        ({"mean": [1.0, 2.0], "spread": [1.0]}, "one mean and one spread"),
        ({"mean": [1.0], "spread": [float("inf")]}, "finite"),
        ({"mean": ["a"], "spread": [1.0]}, "lists of numbers"),
        ({"mean": [1.0]}, "lists mean and spread"),
        ([1.0, 2.0], "lists mean and spread"),
    ],
)
def test_target_scale_refuses_malformed_config(config, message):
    with pytest.raises(ValueError, match=message):
        TargetScale.from_config(config)


def _regression_data(m=120, seed=0):
    """Targets around 150 with a spread of ~80, like the diabetes set's."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, 3))
    y = 150 + 80 * (X @ np.array([0.6, -0.5, 0.3])) + rng.normal(size=m) * 10
    return X, y


def _scaled_model(X, y, epochs=40):
    model = gn.Sequential([gn.Dense(8, "relu"), gn.Dense(1)]).adapt_targets(y)
    history = model.fit(
        X, y, epochs=epochs, batch_size=32, optimizer=gn.Adam(0.01), **FIT
    )
    return model, history


def test_fit_trains_on_standardized_targets_and_predict_answers_in_y_units():
    X, y = _regression_data()
    model, history = _scaled_model(X, y)
    scale = model.target_scale
    assert scale.mean[0] == pytest.approx(y.mean()) and scale.spread[0] == (
        pytest.approx(y.std())
    )
    # the cost is the notes' 1/(2m) sum (a - y)^2 on standardized targets
    A = model.predict_proba(X)[:, 0].astype(np.float64)
    standard = (y - y.mean()) / y.std()
    expected = np.sum((A - standard) ** 2) / (2 * len(y))
    scores = model.evaluate(X, y)
    assert scores["cost"] == pytest.approx(expected, rel=1e-5)
    assert history["cost"][-1] < 0.1  # in standardized units (the raw MSE is ~6000)
    # predictions are mu + s a, in the units of y, as float64
    prediction = model.predict(X)
    assert prediction.dtype == np.float64
    np.testing.assert_allclose(prediction, y.mean() + y.std() * A, rtol=1e-12)
    # evaluate's metrics are on those values, in y's units
    assert set(scores) == {"cost", "r2", "rmse", "mae"}
    assert scores["r2"] == pytest.approx(gm.r2(y, prediction), rel=1e-6)
    assert scores["rmse"] == pytest.approx(gm.rmse(y, prediction), rel=1e-5)
    assert scores["mae"] == pytest.approx(gm.mae(y, prediction), rel=1e-5)
    assert scores["r2"] > 0.9
    # RMSE^2 / 2 in y's units is the standardized cost times s^2
    assert scores["rmse"] ** 2 / 2 == pytest.approx(
        scores["cost"] * y.std() ** 2, rel=1e-4
    )


def test_standardized_targets_beat_raw_targets():
    """The issue's symptom, small: on targets around 150 the same network and
    epochs trained on the raw values end worse than predicting the mean."""
    X, y = _regression_data()
    scaled, _ = _scaled_model(X, y, epochs=10)
    raw = gn.Sequential([gn.Dense(8, "relu"), gn.Dense(1)])
    raw.fit(X, y, epochs=10, batch_size=32, optimizer=gn.Adam(0.01), **FIT)
    assert gm.r2(y, raw.predict(X)) < 0 < 0.5 < gm.r2(y, scaled.predict(X))


def test_the_model_file_and_copies_carry_the_target_scale(tmp_path):
    X, y = _regression_data()
    model, _ = _scaled_model(X, y, epochs=5)
    path = tmp_path / "reg.glassnet"
    model.save(path)
    loaded = gn.load(path)
    assert loaded.target_scale == model.target_scale
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.evaluate(X, y) == model.evaluate(X, y)
    for other in (
        copy.deepcopy(model),
        pickle.loads(pickle.dumps(model)),
        gn.Sequential.from_config(model.get_config()),
    ):
        assert other.target_scale == model.target_scale
    wide = model.astype("float64")
    assert wide.target_scale == model.target_scale
    np.testing.assert_allclose(wide.predict(X), model.predict(X), rtol=1e-5)


def test_multi_output_targets_each_get_their_scale():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 2))
    Y = np.column_stack([1000 + 300 * X[:, 0], -0.01 + 0.002 * X[:, 1]])
    model = gn.Sequential([gn.Dense(2)]).adapt_targets(Y)
    model.fit(X, Y, epochs=200, batch_size=None, optimizer=gn.Adam(0.05), **FIT)
    prediction = model.predict(X)
    assert prediction.shape == (80, 2)
    for j in range(2):  # each output learned in its own units
        assert gm.r2(Y[:, j], prediction[:, j]) > 0.99


def test_a_target_scale_needs_a_matching_linear_output():
    scale = TargetScale([150.0], [80.0])
    with pytest.raises(ValueError, match="linear"):
        gn.Sequential([gn.Dense(3, "softmax")], target_scale=scale).build(2, rng=0)
    with pytest.raises(ValueError, match="1 output"):
        gn.Sequential([gn.Dense(2)], target_scale=scale).build(2, rng=0)
    model = gn.Sequential([gn.Dense(1)]).build(2, rng=0)
    model.target_scale = {"mean": [150.0], "spread": [80.0]}  # a config works too
    assert model.target_scale == scale
    model.target_scale = None  # and it can be removed: values as given
    np.testing.assert_array_equal(
        model.predict(np.ones((2, 2))), model.predict_proba(np.ones((2, 2)))[:, 0]
    )


def test_evaluate_metrics_by_output():
    """None: accuracy for a classifier, r2 / rmse / mae for a linear output; a
    linear output skips the label metrics' names."""
    X, y = _regression_data(40)
    model = gn.Sequential([gn.Dense(1)]).adapt_targets(y).build(3, rng=0)
    assert set(model.evaluate(X, y)) == {"cost", "r2", "rmse", "mae"}
    assert set(model.evaluate(X, y, metrics=("accuracy", "mae"))) == {"cost", "mae"}
    assert set(model.evaluate(X, y, metrics=())) == {"cost"}
    classifier = gn.Sequential([gn.Dense(3, "softmax")]).build(3, rng=0)
    labels = np.arange(40) % 3
    assert set(classifier.evaluate(X, labels)) == {"cost", "accuracy"}


# -------------------------------------------------------------------- the CLI


@pytest.fixture(scope="module")
def diabetes_run(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("diabetes")
    outcome = ok(cli("train", "--data", "diabetes", "--out", "run", "--quiet", cwd=cwd))
    return cwd, cwd / "run", outcome


def test_train_reports_r2_rmse_mae_and_says_the_cost_is_standardized(diabetes_run):
    from glassnet.run_config import RunConfig
    from glassnet.runs import prepare_data

    cwd, run, outcome = diabetes_run
    results = read_results(run)["results"]
    header = next(l for l in outcome.stdout.splitlines() if l.startswith("split"))
    assert header.split() == [
        "split", "examples", "cost", "(standardized", "y)", "r2", "rmse", "mae"
    ]  # fmt: skip
    summary = json.loads((run / "results.json").read_text())
    assert "standardized" in summary["target_scale"]["cost"]
    splits = prepare_data(RunConfig(data="diabetes"))["splits"]
    y_train = splits["train"][1]
    assert summary["target_scale"]["mean"] == [pytest.approx(y_train.mean())]
    assert summary["target_scale"]["spread"] == [pytest.approx(y_train.std())]
    test = results["test"]
    assert test["r2"] > 0.1  # clearly better than the mean (0.25-0.34 seen)
    # no worse than predicting the training mean, on the same (standardized) scale
    X_test, y_test = splits["test"]
    baseline = np.mean((y_test - y_train.mean()) ** 2) / (2 * y_train.var())
    assert test["cost"] < baseline
    # the table shows results.json's numbers
    row = next(l for l in outcome.stdout.splitlines() if l.startswith("test"))
    assert row.split()[2:] == [f"{test[k]:.4f}" for k in ("cost", "r2", "rmse", "mae")]
    # and they are the model file's, in y's units
    model = gn.load(run / "model.glassnet")
    prediction = model.predict(X_test)
    assert test["rmse"] == pytest.approx(gm.rmse(y_test, prediction), rel=1e-6)
    assert test["r2"] == pytest.approx(gm.r2(y_test, prediction), rel=1e-6)
    assert abs(prediction.mean() - y_train.mean()) < 0.5 * y_train.std()


def test_glassnet_evaluate_and_predict_answer_in_y_units(diabetes_run):
    from glassnet.data import load_dataset

    cwd, run, _ = diabetes_run
    model = gn.load(run / "model.glassnet")
    data = load_dataset("diabetes")
    outcome = ok(cli("evaluate", "run/model.glassnet", "--data", "diabetes", cwd=cwd))
    lines = outcome.stdout.splitlines()
    assert re.search(r"cost \(standardized y\)\s+r2\s+rmse\s+mae$", lines[0])
    python = model.evaluate(data.X, data.y)
    assert lines[1].split()[2:] == [
        f"{python[k]:.4f}" for k in ("cost", "r2", "rmse", "mae")
    ]
    np.savez(cwd / "rows.npz", X=data.X[:20])
    for options in ((), ("--proba",)):
        printed = ok(
            cli("predict", *options, "run/model.glassnet", "rows.npz", cwd=cwd)
        )
        values = np.array([float(v) for v in printed.stdout.split()])
        np.testing.assert_array_equal(values, model.predict(data.X[:20]))
        assert 25 < values.mean() < 350  # the targets' units, not standardized ones


def test_benchmark_reads_the_reported_r2(monkeypatch):
    """benchmarks/accuracy.py's regression row is the R^2 in results.json."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[1] / "benchmarks" / "accuracy.py"
    spec = importlib.util.spec_from_file_location("accuracy_benchmark", path)
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    score, _, result = benchmark.run_glassnet("diabetes", seed=0)
    assert score == result.results["test"]["r2"] > 0.1
