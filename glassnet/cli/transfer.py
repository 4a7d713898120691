"""``glassnet transfer``: reuse a saved network's body for a new task.

Cuts the saved model's last Dense layers, puts a new head on top (optionally frozen
body, then fine-tuning with a learning-rate multiplier) and reports train / dev /
test cost and accuracy; a thin shell over :mod:`glassnet.transfer`.
"""

from __future__ import annotations

from pathlib import Path

from glassnet.cli.options import LABEL_COLUMN_HELP


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
        type=int,
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
    transfer.add_argument("--out", metavar="DIR", help="run folder for the new model")
    transfer.add_argument("--quiet", action="store_true", help="no progress bar")
    transfer.set_defaults(handler=run_transfer)


def run_transfer(args) -> int:
    from glassnet import transfer
    from glassnet.cli.model_files import (
        load_model_and_extra,
        preprocess,
        results_table,
    )
    from glassnet.data import Standardizer, load_dataset, train_dev_test_split
    from glassnet.networks import hidden_layers, output_layer
    from glassnet.optimizers import Adam
    from glassnet.run_config import parse_layers

    source, extra = load_model_and_extra(args.model)
    dataset = load_dataset(args.data, label_column=args.label_column)
    if dataset.task not in ("binary", "multiclass"):
        raise ValueError(f"transfer needs class labels; {args.data} is {dataset.task}")
    X = dataset.X.reshape(len(dataset.X), -1)
    if X.shape[1] != source.n_x:
        raise ValueError(
            f"{args.data} has {X.shape[1]} features but {args.model} takes "
            f"{source.n_x}; transfer needs the same inputs"
        )
    X_train, X_dev, X_test, y_train, y_dev, y_test = train_dev_test_split(
        X, dataset.y, rng=args.seed
    )
    if extra.get("standardizer"):  # the body learned on inputs scaled its way

        def scale(Z):
            return preprocess(Z, extra, source.n_x).astype(source.dtype)

    else:
        scaler = Standardizer().fit(X_train)

        def scale(Z):
            return scaler.transform(Z).astype(source.dtype)

    classes = len(dataset.classes)
    head = hidden_layers(parse_layers(args.layers), args.activation)
    head.append(output_layer("binary" if classes == 2 else "multiclass", classes))
    model = transfer.replace_head(
        source, head, drop=args.drop, freeze=args.freeze, rng=args.seed
    )
    fit_options = dict(
        batch_size=args.batch_size,
        metrics=["accuracy"],
        validation_data=(scale(X_dev), y_dev),
        rng=args.seed,
        verbose=not args.quiet,
    )
    history = model.fit(
        scale(X_train),
        y_train,
        epochs=args.epochs,
        optimizer=Adam(args.lr),
        **fit_options,
    )
    if args.fine_tune_epochs:
        body = list(range(len(model.layers) - len(head)))
        transfer.unfreeze(model)
        transfer.set_learning_rate_multipliers(
            model, {index: args.fine_tune_multiplier for index in body}
        )
        history = model.fit(
            scale(X_train),
            y_train,
            epochs=args.fine_tune_epochs,
            optimizer=Adam(args.lr),
            **fit_options,
        )
    print(model.summary(print_fn=None))
    rows = []
    for name, (Xs, ys) in {
        "train": (X_train, y_train),
        "dev": (X_dev, y_dev),
        "test": (X_test, y_test),
    }.items():
        result = model.evaluate(scale(Xs), ys)
        rows.append((name, len(Xs), result["cost"], result["accuracy"]))
    print(results_table(rows))
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        model.save(
            out / "model.glassnet",
            extra={
                **extra,
                "task": dataset.task,
                "classes": [
                    c.item() if hasattr(c, "item") else c for c in dataset.classes
                ],
            },
        )
        history.to_csv(out / "history.csv")
        print(f"run folder: {out}")
    return 0
