"""``glassnet transfer``: reuse a saved network's body for a new task.

Cuts the saved model's last Dense layers (its preprocessing layers stay with the
body), puts a new head on top (optionally frozen body, then fine-tuning with a
learning-rate multiplier), reports train / dev / test cost and metrics with the
diagnosis, and writes a run folder like ``glassnet train``'s (``--out``, else
``runs/<data>-transfer-<time>``) through :func:`glassnet.runs.write_run_folder`;
results.json also records what the run started from. A thin shell over
:mod:`glassnet.transfer`.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from glassnet.cli.options import LABEL_COLUMN_HELP, at_least
from glassnet.run_config import RunConfig


def register(sub) -> None:
    transfer = sub.add_parser(
        "transfer", help="reuse a saved network's body for a new task"
    )
    transfer.add_argument(
        "model", metavar="MODEL", help="the .glassnet model file to reuse"
    )
    transfer.add_argument(
        "--data",
        required=True,
        metavar="NAME_OR_PATH",
        help="the new task's data: bundled name or file, with class labels and "
        "the model's number of features",
    )
    transfer.add_argument("--label-column", help=LABEL_COLUMN_HELP)
    transfer.add_argument(
        "--drop",
        type=int,
        default=1,
        help="Dense layers to cut from the output (default 1)",
    )
    transfer.add_argument(
        "--layers", default="", help="new hidden layers before the new output, e.g. 32"
    )
    transfer.add_argument(
        "--activation",
        default="relu",
        help="activation of the new hidden layers (default relu)",
    )
    transfer.add_argument(
        "--freeze", action="store_true", help="train only the new layers"
    )
    transfer.add_argument(
        "--epochs", type=int, default=20, help="epochs of training (default 20)"
    )
    transfer.add_argument(
        "--batch-size",
        type=int,
        default=32,
        help="examples per mini-batch (default 32)",
    )
    transfer.add_argument(
        "--lr", type=float, default=1e-3, help="Adam's learning rate (default 0.001)"
    )
    transfer.add_argument(
        "--fine-tune-epochs",
        type=at_least(0),
        default=0,
        help="then train everything this many epochs",
    )
    transfer.add_argument(
        "--fine-tune-multiplier",
        type=float,
        default=0.1,
        help="learning-rate factor for the body while fine-tuning (default 0.1)",
    )
    transfer.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the split, the new weights and the batches (default 0)",
    )
    transfer.add_argument(
        "--out",
        metavar="DIR",
        help="run folder for the new model (default runs/<data>-transfer-<time>)",
    )
    transfer.add_argument("--quiet", action="store_true", help="no progress bar")
    transfer.set_defaults(handler=run_transfer)


def run_transfer(args) -> int:
    from glassnet.cli.model_files import load_model_and_extra
    from glassnet.cli.run_folders import default_run_folder
    from glassnet.locks import folder_lock
    from glassnet.runs import prepare_data, split_summary, write_run_folder

    source, _ = load_model_and_extra(args.model)  # the whole pipeline (D26)
    config = _config(args, source)
    # the new task's rows as stored, split as `glassnet train` splits them; the
    # body's own preprocessing layers scale them, so nothing new is fitted here
    prepared = prepare_data(config)
    dataset, splits = prepared["dataset"], prepared["splits"]
    if dataset.task not in ("binary", "multiclass"):
        raise ValueError(f"transfer needs class labels; {args.data} is {dataset.task}")
    if source.table_layers():  # a raw table: the body's table layers read it (D40)
        splits = prepared["splits"] = _table_rows(source, dataset, splits, args.data)
    elif splits["train"][0].shape[1] != source.n_x:
        n_x = splits["train"][0].shape[1]
        raise ValueError(
            f"{args.data} has {n_x} features but {args.model} takes {source.n_x}; "
            "transfer needs the same inputs"
        )
    out = Path(args.out) if args.out else default_run_folder(config.data, "transfer")
    with folder_lock(out):  # one training per run folder, as for train
        result = _train(args, config, source, prepared)
        print(result.model.summary(print_fn=None))
        if result.split is not None:  # the sizes and where each set came from
            print(split_summary(result.split))
        print(result.table())
        if result.diagnosis is not None:
            print()
            print(result.diagnosis)
        write_run_folder(result, prepared, out, record={"transfer": _record(args)})
    print(f"\ntrained in {result.seconds:.2f} s; run folder: {out}")
    return 0


def _table_rows(source, dataset, splits, data) -> dict:
    """The splits of a new table for a model with table layers: each split's rows
    with the columns the model uses, by name, in its order (a column it uses
    that the new table lacks is named)."""
    from glassnet.data.columns import Table

    wanted = source.table_layers()[0].used_names
    names = dataset.feature_names
    if names is None:
        raise ValueError(
            f"{data} has no column names; the model takes a table's columns by name"
        )
    missing = [name for name in wanted if name not in names]
    if missing:
        raise ValueError(
            f"{data} has no column {', '.join(map(repr, missing))}, which the model "
            "takes; transfer needs the same inputs"
        )
    ordered = {}
    for part, (X, y) in splits.items():
        table = Table.from_rows(names, X)
        ordered[part] = (Table(wanted, [table.column(n) for n in wanted]).to_rows(), y)
    return ordered


def _train(args, config, source, prepared):
    """The new model (source body, new head) trained and scored -> RunResult."""
    from glassnet import transfer
    from glassnet.networks import hidden_layers, output_layer
    from glassnet.runs import RunResult, diagnose_results, model_classes

    dataset, splits = prepared["dataset"], prepared["splits"]
    classes = len(dataset.classes)
    head = hidden_layers(config.layers, config.activation)
    head.append(output_layer("binary" if classes == 2 else "multiclass", classes))
    model = transfer.replace_head(
        source, head, drop=args.drop, freeze=args.freeze, rng=args.seed
    )
    started = time.perf_counter()
    history = _fit(model, args, splits, body=len(model.layers) - len(head))
    seconds = time.perf_counter() - started
    metrics = list(config.metrics)
    results = {
        name: {"examples": len(X), **model.evaluate(X, y, metrics=metrics)}
        for name, (X, y) in splits.items()
    }
    model.classes = model_classes(dataset)  # predict gives the new data's labels
    result = RunResult(model, history, results, config, seconds)
    result.diagnosis = diagnose_results(results, config)
    result.split = prepared.get("split")
    return result


def _config(args, source) -> RunConfig:
    """The transfer's settings as a run's (config.json): the new data, the new
    layers, the optimizer; ``split_seed`` and ``seed`` are ``--seed``."""
    return RunConfig(
        data=args.data,
        label_column=args.label_column,
        layers=args.layers,
        activation=args.activation,
        epochs=args.epochs,
        batch_size=args.batch_size,
        optimizer="adam",
        learning_rate=args.lr,
        seed=args.seed,
        split_seed=args.seed,
        dtype=np.dtype(source.dtype).name,
        standardize=False,  # the body's preprocessing layers do it
    ).validate()


def _fit(model, args, splits, body: int):
    """Train the new head (then everything with --fine-tune-epochs); the History
    of both phases, epochs counted on."""
    from glassnet import transfer
    from glassnet.optimizers import Adam

    X, y = splits["train"]
    options = dict(
        batch_size=args.batch_size,
        metrics=["accuracy"],
        validation_data=splits.get("dev"),
        rng=args.seed,
        verbose=not args.quiet,
    )
    history = model.fit(X, y, epochs=args.epochs, optimizer=Adam(args.lr), **options)
    if not args.fine_tune_epochs:
        return history
    transfer.unfreeze(model)
    transfer.set_learning_rate_multipliers(
        model, {index: args.fine_tune_multiplier for index in range(body)}
    )
    tuned = model.fit(
        X, y, epochs=args.fine_tune_epochs, optimizer=Adam(args.lr), **options
    )
    return _joined(history, tuned)


def _joined(first, second):
    """One History: ``second``'s epochs numbered after ``first``'s."""
    from glassnet.callbacks import History

    joined = History()
    for part, offset in ((first, 0), (second, len(first))):
        for row, epoch in enumerate(part.epoch):
            logs = {key: values[row] for key, values in part.history.items()}
            joined.on_epoch_end(offset + epoch, logs)
    return joined


def _record(args) -> dict:
    """What the run started from, for results.json."""
    return {
        "source_model": str(args.model),
        "drop": args.drop,
        "freeze": bool(args.freeze),
        "fine_tune_epochs": args.fine_tune_epochs,
        "fine_tune_multiplier": args.fine_tune_multiplier,
    }
