"""Helpers shared by the course scripts: where the data is, the command line, printing,
and the notebooks' full-batch training loop as one call of the public API.

Every script builds its model through the public glassnet API; ``train_full_batch``
fits it the way the notebooks do (batch gradient descent, no shuffling). The data
folder is, in order of preference, the ``data_dir``
argument (``--data-dir`` on the command line), ``$GLASSNET_DATA``, then
``../shared/data`` relative to the project root (the layout of the course checkout).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA_DIR = PROJECT_ROOT.parent / "shared" / "data"


def resolve_data_dir(data_dir=None) -> Path:
    """The course data folder (``data_dir``, else $GLASSNET_DATA, else the default)."""
    if data_dir is not None:
        return Path(data_dir).expanduser()
    if os.environ.get("GLASSNET_DATA"):
        return Path(os.environ["GLASSNET_DATA"]).expanduser()
    return DEFAULT_DATA_DIR


def data_file(data_dir, relative: str) -> Path:
    """``<data folder>/<relative>``; a clear FileNotFoundError when it is missing."""
    path = resolve_data_dir(data_dir) / relative
    if not path.is_file():
        raise FileNotFoundError(
            f"course data file not found: {path}. Pass --data-dir (or set "
            "GLASSNET_DATA) to the folder holding the course data (shared/data)"
        )
    return path


def course_accuracy_percent(predictions, y) -> float:
    """The C1W2 notebook's ``100 - mean(|y_hat - y|) * 100``."""
    import numpy as np

    return float(100 - np.mean(np.abs(predictions - y)) * 100)


def accuracy(predictions, y) -> float:
    """Fraction of predictions equal to the labels (a multiple of 1/m)."""
    import numpy as np

    return float(np.mean(np.asarray(predictions) == np.asarray(y)))


def print_costs(costs, every: int, template: str, verbose: bool) -> None:
    """Print ``template.format(i, cost)`` every ``every`` entries and for the last."""
    if not verbose:
        return
    last = len(costs) - 1
    for i, cost in enumerate(costs):
        if i % every == 0 or i == last:
            print(template.format(i, cost))


class Timer:
    """``with Timer() as t: ...``; ``t.seconds`` afterwards."""

    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
        return False


def train_full_batch(model, data, *, iterations, learning_rate, score=None, **options):
    """``model.fit`` as the notebooks train: full-batch gradient descent at
    ``learning_rate`` for ``iterations`` steps, no shuffling (``options`` go to fit,
    e.g. ``regularizer=``). Returns the costs, the train and test ``score``
    (``accuracy`` by default; the test score is None without a test set) and the
    seconds taken."""
    import glassnet as gn

    score = accuracy if score is None else score
    with Timer() as timer:
        history = model.fit(
            data.X,
            data.y,
            epochs=iterations,
            batch_size=None,
            optimizer=gn.GradientDescent(learning_rate),
            shuffle=False,
            verbose=False,
            **options,
        )
    has_test = data.X_test is not None  # the planar flower has no test set
    return {
        "costs": list(history["cost"]),
        "train_accuracy": score(model.predict(data.X), data.y),
        "test_accuracy": score(model.predict(data.X_test), data.y_test)
        if has_test
        else None,
        "seconds": timer.seconds,
    }


def main(run, description: str) -> dict:
    """Command line: ``python script.py [--data-dir DIR]`` runs ``run`` verbosely."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--data-dir",
        default=None,
        help="folder holding the course data (default: $GLASSNET_DATA, else "
        f"{DEFAULT_DATA_DIR})",
    )
    arguments = parser.parse_args()
    with Timer() as timer:
        results = run(data_dir=arguments.data_dir, verbose=True)
    print(f"({timer.seconds:.1f} s)")
    return results
