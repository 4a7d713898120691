"""A killed ``glassnet train`` can always be resumed from the command line.

Real ``glassnet`` processes: an uninterrupted run, then 20 runs of the same command
killed with SIGKILL at random points after they start training (during epochs and
during checkpoint writes alike), each finished with ``glassnet train --resume RUN``.
Every resumed run must end on the uninterrupted run's weights, bit for bit.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn

pytestmark = pytest.mark.slow  # real processes, killed and resumed

COMMAND = [
    "train",
    "--data",
    "digits",
    "--layers",
    "32",
    "--keep-prob",
    "0.9",  # dropout: its rng stream must be resumed too
    "--augment",
    "--epochs",
    "100",
    "--batch-size",
    "32",
    "--seed",
    "3",
    "--checkpoint-every",
    "1",
    "--quiet",
]


def glassnet(*args, cwd) -> subprocess.Popen:
    environment = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "glassnet", *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=environment,
    )


def finish(process) -> None:
    _, error = process.communicate(timeout=300)
    assert process.returncode == 0, error.decode()


def weights(run: Path) -> dict:
    return gn.load(run / "model.glassnet").get_weights()


def test_twenty_random_kills_resume_to_the_uninterrupted_weights(tmp_path):
    finish(glassnet(*COMMAND, "--out", "reference", cwd=tmp_path))
    expected = weights(tmp_path / "reference")
    epochs = json.loads((tmp_path / "reference" / "results.json").read_text())
    assert epochs["epochs_run"] == 100
    chooser = random.Random(2026)
    killed_mid_run = 0
    for attempt in range(20):
        run = tmp_path / f"killed{attempt}"
        process = glassnet(*COMMAND, "--out", run.name, cwd=tmp_path)
        deadline = time.monotonic() + 60
        while not (run / "config.json").exists() and time.monotonic() < deadline:
            time.sleep(0.01)  # config.json is written before the first epoch
        time.sleep(chooser.uniform(0.0, 1.2))  # 100 epochs take about 1.8 s
        process.send_signal(signal.SIGKILL)
        process.wait()
        if process.returncode == -signal.SIGKILL:
            killed_mid_run += 1
        finish(glassnet("train", "--resume", run.name, "--quiet", cwd=tmp_path))
        got = weights(run)
        for key, value in expected.items():
            np.testing.assert_array_equal(got[key], value, err_msg=f"{run}: {key}")
    assert killed_mid_run >= 15  # most kills landed while training ran
