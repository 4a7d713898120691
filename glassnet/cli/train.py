"""``glassnet train``, ``predict``, ``evaluate`` and ``gradcheck``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from glassnet.cli.model_files import (
    load_model_and_extra,
    preprocess,
    read_features,
    results_table,
)
from glassnet.runs import RunConfig, parse_layers, train_run


def _float_or_list(text: str):
    """``0.9`` -> 0.9, ``0.9,0.8`` -> (0.9, 0.8) (one value per hidden layer)."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number or comma-separated numbers like 0.9,0.8; received "
            f"{text!r}"
        ) from None
    return values[0] if len(values) == 1 else tuple(values)


LABEL_COLUMN_HELP = (
    "label column of a CSV file, a name or an index (default: the column named "
    "label, y, target or class, else the last)"
)


def _default(name: str) -> str:
    """RunConfig's default for ``name``, as the help shows it (``64,32`` for layers)."""
    value = getattr(RunConfig, name)
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)


def _with_default(parser, flag: str, text: str, **options) -> None:
    """Add ``flag``, its help ending with RunConfig's default for it."""
    default = _default(flag[2:].replace("-", "_"))
    parser.add_argument(flag, help=f"{text} (default {default})", **options)


def register(sub) -> None:
    train = sub.add_parser("train", help="train a network and write a run folder")
    train.add_argument(
        "--data",
        metavar="NAME_OR_PATH",
        help="bundled name (digits, breast_cancer, iris, wine, "
        "diabetes, moons, circles, flower, mnist) or a .csv/.npz/.h5/"
        ".mat file or image folder (default: digits)",
    )
    train.add_argument(
        "--config",
        metavar="JSON",
        help="a JSON file of run settings (e.g. a search's best "
        "config); command-line options override it",
    )
    train.add_argument("--label-column", help=LABEL_COLUMN_HELP)
    _with_default(train, "--layers", "hidden layer sizes, e.g. 64,32")
    _with_default(train, "--activation", "hidden activation")
    train.add_argument(
        "--initializer",
        help="zeros, random, xavier, glorot or he (default: he for relu layers, "
        "xavier otherwise)",
    )
    _with_default(train, "--epochs", "passes over the training set", type=int)
    _with_default(train, "--batch-size", "examples per mini-batch", type=int)
    train.add_argument(
        "--lr",
        type=float,
        dest="learning_rate",
        help="learning rate (default: the optimizer's)",
    )
    _with_default(
        train,
        "--optimizer",
        "update rule",
        choices=["gd", "momentum", "rmsprop", "adam"],
    )
    _with_default(train, "--beta1", "momentum / Adam beta1", type=float)
    _with_default(train, "--beta2", "RMSprop / Adam beta2", type=float)
    _with_default(train, "--epsilon", "RMSprop / Adam epsilon", type=float)
    train.add_argument(
        "--schedule",
        choices=[
            "inverse_time",
            "exponential",
            "inverse_sqrt_epoch",
            "inverse_sqrt_step",
        ],
        help="learning-rate decay (default: none)",
    )
    train.add_argument(
        "--decay-rate",
        type=float,
        help="the schedule's decay_rate (its base for exponential)",
    )
    train.add_argument(
        "--time-interval", type=int, help="apply the decay every N epochs (staircase)"
    )
    _with_default(train, "--l2", "L2 lambd", type=float)
    _with_default(train, "--l1", "L1 lambd", type=float)
    train.add_argument(
        "--keep-prob",
        type=_float_or_list,
        help="dropout keep_prob, one value or one per hidden layer (default 1: none)",
    )
    train.add_argument(
        "--batchnorm",
        action="store_true",
        default=None,
        help="batch normalization before each hidden activation",
    )
    train.add_argument(
        "--early-stopping",
        type=int,
        metavar="PATIENCE",
        help="stop after PATIENCE epochs without a better dev cost; keep the best "
        "weights",
    )
    train.add_argument(
        "--augment",
        action="store_true",
        default=None,
        help="augment training batches: random 1-pixel shifts for images, "
        "Gaussian input noise (sigma 0.1) otherwise",
    )
    train.add_argument(
        "--no-standardize",
        dest="standardize",
        action="store_false",
        default=None,
        help="train on the features as given (default: scaled to zero mean and unit "
        "variance on the training split)",
    )
    train.add_argument(
        "--human-error",
        type=float,
        metavar="PERCENT",
        help="human-level error in percent for the diagnosis, e.g. 1 (default 0)",
    )
    _with_default(train, "--seed", "seed of the weights, batches and dropout", type=int)
    _with_default(
        train,
        "--dtype",
        "floating-point type of the weights and the data",
        choices=["float32", "float64"],
    )
    train.add_argument("--out", metavar="DIR", help="run folder (default runs/<name>)")
    train.add_argument(
        "--checkpoint-every",
        type=int,
        metavar="N",
        help="write RUN/checkpoint.glassnet every N epochs",
    )
    train.add_argument(
        "--resume",
        metavar="RUN",
        help="continue RUN from its checkpoint; options given here "
        "(e.g. --lr, --epochs as the new total) override its config",
    )
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(handler=run_train)

    predict = sub.add_parser("predict", help="predict with a saved model")
    predict.add_argument("model", metavar="MODEL", help="a .glassnet model file")
    predict.add_argument(
        "file",
        metavar="FILE",
        help=".csv (features, optionally with the label column where training had it), "
        ".npy or .npz (key X)",
    )
    predict.add_argument("--proba", action="store_true", help="print probabilities")
    predict.set_defaults(handler=run_predict)

    evaluate = sub.add_parser("evaluate", help="evaluate a saved model on data")
    evaluate.add_argument("model", metavar="MODEL", help="a .glassnet model file")
    evaluate.add_argument(
        "--data",
        required=True,
        metavar="NAME_OR_PATH",
        help="bundled name or file, with labels",
    )
    evaluate.add_argument("--label-column", help=LABEL_COLUMN_HELP)
    evaluate.set_defaults(handler=run_evaluate)

    check = sub.add_parser("gradcheck", help="gradient-check a small network")
    check.add_argument("--layers", default="5,3", help="hidden sizes (default 5,3)")
    check.add_argument(
        "--activation", default="relu", help="hidden activation (default relu)"
    )
    check.add_argument(
        "--output",
        default="sigmoid",
        choices=["sigmoid", "softmax", "linear"],
        help="output layer and its loss (default sigmoid)",
    )
    check.add_argument(
        "--classes", type=int, default=3, help="softmax output size (default 3)"
    )
    check.add_argument("--features", type=int, default=4, help="(default 4)")
    check.add_argument("--examples", type=int, default=10, help="(default 10)")
    check.add_argument("--l2", type=float, default=0.0, help="L2 lambd (default 0)")
    check.add_argument(
        "--batchnorm", action="store_true", help="batch norm in the hidden layers"
    )
    check.add_argument("--seed", type=int, default=1, help="(default 1)")
    check.set_defaults(handler=run_gradcheck)


def _read_json(path: str, what: str) -> dict:
    file = Path(path)
    if not file.exists():
        raise FileNotFoundError(f"no such {what}: {path}")
    try:
        values = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not valid JSON ({error})") from None
    if not isinstance(values, dict):
        raise ValueError(f"{path} must hold a JSON object of run settings")
    return values


def config_from_args(args) -> RunConfig:
    """Settings: a resumed run's config, then --config, then the options given."""
    values = {}
    if getattr(args, "resume", None):
        saved = Path(args.resume) / "config.json"
        if not saved.exists():
            raise FileNotFoundError(
                f"{args.resume} is not a run folder (no config.json)"
            )
        values.update(_read_json(saved, "run config"))
    if args.config:
        loaded = _read_json(args.config, "config file")
        values.update(loaded.get("config", loaded))
    for name in RunConfig.field_names():
        value = getattr(args, name, None)
        if value is not None:
            values[name] = value
    if getattr(args, "human_error", None) is not None:
        values["human_error"] = args.human_error / 100  # the option is in percent
    return RunConfig.from_dict(values)


def run_train(args) -> int:
    config = config_from_args(args)
    if args.out:
        out = Path(args.out)
    elif args.resume:
        out = Path(args.resume)
    else:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        out = Path("runs") / f"{Path(str(config.data)).stem}-{stamp}"
    result = train_run(config, out=out, verbose=not args.quiet, resume=args.resume)
    print(result.table())
    if result.diagnosis is not None:
        print()
        print(result.diagnosis)
    print(f"\ntrained in {result.seconds:.2f} s; run folder: {out}")
    return 0


def run_predict(args) -> int:
    model, extra = load_model_and_extra(args.model)
    X = preprocess(read_features(args.file, model.n_x, extra), extra, model.n_x)
    classes = extra.get("classes")
    if args.proba:
        for row in model.predict_proba(X):
            print(",".join(f"{v:.6g}" for v in np.atleast_1d(row)))
        return 0
    predictions = model.predict(X)
    for value in predictions:
        if classes and np.ndim(value) == 0 and model.output_activation != "linear":
            print(classes[int(value)])
        else:
            print(value if np.ndim(value) == 0 else ",".join(map(str, value)))
    return 0


def run_evaluate(args) -> int:
    from glassnet.data import encode_labels, load_dataset

    model, extra = load_model_and_extra(args.model)
    dataset = load_dataset(args.data, label_column=args.label_column)
    splits = {"data": (dataset.X, dataset.y)}
    if dataset.X_test is not None:
        splits["test"] = (dataset.X_test, dataset.y_test)
    classes = extra.get("classes")
    rows = []  # all splits first: an error leaves no half-printed table
    for name, (X, y) in splits.items():
        X = preprocess(X, extra, model.n_x)
        if (
            classes
            and dataset.classes is not None
            and extra.get("task") != "regression"
        ):
            names = [dataset.classes[int(c)] for c in y]
            y, _ = encode_labels(np.asarray(names), classes=classes)
        metrics = () if model.output_activation == "linear" else ("accuracy",)
        result = model.evaluate(X, y, metrics=metrics)
        rows.append((name, len(X), result["cost"], result.get("accuracy")))
    print(results_table(rows))
    return 0


def run_gradcheck(args) -> int:
    import glassnet as gn

    rng = np.random.default_rng(args.seed)
    hidden = parse_layers(args.layers)
    layers = []
    for units in hidden:
        if args.batchnorm:
            layers += [gn.Dense(units), gn.BatchNorm(), gn.Activation(args.activation)]
        else:
            layers.append(gn.Dense(units, args.activation))
    n_out = args.classes if args.output == "softmax" else 1
    model = gn.Sequential([*layers, gn.Dense(n_out, args.output)])
    model.build(args.features, rng=rng, dtype="float64")
    X = rng.standard_normal((args.features, args.examples))
    if args.output == "softmax":
        Y = rng.integers(0, n_out, (1, args.examples)).astype(float)
    elif args.output == "sigmoid":
        Y = rng.integers(0, 2, (1, args.examples)).astype(float)
    else:
        Y = rng.standard_normal((1, args.examples))
    regularizer = gn.L2(args.l2) if args.l2 else None
    result = gn.gradient_check(model, X, Y, regularizer=regularizer)
    print(model.summary(print_fn=None))
    print(result.table())
    if not result.difference < 2e-7:
        print("glassnet: gradient check failed", file=sys.stderr)
        return 1
    return 0
