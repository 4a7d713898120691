"""``glassnet diagnose``: bias / variance / data-mismatch diagnosis of given errors,
a run folder's results, or a model file on data split as its run split it.

One unit rule: errors typed on the command line (``--human``, ``--train``, ...) are
percent, or fractions in [0, 1] with ``--fractions``; the output's first line says
which, and the table shows percent."""

from __future__ import annotations

from pathlib import Path

from glassnet.cli.run_folders import check_run_folder, read_results

SPLIT_OPTIONS = ("human", "train", "train-dev", "dev", "test")


def register(sub) -> None:
    diagnose = sub.add_parser(
        "diagnose",
        help="bias / variance / data-mismatch diagnosis and advice",
        description="Errors given on the command line are percent (8 means 8%); "
        "with --fractions they are fractions in [0, 1] (0.08 means 8%). The first "
        "line of the output states the rule used.",
    )
    diagnose.add_argument(
        "source",
        nargs="?",
        metavar="RUN_OR_MODEL",
        help="a run folder (its results.json; with --data, its model on that data) "
        "or a model file with --data",
    )
    diagnose.add_argument(
        "--data",
        metavar="NAME_OR_PATH",
        help="data for a model file's errors, split as the run that trained it split "
        "its data",
    )
    for name in SPLIT_OPTIONS:
        diagnose.add_argument(
            f"--{name}",
            type=float,
            metavar="ERROR",
            help=f"{name} error in percent (a fraction with --fractions)",
        )
    diagnose.add_argument(
        "--fractions",
        action="store_true",
        help="read the errors given here (--human included) as fractions in [0, 1] "
        "instead of percent",
    )
    diagnose.set_defaults(handler=run_diagnose)


def unit_rule(fractions: bool) -> str:
    """The output's first line: how the command line's errors were read."""
    if fractions:
        return "errors given on the command line are fractions in [0, 1] (--fractions)"
    return "errors given on the command line are percent (--fractions for fractions)"


def given_errors(args, names, fractions: bool) -> dict:
    """The errors given as options, checked in their unit, as fractions."""
    high, unit = (
        (1, "a fraction in [0, 1] (without --fractions, errors are percent)")
        if fractions
        else (100, "a percentage in [0, 100]")
    )
    errors = {}
    for name in names:
        value = getattr(args, name.replace("-", "_"))
        if value is None:
            continue
        if not 0 <= value <= high:  # NaN fails too
            raise ValueError(f"--{name} {value:g} is not {unit}")
        errors[name.replace("-", "_")] = value / high
    return errors


def run_diagnose(args) -> int:
    from glassnet.strategy import diagnose

    given = given_errors(args, SPLIT_OPTIONS, args.fractions)
    if args.source is None:
        if not given:
            raise ValueError("give errors (--train 8 --dev 12 ...) or a run folder")
        diagnosis = diagnose(**given, percent=False)
        print(unit_rule(args.fractions))
        print(diagnosis)
        return 0
    splits = sorted(set(given) - {"human"})
    if splits:
        raise ValueError(
            f"--{splits[0].replace('_', '-')} applies without RUN_OR_MODEL; with a "
            "run folder or a model file only --human is given"
        )
    human = given.get("human", 0.0)
    source = Path(args.source)
    if not source.exists():
        raise FileNotFoundError(f"no such run folder or model file: {source}")
    if source.is_dir() and args.data is not None:  # the run's model on that data
        source = check_run_folder(source, "model.glassnet") / "model.glassnet"
    if source.is_dir():
        errors = {
            split: 1 - row["accuracy"]
            for split, row in read_results(source).items()
            if "accuracy" in row
        }
        if not errors:
            raise ValueError(
                f"{source}/results.json holds no accuracy to diagnose (the diagnosis "
                "compares classification errors; was it a regression run?)"
            )
        diagnosis = diagnose(human=human, **errors, percent=False)
        origin = f"errors of {source}: 1 - accuracy per split, from its results.json"
    else:
        diagnosis = _diagnose_model_file(source, args.data, human)
        origin = f"errors of {source} on {args.data}, split as its run split its data"
    print(unit_rule(args.fractions))
    print(origin)
    print(diagnosis)
    return 0


def _diagnose_model_file(source: Path, data, human: float):
    """The diagnosis of a model file on ``data`` split as its run split its data
    (``human`` is a fraction)."""
    from glassnet.cli.model_files import (
        labels_for_model,
        load_model_and_extra,
        preprocess,
    )
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
    dataset = prepared["dataset"]
    splits = {  # labels as the model's classes name them (text labels too)
        name: (
            preprocess(X, extra, model.n_x, model=model, names=dataset.feature_names),
            labels_for_model(y, dataset, model),
        )
        for name, (X, y) in prepared["splits"].items()
    }
    return diagnose_model(model, splits, human=human)
