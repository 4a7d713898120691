"""The ``glassnet`` command in-process: the parser, help, messages and exit statuses.

Every CLI test calls :func:`glassnet.cli.main` with an argv list (:func:`cli`) and
judges it by what a user would see: the exit status, stdout, stderr and the files
written. The other ``tests/test_cli_*.py`` files import the helpers below; only
``tests/test_cli_smoke.py`` starts real ``glassnet`` processes (marked ``slow``).

Files by subcommand: ``test_cli_train.py`` (train), ``test_cli_models.py`` (a default
run and the commands that read it: predict, evaluate, diagnose, select),
``test_cli_tools.py`` (gradcheck, diagnose from numbers, errors, cluster, search),
``test_cli_transfer.py``, ``test_cli_errors.py`` (one-line errors and the
internal-error report).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from glassnet.cli import EXIT_INTERNAL, EXIT_USAGE, build_parser, main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
COMMANDS = (
    "train",
    "predict",
    "evaluate",
    "gradcheck",
    "search",
    "report",
    "diagnose",
    "errors",
    "select",
    "cluster",
    "transfer",
    "export",
)

# --------------------------------------------------------------------------- helpers


@dataclass
class Outcome:
    """What a user sees of one command: exit status, stdout, stderr."""

    returncode: int
    stdout: str
    stderr: str


def cli(*args, cwd=None) -> Outcome:
    """Run ``glassnet ARGS`` in this process, in folder ``cwd`` (default: here).

    stdout and stderr are captured by redirecting ``sys.stdout``/``sys.stderr``
    (the progress bar writes to ``sys.stderr`` too), so this also works inside
    module-scoped fixtures, where capsys is not available.
    """
    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = main([str(a) for a in args])
            except SystemExit as exit:  # argparse: --help, --version, usage errors
                status = exit.code if isinstance(exit.code, int) else 0
    finally:
        os.chdir(here)
    return Outcome(status, out.getvalue(), err.getvalue())


def ok(outcome: Outcome) -> Outcome:
    assert outcome.returncode == 0, (
        f"exit {outcome.returncode}\n--- stdout\n{outcome.stdout}\n--- stderr\n"
        f"{outcome.stderr[-3000:]}"
    )
    return outcome


def assert_one_line_error(outcome: Outcome) -> str:
    """Status 2, exactly one stderr line starting ``glassnet: error:``, no traceback."""
    lines = outcome.stderr.strip().splitlines()
    assert outcome.returncode == EXIT_USAGE, (
        f"exit {outcome.returncode}, expected {EXIT_USAGE}\n--- stdout\n"
        f"{outcome.stdout[-2000:]}\n--- stderr\n{outcome.stderr[-3000:]}"
    )
    assert "Traceback" not in outcome.stderr, outcome.stderr
    assert len(lines) == 1, f"expected one stderr line, got:\n{outcome.stderr}"
    assert lines[0].startswith("glassnet: error:"), lines[0]
    return lines[0]


def assert_internal_error(outcome: Outcome, kind: str) -> list[str]:
    """Status 70, ``glassnet: internal error: KIND: ...``, the traceback and a request
    to report the bug with glassnet's version; returns the stderr lines."""
    from glassnet import __version__

    lines = outcome.stderr.strip().splitlines()
    assert outcome.returncode == EXIT_INTERNAL, (outcome.returncode, outcome.stderr)
    assert lines[0].startswith(f"glassnet: internal error: {kind}"), lines[0]
    assert lines[1] == "Traceback (most recent call last):", outcome.stderr
    assert any(line.startswith(f"{kind}") for line in lines[2:-1]), outcome.stderr
    assert "bug" in lines[-1] and f"glassnet {__version__}" in lines[-1], lines[-1]
    assert "report" in lines[-1], lines[-1]
    return lines


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


# ====================================================================== top level


def test_version(tmp_path):
    outcome = ok(cli("--version", cwd=tmp_path))
    assert re.fullmatch(r"glassnet \d+\.\d+\.\d+\S*\n", outcome.stdout), outcome.stdout


def test_no_command_prints_help_and_exits_2(tmp_path):
    outcome = cli(cwd=tmp_path)
    assert outcome.returncode == 2
    text = outcome.stdout + outcome.stderr
    assert "usage: glassnet" in text
    for command in COMMANDS:
        assert command in text


def test_every_option_of_every_command_says_what_it_does():
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
    assert len(commands.choices) == len(COMMANDS)
    assert tuple(commands.choices) == COMMANDS


def test_each_subcommand_has_its_own_module():
    """Issue 21: every subcommand's parser and handler live in one module of
    glassnet.cli, named after it (``errors`` in error_analysis.py)."""
    import importlib

    parser = build_parser()
    (commands,) = [
        a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
    ]
    modules = {"errors": "error_analysis"}
    for name, command in commands.choices.items():
        module = importlib.import_module(f"glassnet.cli.{modules.get(name, name)}")
        handler = command.get_default("handler")
        assert handler.__module__ == module.__name__, (name, handler.__module__)
        assert callable(module.register)


def test_train_help_lists_every_option(tmp_path):
    outcome = ok(cli("train", "--help", cwd=tmp_path))
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
        assert option in outcome.stdout, option


def test_help_of_every_subcommand_exits_0(tmp_path):
    for command in COMMANDS:
        outcome = ok(cli(command, "--help", cwd=tmp_path))
        assert f"usage: glassnet {command}" in outcome.stdout, command


def test_main_reads_sys_argv_when_given_none(monkeypatch, capsys):
    monkeypatch.setattr(
        "sys.argv", ["glassnet", "diagnose", "--train", "8", "--dev", "12"]
    )
    assert main() == 0
    assert "Problem:" in capsys.readouterr().out
