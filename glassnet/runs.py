"""A training run as one function: data -> splits -> network -> fit -> report -> files.

``glassnet train`` and the hyperparameter search both call :func:`train_run` with a
:class:`RunConfig`. The run folder holds ``model.glassnet`` (the whole pipeline:
the preprocessing layers fitted on the training rows, the network and the class
list, so it predicts on the data as stored), ``config.json``, ``history.csv``,
``learning_curve.png``, ``results.json`` and ``report.html``.
"""

from __future__ import annotations

import copy
import inspect
import json
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from glassnet import schedules
from glassnet._atomic_files import write_json_atomically
from glassnet.callbacks import EarlyStopping
from glassnet.model import Sequential
from glassnet.networks import build_network, make_optimizer, preprocessing_layers
from glassnet.regularizers import L1, L2
from glassnet.run_config import RunConfig
from glassnet.validation import first_nonfinite

__all__ = [
    "RunResult",
    "diagnose_results",
    "load_stored",
    "model_extra",
    "prepare_data",
    "split_summary",
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


def _loader_scales(source) -> bool:
    """Whether the loader of ``source`` (a registered name or a path) takes
    ``scale`` (the one that divides uint8 pixels by 255 as it reads them)."""
    from glassnet.data import registry

    if isinstance(source, str) and not source.startswith((".", "/", "~")):
        key = registry._lookup(source)
        if key is not None:
            loader = registry._REGISTRY[key].loader
            return "scale" in inspect.signature(loader).parameters
    path = Path(source).expanduser()
    return path.is_dir() or path.suffix.lower() in (".npz", ".h5", ".hdf5")


def load_stored(source, *, label_column=None, legacy=False):
    """The dataset ``source`` with its values as stored: uint8 pixels stay 0..255,
    since the model's own ``Rescaling`` layer divides them (``glassnet train``,
    ``evaluate`` and ``predict`` all read data this way). ``legacy=True`` reads as
    glassnet did for model files of format 1, with the loaders' own defaults
    (uint8 pixels of .npz, .h5 and image folders divided by 255 on reading)."""
    from glassnet.data import load_dataset
    from glassnet.data.disk_datasets import is_disk_dataset, load_disk_dataset

    if is_disk_dataset(source):  # features stay on disk, labels in memory (D39)
        return load_disk_dataset(source, label_column=label_column)
    options = {} if legacy or not _loader_scales(source) else {"scale": False}
    return load_dataset(source, label_column=label_column, **options)


def prepare_data(config: RunConfig) -> dict:
    """Load ``config.data`` as stored, split it train/dev/test, and fit the input
    layers on the training rows only. Returns ``{"splits": {name: (X, y)},
    "dataset", "preprocessing", "split"}``: raw rows in ``config.dtype``, the
    unbuilt, adapted preprocessing layers
    (:func:`glassnet.networks.preprocessing_layers`; none with
    ``standardize=False``) that :func:`train_run` puts in the model, and where each
    split came from (:func:`split_summary`).

    The dev and test sets come from ``config.dev_data`` / ``config.test_data``
    when given (the notes: from the distribution you care about), else the test
    set from the dataset's own when it has one; what is left comes from
    ``config.data`` cut by ``config.split`` (train, dev, test fractions) or, by
    default, 60/20/20 (the notes' rule for m <= 50,000), 80/20 for train/dev with
    a separate test set, 80/20 for train/test with a separate dev set, all of it
    for training when both are separate.
    """
    from glassnet.data import train_dev_test_split
    from glassnet.data.disk_datasets import is_disk_dataset, prepare_disk_data

    if is_disk_dataset(config.data):  # split by index, nothing loaded (D39)
        return prepare_disk_data(config)
    dataset = load_stored(config.data, label_column=config.label_column)
    roles = table_roles(dataset, config)  # None: not a table with names (D40)
    table = roles is not None and needs_table_layers(roles)
    X = _feature_rows(dataset.X, config.data, table=table)
    separate = {
        part: _separate_part(
            getattr(config, f"{part}_data"), part, dataset, X.shape[1], config, table
        )
        for part in ("dev", "test")
    }
    if separate["test"] is None and dataset.X_test is not None:
        X_test = _feature_rows(dataset.X_test, config.data, "test ", table=table)
        separate["test"] = (X_test, dataset.y_test, f"the test set of {config.data}")
    ratios = _split_ratios(config, separate)
    X_train, X_dev, X_test, y_train, y_dev, y_test = train_dev_test_split(
        X, dataset.y, ratios=ratios, rng=config.split_seed
    )
    parts = {
        "train": (X_train, y_train, config.data),
        "dev": separate["dev"] or (X_dev, y_dev, config.data),
        "test": separate["test"] or (X_test, y_test, config.data),
    }
    preprocessing = preprocessing_layers(
        X_train,
        dataset.image_shape,
        standardize=config.standardize,
        roles=roles if table else None,
    )
    splits = {  # a raw table stays as it is: the model's table layers encode it
        name: (Xs if table else np.ascontiguousarray(Xs, dtype=config.dtype), ys)
        for name, (Xs, ys, _) in parts.items()
        if len(Xs)
    }
    split = {
        "sizes": {name: len(part[0]) for name, part in parts.items()},
        "sources": {name: str(part[2]) for name, part in parts.items()},
        "ratios": list(ratios or _notes_ratios(len(X))),
        "data": str(config.data),
        "split_seed": config.split_seed,
    }
    return {
        "splits": splits,
        "dataset": dataset,
        "preprocessing": preprocessing,
        "split": split,
        "columns": roles,
    }


def table_roles(dataset, config: RunConfig):
    """The column roles of a table with named columns (CSV, Parquet, DataFrame:
    :func:`glassnet.data.columns.infer_roles`, ``config.column_roles`` winning),
    or None for other data (images, arrays, flat pixel files)."""
    from glassnet.data.columns import Table, infer_roles
    from glassnet.networks import is_image_data

    X = dataset.X
    if dataset.feature_names is None and X.dtype == object:
        j, value = next(
            ((j, v) for j in range(X.shape[1]) for v in X[:, j] if isinstance(v, str)),
            (0, None),
        )
        raise ValueError(
            f"{config.data}: feature {j} holds text ({value!r}); a table with text "
            "needs a header line naming its columns (the model reads them by name)"
        )
    if dataset.feature_names is None or X.ndim != 2 or dataset.image_shape:
        if config.column_roles:
            raise ValueError(
                f"{config.data}: column roles apply to a table with named columns "
                "(a CSV file with a header, Parquet, a DataFrame)"
            )
        return None
    if X.dtype != object and not config.column_roles and is_image_data(X):
        return None
    table = Table.from_rows(dataset.feature_names, X)
    try:
        return infer_roles(table, config.column_roles)
    except ValueError as error:
        raise ValueError(f"{config.data}: {error}") from None


def needs_table_layers(roles) -> bool:
    """Whether a table needs the table layers (D40): a categorical or ignored
    column, or an empty cell; a table of numbers only is rows as before."""
    return any(role.role != "numeric" or role.missing for role in roles)


def config_record(config: RunConfig, prepared: dict) -> dict:
    """``config.json``: the run's settings, ``column_roles`` as resolved (every
    column's role, inferred or given), so the run can be repeated from it."""
    record = config.to_dict()
    roles = prepared.get("columns")
    if roles:
        record["column_roles"] = {role.name: role.role for role in roles}
    return record


def _input_width(preprocessing, X_train) -> int:
    """n[0]: the encoded width after the table layers (D40), else X's columns."""
    from glassnet.layers import CategoryEncoding

    for layer in preprocessing:
        if isinstance(layer, CategoryEncoding):
            return layer.width
    return X_train.shape[1]


def _notes_ratios(m: int):
    """The notes' rule of thumb for m examples (what a split of None uses)."""
    from glassnet.data.splits import recommend_ratios

    return recommend_ratios(max(m, 1))


def _feature_rows(X, source, part: str = "", *, table: bool = False) -> np.ndarray:
    """Examples as rows (m, n), every value finite (a raw ``table``'s empty cells
    and text are the table layers' to handle)."""
    X = X.reshape(len(X), -1)
    if not table:
        _check_finite(X, source, part)
    return X


def _separate_part(path, name: str, dataset, n_features: int, config, table=False):
    """``(X, y, path)`` of a separate dev or test file (``--dev-data``,
    ``--test-data``): rows as stored with the training data's number of features,
    labels coded in the training data's classes; None without a file."""
    if path is None:
        return None
    other = load_stored(path, label_column=config.label_column)
    names = dataset.feature_names
    if table and other.feature_names is not None and names:
        from glassnet.data.columns import Table  # the training columns, by name

        table = Table.from_rows(other.feature_names, other.X)
        missing = [column for column in names if column not in table.names]
        if missing:
            raise ValueError(
                f"{path} (--{name}-data) has no column {', '.join(map(repr, missing))}"
                f" that {config.data} has"
            )
        X = Table(names, [table.column(n) for n in names]).to_rows()
    else:
        X = _feature_rows(other.X, path, table=table)
    if X.shape[1] != n_features:
        raise ValueError(
            f"{path} (--{name}-data) has {X.shape[1]} features per example but "
            f"{config.data} has {n_features}; the {name} set needs the same inputs"
        )
    return X, separate_labels(other, dataset, path, name, config), path


def separate_labels(other, dataset, path, name: str, config):
    """The labels of a separate dev or test set ``other`` (``--dev-data``,
    ``--test-data``) coded in the training data's classes (the same label may have
    another code in a file of its own); a label the training data lacks is
    refused naming the file."""
    y = other.y
    if dataset.task in ("binary", "multiclass") and other.classes is not None:
        from glassnet.data import encode_labels

        names = _jsonable_classes(other.classes)
        labels = np.asarray([names[int(c)] for c in np.asarray(y).reshape(-1)])
        try:
            y = encode_labels(labels, classes=_jsonable_classes(dataset.classes))[0]
        except ValueError as error:
            raise ValueError(
                f"{path} (--{name}-data): {error} (the classes of {config.data})"
            ) from None
    return y


def _split_ratios(config: RunConfig, separate: dict):
    """The (train, dev, test) fractions of ``config.data`` (None: the notes' rule
    of thumb), refusing a fraction for a set that comes from elsewhere."""
    given = {name: part[2] for name, part in separate.items() if part is not None}
    if config.split is None:
        defaults = {
            (): None,
            ("test",): (0.8, 0.2, 0.0),
            ("dev",): (0.8, 0.0, 0.2),
            ("dev", "test"): (1.0, 0.0, 0.0),
        }
        return defaults[tuple(sorted(given))]
    ratios = tuple(float(r) for r in config.split)
    for index, name in ((1, "dev"), (2, "test")):
        if name in given and ratios[index] > 0:
            raise ValueError(
                f"split {','.join(f'{r:g}' for r in ratios)} gives the {name} set "
                f"{ratios[index]:g} of {config.data}, but the {name} set is "
                f"{given[name]}; give {name} 0 in the split"
            )
    return ratios


def split_summary(split: dict) -> str:
    """One line: the examples in each split and where they came from, e.g.
    ``examples: train 1077, dev 360, test 360 (digits split 0.6/0.2/0.2,
    split_seed 0)``."""
    data = split["data"]
    parts = [
        f"{name} {split['sizes'][name]}"
        + ("" if split["sources"][name] == data else f" from {split['sources'][name]}")
        for name in ("train", "dev", "test")
    ]
    ratios = "/".join(f"{r:.3g}" for r in split["ratios"])
    return (
        f"examples: {', '.join(parts)} ({data} split {ratios}, split_seed "
        f"{split['split_seed']})"
    )


@dataclass
class RunResult:
    model: Sequential
    history: object
    results: dict
    config: RunConfig
    seconds: float
    diagnosis: object = None
    out: Path | None = None
    #: EarlyStopping.report() (best epoch, where it stopped, weights restored)
    early_stopping: dict | None = None
    #: the examples in each split and where they came from (prepare_data's split)
    split: dict | None = None
    #: each table column's role (glassnet.data.columns.ColumnRole), or None (D40)
    columns: list | None = None

    def table(self) -> str:
        """Per-split examples, cost and metrics as aligned text. A regression
        model's cost is on standardized targets (the units it trains in), and the
        header says so; its r2, rmse and mae are in the targets' own units."""
        metrics = [
            k
            for k in next(iter(self.results.values()))
            if k not in ("examples", "cost")
        ]
        cost, width = "cost", 12
        if getattr(self.model, "target_scale", None) is not None:
            cost, width = "cost (standardized y)", 24
        header = f"{'split':<8}{'examples':>10}{cost:>{width}}" + "".join(
            f"{k:>12}" for k in metrics
        )
        lines = [header]
        for name, row in self.results.items():
            lines.append(
                f"{name:<8}{row['examples']:>10}{row['cost']:>{width}.4f}"
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
    distributed=None,
    backend=None,
    device=None,
) -> RunResult:
    """Run one training job from ``config``; write the run folder when ``out``.

    ``resume`` is a run folder (or checkpoint file) to continue from: the weights,
    optimizer moments, rng streams and History come from its checkpoint, the
    hyperparameters from ``config`` (so a run can go on with a new learning rate).
    With ``config.checkpoint_every`` the run writes ``out/checkpoint.glassnet``.
    ``distributed`` (a :class:`glassnet.distributed.ProcessGroup`) trains
    data-parallel; only process 0 should be given ``out``, and only it scores the
    splits (the others return an empty ``results``). ``backend`` / ``device``: where
    fit trains (default NumPy on the CPU; e.g. "torch", "cuda").
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
    classes = model_classes(dataset)
    rng = np.random.default_rng(config.seed)
    preprocessing = copy.deepcopy(prepared.get("preprocessing", []))  # unshared
    n_x = _input_width(preprocessing, X_train)  # encoded table columns (D40)
    model = build_network(config, n_x, task, n_outputs, rng, preprocessing)
    if task == "regression":  # trains on standardized targets, predicts in y's (D29)
        model.adapt_targets(y_train)
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
    stopper = None
    if config.early_stopping:  # its one line is printed by the CLI, from the result
        stopper = EarlyStopping(
            "val_cost", patience=config.early_stopping, verbose=False
        )
        all_callbacks.append(stopper)
    augment = None
    if config.augment:  # images: 1-pixel shifts; vectors: Gaussian input noise
        from glassnet.data import GaussianNoise, RandomShift

        # no flips: a mirrored digit or letter is another symbol
        shape = dataset.image_shape
        augment = (
            RandomShift(1, image_shape=shape)
            if shape is not None
            else _noise_in_standard_units(GaussianNoise(0.1), model)
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
        prepare_run_folder(Path(out), config, prepared, fresh=resume is None)
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
        distributed=distributed,
        backend=backend,
        device=device,
    )
    seconds = time.perf_counter() - started
    results = {}
    reported = None if task == "regression" else metrics  # regression: r2, rmse, mae
    scored = {} if distributed is not None and not distributed.is_main else splits
    for name, (Xs, ys) in scored.items():
        results[name] = {
            "examples": len(Xs),
            **model.evaluate(Xs, ys, metrics=reported),
        }
    diagnosis = diagnose_results(results, config)
    model.classes = classes  # from here on predict gives the dataset's labels
    model.column_names = run_column_names(dataset, model)  # DataFrames by name
    result = RunResult(model, history, results, config, seconds, diagnosis)
    result.early_stopping = None if stopper is None else stopper.report()
    result.split = prepared.get("split")
    result.columns = prepared.get("columns")
    if out is not None:
        write_run_folder(result, prepared, Path(out))
    return result


def _noise_in_standard_units(noise, model):
    """``noise`` (GaussianNoise(sigma)) as noise of sigma times each feature's
    spread on the raw rows, i.e. sigma in the standardized units the first Dense
    layer sees (as when the rows were standardized before training)."""
    from glassnet.backend import standard_normal
    from glassnet.data import GaussianNoise
    from glassnet.layers import Standardization

    layer = next((l for l in model.layers if isinstance(l, Standardization)), None)
    if layer is None:
        return noise
    spread = np.ascontiguousarray(layer.statistics()[1][:, 0], dtype=np.float64)

    class FeatureNoise(GaussianNoise):
        """X + stddev * spread * N(0, 1), per feature."""

        def _apply(self, X, generator):
            dtype = X.dtype if X.dtype.kind == "f" else np.float64
            noise = standard_normal(generator, X.shape) * (self.stddev * spread)
            return (X + noise).astype(dtype, copy=False)

    return FeatureNoise(noise.stddev)


def diagnose_results(results: dict, config: RunConfig):
    """The bias / variance diagnosis of a classifier's results (error = 1 -
    accuracy per split, ``config.human_error`` as human level), or None when a
    split has no accuracy (regression)."""
    from glassnet.strategy import diagnose

    if not results or any("accuracy" not in row for row in results.values()):
        return None
    errors = {name: 1 - row["accuracy"] for name, row in results.items()}
    return diagnose(
        human=config.human_error or 0.0,
        train=errors.get("train"),
        dev=errors.get("dev"),
        test=errors.get("test"),
        percent=False,
    )


def model_classes(dataset) -> list | None:
    """The labels a classifier's outputs stand for (``model.classes``), checked
    before training: text or numbers (a bool label becomes 0 / 1)."""
    from glassnet.model import _checked_classes

    if dataset.task not in ("binary", "multiclass") or not dataset.classes:
        return None
    values = _jsonable_classes(dataset.classes)
    values = [int(v) if isinstance(v, bool) else v for v in values]
    try:
        return _checked_classes(values)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{dataset.name}: the class labels {error}") from None


def run_column_names(dataset, model) -> list[str] | None:
    """The data's column names for a model that takes its columns as they are
    (D35: a DataFrame given to it later is read by these names); None for data
    without names, a model with table layers (they hold the names, D40), or
    names a model cannot hold (not text, repeated, too long)."""
    from glassnet.model import _checked_column_names

    names = dataset.feature_names
    if not names or model._takes_tables() or len(names) != model.n_x:
        return None
    try:
        return _checked_column_names(names)
    except (TypeError, ValueError):
        return None


def model_extra(prepared: dict, config: RunConfig) -> dict:
    """What the CLI reads beside the model (the task, the feature names for CSV
    columns, the run's settings), as JSON. The preprocessing and the classes are in
    the model itself (``classes`` is repeated here for readers of the manifest)."""
    dataset = prepared["dataset"]
    return {
        "task": dataset.task,
        "classes": _jsonable_classes(dataset.classes),
        "feature_names": dataset.feature_names,
        "run_config": config_record(config, prepared),
    }


def _jsonable_classes(classes):
    """Class labels as JSON values (NumPy scalars as Python ones, HDF5's bytes as
    text)."""
    if classes is None:
        return None
    values = [c.item() if hasattr(c, "item") else c for c in classes]
    return [v.decode("utf-8") if isinstance(v, bytes) else v for v in values]


def prepare_run_folder(
    out: Path, config: RunConfig, prepared: dict, *, fresh: bool = True
) -> None:
    """Before the first epoch: the run folder is a folder (created if needed) that
    can be written, the model file's extra is JSON (labels included), and
    ``config.json`` is written atomically, so a run killed at any point can be
    resumed with ``glassnet train --resume``. A ``fresh`` run (not a resumed one)
    removes the checkpoint an earlier run left in the folder, with a warning: it
    belongs to that run, and resuming it later would discard this one."""
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
    stale = out / CHECKPOINT_FILE
    if fresh and stale.exists():
        warnings.warn(
            f"{out} held the checkpoint of an earlier run; it was removed (this run "
            "starts over, and --resume must not go back to that one)",
            RuntimeWarning,
            stacklevel=3,
        )
        stale.unlink()
    write_json_atomically(out / "config.json", config_record(config, prepared))


def write_run_folder(
    result: RunResult, prepared: dict, out: Path, *, record: dict | None = None
) -> None:
    """The run folder every training command writes (train, transfer); ``record``
    adds entries to results.json (e.g. what a transfer started from). The last
    file is ``report.html``, the run's page (:mod:`glassnet.report`)."""
    from glassnet.plots import plot_run_history
    from glassnet.report import write_run_report

    out.mkdir(parents=True, exist_ok=True)
    result.model.save(
        out / "model.glassnet", extra=model_extra(prepared, result.config)
    )
    write_json_atomically(out / "config.json", config_record(result.config, prepared))
    result.history.to_csv(out / "history.csv")
    plot_run_history(  # cost and metrics, the best epoch marked
        result.history,
        out / "learning_curve.png",
        title=f"{result.config.data}: learning curves",
        early_stopping=result.early_stopping,
    )
    summary = {
        "results": result.results,
        "seconds": result.seconds,
        "epochs_run": len(result.history),
    }
    scale = getattr(result.model, "target_scale", None)
    if scale is not None:  # the units of each split's cost (D29)
        summary["target_scale"] = {
            **scale.get_config(),
            "cost": "on standardized targets (y - mean) / spread; r2, rmse and mae "
            "in the units of y",
        }
    if result.early_stopping is not None:
        summary["early_stopping"] = result.early_stopping
    if result.split is not None:
        summary["split"] = result.split
    if prepared.get("columns"):  # each table column's role, why, empty cells (D40)
        summary["columns"] = [role.to_dict() for role in prepared["columns"]]
    if result.diagnosis is not None:
        summary["diagnosis"] = (
            result.diagnosis.to_dict()
            if hasattr(result.diagnosis, "to_dict")
            else str(result.diagnosis)
        )
    summary.update(record or {})
    write_json_atomically(  # a cost may be infinite (an output saturated at 0)
        out / "results.json",
        json.loads(json.dumps(summary, default=float)),
        allow_nan=True,
    )
    write_run_report(out, model=result.model, prepared=prepared, fresh=True)
    result.out = out
