"""``glassnet transfer`` in-process (see tests/test_cli.py): the new model and the
run folder it writes, which the commands that read runs accept."""

from __future__ import annotations

import re

import pytest
from test_cli import (
    PNG_SIGNATURE,
    assert_one_line_error,
    cli,
    manifest,
    ok,
    read_config,
    read_history,
    read_results,
)

RUN_FILES = (
    "model.glassnet",
    "config.json",
    "history.csv",
    "learning_curve.png",
    "results.json",
)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A digits model trained 5 epochs: the body to reuse."""
    folder = tmp_path_factory.mktemp("transfer")
    ok(cli("train", "--data", "digits", "--layers", "64", "--epochs", "5", "--quiet",
           "--out", "source", cwd=folder))  # fmt: skip
    return folder


@pytest.fixture(scope="module")
def default_transfer(source):
    """``glassnet transfer`` without --out: a run folder under runs/."""
    outcome = ok(
        cli(
            *("transfer", "source/model.glassnet", "--data", "digits", "--freeze"),
            *("--epochs", "3", "--lr", "0.01", "--quiet"),
            cwd=source,
        )
    )
    runs = sorted((source / "runs").iterdir())
    assert len(runs) == 1, runs
    return {"outcome": outcome, "run": runs[0], "cwd": source}


def test_transfer_freezes_the_body_and_trains_a_new_head(source):
    done = ok(
        cli(
            *("transfer", "source/model.glassnet", "--data", "digits", "--freeze"),
            *("--layers", "16", "--epochs", "10", "--lr", "0.01"),
            *("--fine-tune-epochs", "1", "--quiet", "--out", "target"),
            cwd=source,
        )
    )
    assert "(frozen)" not in done.stdout  # fine-tuning unfroze the body
    run = source / "target"
    for name in RUN_FILES:
        assert (run / name).is_file(), name
    assert "run folder: target" in done.stdout
    results = read_results(run)
    assert results["results"]["test"]["accuracy"] > 0.8
    assert results["epochs_run"] == 11  # 10 epochs of the head, 1 of fine-tuning
    assert [int(row["epoch"]) for row in read_history(run)] == list(range(11))
    assert results["transfer"] == {
        "source_model": "source/model.glassnet",
        "drop": 1,
        "freeze": True,
        "fine_tune_epochs": 1,
        "fine_tune_multiplier": 0.1,
    }
    # the new head: the body's first Dense, then the new 16-unit layer and output
    units = [
        layer["config"]["units"]
        for layer in manifest(run / "model.glassnet")["model"]["layers"]
        if layer["type"] == "Dense"
    ]
    assert units == [64, 16, 10], units


def test_transfer_without_out_writes_a_complete_run_folder(default_transfer):
    done, run = default_transfer["outcome"], default_transfer["run"]
    assert run.parent.name == "runs" and run.name.startswith("digits-transfer-")
    for name in RUN_FILES:
        assert (run / name).is_file(), f"{name} missing from {sorted(run.iterdir())}"
    assert (run / "learning_curve.png").read_bytes().startswith(PNG_SIGNATURE)
    assert "(frozen)" in done.stdout  # no fine-tuning: the body stays frozen
    assert f"run folder: runs/{run.name}" in done.stdout
    assert "Problem:" in done.stdout  # the diagnosis, as after train
    # the table printed is results.json's, as for train
    results = read_results(run)["results"]
    assert list(results) == ["train", "dev", "test"]
    for split, row in results.items():
        line = next(ln for ln in done.stdout.splitlines() if ln.startswith(split + " "))
        assert int(line.split()[1]) == row["examples"]
        assert float(line.split()[3]) == pytest.approx(row["accuracy"], abs=1e-4)
    # the split as train reports it: sizes and where each set came from
    split = read_results(run)["split"]
    assert split["sizes"] == {name: row["examples"] for name, row in results.items()}
    assert split["sources"] == {"train": "digits", "dev": "digits", "test": "digits"}
    assert "examples: train " in done.stdout
    config = read_config(run)
    assert config["data"] == "digits" and config["epochs"] == 3
    assert config["learning_rate"] == 0.01 and config["split_seed"] == 0
    assert len(read_history(run)) == 3


def test_a_transfer_run_folder_is_read_like_a_train_run_folder(default_transfer):
    """evaluate, diagnose (run folder and model file), errors --run and select."""
    run, cwd = default_transfer["run"], default_transfer["cwd"]
    results = read_results(run)["results"]
    evaluated = ok(cli("evaluate", run / "model.glassnet", "--data", "digits", cwd=cwd))
    assert "data" in evaluated.stdout and "accuracy" in evaluated.stdout
    diagnosed = ok(cli("diagnose", run, cwd=cwd))
    dev = 100 * (1 - results["dev"]["accuracy"])
    assert re.search(rf"^dev\s+{dev:.1f}%", diagnosed.stdout, re.M), diagnosed.stdout
    # the model file on its data: the transfer's own split, so the same errors
    on_data = ok(cli("diagnose", run / "model.glassnet", "--data", "digits", cwd=cwd))
    assert re.search(rf"^dev\s+{dev:.1f}%", on_data.stdout, re.M), on_data.stdout
    (cwd / "tags.csv").write_text("index,blurry\n1,1\n2,0\n")
    tally = ok(cli("errors", "tags.csv", "--run", run, cwd=cwd))
    shown = re.search(r"\(dev error ([\d.]+)%\)", tally.stdout)
    assert shown and float(shown.group(1)) == pytest.approx(dev, abs=0.05), tally.stdout
    selected = ok(cli("select", "source", run, cwd=cwd))
    assert run.name in selected.stdout and selected.stderr == ""


def test_transfer_refuses_data_with_other_inputs(source):
    done = cli("transfer", "source/model.glassnet", "--data", "iris", cwd=source)
    line = assert_one_line_error(done)
    assert "same inputs" in line
    assert done.stdout == ""


def test_transfer_refuses_regression_data(source):
    line = assert_one_line_error(
        cli("transfer", "source/model.glassnet", "--data", "diabetes", cwd=source)
    )
    assert "transfer needs class labels; diabetes is regression" in line
