"""Strategy and tooling subcommands: search, diagnose, errors, select, cluster."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def register(sub) -> None:
    search = sub.add_parser("search", help="random hyperparameter search")
    search.add_argument(
        "--data",
        metavar="NAME_OR_PATH",
        help="dataset (default: the space's, or digits)",
    )
    search.add_argument("--trials", type=int, default=16, help="trials per round")
    search.add_argument("--jobs", type=int, default=1, help="local worker processes")
    search.add_argument(
        "--seed", type=int, default=0, help="seed of the sampled trials (default 0)"
    )
    search.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="search folder (journal DIR/trials.jsonl; rerun resumes)",
    )
    search.add_argument("--space", metavar="TOML", help="search space file")
    search.add_argument("--rounds", type=int, default=1, help="coarse-to-fine rounds")
    search.add_argument("--epochs", type=int, help="epochs per trial (fixed)")
    search.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="a dask.distributed scheduler to run the trials on",
    )
    search.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        help="seconds to wait for the scheduler (default 10)",
    )
    search.add_argument("--quiet", action="store_true", help="no progress bar")
    search.set_defaults(handler=run_search)

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

    errors = sub.add_parser("errors", help="error-analysis tally of tagged errors")
    errors.add_argument(
        "tags",
        metavar="TAGS.csv",
        help="one row per misclassified dev example, one column of 1/0 (or "
        "yes/no) per tag; a comments column is allowed",
    )
    errors.add_argument(
        "--dev-error",
        type=float,
        help="dev error (fraction) for the ceiling of each tag",
    )
    errors.set_defaults(handler=run_errors)

    select = sub.add_parser(
        "select", help="pick a run: optimize one metric, satisfy the others"
    )
    select.add_argument("runs", nargs="+", metavar="RUN", help="run folders")
    select.add_argument(
        "--optimize",
        default="dev_accuracy",
        help="the metric to make best: SPLIT_METRIC, size_mb or latency_ms "
        "(default dev_accuracy; names with error, loss, cost, size or latency are "
        "minimized)",
    )
    select.add_argument(
        "--satisfy",
        action="append",
        default=[],
        metavar="METRIC<=VALUE",
        help="a constraint every candidate must meet (<, <=, >=, >, ==); repeatable",
    )
    select.set_defaults(handler=run_select)

    cluster = sub.add_parser("cluster", help="k-means clustering of a dataset")
    cluster.add_argument(
        "--data",
        default="digits",
        metavar="NAME_OR_PATH",
        help="bundled name or file (default digits); its labels, if any, only score",
    )
    cluster.add_argument("--k", type=int, default=10, help="clusters (default 10)")
    cluster.add_argument(
        "--restarts",
        type=int,
        default=10,
        help="random starts; the lowest inertia wins (default 10)",
    )
    cluster.add_argument("--seed", type=int, default=0, help="(default 0)")
    cluster.add_argument(
        "--no-standardize",
        dest="standardize",
        action="store_false",
        help="cluster the features as given (default: scaled to zero mean, unit "
        "variance)",
    )
    cluster.set_defaults(handler=run_cluster)


def run_search(args) -> int:
    from glassnet.runs import RunConfig
    from glassnet.search import (
        SearchSpace,
        load_space,
        plot_best_so_far,
        plot_trials,
        random_search,
    )
    from glassnet.search.objective import default_space, known_names, train_objective

    names = known_names()
    if args.space:
        loaded = load_space(args.space, known_names=names)
        values = {**loaded.dimensions, **loaded.fixed}
    else:
        values = default_space()
    if args.data is not None:  # the command line wins over the space file
        values["data"] = args.data
    values.setdefault("data", "digits")
    if args.epochs is not None:
        values["epochs"] = args.epochs
    space = SearchSpace(values, known_names=names)
    RunConfig.from_dict(dict(space.fixed))  # fixed values are checked up front
    backend = "dask" if args.scheduler else ("loky" if args.jobs > 1 else "serial")
    options = (
        {"scheduler": args.scheduler, "timeout": args.timeout}
        if args.scheduler
        else {"n_jobs": args.jobs}
    )
    result = random_search(
        train_objective,
        space,
        trials=args.trials,
        seed=args.seed,
        metric="dev_accuracy",
        mode="max",
        backend=backend,
        out=args.out,
        rounds=args.rounds,
        **options,
    )
    out = Path(args.out)
    print(result.table(limit=10))
    best = out / "best_config.json"
    config = {**result.best_config, "seed": int(result.best["seed"]) % (2**32)}
    best.write_text(json.dumps(config, indent=2))  # train --config reproduces it
    plot_trials(result, out / "trials.png")
    plot_best_so_far(result, out / "best_so_far.png")
    print(
        f"\nbest dev accuracy {result.best['metrics']['dev_accuracy']:.4f}; "
        f"best config: {best} (use: glassnet train --config {best})"
    )
    return 0


def _errors_from_run(folder: Path) -> dict:
    results = json.loads((folder / "results.json").read_text())["results"]
    return {
        split: 1 - row["accuracy"]
        for split, row in results.items()
        if "accuracy" in row
    }


def run_diagnose(args) -> int:
    from glassnet.strategy import diagnose, diagnose_model

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
    source = Path(args.source)
    human = given.get("human", 0.0)  # with a run or a model, --human is in percent
    if source.is_dir():
        if not (source / "results.json").exists():
            raise FileNotFoundError(f"{source} is not a run folder (no results.json)")
        errors = {k: 100 * v for k, v in _errors_from_run(source).items()}
        print(diagnose(human=human, **errors, percent=True))
        return 0
    if args.data is None:
        raise ValueError("a model file needs --data to compute its errors")
    from glassnet.cli.model_files import load_model_and_extra, preprocess
    from glassnet.runs import RunConfig, prepare_data

    model, extra = load_model_and_extra(source)
    saved = dict(extra.get("run_config") or {})
    saved.update(data=args.data, standardize=False, checkpoint_every=None)
    saved = {k: v for k, v in saved.items() if k in RunConfig.field_names()}
    # the run's own train/dev/test split (same split_seed), scaled the model's way
    prepared = prepare_data(RunConfig.from_dict(saved))
    splits = {
        name: (preprocess(X, extra, model.n_x), y)
        for name, (X, y) in prepared["splits"].items()
    }
    print(diagnose_model(model, splits, human=human / 100))
    return 0


def run_errors(args) -> int:
    from glassnet.strategy import error_analysis

    if not Path(args.tags).exists():
        raise FileNotFoundError(f"no such file: {args.tags}")
    print(error_analysis(args.tags, dev_error=args.dev_error))
    return 0


def run_select(args) -> int:
    from glassnet.strategy import select_model

    candidates = []
    for run in args.runs:
        folder = Path(run)
        if not (folder / "results.json").exists():
            raise FileNotFoundError(f"{run} is not a run folder (no results.json)")
        results = json.loads((folder / "results.json").read_text())["results"]
        metrics = {"name": folder.name}
        for split, row in results.items():
            metrics.update({f"{split}_{k}": v for k, v in row.items()})
        model_file = folder / "model.glassnet"
        if model_file.exists():
            metrics["size_mb"] = model_file.stat().st_size / 2**20
            metrics["latency_ms"] = _latency_ms(model_file)
        candidates.append(metrics)
    selection = select_model(
        candidates, optimize=args.optimize, satisfy=args.satisfy or None
    )
    print(selection)
    return 0


def _latency_ms(model_file: Path) -> float:
    from glassnet.persistence import load_model
    from glassnet.strategy import measure_model

    model = load_model(model_file)
    X = np.zeros((1, model.n_x), dtype=model.dtype)
    return float(measure_model(model, X)["latency_ms"])


def run_cluster(args) -> int:
    from glassnet.cluster import KMeans, adjusted_rand_score, silhouette_score
    from glassnet.data import Standardizer, load_dataset

    dataset = load_dataset(args.data)
    X = dataset.X.reshape(len(dataset.X), -1)
    if args.standardize:
        X = Standardizer().fit_transform(X)
    model = KMeans(args.k, n_init=args.restarts, rng=args.seed).fit(X)
    print(
        f"k-means on {args.data}: k={args.k}, {args.restarts} restarts, "
        f"{model.n_iter_} iterations"
    )
    print(f"inertia     {model.inertia_:.6g}")
    sample = min(2000, len(X))
    silhouette = silhouette_score(X, model.labels_, sample_size=sample, rng=0)
    print(f"silhouette  {silhouette:.4f}")
    if dataset.task in ("binary", "multiclass"):
        print(
            f"adjusted Rand index vs labels  "
            f"{adjusted_rand_score(dataset.y, model.labels_):.4f}"
        )
    sizes = np.bincount(model.labels_, minlength=args.k)
    print("cluster sizes " + " ".join(str(int(s)) for s in sizes))
    return 0
