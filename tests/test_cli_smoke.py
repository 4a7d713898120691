"""A few real ``glassnet`` processes (slow): what the in-process tests cannot see.

The installed console script and ``python -m glassnet`` start, train on a bundled
set, predict and evaluate with the saved model, and exit with the documented
statuses: 2 and one line for a user error (the traceback only with --debug), 70
with the traceback for a bug. Everything else is tested in-process
(tests/test_cli*.py).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytestmark = pytest.mark.slow

GLASSNET = [sys.executable, "-m", "glassnet"]
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def glassnet(*args, cwd, timeout=120) -> subprocess.CompletedProcess:
    """Run ``glassnet ARGS`` as a real process in ``cwd``."""
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


def test_train_predict_evaluate(tmp_path):
    proc = ok(glassnet("train", "--data", "iris", "--epochs", "30", "--lr", "0.01",
                       "--out", "run", cwd=tmp_path))  # fmt: skip
    assert "100%" in proc.stderr  # the progress bar, on stderr
    assert re.search(r"^test\s+30\s", proc.stdout, re.M), proc.stdout
    assert "run folder: run" in proc.stdout
    model = tmp_path / "run" / "model.glassnet"
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    np.save(tmp_path / "rows.npy", X[::10])
    predicted = ok(glassnet("predict", model, "rows.npy", cwd=tmp_path)).stdout.split()
    names = np.array(["setosa", "versicolor", "virginica"])
    assert len(predicted) == 15 and set(predicted) <= set(names)
    assert np.mean(np.array(predicted) == names[y[::10]]) >= 0.8
    shown = ok(glassnet("evaluate", model, "--data", "iris", cwd=tmp_path))
    rows = [line.split() for line in shown.stdout.splitlines()]
    assert rows[0][:4] == ["split", "examples", "cost", "accuracy"]
    assert rows[1][:2] == ["data", "150"] and float(rows[1][3]) >= 0.8


def test_a_user_error_is_one_line_with_status_2(tmp_path):
    proc = glassnet("train", "--lr", "-1", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "glassnet: error: learning_rate must be in (0, inf); received "
        "learning_rate=-1.0"
    ]
    assert proc.stdout == ""


def test_debug_shows_the_traceback(tmp_path):
    proc = glassnet("--debug", "train", "--lr", "-1", cwd=tmp_path)
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr
    assert "learning_rate" in proc.stderr


def test_a_bug_exits_70_with_the_traceback_and_a_request_to_report_it(tmp_path):
    """A handler with a bug in it (patched in before main builds its parser)."""
    script = textwrap.dedent(
        """
        import sys
        import glassnet.cli.gradcheck as command

        def broken(args):
            return {}["missing"]

        command.run_gradcheck = broken
        from glassnet.cli import main
        sys.exit(main(["gradcheck"]))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=ENV,
    )
    lines = proc.stderr.splitlines()
    assert proc.returncode == 70, proc.stderr
    assert lines[0] == "glassnet: internal error: KeyError: 'missing'"
    assert lines[1] == "Traceback (most recent call last):"
    assert "in broken" in proc.stderr and lines[-2] == "KeyError: 'missing'"
    assert lines[-1].startswith("glassnet: this is a bug in glassnet ")
    assert "report it" in lines[-1]
