"""The ``glassnet`` command, run as a real process.

Every test starts ``python -m glassnet ...`` in a temporary folder (``cwd``) with a
timeout, and judges it only by what a user sees: the exit status, stdout, stderr and
the files it writes. Nothing here calls ``glassnet.cli.main`` in-process.

Runs that several tests look at (a default digits run, a small iris baseline, a
search) are made once per module by fixtures, to keep the file fast.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

GLASSNET = [sys.executable, "-m", "glassnet"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


# --------------------------------------------------------------------------- helpers


def glassnet(*args, cwd, timeout=120) -> subprocess.CompletedProcess:
    """Run ``glassnet ARGS`` in ``cwd`` and return the finished process."""
    return subprocess.run(
        [*GLASSNET, *(str(a) for a in args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=ENV,
    )


def ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, (
        f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n"
        f"{proc.stderr[-3000:]}"
    )
    return proc


def assert_one_line_error(proc: subprocess.CompletedProcess) -> str:
    """Status 2, exactly one stderr line starting ``glassnet: error:``, no traceback."""
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, (
        f"exit {proc.returncode}, expected 2\n--- stdout\n{proc.stdout[-2000:]}\n"
        f"--- stderr\n{proc.stderr[-2000:]}"
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    assert len(lines) == 1, f"expected one stderr line, got:\n{proc.stderr}"
    assert lines[0].startswith("glassnet: error:"), lines[0]
    return lines[0]


def read_history(run: Path) -> list[dict]:
    with open(run / "history.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def column(history: list[dict], name: str) -> list[float]:
    return [float(row[name]) for row in history]


def read_results(run: Path) -> dict:
    return json.loads((run / "results.json").read_text())


def comparable(results: dict) -> dict:
    """results.json without its wall-clock field (timings are never equal)."""
    return {k: v for k, v in results.items() if k != "seconds"}


def read_config(run: Path) -> dict:
    return json.loads((run / "config.json").read_text())


def manifest(model_file: Path) -> dict:
    with zipfile.ZipFile(model_file) as archive:
        return json.loads(archive.read("manifest.json"))


def model_array(model_file: Path, key: str) -> np.ndarray:
    with zipfile.ZipFile(model_file) as archive:
        return np.load(io.BytesIO(archive.read(f"arrays/param.{key}.npy")))


def layer_types(model_file: Path) -> list[str]:
    return [layer["type"] for layer in manifest(model_file)["model"]["layers"]]


def write_csv(path: Path, header, rows) -> Path:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        if header is not None:
            writer.writerow(header)
        writer.writerows(rows)
    return path


def blobs(n=300, seed=0):
    """Two well separated Gaussian blobs in 3 features; labels 0/1."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = rng.standard_normal((n, 3)) + np.c_[3.0 * y, -2.0 * y, 0.0 * y]
    return np.round(X, 4), y


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """A folder shared by the module's fixture runs."""
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """``glassnet train`` with no arguments, in an empty folder."""
    cwd = tmp_path_factory.mktemp("default")
    proc = ok(glassnet("train", cwd=cwd, timeout=180))
    runs = sorted((cwd / "runs").iterdir())
    return {"proc": proc, "cwd": cwd, "runs": runs, "run": runs[0] if runs else None}


IRIS_BASE = ["--data", "iris", "--epochs", "3", "--seed", "0", "--quiet"]


@pytest.fixture(scope="module")
def iris_base(work) -> Path:
    """The small baseline the option tests compare against."""
    ok(glassnet("train", *IRIS_BASE, "--out", "iris_base", cwd=work))
    return work / "iris_base"


@pytest.fixture(scope="module")
def digits_short(work) -> Path:
    """A weak digits run: batch norm, dropout, bigger batches, 2 epochs."""
    proc = ok(
        glassnet(
            "train",
            "--epochs",
            "2",
            "--keep-prob",
            "0.9",
            "--batchnorm",
            "--batch-size",
            "64",
            "--out",
            "digits_short",
            cwd=work,
        )
    )
    run = work / "digits_short"
    (run / "_stderr.txt").write_text(proc.stderr)
    return run


@pytest.fixture(scope="module")
def digits_rows():
    from sklearn.datasets import load_digits

    data = load_digits()
    return data.data[:40], data.target[:40]


# ====================================================================== train


def test_train_without_arguments_runs_and_writes_a_run_folder(default_run):
    proc, run = default_run["proc"], default_run["run"]
    # one run folder runs/digits-<time>/ with every documented file
    assert len(default_run["runs"]) == 1, default_run["runs"]
    assert run.name.startswith("digits-"), run.name
    for name in (
        "model.glassnet",
        "config.json",
        "history.csv",
        "learning_curve.png",
        "results.json",
    ):
        assert (run / name).is_file(), f"{name} missing from {sorted(run.iterdir())}"
    # progress bar on stderr, not stdout
    assert "100%" in proc.stderr and "training" in proc.stderr, proc.stderr[-500:]
    assert "%|" not in proc.stdout
    # table of train/dev/test cost and accuracy matching results.json
    results = read_results(run)["results"]
    header = next(line for line in proc.stdout.splitlines() if line.startswith("split"))
    assert "cost" in header and "accuracy" in header
    for split in ("train", "dev", "test"):
        row = next(
            line for line in proc.stdout.splitlines() if line.startswith(split + " ")
        )
        cells = row.split()
        assert int(cells[1]) == results[split]["examples"]
        assert float(cells[2]) == pytest.approx(results[split]["cost"], abs=1e-4)
        assert float(cells[3]) == pytest.approx(results[split]["accuracy"], abs=1e-4)
    # the diagnosis
    assert "avoidable bias" in proc.stdout and "Problem:" in proc.stdout
    assert "variance" in proc.stdout
    # one history row per epoch (default 30 epochs)
    history = read_history(run)
    assert len(history) == read_config(run)["epochs"] == 30
    assert [int(r["epoch"]) for r in history] == list(range(30))
    assert {"cost", "learning_rate"} <= set(history[0])
    # a real PNG
    png = (run / "learning_curve.png").read_bytes()
    assert png.startswith(PNG_SIGNATURE) and len(png) > 1000
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width > 100 and height > 100
    # a model file that is a glassnet archive, no pickles
    assert manifest(run / "model.glassnet")["format"] == "glassnet"
    assert read_results(run)["epochs_run"] == 30
    assert results["test"]["accuracy"] >= 0.95


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
    proc = ok(
        glassnet(
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
    return {"proc": proc, "run": work / "pets", "names": names}


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
        glassnet(
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


def test_every_option_of_every_command_says_what_it_does():
    from glassnet.cli import build_parser

    parser = build_parser()
    (commands,) = [
        a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
    ]
    silent = [
        f"{name} {action.option_strings or action.dest}"
        for name, command in commands.choices.items()
        for action in command._actions
        if not action.help
    ]
    assert silent == []
    assert len(commands.choices) == 10


def test_train_and_evaluate_headerless_csv_with_label_column_index(work):
    """--label-column 0 picks the first column of a file with no header line."""
    X, y = blobs(seed=3)
    rows = [[int(label), *row] for row, label in zip(X.tolist(), y, strict=True)]
    write_csv(work / "headerless.csv", None, rows)
    common = ("--data", "headerless.csv", "--label-column", "0")
    ok(glassnet("train", *common, "--epochs", "10", "--lr", "0.01", "--quiet",
                "--out", "headerless", cwd=work))  # fmt: skip
    run = work / "headerless"
    assert manifest(run / "model.glassnet")["model"]["n_x"] == 3
    assert read_config(run)["label_column"] == "0"
    assert read_results(run)["results"]["test"]["accuracy"] >= 0.9
    shown = ok(glassnet("evaluate", run / "model.glassnet", *common, cwd=work))
    assert "accuracy" in shown.stdout
    # predict on the training file: the label is dropped from column 0, as trained
    proc = ok(glassnet("predict", run / "model.glassnet", "headerless.csv", cwd=work))
    predicted = np.array([int(v) for v in proc.stdout.split()])
    assert np.mean(predicted == y) >= 0.9
    features = [row[1:] for row in rows]
    write_csv(work / "headerless_features.csv", None, features)
    alone = ok(glassnet("predict", run / "model.glassnet", "headerless_features.csv",
                        cwd=work))  # fmt: skip
    assert alone.stdout == proc.stdout
    error = assert_one_line_error(
        glassnet("train", "--data", "headerless.csv", "--label-column", "4", cwd=work)
    )
    assert "index must be in [-4, 4)" in error


def test_train_names_a_missing_value_by_its_place_in_the_file(tmp_path):
    X, y = blobs(60, seed=4)
    X[5, 1] = np.nan
    rows = [[*row, int(label)] for row, label in zip(X.tolist(), y, strict=True)]
    write_csv(tmp_path / "holes.csv", ["a", "b", "c", "label"], rows)
    error = assert_one_line_error(
        glassnet("train", "--data", "holes.csv", "--quiet", cwd=tmp_path)
    )
    where = "holes.csv: example 5 (counting from 0 in the file's order), feature 1"
    assert where in error and "is nan; clean or impute" in error


def test_train_data_npz(tmp_path):
    X, y = blobs(200, seed=2)
    np.savez(tmp_path / "blobs.npz", X=X, y=y)
    proc = ok(
        glassnet(
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
    assert "test" in proc.stdout


def test_train_architecture_and_output_options(work):
    """--layers --activation --initializer --keep-prob a,b --dtype --lr --epochs
    --human-error --out (nested) --quiet, all in one run."""
    out = Path("deep") / "nested" / "run"
    proc = ok(
        glassnet(
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
    assert proc.stderr == "", proc.stderr
    # --out
    assert (run / "model.glassnet").is_file()
    assert str(out) in proc.stdout
    # --layers, --activation, --initializer, --keep-prob per layer, --dtype
    model = manifest(run / "model.glassnet")["model"]
    layers = model["layers"]
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
    assert re.search(r"human-level\s+2\.0%", proc.stdout), proc.stdout


def test_train_keep_prob_single_batchnorm_and_batch_size(digits_short):
    run = digits_short
    types = layer_types(run / "model.glassnet")
    assert types == ["Dense", "BatchNorm", "Activation", "Dropout", "Dense"], types
    layers = manifest(run / "model.glassnet")["model"]["layers"]
    assert layers[3]["config"]["keep_prob"] == 0.9
    config = read_config(run)
    assert config["batchnorm"] is True and config["batch_size"] == 64
    # the progress bar counts mini-batches: 2 epochs * ceil(1079 / 64) = 34 steps
    stderr = (run / "_stderr.txt").read_text()
    train_examples = read_results(run)["results"]["train"]["examples"]
    steps = 2 * math.ceil(train_examples / 64)
    assert f"{steps}/{steps}" in stderr, stderr[-400:]


OPTIMIZERS = [
    ("gd", []),
    ("momentum", ["--beta1", "0.5"]),
    ("rmsprop", ["--beta2", "0.9", "--epsilon", "1e-4"]),
    ("adam", ["--beta1", "0.5", "--beta2", "0.9", "--epsilon", "1e-4"]),
]


@pytest.mark.parametrize("name, extra", OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
def test_train_optimizers(name, extra, iris_base, work):
    out = f"opt_{name}"
    ok(
        glassnet(
            "train", *IRIS_BASE, "--optimizer", name, *extra, "--out", out, cwd=work
        )
    )
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
    ok(glassnet("train", *args, "--beta1", "0.0", "--out", "mom0", cwd=work))
    ok(glassnet("train", *args, "--beta1", "0.9", "--out", "mom9", cwd=work))
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
        glassnet(
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
        glassnet(
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
    proc = glassnet(
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
    if proc.returncode == 2:
        assert_one_line_error(proc)
        return
    ok(proc)
    rates = column(read_history(work / "sched_exp_half"), "learning_rate")
    assert rates == pytest.approx([0.1, 0.05, 0.025]), (
        f"--decay-rate 0.5 was ignored: learning rates {rates} (the default 0.95 base)"
    )


@pytest.mark.parametrize("option, value", [("--l2", "5"), ("--l1", "1")])
def test_train_regularization_shrinks_the_weights(option, value, iris_base, work):
    out = f"reg_{option.strip('-')}"
    ok(glassnet("train", *IRIS_BASE, option, value, "--out", out, cwd=work))
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
        glassnet(
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
    ok(glassnet("train", *IRIS_BASE, "--augment", "--out", "aug_iris", cwd=work))
    assert read_config(work / "aug_iris")["augment"] is True
    assert column(read_history(work / "aug_iris"), "cost") != column(
        read_history(iris_base), "cost"
    )


def test_train_augment_keeps_digits_learnable(default_run, work):
    """--augment on digits (the README's example) must not wreck the model: flips
    are not label-preserving for digits and 2-pixel shifts are 25% of an 8x8 image."""
    proc = ok(
        glassnet("train", "--augment", "--quiet", "--out", "aug_digits", cwd=work)
    )
    run = work / "aug_digits"
    assert read_config(run)["augment"] is True
    augmented = read_results(run)["results"]["test"]["accuracy"]
    plain = read_results(default_run["run"])["results"]["test"]["accuracy"]
    assert augmented != plain
    assert augmented >= 0.9, (
        f"--augment drops digits test accuracy from {plain:.3f} to {augmented:.3f}\n"
        + proc.stdout
    )


def test_train_seed_reproduces_and_changes_results(iris_base, work):
    ok(glassnet("train", *IRIS_BASE, "--out", "seed_again", cwd=work))
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
    ok(glassnet("train", *args, "--out", "seed_other", cwd=work))
    assert comparable(read_results(work / "seed_other")) != comparable(
        read_results(iris_base)
    )


DIGITS_SHORT = ["--epochs", "2", "--seed", "0", "--quiet"]


@pytest.fixture(scope="module")
def checkpointed(work) -> Path:
    """A digits run of 2 epochs with a checkpoint after every epoch."""
    ok(
        glassnet(
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
        glassnet(
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
    ok(glassnet("train", "--resume", run.name, "--epochs", "3", "--quiet", cwd=work))
    ok(
        glassnet(
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
        glassnet(
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
    ok(glassnet("train", "--resume", "ckpt_iris", "--epochs", "3", "--quiet", cwd=work))
    assert read_config(work / "ckpt_iris")["data"] == "iris"
    assert len(read_history(work / "ckpt_iris")) == 3


def test_train_config_file_with_command_line_override(work):
    (work / "best.json").write_text(
        json.dumps(
            {"data": "iris", "layers": "16", "learning_rate": 0.005, "epochs": 9}
        )
    )
    ok(
        glassnet(
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


# ====================================================================== predict


def test_predict_every_file_format(default_run, digits_rows, tmp_path):
    model = default_run["run"] / "model.glassnet"
    X, y = digits_rows
    header = [f"pixel_{i}" for i in range(64)]
    write_csv(tmp_path / "plain.csv", None, X.tolist())
    write_csv(tmp_path / "header.csv", header, X.tolist())
    write_csv(
        tmp_path / "labelled.csv",
        [*header, "label"],
        [[*row, int(t)] for row, t in zip(X.tolist(), y, strict=True)],
    )
    np.save(tmp_path / "rows.npy", X)
    np.savez(tmp_path / "rows.npz", X=X)
    outputs = {}
    for name in ("plain.csv", "header.csv", "labelled.csv", "rows.npy", "rows.npz"):
        proc = ok(glassnet("predict", model, name, cwd=tmp_path))
        outputs[name] = proc.stdout.split()
    predictions = outputs["rows.npy"]
    assert len(predictions) == len(X)
    for name, values in outputs.items():
        assert values == predictions, name
    accuracy = np.mean([int(p) == t for p, t in zip(predictions, y, strict=True)])
    assert accuracy >= 0.9
    # --proba: one row of 10 probabilities per example, argmax = prediction
    proc = ok(glassnet("predict", model, "rows.npy", "--proba", cwd=tmp_path))
    proba = np.array(
        [[float(v) for v in line.split(",")] for line in proc.stdout.split()]
    )
    assert proba.shape == (len(X), 10)
    assert np.allclose(proba.sum(axis=1), 1, atol=1e-4)
    assert [str(i) for i in proba.argmax(axis=1)] == predictions


def test_predict_csv_with_text_label_column(csv_text_label_run, work):
    """Predict on the training file itself: its text label column is dropped and the
    predictions are the class names."""
    model = csv_text_label_run["run"] / "model.glassnet"
    names = csv_text_label_run["names"]
    features_only = ok(glassnet("predict", model, "pets_features.csv", cwd=work))
    predicted = features_only.stdout.split()
    assert set(predicted) <= {"cat", "dog"}
    assert np.mean(np.array(predicted) == names) >= 0.9
    with_label = glassnet("predict", model, "pets.csv", cwd=work)
    ok(with_label)
    assert with_label.stdout.split() == predicted


def test_predict_csv_with_label_column_first(csv_label_first_run, work):
    """The model was trained with ``target`` as the first column; predicting on the
    same file must drop that column, not the last feature."""
    run, y = csv_label_first_run["run"], csv_label_first_run["y"]
    proc = ok(glassnet("predict", run / "model.glassnet", "first.csv", cwd=work))
    predicted = np.array([int(v) for v in proc.stdout.split()])
    assert len(predicted) == len(y)
    assert np.mean(predicted == y) >= 0.9, (
        f"accuracy {np.mean(predicted == y):.2f}: the label column was read as a "
        "feature"
    )


# ====================================================================== evaluate


def test_evaluate_on_digits(default_run, tmp_path):
    proc = ok(
        glassnet(
            "evaluate",
            default_run["run"] / "model.glassnet",
            "--data",
            "digits",
            cwd=tmp_path,
        )
    )
    rows = [line.split() for line in proc.stdout.splitlines()]
    assert rows[0][:4] == ["split", "examples", "cost", "accuracy"]
    data_row = rows[1]
    assert int(data_row[1]) == 1797
    assert float(data_row[3]) >= 0.95


def test_evaluate_on_data_with_other_features_says_so(default_run, tmp_path):
    proc = glassnet(
        "evaluate",
        default_run["run"] / "model.glassnet",
        "--data",
        "iris",
        cwd=tmp_path,
    )
    line = assert_one_line_error(proc)
    assert "feature" in line and "64" in line and "4" in line, line


# ====================================================================== gradcheck


def _gradcheck_table(stdout: str) -> dict:
    rows = {}
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("parameter"))
    for line in lines[start + 1 :]:
        cells = line.split()
        if not cells or cells[0] == "verdict:":
            break
        rows[cells[0]] = float(cells[-1])
    return rows


def test_gradcheck_default(tmp_path):
    proc = ok(glassnet("gradcheck", cwd=tmp_path))
    table = _gradcheck_table(proc.stdout)
    assert set(table) == {"W1", "b1", "W2", "b2", "W3", "b3", "all"}
    assert all(v < 1e-7 for v in table.values()), table
    assert "correct" in proc.stdout


def test_gradcheck_batchnorm_softmax(tmp_path):
    proc = ok(glassnet("gradcheck", "--batchnorm", "--output", "softmax", cwd=tmp_path))
    table = _gradcheck_table(proc.stdout)
    assert {"gamma1", "beta1", "gamma2", "beta2", "W3", "b3"} <= set(table)
    assert "b1" not in table  # a Dense before batch norm has no bias
    assert all(v < 1e-7 for v in table.values()), table
    assert "(3, 3)" in proc.stdout  # softmax over --classes 3


# ====================================================================== diagnose


def _component_lines(stdout: str) -> dict:
    found = {}
    for line in stdout.splitlines():
        for name in ("avoidable bias", "variance", "data mismatch", "dev overfitting"):
            if line.rstrip().endswith(name) or f"{name}   <- largest" in line:
                found[name] = line
    return found


def test_diagnose_numbers_avoidable_bias(tmp_path):
    proc = ok(
        glassnet(
            "diagnose",
            "--human",
            "1",
            "--train",
            "8",
            "--train-dev",
            "10",
            "--dev",
            "12",
            "--test",
            "13",
            cwd=tmp_path,
        )
    )
    lines = _component_lines(proc.stdout)
    assert "+7.0" in lines["avoidable bias"] and "<- largest" in lines["avoidable bias"]
    assert "+2.0" in lines["variance"] and "+2.0" in lines["data mismatch"]
    assert "+1.0" in lines["dev overfitting"]
    assert sum("<- largest" in line for line in lines.values()) == 1
    assert "Problem: avoidable bias (7.0 percentage points)" in proc.stdout


def test_diagnose_numbers_data_mismatch(tmp_path):
    proc = ok(
        glassnet(
            "diagnose",
            "--human",
            "1",
            "--train",
            "1",
            "--train-dev",
            "1.5",
            "--dev",
            "10",
            cwd=tmp_path,
        )
    )
    assert "Problem: data mismatch (8.5 percentage points)" in proc.stdout
    assert "<- largest" in _component_lines(proc.stdout)["data mismatch"]


def test_diagnose_run_folder(default_run):
    run = default_run["run"]
    proc = ok(
        glassnet(
            "diagnose", run.relative_to(default_run["cwd"]), cwd=default_run["cwd"]
        )
    )
    results = read_results(run)["results"]
    for label, split in (("training", "train"), ("dev", "dev"), ("test", "test")):
        error = 100 * (1 - results[split]["accuracy"])
        assert re.search(rf"^{label}\s+{error:.1f}%", proc.stdout, re.M), proc.stdout
    assert "Problem:" in proc.stdout


def test_diagnose_run_folder_with_human_error_in_percent(default_run):
    """``--human 1`` means 1% as in the numbers-only form, not 100%."""
    proc = ok(
        glassnet("diagnose", default_run["run"], "--human", "1", cwd=default_run["cwd"])
    )
    assert re.search(r"^human-level\s+1\.0%", proc.stdout, re.M), proc.stdout


def test_diagnose_model_file_with_data(default_run, tmp_path):
    proc = glassnet(
        "diagnose",
        default_run["run"] / "model.glassnet",
        "--data",
        "digits",
        cwd=tmp_path,
    )
    ok(proc)
    assert "Problem:" in proc.stdout


# ====================================================================== errors


def test_errors_table_like_the_notes(tmp_path):
    """The notes' error-analysis spreadsheet: 100 mislabelled dev images, tagged
    Dog 8%, Great cats 43%, Blurry 61%, Instagram 12%; dev error 10%."""
    rows = []
    for i in range(100):
        tags = (i < 8, 8 <= i < 51, i >= 39, i % 8 == 0 and i < 96)
        rows.append(
            [i + 1, *("✓" if t else "" for t in tags), "Pitbull" if i == 0 else ""]
        )
    write_csv(
        tmp_path / "tags.csv",
        ["Image", "Dog", "Great cats", "Blurry", "Instagram", "comments"],
        rows,
    )
    proc = ok(glassnet("errors", "tags.csv", "--dev-error", "0.10", cwd=tmp_path))
    expected = {
        "Dog": ("8", "8%", "0.8%", "9.2%"),
        "Great cats": ("43", "43%", "4.3%", "5.7%"),
        "Blurry": ("61", "61%", "6.1%", "3.9%"),
        "Instagram": ("12", "12%", "1.2%", "8.8%"),
    }
    lines = proc.stdout.splitlines()
    for tag, cells in expected.items():
        line = next((ln for ln in lines if ln.startswith(tag + " ")), None)
        assert line is not None, f"no row for {tag}:\n{proc.stdout}"
        assert tuple(line[len(tag) :].split()) == cells, line
    # largest first; Image (numbers) and comments are not tags
    order = [tag for ln in lines for tag in expected if ln.startswith(tag + " ")]
    assert order == ["Blurry", "Great cats", "Instagram", "Dog"]
    assert not any(ln.startswith(("comments", "Image ")) for ln in lines)


# ====================================================================== select


def test_select_picks_the_better_run(default_run, digits_short):
    strong, weak = default_run["run"], digits_short
    assert (
        read_results(strong)["results"]["dev"]["accuracy"]
        > read_results(weak)["results"]["dev"]["accuracy"]
    )
    proc = ok(
        glassnet(
            "select",
            weak,
            strong,
            "--optimize",
            "dev_accuracy",
            "--satisfy",
            "latency_ms<=1000",
            cwd=default_run["cwd"],
        )
    )
    best = next(
        line for line in proc.stdout.splitlines() if "best dev_accuracy" in line
    )
    assert best.split()[0] == strong.name, proc.stdout


def test_select_unsatisfiable_constraint(default_run, digits_short):
    proc = glassnet(
        "select",
        digits_short,
        default_run["run"],
        "--satisfy",
        "latency_ms<=0.000001",
        cwd=default_run["cwd"],
    )
    assert "latency_ms" in assert_one_line_error(proc)


def test_select_minimizes_a_cost(default_run, digits_short):
    """``--optimize dev_cost``: a cost (the notes' J) is minimized, like an error."""
    strong, weak = default_run["run"], digits_short
    assert (
        read_results(strong)["results"]["dev"]["cost"]
        < read_results(weak)["results"]["dev"]["cost"]
    )
    proc = ok(
        glassnet(
            "select", weak, strong, "--optimize", "dev_cost", cwd=default_run["cwd"]
        )
    )
    best = next(line for line in proc.stdout.splitlines() if "best dev_cost" in line)
    assert best.split()[0] == strong.name, proc.stdout


# ====================================================================== cluster


def test_cluster_iris(tmp_path):
    proc = ok(glassnet("cluster", "--data", "iris", "--k", "3", cwd=tmp_path))
    values = {}
    for line in proc.stdout.splitlines():
        match = re.match(
            r"(inertia|silhouette|adjusted Rand index.*?)\s+([-\d.]+)$", line
        )
        if match:
            values[match.group(1).split()[0]] = float(match.group(2))
    assert set(values) == {"inertia", "silhouette", "adjusted"}, proc.stdout
    # standardized iris, k=3: the well-known k-means optimum (scikit-learn agrees)
    assert values["inertia"] == pytest.approx(139.82, abs=0.05)
    assert values["silhouette"] == pytest.approx(0.46, abs=0.01)
    assert values["adjusted"] == pytest.approx(0.620, abs=0.01)
    sizes = next(
        ln for ln in proc.stdout.splitlines() if ln.startswith("cluster sizes")
    )
    assert sum(int(s) for s in sizes.split()[2:]) == 150


# ====================================================================== search


@pytest.fixture(scope="module")
def search(work):
    args = [
        "search",
        "--data",
        "digits",
        "--trials",
        "4",
        "--jobs",
        "2",
        "--seed",
        "0",
        "--out",
        "search",
        "--epochs",
        "3",
    ]
    proc = ok(glassnet(*args, cwd=work, timeout=180))
    return {"proc": proc, "args": args, "out": work / "search"}


def test_search_writes_journal_best_config_and_plot(search):
    out = search["out"]
    lines = (out / "trials.jsonl").read_text().splitlines()
    assert len(lines) == 4
    trials = [json.loads(line) for line in lines]
    assert all(t["status"] == "ok" for t in trials)
    assert all(t["config"]["epochs"] == 3 for t in trials)
    best = json.loads((out / "best_config.json").read_text())
    best_trial = max(trials, key=lambda t: t["metrics"]["dev_accuracy"])
    assert best["learning_rate"] == best_trial["config"]["learning_rate"]
    assert (out / "trials.png").read_bytes().startswith(PNG_SIGNATURE)
    assert f"{best_trial['metrics']['dev_accuracy']:.4f}" in search["proc"].stdout


def test_search_rerun_resumes(search, work):
    before = (search["out"] / "trials.jsonl").read_text()
    proc = ok(glassnet(*search["args"], cwd=work, timeout=120))
    assert (search["out"] / "trials.jsonl").read_text() == before
    best = lambda out: [ln for ln in out.splitlines() if "best dev accuracy" in ln]  # noqa: E731
    assert best(proc.stdout) == best(search["proc"].stdout)


def test_search_space_file(tmp_path):
    (tmp_path / "space.toml").write_text(
        "[space]\n"
        'learning_rate = {type="log_uniform", low=1e-3, high=1e-2}\n'
        'layers = {type="choice", values=["16", "32"]}\n'
        'batch_size = {type="powers_of_two", low=32, high=64}\n'
        "epochs = 2\n"
    )
    ok(
        glassnet(
            "search",
            "--trials",
            "2",
            "--seed",
            "0",
            "--out",
            "s",
            "--space",
            "space.toml",
            "--quiet",
            cwd=tmp_path,
        )
    )
    trials = [
        json.loads(ln)
        for ln in (tmp_path / "s" / "trials.jsonl").read_text().splitlines()
    ]
    assert len(trials) == 2
    for trial in trials:
        config = trial["config"]
        assert 1e-3 <= config["learning_rate"] <= 1e-2
        assert config["layers"] in ("16", "32")
        assert config["batch_size"] in (32, 64)
        assert config["epochs"] == 2
    assert (tmp_path / "s" / "best_config.json").is_file()


def test_search_space_file_fixed_data_is_used(tmp_path):
    """A space file may fix any train setting, ``data`` included; without --data on
    the command line the file's value holds."""
    (tmp_path / "space.toml").write_text(
        "[space]\n"
        'learning_rate = {type="log_uniform", low=1e-3, high=1e-2}\n'
        "epochs = 2\n"
        'data = "iris"\n'
    )
    ok(
        glassnet(
            "search",
            "--trials",
            "1",
            "--out",
            "s",
            "--space",
            "space.toml",
            "--quiet",
            cwd=tmp_path,
        )
    )
    trial = json.loads((tmp_path / "s" / "trials.jsonl").read_text().splitlines()[0])
    assert trial["config"]["data"] == "iris", trial["config"]


def test_search_space_file_unknown_name(tmp_path):
    (tmp_path / "space.toml").write_text(
        "[space]\n"
        'learning_rate = {type="log_uniform", low=1e-3, high=1e-2}\n'
        'hidden_unitz = {type="int_uniform", low=16, high=128}\n'
    )
    proc = glassnet(
        "search", "--trials", "2", "--out", "s", "--space", "space.toml", cwd=tmp_path
    )
    assert "hidden_unitz" in assert_one_line_error(proc)


def test_search_unreachable_scheduler(tmp_path):
    started = time.monotonic()
    proc = glassnet(
        "search",
        "--trials",
        "2",
        "--out",
        "s",
        "--scheduler",
        "tcp://127.0.0.1:1",
        "--timeout",
        "3",
        cwd=tmp_path,
        timeout=60,
    )
    elapsed = time.monotonic() - started
    line = assert_one_line_error(proc)
    assert "127.0.0.1:1" in line
    assert elapsed < 15, f"took {elapsed:.1f} s"


# ====================================================================== errors


@pytest.fixture
def bad_files(tmp_path) -> Path:
    X, y = blobs(60)
    write_csv(
        tmp_path / "text_feature.csv",
        ["a", "colour", "c", "label"],
        [
            [r[0], "red" if i % 2 else "blue", r[2], t]
            for i, (r, t) in enumerate(zip(X, y, strict=True))
        ],
    )
    write_csv(
        tmp_path / "empty_label.csv",
        ["a", "b", "c", "label"],
        [
            [*r, "" if i == 3 else t]
            for i, (r, t) in enumerate(zip(X.tolist(), y, strict=True))
        ],
    )
    write_csv(
        tmp_path / "one_class.csv",
        ["a", "b", "c", "label"],
        [[*r, 1] for r in X.tolist()],
    )
    (tmp_path / "garbage.glassnet").write_bytes(b"this is not a model\x00\x01\x02")
    np.save(tmp_path / "rows.npy", X)
    return tmp_path


ERROR_CASES = {
    "unknown-option": ["train", "--bogus"],
    "layers-abc": ["train", "--layers", "abc"],
    "negative-lr": ["train", "--lr", "-1"],
    "keep-prob-1.5": ["train", "--keep-prob", "1.5"],
    "missing-data-file": ["train", "--data", "missing.csv"],
    "non-numeric-feature": ["train", "--data", "text_feature.csv", "--epochs", "1"],
    "empty-label": ["train", "--data", "empty_label.csv", "--epochs", "1"],
    "single-class-labels": ["train", "--data", "one_class.csv", "--epochs", "1"],
    "missing-config": ["train", "--config", "missing.json"],
    "missing-model": ["predict", "missing.glassnet", "rows.npy"],
    "garbage-model": ["predict", "garbage.glassnet", "rows.npy"],
    "garbage-model-evaluate": ["evaluate", "garbage.glassnet", "--data", "digits"],
    "diagnose-nothing": ["diagnose"],
}


@pytest.mark.parametrize("args", list(ERROR_CASES.values()), ids=list(ERROR_CASES))
def test_errors_are_one_line_with_status_2(args, bad_files):
    proc = glassnet(*args, cwd=bad_files)
    line = assert_one_line_error(proc)
    assert proc.stdout == "", proc.stdout
    if "text_feature.csv" in args:
        assert "colour" in line
    if "--keep-prob" in args:
        assert "1.5" in line


def test_evaluate_on_data_of_another_shape_prints_no_half_table(iris_base, work):
    proc = glassnet(
        "evaluate", iris_base / "model.glassnet", "--data", "digits", cwd=work
    )
    assert "64 features per example but the model takes 4" in assert_one_line_error(
        proc
    )
    assert proc.stdout == ""


def test_bad_keep_prob_text_names_the_option_not_a_function(tmp_path):
    line = assert_one_line_error(glassnet("train", "--keep-prob", "abc", cwd=tmp_path))
    assert "--keep-prob" in line and "'abc'" in line
    assert "_float_or_list" not in line, line


def test_debug_shows_the_traceback(tmp_path):
    proc = glassnet("--debug", "train", "--lr", "-1", cwd=tmp_path)
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr
    assert "learning_rate" in proc.stderr


# ====================================================================== top level


def test_version(tmp_path):
    proc = ok(glassnet("--version", cwd=tmp_path))
    assert re.fullmatch(r"glassnet \d+\.\d+\.\d+\S*\n", proc.stdout), proc.stdout


def test_installed_glassnet_command(tmp_path):
    command = shutil.which("glassnet")
    if command is None:
        pytest.skip("the glassnet console script is not on PATH")
    proc = subprocess.run(
        [command, "--version"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and proc.stdout.startswith("glassnet ")


def test_no_command_prints_help_and_exits_2(tmp_path):
    proc = glassnet(cwd=tmp_path)
    assert proc.returncode == 2
    text = proc.stdout + proc.stderr
    assert "usage: glassnet" in text
    for command in (
        "train",
        "predict",
        "evaluate",
        "gradcheck",
        "search",
        "diagnose",
        "errors",
        "select",
        "cluster",
    ):
        assert command in text


def test_train_help_lists_every_option(tmp_path):
    proc = ok(glassnet("train", "--help", cwd=tmp_path))
    for option in (
        "--data",
        "--config",
        "--label-column",
        "--layers",
        "--activation",
        "--initializer",
        "--epochs",
        "--batch-size",
        "--lr",
        "--optimizer",
        "--beta1",
        "--beta2",
        "--epsilon",
        "--schedule",
        "--decay-rate",
        "--time-interval",
        "--l2",
        "--l1",
        "--keep-prob",
        "--batchnorm",
        "--early-stopping",
        "--augment",
        "--human-error",
        "--seed",
        "--dtype",
        "--out",
        "--checkpoint-every",
        "--resume",
        "--quiet",
    ):
        assert option in proc.stdout, option
