"""``glassnet diagnose``: bias / variance / data-mismatch diagnosis of given errors,
a run folder's results, or a model file on data split as its run split it."""

from __future__ import annotations

from pathlib import Path

from glassnet.cli.run_folders import read_results


def register(sub) -> None:
    diagnose = sub.add_parser(
        "diagnose", help="bias / variance / data-mismatch diagnosis and advice"
    )
    diagnose.add_argument(
        "source",
        nargs="?",
        metavar="RUN_OR_MODEL",
        help="a run folder, or a model file with --data",
    )
    diagnose.add_argument(
        "--data",
        metavar="NAME_OR_PATH",
        help="data for a model file's errors, split as the run that trained it split "
        "its data",
    )
    for name in ("human", "train", "train-dev", "dev", "test"):
        diagnose.add_argument(
            f"--{name}",
            type=float,
            metavar="ERROR",
            help=f"{name} error in percent (read as fractions when every value "
            "given is <= 1; with RUN_OR_MODEL, --human is in percent)",
        )
    diagnose.set_defaults(handler=run_diagnose)


def run_diagnose(args) -> int:
    from glassnet.strategy import diagnose

    given = {
        "human": args.human,
        "train": args.train,
        "train_dev": args.train_dev,
        "dev": args.dev,
        "test": args.test,
    }
    given = {k: v for k, v in given.items() if v is not None}
    if args.source is None:
        if not given:
            raise ValueError("give errors (--train 8 --dev 12 ...) or a run folder")
        print(diagnose(**given))
        return 0
    human = given.get("human", 0.0)  # with a run or a model, --human is in percent
    source = Path(args.source)
    if not source.exists():
        raise FileNotFoundError(f"no such run folder or model file: {source}")
    if source.is_dir():
        errors = {
            split: 100 * (1 - row["accuracy"])
            for split, row in read_results(source).items()
            if "accuracy" in row
        }
        if not errors:
            raise ValueError(
                f"{source}/results.json holds no accuracy to diagnose (the diagnosis "
                "compares classification errors; was it a regression run?)"
            )
        print(diagnose(human=human, **errors, percent=True))
    else:
        print(_diagnose_model_file(source, args.data, human))
    return 0


def _diagnose_model_file(source: Path, data, human: float):
    """The diagnosis of a model file on ``data`` split as its run split its data."""
    from glassnet.cli.model_files import load_model_and_extra, preprocess
    from glassnet.run_config import RunConfig
    from glassnet.runs import prepare_data
    from glassnet.strategy import diagnose_model

    if data is None:
        raise ValueError("a model file needs --data to compute its errors")
    model, extra = load_model_and_extra(source)
    if model.output_activation == "linear":
        raise ValueError(
            f"{source} is a regression model; the diagnosis compares classification "
            "errors"
        )
    saved = extra.get("run_config") or {}
    if not isinstance(saved, dict):
        raise ValueError(f"{source}: the saved run_config is not a settings object")
    saved = {k: v for k, v in saved.items() if k in RunConfig.field_names()}
    saved.update(data=data, standardize=False, checkpoint_every=None)
    # the run's own train/dev/test split (same split_seed), scaled the model's way
    prepared = prepare_data(RunConfig.from_dict(saved))
    splits = {
        name: (preprocess(X, extra, model.n_x), y)
        for name, (X, y) in prepared["splits"].items()
    }
    return diagnose_model(model, splits, human=human / 100)
