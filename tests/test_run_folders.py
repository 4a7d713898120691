"""A run folder belongs to one run: config.json is there before the first epoch,
a new run in an old folder removes the old run's checkpoint (so --resume cannot go
back to it), and two trainings cannot share a folder."""

from __future__ import annotations

import json

from glassnet.cli import main
from glassnet.locks import LOCK_FILE


def train(*args, cwd, capsys):
    code = main(["train", "--data", "iris", "--epochs", "3", "--quiet", *args])
    return code, capsys.readouterr()


def test_a_new_run_removes_an_earlier_runs_checkpoint(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, _ = train(
        "--checkpoint-every", "1", "--out", "r", cwd=tmp_path, capsys=capsys
    )
    assert code == 0 and (tmp_path / "r" / "checkpoint.glassnet").exists()
    code, printed = train("--layers", "4", "--out", "r", cwd=tmp_path, capsys=capsys)
    assert code == 0
    assert "checkpoint of an earlier run" in printed.err
    assert not (tmp_path / "r" / "checkpoint.glassnet").exists()
    assert json.loads((tmp_path / "r" / "config.json").read_text())["layers"] == [4]
    code = main(["train", "--resume", "r", "--quiet"])
    assert code == 2
    assert "no checkpoint to resume from" in capsys.readouterr().err


def test_a_training_refuses_a_folder_another_live_process_holds(
    tmp_path, monkeypatch, capsys
):
    import os
    import socket

    monkeypatch.chdir(tmp_path)
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / LOCK_FILE).write_text(
        json.dumps({"pid": os.getppid(), "host": socket.gethostname(), "started": 0})
    )
    code, printed = train("--out", "r", cwd=tmp_path, capsys=capsys)
    assert code == 2
    assert f"in use by glassnet process {os.getppid()}" in printed.err
    assert not (tmp_path / "r" / "model.glassnet").exists()


def test_evaluate_and_predict_take_a_run_folder_for_its_model(
    tmp_path, monkeypatch, capsys
):
    import numpy as np

    import glassnet as gn

    monkeypatch.chdir(tmp_path)
    code, _ = train("--out", "r", cwd=tmp_path, capsys=capsys)
    assert code == 0
    assert main(["evaluate", "r", "--data", "iris"]) == 0
    by_folder = capsys.readouterr().out
    assert main(["evaluate", "r/model.glassnet", "--data", "iris"]) == 0
    assert capsys.readouterr().out == by_folder
    rows = gn.data.load_dataset("iris").X[:5]
    np.save(tmp_path / "rows.npy", rows)
    assert main(["predict", "r", "rows.npy"]) == 0
    printed = capsys.readouterr().out.split()
    assert printed == [str(v) for v in gn.load("r/model.glassnet").predict(rows)]


def test_checkpoint_every_zero_is_refused(tmp_path, monkeypatch, capsys):
    """It used to train and silently write no checkpoint."""
    monkeypatch.chdir(tmp_path)
    code, printed = train(
        "--checkpoint-every", "0", "--out", "r", cwd=tmp_path, capsys=capsys
    )
    assert code == 2
    assert "checkpoint_every" in printed.err and "0" in printed.err
    assert not (tmp_path / "r" / "model.glassnet").exists()
