"""``glassnet train`` in-process: data sources, every option, resuming, configs,
and predicting / evaluating on what a run was trained on (see tests/test_cli.py).

Runs that several tests compare against (a small iris baseline, CSV runs, a
checkpointed digits run) are made once per module by fixtures.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from test_cli import (
    assert_one_line_error,
    blobs,
    cli,
    column,
    comparable,
    manifest,
    model_array,
    ok,
    read_config,
    read_history,
    read_results,
    write_csv,
)


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """A folder shared by the module's fixture runs."""
    return tmp_path_factory.mktemp("cli_train")


IRIS_BASE = ["--data", "iris", "--epochs", "3", "--seed", "0", "--quiet"]


@pytest.fixture(scope="module")
def iris_base(work) -> Path:
    """The small baseline the option tests compare against."""
    ok(cli("train", *IRIS_BASE, "--out", "iris_base", cwd=work))
    return work / "iris_base"


def test_train_data_by_name(iris_base):
    config, results = read_config(iris_base), read_results(iris_base)["results"]
    assert config["data"] == "iris"
    assert sum(r["examples"] for r in results.values()) == 150
    assert manifest(iris_base / "model.glassnet")["model"]["n_x"] == 4


@pytest.fixture(scope="module")
def csv_text_label_run(work):
    """Train on a CSV whose label column holds text, named with --label-column."""
    X, y = blobs()
    names = np.array(["cat", "dog"])[y]
    write_csv(
        work / "pets.csv",
        ["a", "b", "c", "species"],
        [[*row, name] for row, name in zip(X.tolist(), names, strict=True)],
    )
    write_csv(work / "pets_features.csv", ["a", "b", "c"], X.tolist())
    outcome = ok(
        cli(
            "train",
            "--data",
            "pets.csv",
            "--label-column",
            "species",
            "--epochs",
            "10",
            "--lr",
            "0.01",
            "--quiet",
            "--out",
            "pets",
            cwd=work,
        )
    )
    return {"outcome": outcome, "run": work / "pets", "names": names}


def test_train_data_csv_with_text_label_column(csv_text_label_run):
    run = csv_text_label_run["run"]
    assert read_config(run)["label_column"] == "species"
    assert manifest(run / "model.glassnet")["model"]["n_x"] == 3
    assert read_results(run)["results"]["test"]["accuracy"] >= 0.9


@pytest.fixture(scope="module")
def csv_label_first_run(work):
    """A CSV whose numeric label column ``target`` comes first (found by name)."""
    X, y = blobs(seed=1)
    write_csv(
        work / "first.csv",
        ["target", "a", "b", "c"],
        [[int(label), *row] for row, label in zip(X.tolist(), y, strict=True)],
    )
    ok(
        cli(
            "train",
            "--data",
            "first.csv",
            "--epochs",
            "10",
            "--lr",
            "0.01",
            "--quiet",
            "--out",
            "first",
            cwd=work,
        )
    )
    return {"run": work / "first", "y": y}


def test_train_data_csv_label_column_found_by_name(csv_label_first_run):
    run = csv_label_first_run["run"]
    assert manifest(run / "model.glassnet")["model"]["n_x"] == 3
    assert read_results(run)["results"]["test"]["accuracy"] >= 0.9


def test_train_and_evaluate_headerless_csv_with_label_column_index(work):
    """--label-column 0 picks the first column of a file with no header line."""
    X, y = blobs(seed=3)
    rows = [[int(label), *row] for row, label in zip(X.tolist(), y, strict=True)]
    write_csv(work / "headerless.csv", None, rows)
    common = ("--data", "headerless.csv", "--label-column", "0")
    ok(cli("train", *common, "--epochs", "10", "--lr", "0.01", "--quiet",
                "--out", "headerless", cwd=work))  # fmt: skip
    run = work / "headerless"
    assert manifest(run / "model.glassnet")["model"]["n_x"] == 3
    assert read_config(run)["label_column"] == "0"
    assert read_results(run)["results"]["test"]["accuracy"] >= 0.9
    shown = ok(cli("evaluate", run / "model.glassnet", *common, cwd=work))
    assert "accuracy" in shown.stdout
    # predict on the training file: the label is dropped from column 0, as trained
    outcome = ok(cli("predict", run / "model.glassnet", "headerless.csv", cwd=work))
    predicted = np.array([int(v) for v in outcome.stdout.split()])
    assert np.mean(predicted == y) >= 0.9
    features = [row[1:] for row in rows]
    write_csv(work / "headerless_features.csv", None, features)
    alone = ok(cli("predict", run / "model.glassnet", "headerless_features.csv",
                        cwd=work))  # fmt: skip
    assert alone.stdout == outcome.stdout
    error = assert_one_line_error(
        cli("train", "--data", "headerless.csv", "--label-column", "4", cwd=work)
    )
    assert "index must be in [-4, 4)" in error


def test_train_imputes_an_empty_cell_of_a_table(tmp_path):
    # an empty cell of a named table is the model's Imputation layer's (D40)
    X, y = blobs(60, seed=4)
    X[5, 1] = np.nan
    rows = [[*row, int(label)] for row, label in zip(X.tolist(), y, strict=True)]
    write_csv(tmp_path / "holes.csv", ["a", "b", "c", "label"], rows)
    outcome = ok(
        cli("train", "--data", "holes.csv", "--epochs", "2", "--quiet", cwd=tmp_path)
    )
    assert "b (numbers, 1 empty)" in outcome.stdout


def test_train_data_npz(tmp_path):
    X, y = blobs(200, seed=2)
    np.savez(tmp_path / "blobs.npz", X=X, y=y)
    outcome = ok(
        cli(
            "train",
            "--data",
            "blobs.npz",
            "--epochs",
            "10",
            "--lr",
            "0.01",
            "--quiet",
            "--out",
            "npz",
            cwd=tmp_path,
        )
    )
    run = tmp_path / "npz"
    results = read_results(run)["results"]
    assert sum(r["examples"] for r in results.values()) == 200
    assert results["test"]["accuracy"] >= 0.9
    assert "test" in outcome.stdout


def test_train_architecture_and_output_options(work):
    """--layers --activation --initializer --keep-prob a,b --dtype --lr --epochs
    --human-error --out (nested) --quiet, all in one run."""
    out = Path("deep") / "nested" / "run"
    outcome = ok(
        cli(
            "train",
            "--data",
            "iris",
            "--layers",
            "32,16",
            "--activation",
            "tanh",
            "--initializer",
            "he",
            "--keep-prob",
            "0.9,0.8",
            "--dtype",
            "float64",
            "--lr",
            "0.003",
            "--epochs",
            "4",
            "--human-error",
            "2",  # percent, as for glassnet diagnose
            "--quiet",
            "--out",
            out,
            cwd=work,
        )
    )
    run = work / out
    # --quiet: no progress bar (nothing at all on stderr)
    assert outcome.stderr == "", outcome.stderr
    # --out
    assert (run / "model.glassnet").is_file()
    assert str(out) in outcome.stdout
    # --layers, --activation, --initializer, --keep-prob per layer, --dtype
    model = manifest(run / "model.glassnet")["model"]
    # the model carries its preprocessing: iris (tabular) is standardized first
    assert model["layers"][0]["type"] == "Standardization"
    layers = model["layers"][1:]
    assert [la["type"] for la in layers] == [
        "Dense",
        "Dropout",
        "Dense",
        "Dropout",
        "Dense",
    ]
    assert [layers[i]["config"]["units"] for i in (0, 2, 4)] == [32, 16, 3]
    for i in (0, 2):
        assert layers[i]["config"]["activation"]["name"] == "tanh"
        assert layers[i]["config"]["initializer"]["name"] == "he"
    assert [layers[i]["config"]["keep_prob"] for i in (1, 3)] == [0.9, 0.8]
    assert model["dtype"] == "float64"
    assert model_array(run / "model.glassnet", "W1").dtype == np.float64
    assert model_array(run / "model.glassnet", "W1").shape == (32, 4)
    # --lr and --epochs
    history = read_history(run)
    assert len(history) == 4
    assert column(history, "learning_rate") == [0.003] * 4
    config = read_config(run)
    assert config["learning_rate"] == 0.003 and config["keep_prob"] == [0.9, 0.8]
    # --human-error feeds the diagnosis
    assert re.search(r"human-level\s+2\.0%", outcome.stdout), outcome.stdout


OPTIMIZERS = [
    ("gd", []),
    ("momentum", ["--beta1", "0.5"]),
    ("rmsprop", ["--beta2", "0.9", "--epsilon", "1e-4"]),
    ("adam", ["--beta1", "0.5", "--beta2", "0.9", "--epsilon", "1e-4"]),
]


@pytest.mark.parametrize("name, extra", OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
def test_train_optimizers(name, extra, iris_base, work):
    out = f"opt_{name}"
    ok(cli("train", *IRIS_BASE, "--optimizer", name, *extra, "--out", out, cwd=work))
    run = work / out
    config = read_config(run)
    assert config["optimizer"] == name
    for option, value in zip(extra[::2], extra[1::2], strict=True):
        assert config[option.lstrip("-")] == float(value)
    # the baseline is Adam with the default betas and epsilon: a different
    # optimizer, or Adam with other betas, must train differently
    assert column(read_history(run), "cost") != column(read_history(iris_base), "cost")


def test_train_momentum_beta1_has_an_effect(work):
    args = [*IRIS_BASE, "--optimizer", "momentum", "--lr", "0.1"]
    ok(cli("train", *args, "--beta1", "0.0", "--out", "mom0", cwd=work))
    ok(cli("train", *args, "--beta1", "0.9", "--out", "mom9", cwd=work))
    assert column(read_history(work / "mom0"), "cost") != column(
        read_history(work / "mom9"), "cost"
    )


SCHEDULES = [
    ("inverse_time", ["--decay-rate", "0.5"], lambda k, s: 0.1 / (1 + 0.5 * k)),
    ("exponential", [], lambda k, s: 0.1 * 0.95**k),
    (
        "inverse_sqrt_epoch",
        ["--decay-rate", "0.5"],
        lambda k, s: 0.1 * 0.5 / math.sqrt(k + 1),
    ),
    (
        "inverse_sqrt_step",
        ["--decay-rate", "0.5"],
        lambda k, s: 0.1 * 0.5 / math.sqrt(k * s + 1),
    ),
]


@pytest.mark.parametrize(
    "schedule, extra, expected", SCHEDULES, ids=[s[0] for s in SCHEDULES]
)
def test_train_schedules_decay_the_learning_rate(schedule, extra, expected, work):
    out = f"sched_{schedule}"
    ok(
        cli(
            "train",
            *IRIS_BASE,
            "--optimizer",
            "gd",
            "--lr",
            "0.1",
            "--schedule",
            schedule,
            *extra,
            "--out",
            out,
            cwd=work,
        )
    )
    run = work / out
    rates = column(read_history(run), "learning_rate")
    steps_per_epoch = math.ceil(read_results(run)["results"]["train"]["examples"] / 32)
    assert len(rates) == 3
    assert rates == pytest.approx([expected(k, steps_per_epoch) for k in range(3)])
    assert rates[0] > rates[1] > rates[2]


def test_train_schedule_time_interval_is_a_staircase(work):
    ok(
        cli(
            "train",
            "--data",
            "iris",
            "--epochs",
            "4",
            "--quiet",
            "--optimizer",
            "gd",
            "--lr",
            "0.1",
            "--schedule",
            "inverse_time",
            "--decay-rate",
            "1",
            "--time-interval",
            "2",
            "--out",
            "staircase",
            cwd=work,
        )
    )
    rates = column(read_history(work / "staircase"), "learning_rate")
    assert rates == pytest.approx([0.1, 0.1, 0.05, 0.05])


def test_train_exponential_schedule_honours_decay_rate(work):
    """--decay-rate with --schedule exponential must not be silently ignored: either
    it is the base (Keras' ExponentialDecay(decay_rate=...)), or it is refused."""
    outcome = cli(
        "train",
        *IRIS_BASE,
        "--optimizer",
        "gd",
        "--lr",
        "0.1",
        "--schedule",
        "exponential",
        "--decay-rate",
        "0.5",
        "--out",
        "sched_exp_half",
        cwd=work,
    )
    if outcome.returncode == 2:
        assert_one_line_error(outcome)
        return
    ok(outcome)
    rates = column(read_history(work / "sched_exp_half"), "learning_rate")
    assert rates == pytest.approx([0.1, 0.05, 0.025]), (
        f"--decay-rate 0.5 was ignored: learning rates {rates} (the default 0.95 base)"
    )


@pytest.mark.parametrize("option, value", [("--l2", "5"), ("--l1", "1")])
def test_train_regularization_shrinks_the_weights(option, value, iris_base, work):
    out = f"reg_{option.strip('-')}"
    ok(cli("train", *IRIS_BASE, option, value, "--out", out, cwd=work))
    run = work / out
    assert read_config(run)[option.strip("-")] == float(value)
    W = model_array(run / "model.glassnet", "W1")
    W_base = model_array(iris_base / "model.glassnet", "W1")
    if option == "--l2":
        assert np.sum(W**2) < np.sum(W_base**2)
    else:
        assert np.abs(W).sum() < np.abs(W_base).sum()
    # the training cost includes the penalty
    assert float(read_history(run)[0]["cost"]) > float(
        read_history(iris_base)[0]["cost"]
    )


def test_train_early_stopping(work):
    ok(
        cli(
            "train",
            "--data",
            "iris",
            "--epochs",
            "60",
            "--lr",
            "0.2",
            "--early-stopping",
            "2",
            "--quiet",
            "--out",
            "early",
            cwd=work,
        )
    )
    run = work / "early"
    epochs_run = read_results(run)["epochs_run"]
    history = read_history(run)
    assert epochs_run < 60
    assert len(history) == epochs_run
    val_cost = column(history, "val_cost")
    # stopped after 2 epochs without improving the best dev cost
    assert int(np.argmin(val_cost)) == len(val_cost) - 1 - 2, val_cost


def test_train_augment_has_an_effect_on_vectors(iris_base, work):
    ok(cli("train", *IRIS_BASE, "--augment", "--out", "aug_iris", cwd=work))
    assert read_config(work / "aug_iris")["augment"] is True
    assert column(read_history(work / "aug_iris"), "cost") != column(
        read_history(iris_base), "cost"
    )


def test_train_seed_reproduces_and_changes_results(iris_base, work):
    ok(cli("train", *IRIS_BASE, "--out", "seed_again", cwd=work))
    again = work / "seed_again"
    assert comparable(read_results(again)) == comparable(read_results(iris_base))
    assert (again / "history.csv").read_text() == (
        iris_base / "history.csv"
    ).read_text()
    assert np.array_equal(
        model_array(again / "model.glassnet", "W1"),
        model_array(iris_base / "model.glassnet", "W1"),
    )
    args = [a if a != "0" else "1" for a in IRIS_BASE]  # --seed 1
    ok(cli("train", *args, "--out", "seed_other", cwd=work))
    assert comparable(read_results(work / "seed_other")) != comparable(
        read_results(iris_base)
    )


DIGITS_SHORT = ["--epochs", "2", "--seed", "0", "--quiet"]


@pytest.fixture(scope="module")
def checkpointed(work) -> Path:
    """A digits run of 2 epochs with a checkpoint after every epoch."""
    ok(
        cli(
            "train", *DIGITS_SHORT, "--checkpoint-every", "1", "--out", "ckpt", cwd=work
        )
    )
    assert (work / "ckpt" / "checkpoint.glassnet").is_file()
    assert len(read_history(work / "ckpt")) == 2
    return work / "ckpt"


def test_train_resume_with_new_epochs_and_learning_rate(checkpointed, work):
    run = work / "resume_lr"
    shutil.copytree(checkpointed, run)
    ok(
        cli(
            "train",
            "--resume",
            run.name,
            "--epochs",
            "4",
            "--lr",
            "0.0005",
            "--quiet",
            cwd=work,
        )
    )
    history = read_history(run)
    assert len(history) == 4
    assert [int(r["epoch"]) for r in history] == [0, 1, 2, 3]
    assert column(history, "learning_rate") == [0.001, 0.001, 0.0005, 0.0005]
    # the first epochs are the checkpointed ones, untouched
    assert column(history, "cost")[:2] == column(read_history(checkpointed), "cost")
    config = read_config(run)
    assert config["epochs"] == 4 and config["learning_rate"] == 0.0005
    assert read_results(run)["epochs_run"] == 4


def test_train_resume_continues_exactly(checkpointed, work):
    """2 epochs + resume to 3 equals 3 uninterrupted epochs (same seed)."""
    run = work / "resume_same"
    shutil.copytree(checkpointed, run)
    ok(cli("train", "--resume", run.name, "--epochs", "3", "--quiet", cwd=work))
    ok(
        cli(
            "train",
            "--epochs",
            "3",
            "--seed",
            "0",
            "--quiet",
            "--out",
            "straight3",
            cwd=work,
        )
    )
    straight = work / "straight3"
    assert column(read_history(run), "cost") == column(read_history(straight), "cost")
    assert read_results(run)["results"] == read_results(straight)["results"]


def test_train_resume_keeps_the_runs_data(work):
    """Resuming a run trained on --data iris goes on with iris (its config.json),
    without repeating --data."""
    ok(
        cli(
            "train",
            "--data",
            "iris",
            "--epochs",
            "2",
            "--quiet",
            "--checkpoint-every",
            "1",
            "--out",
            "ckpt_iris",
            cwd=work,
        )
    )
    ok(cli("train", "--resume", "ckpt_iris", "--epochs", "3", "--quiet", cwd=work))
    assert read_config(work / "ckpt_iris")["data"] == "iris"
    assert len(read_history(work / "ckpt_iris")) == 3


def test_train_config_file_with_command_line_override(work):
    (work / "best.json").write_text(
        json.dumps(
            {"data": "iris", "layers": "16", "learning_rate": 0.005, "epochs": 9}
        )
    )
    ok(
        cli(
            "train",
            "--config",
            "best.json",
            "--epochs",
            "2",
            "--quiet",
            "--out",
            "from_config",
            cwd=work,
        )
    )
    run = work / "from_config"
    config = read_config(run)
    assert config["data"] == "iris" and config["layers"] == [16]
    assert config["learning_rate"] == 0.005
    assert config["epochs"] == 2  # the command line wins
    assert len(read_history(run)) == 2
    assert column(read_history(run), "learning_rate") == [0.005, 0.005]


# ===================================================================== predict


def test_predict_csv_with_text_label_column(csv_text_label_run, work):
    """Predict on the training file itself: its text label column is dropped and the
    predictions are the class names."""
    model = csv_text_label_run["run"] / "model.glassnet"
    names = csv_text_label_run["names"]
    features_only = ok(cli("predict", model, "pets_features.csv", cwd=work))
    predicted = features_only.stdout.split()
    assert set(predicted) <= {"cat", "dog"}
    assert np.mean(np.array(predicted) == names) >= 0.9
    with_label = cli("predict", model, "pets.csv", cwd=work)
    ok(with_label)
    assert with_label.stdout.split() == predicted


def test_predict_csv_with_label_column_first(csv_label_first_run, work):
    """The model was trained with ``target`` as the first column; predicting on the
    same file must drop that column, not the last feature."""
    run, y = csv_label_first_run["run"], csv_label_first_run["y"]
    outcome = ok(cli("predict", run / "model.glassnet", "first.csv", cwd=work))
    predicted = np.array([int(v) for v in outcome.stdout.split()])
    assert len(predicted) == len(y)
    assert np.mean(predicted == y) >= 0.9, (
        f"accuracy {np.mean(predicted == y):.2f}: the label column was read as a "
        "feature"
    )


# ===================================================================== evaluate


def test_evaluate_on_data_of_another_shape_prints_no_half_table(iris_base, work):
    outcome = cli(
        "evaluate", iris_base / "model.glassnet", "--data", "digits", cwd=work
    )
    assert "64 features per example but the model takes 4" in assert_one_line_error(
        outcome
    )
    assert outcome.stdout == ""
