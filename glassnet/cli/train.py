"""``glassnet train``: train a network from options, a JSON config or a resumed run,
and write the run folder (model, config, history, learning curve, results)."""

from __future__ import annotations

import argparse
from pathlib import Path

from glassnet import initializers
from glassnet.cli.options import LABEL_COLUMN_HELP
from glassnet.cli.run_folders import (
    check_run_folder,
    default_run_folder,
    read_json_object,
)
from glassnet.run_config import RunConfig


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


def _column_names(text: str) -> tuple:
    """``sex,port`` -> ("sex", "port"): table column names for a role."""
    names = tuple(name.strip() for name in text.split(","))
    if not all(names):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated column names like sex,port; received {text!r}"
        )
    return names


def _column_roles(args, values: dict) -> dict | None:
    """``column_roles`` of the settings with --categorical, --numeric, --ignore
    on top; a column given two roles is refused."""
    roles = dict(values.get("column_roles") or {})
    given = {}
    for flag, role in (("categorical", "categorical"), ("numeric", "numeric"),
                       ("ignore", "ignored")):  # fmt: skip
        for name in getattr(args, flag, None) or ():
            if given.get(name, role) != role:
                raise ValueError(
                    f"column {name!r} is given two roles: {given[name]} and {role}"
                )
            given[name] = role
    roles.update(given)
    return roles or values.get("column_roles")


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
        "diabetes, moons, circles, flower, mnist) or a .csv/.parquet/.npz/"
        ".h5/.mat file or image folder (default: digits)",
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
        choices=initializers.NAMES,
        metavar="NAME",
        help="weights of every Dense layer: the notes' zeros, random, xavier, glorot, "
        "he, or Keras's glorot_uniform, glorot_normal, he_uniform, he_normal, "
        "lecun_normal (default: he for relu layers, xavier otherwise)",
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
        help="train on the features as given (default: the model's first layers "
        "rescale image data to [0, 1] and standardize other data, with statistics "
        "of the training split)",
    )
    train.add_argument(
        "--human-error",
        type=float,
        metavar="PERCENT",
        help="human-level error in percent for the diagnosis, e.g. 1 (default 0)",
    )
    train.add_argument(
        "--split",
        metavar="TRAIN,DEV,TEST",
        help="fractions of --data for the training, dev and test sets, e.g. "
        "0.8,0.1,0.1 (0 for a set given by --dev-data / --test-data; default "
        "60/20/20, or 80/20 of what is left when a set comes from elsewhere)",
    )
    train.add_argument(
        "--dev-data",
        metavar="NAME_OR_PATH",
        help="the dev set from its own file (same features and classes as --data), "
        "e.g. from the distribution you care about",
    )
    train.add_argument(
        "--test-data",
        metavar="NAME_OR_PATH",
        help="the test set from its own file (same features and classes as --data)",
    )
    for flag, role in (
        ("--categorical", "categorical (one-hot, an (other) slot)"),
        ("--numeric", "numeric (text that reads as numbers)"),
        ("--ignore", "ignored (not fed to the model)"),
    ):
        train.add_argument(
            flag,
            type=_column_names,
            metavar="COLS",
            help=f"table columns (comma-separated names) taken as {role}, whatever "
            "was inferred (default: roles inferred from the values and printed)",
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
    train.add_argument(
        "--nproc",
        type=int,
        metavar="N",
        help="train data-parallel on N processes of this machine (torch.distributed, "
        "gloo); for several machines, start glassnet train with torchrun instead",
    )
    train.add_argument(
        "--device",
        metavar="DEVICE",
        help="train on the torch backend on DEVICE (cuda, cuda:1, cpu); with --nproc "
        "or torchrun, each process on its own GPU, cuda:LOCAL_RANK, through nccl "
        "(default: NumPy on the CPU)",
    )
    train.add_argument(
        "--mlflow",
        nargs="?",
        const="",
        metavar="URI",
        help="log the run to MLflow: settings as parameters, each epoch's metrics, "
        "the results and the run folder as artifacts; URI as MLflow takes it "
        "(sqlite:///mlflow.db, file:./mlruns, http://host:5000; default: "
        "$MLFLOW_TRACKING_URI, else MLflow's default). Needs glassnet[mlflow]",
    )
    train.add_argument(
        "--mlflow-experiment",
        metavar="NAME",
        help="the MLflow experiment (created when missing; default: "
        "$MLFLOW_EXPERIMENT_NAME, else MLflow's Default)",
    )
    train.set_defaults(handler=run_train)


def config_from_args(args) -> RunConfig:
    """Settings: a resumed run's config, then --config, then the options given."""
    values = {}
    if getattr(args, "resume", None):
        saved = check_run_folder(args.resume, "config.json") / "config.json"
        values.update(read_json_object(saved, "run config"))
    if args.config:
        values.update(_config_file(args.config))
    for name in RunConfig.field_names():
        value = getattr(args, name, None)
        if value is not None:
            values[name] = value
    if getattr(args, "human_error", None) is not None:
        values["human_error"] = args.human_error / 100  # the option is in percent
    roles = _column_roles(args, values)  # --categorical, --numeric, --ignore (D40)
    if roles is not None:
        values["column_roles"] = roles
    return RunConfig.from_dict(values)


def _config_file(path) -> dict:
    """The run settings in a JSON file: an object of settings, or an object whose
    ``config`` holds them (a search journal's trial)."""
    loaded = read_json_object(path, "config file")
    values = loaded.get("config", loaded)
    if not isinstance(values, dict):
        raise ValueError(
            f'{path}: "config" must be an object of run settings; received {values!r}'
        )
    return values


def _mlflow_logger(args, config: RunConfig, out: Path):
    """The MLflow logger of ``--mlflow [URI]`` (None without it), its store
    already open (the seconds MLflow takes to open a sqlite store are not the
    training's): it logs the run's settings and every epoch during training, and
    stays open for the results and the run folder (:func:`_log_to_mlflow`)."""
    if args.mlflow is None:
        if args.mlflow_experiment is not None:
            raise ValueError(
                f"--mlflow-experiment {args.mlflow_experiment!r} needs --mlflow "
                "(the run is logged to MLflow only with it)"
            )
        return None
    from glassnet.tracking import MLflowLogger

    logger = MLflowLogger(
        args.mlflow or None,
        experiment=args.mlflow_experiment,
        run_name=out.name,
        params=config.to_dict(),
        tags={"glassnet.run_folder": str(out.resolve())},
        log_model=False,
        finish_on_train_end=False,
    )
    logger.connect()  # the store opened (and checked) before the data is read
    return logger


def _log_to_mlflow(logger, result, out: Path) -> str:
    """The results and the complete run folder logged, the run ended; the line
    that tells the user where the run is."""
    logger.log_results(
        {
            **result.results,
            "seconds": result.seconds,
            "epochs_run": len(result.history),
        }
    )
    logger.log_artifacts(out)
    logger.end("FINISHED")
    return (
        f"MLflow run {logger.run_id} in experiment {logger.experiment_name!r} at "
        f"{logger.resolved_uri}"
    )


def run_train(args) -> int:
    from glassnet.distributed.command import (
        join_run,
        launch_train,
        needs_launch,
        placement,
        train_other_process,
    )
    from glassnet.locks import folder_lock
    from glassnet.runs import split_summary, train_run

    config = config_from_args(args)
    if args.out:
        out = Path(args.out)
    elif args.resume:
        out = Path(args.resume)
    else:
        out = default_run_folder(config.data)
    if needs_launch(args):  # --nproc N: N processes of this command (data-parallel)
        return launch_train(args, out)
    group = join_run(args)  # None unless one of those processes (or torchrun's)
    if group is not None and not group.is_main:  # process 0 writes and prints
        return train_other_process(config, args, group)
    logger = _mlflow_logger(args, config, out)
    try:
        with folder_lock(out):  # one training per run folder (glassnet.locks)
            result = train_run(
                config,
                out=out,
                verbose=not args.quiet,
                resume=args.resume,
                callbacks=() if logger is None else [logger],
                distributed=group,
                **placement(args, group),
            )
            tracked = None if logger is None else _log_to_mlflow(logger, result, out)
    except BaseException as error:
        if logger is not None:  # a run started and not finished is marked failed
            logger.end("KILLED" if isinstance(error, KeyboardInterrupt) else "FAILED")
        raise
    stopping = (result.early_stopping or {}).get("message")
    if stopping:  # stopped at epoch E, best epoch B (value), weights restored
        print(stopping)
    if result.split is not None:  # the sizes chosen and where each set came from
        print(split_summary(result.split))
    if result.columns:  # each table column's role (D40)
        from glassnet.data.columns import describe_roles

        print(describe_roles(result.columns))
    print(result.table())
    if result.diagnosis is not None:
        print()
        print(result.diagnosis)
    print(f"\ntrained in {result.seconds:.2f} s; run folder: {out}")
    if tracked is not None:
        print(tracked)
    return 0
