"""A training run as one function: data -> splits -> network -> fit -> report -> files.

``glassnet train`` and the hyperparameter search both call :func:`train_run` with a
:class:`RunConfig`. The run folder holds ``model.glassnet`` (with the preprocessing
needed to predict on raw data), ``config.json``, ``history.csv``,
``learning_curve.png`` and ``results.json``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from glassnet import schedules
from glassnet._atomic_files import write_json_atomically
from glassnet.callbacks import EarlyStopping
from glassnet.model import Sequential
from glassnet.networks import build_network, make_optimizer
from glassnet.regularizers import L1, L2
from glassnet.run_config import RunConfig
from glassnet.validation import first_nonfinite

__all__ = [
    "RunResult",
    "model_extra",
    "prepare_data",
    "train_run",
    "write_run_folder",
]


def _check_finite(X, source: str, part: str = "") -> None:
    """Refuse NaN or infinite features, naming the example in the file's order (fit's
    own check runs after the shuffled split, whose row numbers are not the file's)."""
    bad = first_nonfinite(X)
    if bad is not None:
        row, column = bad
        raise ValueError(
            f"{source}: {part}example {row} (counting from 0 in the file's order), "
            f"feature {column} is {X[row, column]}; clean or impute the data first"
        )


def prepare_data(config: RunConfig) -> dict:
    """Load ``config.data``, split it train/dev/test, standardize with training
    statistics only. Returns ``{"splits": {name: (X, y)}, "dataset", "scaler"}``."""
    from glassnet.data import Standardizer, load_dataset, train_dev_test_split

    dataset = load_dataset(config.data, label_column=config.label_column)
    X = dataset.X.reshape(len(dataset.X), -1)
    _check_finite(X, config.data)
    if dataset.X_test is not None:
        _check_finite(
            dataset.X_test.reshape(len(dataset.X_test), -1), config.data, "test "
        )
        X_train, X_dev, _, y_train, y_dev, _ = train_dev_test_split(
            X, dataset.y, ratios=(0.8, 0.2, 0.0), rng=config.split_seed
        )
        X_test = dataset.X_test.reshape(len(dataset.X_test), -1)
        y_test = dataset.y_test
    else:
        X_train, X_dev, X_test, y_train, y_dev, y_test = train_dev_test_split(
            X, dataset.y, rng=config.split_seed
        )
    scaler = Standardizer().fit(X_train) if config.standardize else None
    splits = {}
    for name, (Xs, ys) in {
        "train": (X_train, y_train),
        "dev": (X_dev, y_dev),
        "test": (X_test, y_test),
    }.items():
        if len(Xs):
            Xs = scaler.transform(Xs) if scaler is not None else Xs
            splits[name] = (np.ascontiguousarray(Xs, dtype=config.dtype), ys)
    return {"splits": splits, "dataset": dataset, "scaler": scaler}


@dataclass
class RunResult:
    model: Sequential
    history: object
    results: dict
    config: RunConfig
    seconds: float
    diagnosis: object = None
    out: Path | None = None

    def table(self) -> str:
        """Per-split examples, cost and metrics as aligned text."""
        metrics = [
            k
            for k in next(iter(self.results.values()))
            if k not in ("examples", "cost")
        ]
        header = f"{'split':<8}{'examples':>10}{'cost':>12}" + "".join(
            f"{k:>12}" for k in metrics
        )
        lines = [header]
        for name, row in self.results.items():
            lines.append(
                f"{name:<8}{row['examples']:>10}{row['cost']:>12.4f}"
                + "".join(f"{row[k]:>12.4f}" for k in metrics)
            )
        return "\n".join(lines)


CHECKPOINT_FILE = "checkpoint.glassnet"


def train_run(
    config: RunConfig,
    *,
    out=None,
    verbose=True,
    prepared=None,
    callbacks=(),
    resume=None,
) -> RunResult:
    """Run one training job from ``config``; write the run folder when ``out``.

    ``resume`` is a run folder (or checkpoint file) to continue from: the weights,
    optimizer moments, rng streams and History come from its checkpoint, the
    hyperparameters from ``config`` (so a run can go on with a new learning rate).
    With ``config.checkpoint_every`` the run writes ``out/checkpoint.glassnet``.
    """
    config.validate()
    prepared = prepared or prepare_data(config)
    dataset, splits = prepared["dataset"], prepared["splits"]
    X_train, y_train = splits["train"]
    task = dataset.task
    if task in ("binary", "multiclass") and len(np.unique(y_train)) < 2:
        raise ValueError(
            f"{config.data}: training needs examples of at least 2 classes; the "
            f"training split has only {np.unique(y_train).tolist()}"
        )
    n_outputs = (
        len(dataset.classes)
        if task == "multiclass"
        else (1 if y_train.ndim == 1 else y_train.shape[1])
    )
    rng = np.random.default_rng(config.seed)
    model = build_network(config, X_train.shape[1], task, n_outputs, rng)
    regularizer = L2(config.l2) if config.l2 else (L1(config.l1) if config.l1 else None)
    schedule = None
    optimizer = make_optimizer(config)
    if config.schedule is not None:
        rate = {}  # for the exponential schedule, decay_rate is the base (Keras)
        if config.decay_rate is not None:
            key = "base" if config.schedule == "exponential" else "decay_rate"
            rate[key] = config.decay_rate
        schedule = schedules.get(
            config.schedule,
            learning_rate=optimizer.learning_rate,
            time_interval=config.time_interval,
            **rate,
        )
    metrics = list(config.metrics) if task != "regression" else []
    all_callbacks = list(callbacks)
    if config.early_stopping:
        all_callbacks.append(EarlyStopping("val_cost", patience=config.early_stopping))
    augment = None
    if config.augment:  # images: 1-pixel shifts; vectors: Gaussian input noise
        from glassnet.data import GaussianNoise, RandomShift

        # no flips: a mirrored digit or letter is another symbol
        shape = dataset.image_shape
        augment = (
            RandomShift(1, image_shape=shape)
            if shape is not None
            else GaussianNoise(0.1)
        )
    checkpoint = None
    if config.checkpoint_every and out is not None:
        Path(out).mkdir(parents=True, exist_ok=True)
        checkpoint = Path(out) / CHECKPOINT_FILE
    if resume is not None:
        resume = Path(resume)
        resume = resume / CHECKPOINT_FILE if resume.is_dir() else resume
        if not resume.exists():
            raise FileNotFoundError(f"no checkpoint to resume from: {resume}")
    if out is not None:  # what could fail at the end fails now, config.json first
        prepare_run_folder(Path(out), config, prepared)
    started = time.perf_counter()
    history = model.fit(
        X_train,
        y_train,
        epochs=config.epochs,
        batch_size=config.batch_size,
        optimizer=optimizer,
        regularizer=regularizer,
        schedule=schedule,
        validation_data=splits.get("dev"),
        callbacks=all_callbacks,
        metrics=metrics,
        rng=rng,
        verbose=verbose,
        augment=augment,
        checkpoint=checkpoint,
        checkpoint_every=config.checkpoint_every or 1,
        resume=resume,
    )
    seconds = time.perf_counter() - started
    results = {}
    for name, (Xs, ys) in splits.items():
        results[name] = {"examples": len(Xs), **model.evaluate(Xs, ys, metrics=metrics)}
    diagnosis = None
    if task != "regression" and "accuracy" in metrics:
        from glassnet.strategy import diagnose

        errors = {n: 1 - r["accuracy"] for n, r in results.items()}
        diagnosis = diagnose(
            human=config.human_error or 0.0,
            train=errors.get("train"),
            dev=errors.get("dev"),
            test=errors.get("test"),
            percent=False,
        )
    result = RunResult(model, history, results, config, seconds, diagnosis)
    if out is not None:
        write_run_folder(result, prepared, Path(out))
    return result


def model_extra(prepared: dict, config: RunConfig) -> dict:
    """What ``predict``/``evaluate`` need besides the network, as JSON."""
    dataset, scaler = prepared["dataset"], prepared["scaler"]
    extra = {
        "task": dataset.task,
        "classes": _jsonable_classes(dataset.classes),
        "feature_names": dataset.feature_names,
        "run_config": config.to_dict(),
        "standardizer": None,
    }
    if scaler is not None:
        extra["standardizer"] = {
            "mean": scaler.mean.tolist(),
            "std": scaler.std.tolist(),
        }
    return extra


def _jsonable_classes(classes):
    if classes is None:
        return None
    return [c.item() if hasattr(c, "item") else c for c in classes]


def prepare_run_folder(out: Path, config: RunConfig, prepared: dict) -> None:
    """Before the first epoch: the run folder is a folder (created if needed) that
    can be written, the model file's extra is JSON (labels included), and
    ``config.json`` is written atomically, so a run killed at any point can be
    resumed with ``glassnet train --resume``."""
    if out.exists() and not out.is_dir():
        raise FileExistsError(
            f"the run folder {out} is a file; give a folder path (--out)"
        )
    out.mkdir(parents=True, exist_ok=True)
    try:
        json.dumps(model_extra(prepared, config), allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"{config.data}: the run's labels or settings cannot be saved in the "
            f"model file ({error}); use numbers or text for labels"
        ) from None
    write_json_atomically(out / "config.json", config.to_dict())


def write_run_folder(result: RunResult, prepared: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    result.model.save(
        out / "model.glassnet", extra=model_extra(prepared, result.config)
    )
    write_json_atomically(out / "config.json", result.config.to_dict())
    result.history.to_csv(out / "history.csv")
    result.history.plot(out / "learning_curve.png", title=f"{result.config.data}: cost")
    summary = {
        "results": result.results,
        "seconds": result.seconds,
        "epochs_run": len(result.history),
    }
    if result.diagnosis is not None:
        summary["diagnosis"] = (
            result.diagnosis.to_dict()
            if hasattr(result.diagnosis, "to_dict")
            else str(result.diagnosis)
        )
    write_json_atomically(  # a cost may be infinite (an output saturated at 0)
        out / "results.json",
        json.loads(json.dumps(summary, default=float)),
        allow_nan=True,
    )
    result.out = out
