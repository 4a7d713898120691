"""A training process for tests/test_reliability.py to kill and restart.

Run as a script::

    python tests/reliability_worker.py --data DATA.npz --out DIR --net digits \
        --dtype float64 --epochs 12 --seed 7 [--resume] [--sleep 0.1]

It trains the network named by ``--net`` on ``X``/``y`` from ``DATA.npz`` with
``fit(..., checkpoint=DIR/checkpoint.glassnet, checkpoint_every=1, rng=SEED)``
(``--resume``: ``resume=`` that checkpoint when it exists) and prints one line per
event, flushed, so the test knows where the run is:

    start PID           the process is up, before fit
    train-begin         fit has started (stale temporaries are already cleaned)
    epoch E             epoch E begins; the checkpoint of epoch E - 1 is on disk
    done                the results are written

then writes the final weights (``model.get_weights()``, ``np.savez``) to
``DIR/weights.npz`` and the History (``{"epoch": ..., "history": ...}``) to
``DIR/history.json``, each atomically. ``--sleep S`` sleeps S seconds at the start of
every epoch, so the test has time to kill it between (and during) epochs; it does
not touch any state that training uses.

The module is importable too: the tests call :func:`build_model` and :func:`train`
in-process for the controls that need no process of their own.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

import glassnet as gn
from glassnet._atomic_files import write_atomically

CHECKPOINT = "checkpoint.glassnet"


def build_model(net: str) -> gn.Sequential:
    """``digits``: 64-32-10 with Dropout(0.9); ``tiny``: a small net that trains in
    microseconds, so that checkpoint writes take most of the time."""
    if net == "digits":
        return gn.Sequential(
            [gn.Dense(32, "relu"), gn.Dropout(0.9), gn.Dense(10, "softmax")]
        )
    if net == "tiny":
        return gn.Sequential(
            [gn.Dense(48, "relu"), gn.Dropout(0.8), gn.Dense(1, "sigmoid")]
        )
    raise ValueError(f"unknown net {net!r}")


class Marker(gn.Callback):
    """Prints progress lines; optionally sleeps at the start of each epoch."""

    def __init__(self, sleep: float = 0.0, stream=None):
        self.sleep = sleep
        self.stream = stream

    def _say(self, text: str) -> None:
        if self.stream is not None:
            print(text, file=self.stream, flush=True)

    def on_train_begin(self, logs=None):
        self._say("train-begin")

    def on_epoch_begin(self, epoch, logs=None):
        self._say(f"epoch {epoch}")
        if self.sleep:
            time.sleep(self.sleep)


def train(
    X,
    y,
    *,
    net: str = "digits",
    dtype: str = "float64",
    epochs: int = 12,
    seed: int = 7,
    batch_size: int | None = 64,
    checkpoint=None,
    resume=None,
    sleep: float = 0.0,
    stream=None,
):
    """Train a fresh model (or resume one); return ``(model, history)``."""
    model = build_model(net)
    history = model.fit(
        X,
        y,
        epochs=epochs,
        batch_size=batch_size,
        optimizer=gn.Adam(learning_rate=1e-3),
        rng=seed,
        dtype=dtype,
        checkpoint=checkpoint,
        checkpoint_every=1,
        resume=resume,
        callbacks=[Marker(sleep, stream)],
        verbose=False,
    )
    return model, history


def history_json(history) -> str:
    """``history.epoch`` and ``history.history`` as JSON text (floats exactly)."""
    record = {"epoch": [int(e) for e in history.epoch], "history": history.history}
    return json.dumps(record, sort_keys=True, default=float)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--net", default="digits", choices=["digits", "tiny"])
    parser.add_argument("--dtype", default="float64")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--sleep", type=float, default=0.0)
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args(argv)

    print(f"start {os.getpid()}", flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    checkpoint = out / CHECKPOINT
    with np.load(args.data) as data:
        X, y = data["X"], data["y"]
    resume = checkpoint if args.resume and checkpoint.exists() else None
    model, history = train(
        X,
        y,
        net=args.net,
        dtype=args.dtype,
        epochs=args.epochs,
        seed=args.seed,
        batch_size=args.batch_size if args.batch_size > 0 else None,
        checkpoint=checkpoint,
        resume=resume,
        sleep=args.sleep,
        stream=sys.stdout,
    )
    write_atomically(out / "weights.npz", lambda h: np.savez(h, **model.get_weights()))
    text = history_json(history).encode()
    write_atomically(out / "history.json", lambda h: h.write(text))
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
