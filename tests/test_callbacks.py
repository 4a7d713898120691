"""EarlyStopping that can be trusted: non-finite values are the worst, one line says
what it did, the run folder records it and the learning curve marks the best epoch.
(The restoring of the best weights is tested in test_training.py.)"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from test_cli import cli, ok

import glassnet as gn
from glassnet.run_config import RunConfig
from glassnet.runs import train_run

NAN, INF = math.nan, math.inf


class Scripted(gn.Callback):
    """Writes a scripted ``score`` into the logs and records each epoch's weights."""

    def __init__(self, script):
        self.script = script
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        logs["score"] = self.script[epoch]
        self.weights.append(self.model.get_weights())


def _fit(script, stopper, epochs=None):
    rng = np.random.default_rng(0)
    y = np.arange(30) % 2
    X = rng.normal(size=(30, 2)) + np.where(y[:, None] == 1, 2.0, -2.0)
    model = gn.Sequential([gn.Dense(3, "tanh"), gn.Dense(1, "sigmoid")])
    model.build(2, rng=0, dtype="float64")
    scripted = Scripted(script)
    history = model.fit(
        X,
        y,
        epochs=epochs or len(script),
        batch_size=10,
        optimizer=gn.Adam(0.05),
        callbacks=[scripted, stopper],
        verbose=False,
        rng=0,
    )
    return model, scripted, history


def _assert_weights_of(model, scripted, epoch):
    for key, value in model.get_weights().items():
        np.testing.assert_array_equal(value, scripted.weights[epoch][key], err_msg=key)


@pytest.mark.parametrize(
    "script, mode, best, stopped",
    [
        # a non-finite value is the worst: it uses up patience, never becomes best
        ([INF, 3.0, NAN, 4.0, 1.0], "min", 1, 3),
        ([5.0, 3.0, INF, NAN, 0.1], "min", 1, 3),
        ([0.5, NAN, -INF, 0.9], "max", 0, 2),
        # every value non-finite: the first epoch is kept (all are equally bad)
        ([NAN, INF, NAN, 1.0], "min", 0, 2),
    ],
)
def test_a_non_finite_value_counts_as_the_worst(script, mode, best, stopped):
    stopper = gn.EarlyStopping("score", patience=2, mode=mode, verbose=False)
    model, scripted, history = _fit(script, stopper)
    assert stopper.best_epoch == best and stopper.stopped_epoch == stopped
    assert len(history) == stopped + 1
    assert stopper.restored_epoch == best
    _assert_weights_of(model, scripted, best)


def test_the_issue_s_case_no_longer_skips_and_restores_epoch_0():
    # before: inf val_cost was skipped, so a run whose dev cost was inf after
    # epoch 0 never stopped and ended with epoch 0's weights, silently
    stopper = gn.EarlyStopping("score", patience=3, verbose=False)
    model, scripted, history = _fit([0.9, INF, INF, INF, INF, INF], stopper)
    assert stopper.stopped_epoch == 3 and len(history) == 4
    assert stopper.report()["weights_restored"] is True
    _assert_weights_of(model, scripted, 0)


def test_it_says_in_one_line_where_it_stopped_and_what_it_restored(capsys):
    stopper = gn.EarlyStopping("score", patience=2)
    _fit([5.0, 3.0, 4.0, 6.0, 1.0], stopper)
    line = "early stopping: stopped at epoch 3, best epoch 1 (score 3), weights "
    line += "restored from epoch 1"
    assert capsys.readouterr().out == line + "\n"
    assert stopper.message() == line
    assert stopper.report() == {
        "monitor": "score",
        "mode": "min",
        "patience": 2,
        "min_delta": 0.0,
        "best_epoch": 1,
        "best_value": 3.0,
        "stopped_epoch": 3,
        "weights_restored": True,
        "restored_epoch": 1,
        "message": line,
    }


def test_it_says_so_when_it_restores_without_stopping(capsys):
    stopper = gn.EarlyStopping("score", patience=5)
    model, scripted, _ = _fit([5.0, 3.0, 4.0], stopper)
    assert capsys.readouterr().out == (
        "early stopping: best epoch 1 (score 3), weights restored from epoch 1\n"
    )
    _assert_weights_of(model, scripted, 1)


def test_it_is_silent_when_the_last_epoch_is_the_best(capsys):
    stopper = gn.EarlyStopping("score", patience=2)
    model, scripted, _ = _fit([5.0, 4.0, 3.0], stopper)
    assert capsys.readouterr().out == ""
    assert stopper.message() is None and stopper.restored_epoch is None
    assert stopper.report()["weights_restored"] is False
    _assert_weights_of(model, scripted, 2)


def test_without_restoring_it_says_the_last_weights_are_kept(capsys):
    stopper = gn.EarlyStopping("score", patience=1, restore_best_weights=False)
    model, scripted, _ = _fit([2.0, 3.0, 1.0], stopper)
    assert capsys.readouterr().out == (
        "early stopping: stopped at epoch 1, best epoch 0 (score 2), the last "
        "epoch's weights kept\n"
    )
    _assert_weights_of(model, scripted, 1)


def test_verbose_false_prints_nothing(capsys):
    stopper = gn.EarlyStopping("score", patience=1, verbose=False)
    _fit([2.0, 3.0, 1.0], stopper)
    assert capsys.readouterr().out == ""
    assert stopper.message().startswith("early stopping: stopped at epoch 1")


def test_the_state_starts_over_with_each_fit():
    stopper = gn.EarlyStopping("score", patience=1, verbose=False)
    _fit([2.0, 3.0], stopper)
    assert stopper.stopped_epoch == 1
    _fit([3.0, 2.0], stopper)
    assert stopper.stopped_epoch is None and stopper.best_epoch == 1


# --- the learning curve and the run folder --------------------------------------------


def test_the_learning_curve_marks_the_best_epoch(tmp_path):
    history = gn.History()
    for epoch, (cost, val) in enumerate([(1.0, 1.1), (0.5, 0.7), (0.3, 0.9)]):
        history.on_epoch_end(epoch, {"cost": cost, "val_cost": val})
    figure = history.plot(tmp_path / "curve.png", best_epoch=1)
    axis = figure.axes[0]
    lines = {line.get_label(): line for line in axis.get_lines()}
    assert list(lines["best epoch 1"].get_xdata()) == [1, 1]
    dots = [line for line in axis.get_lines() if line.get_marker() == "o"]
    assert sorted(float(line.get_ydata()[0]) for line in dots) == [0.5, 0.7]
    assert (tmp_path / "curve.png").read_bytes()[:4] == b"\x89PNG"
    legend = [text.get_text() for text in axis.get_legend().get_texts()]
    assert legend == ["cost", "val_cost", "best epoch 1"]


def test_a_run_folder_records_early_stopping(tmp_path):
    config = RunConfig(data="digits", learning_rate=0.02, epochs=30, early_stopping=2)
    result = train_run(config, out=tmp_path / "run", verbose=False)
    summary = json.loads((tmp_path / "run" / "results.json").read_text())
    record = summary["early_stopping"]
    assert record == result.early_stopping
    assert record["monitor"] == "val_cost" and record["patience"] == 2
    assert record["stopped_epoch"] == summary["epochs_run"] - 1 < 29
    assert (
        record["weights_restored"]
        and record["restored_epoch"] == (record["best_epoch"])
    )
    history = result.history["val_cost"]
    assert record["best_value"] == pytest.approx(min(history))
    assert record["best_epoch"] == int(np.argmin(history))
    # the dev cost of the run's results is the best epoch's (weights restored)
    assert summary["results"]["dev"]["cost"] == pytest.approx(
        record["best_value"], rel=1e-5
    )


def test_a_run_without_early_stopping_records_none(tmp_path):
    config = RunConfig(data="iris", epochs=2)
    result = train_run(config, out=tmp_path / "run", verbose=False)
    assert result.early_stopping is None
    summary = json.loads((tmp_path / "run" / "results.json").read_text())
    assert "early_stopping" not in summary


def test_glassnet_train_prints_the_line_even_when_quiet(tmp_path):
    outcome = ok(
        cli(
            "train",
            "--data",
            "digits",
            "--lr",
            "0.02",
            "--epochs",
            "30",
            "--early-stopping",
            "2",
            "--out",
            tmp_path / "run",
            "--quiet",
        )
    )
    first = outcome.stdout.splitlines()[0]
    assert first.startswith("early stopping: stopped at epoch ")
    best = first.split(", best epoch ")[1].split()[0]
    assert first.endswith(f"weights restored from epoch {best}")
    record = json.loads((tmp_path / "run" / "results.json").read_text())
    assert record["early_stopping"]["message"] == first
