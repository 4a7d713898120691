"""``glassnet search``: a random hyperparameter search (coarse to fine) over train
settings, run serially, on local worker processes or on a dask scheduler."""

from __future__ import annotations

import json
from pathlib import Path


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


def run_search(args) -> int:
    from glassnet.run_config import RunConfig
    from glassnet.search import random_search
    from glassnet.search.objective import train_objective

    space = _space(args)
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
    _report(result, Path(args.out))
    return 0


def _space(args):
    """The space file's (or the default) space; --data and --epochs win over it."""
    from glassnet.search import SearchSpace, load_space
    from glassnet.search.objective import default_space, known_names

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
    return SearchSpace(values, known_names=names)


def _report(result, out: Path) -> None:
    """The table of the best trials, best_config.json and the two plots."""
    from glassnet.search import plot_best_so_far, plot_trials

    print(result.table(limit=10))
    best = out / "best_config.json"
    config = {**result.best_config, "seed": int(result.best["seed"]) % (2**32)}
    best.write_text(json.dumps(config, indent=2))  # train --config reproduces it
    if result.space.dimensions:  # a space of fixed values only has nothing to plot
        plot_trials(result, out / "trials.png")
    plot_best_so_far(result, out / "best_so_far.png")
    print(
        f"\nbest dev accuracy {result.best['metrics']['dev_accuracy']:.4f}; "
        f"best config: {best} (use: glassnet train --config {best})"
    )
