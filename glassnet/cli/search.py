"""``glassnet search``: a random hyperparameter search (coarse to fine) over train
settings, run serially, on local worker processes or on a dask scheduler."""

from __future__ import annotations

import json
from pathlib import Path

PRUNE_FROM = 6  #: pruning is on by default for searches of this many trials or more


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
    search.add_argument(
        "--no-prune",
        action="store_true",
        help=f"run every trial to its last epoch (pruning is on from {PRUNE_FROM} "
        "trials: hopeless trials stop at 1/16 or 1/4 of their epochs)",
    )
    search.add_argument(
        "--sampler",
        choices=("random", "tpe"),
        default="random",
        help="random search (default) or Optuna's TPE (pip install glassnet[optuna])",
    )
    search.add_argument(
        "--time-budget",
        type=float,
        metavar="MINUTES",
        help="launch no trial once MINUTES have passed (a rerun resumes)",
    )
    search.add_argument(
        "--refit-on",
        choices=("train", "train+dev"),
        default="train",
        help="retrain the best configuration on train (default) or train+dev and "
        "save it as the run folder DIR/best_run",
    )
    search.add_argument(
        "--no-refit", action="store_true", help="no refit, no DIR/best_run"
    )
    search.add_argument("--quiet", action="store_true", help="no progress bar")
    search.set_defaults(handler=run_search)


def run_search(args) -> int:
    from glassnet.run_config import RunConfig
    from glassnet.search import random_search
    from glassnet.search.objective import train_objective
    from glassnet.search.pruning import DEFAULT_PRUNE

    if args.time_budget is not None and not args.time_budget > 0:
        raise ValueError(
            f"--time-budget must be a positive number of minutes; received "
            f"{args.time_budget:g}"
        )
    space, first_trial, profile = _space(args)
    RunConfig.from_dict(dict(space.fixed))  # fixed values are checked up front
    out = Path(args.out)
    _show_space(space, profile, out, first_trial)
    backend = "dask" if args.scheduler else ("loky" if args.jobs > 1 else "serial")
    options = (
        {"scheduler": args.scheduler, "timeout": args.timeout}
        if args.scheduler
        else {"n_jobs": args.jobs}
    )
    prune = None
    if not args.no_prune and args.trials >= PRUNE_FROM:
        prune = dict(DEFAULT_PRUNE)
        if "epochs" not in space:  # every trial trains train's default epochs
            prune["max_budget"] = RunConfig().epochs
    result = random_search(
        train_objective,
        space,
        trials=args.trials,
        seed=args.seed,
        metric="dev_accuracy",
        mode="max",
        backend=backend,
        out=out,
        rounds=args.rounds,
        prune=prune,
        first_trial=first_trial,
        time_budget=None if args.time_budget is None else 60.0 * args.time_budget,
        sampler=args.sampler,
        **options,
    )
    if result.stopped is not None:
        print(
            f"time budget of {args.time_budget:g} min spent: the search stopped "
            f"with {result.stopped['not_launched']} trial(s) of its current rung "
            "not launched (and no later rung, batch or round); run the command "
            "again (a new --time-budget, or none) to go on"
        )
        if not result.trials:
            return 0
    _report(result, out)
    if not args.no_refit:
        _refit(result, out / "best_run", args.refit_on)
    from glassnet.report import write_search_report

    print(f"report: {write_search_report(out)}")
    return 0


def _space(args):
    """The space file's space, or the default one scaled to the data with trial 0
    at glassnet train's defaults; --data and --epochs win over both. Returns the
    space, trial 0 (None with a space file) and the data's profile (or None)."""
    from glassnet.search import SearchSpace, load_space
    from glassnet.search.objective import known_names

    names = known_names()
    if args.space:
        loaded = load_space(args.space, known_names=names)
        values = {**loaded.dimensions, **loaded.fixed}
        if args.data is not None:  # the command line wins over the space file
            values["data"] = args.data
        values.setdefault("data", "digits")
        if args.epochs is not None:
            values["epochs"] = args.epochs
        return SearchSpace(values, known_names=names), None, None
    from glassnet.run_config import RunConfig
    from glassnet.runs import prepare_data
    from glassnet.search.data_space import data_profile, default_trial, space_for_data

    data = args.data if args.data is not None else "digits"
    profile = data_profile(prepare_data(RunConfig(data=data)))
    values = space_for_data(profile, data)
    if args.epochs is not None:
        values["epochs"] = args.epochs
    space = SearchSpace(values, known_names=names)
    return space, default_trial(space), profile


def _show_space(space, profile, out: Path, first_trial) -> None:
    """Print the space and write it to DIR/space.json (with what it was scaled to
    and trial 0)."""
    from glassnet.search import journal

    if profile is not None:
        print(
            f"search space scaled to {space['data']}: {profile['examples']} "
            f"training examples, {profile['features']} features, {profile['kind']}; "
            "trial 0 is glassnet train's defaults"
        )
    else:
        print("search space (from the space file):")
    for name, entry in space.to_config().items():
        shown = {k: v for k, v in entry.items() if k != "type"}
        value = shown["value"] if entry["type"] == "fixed" else shown
        kind = "" if entry["type"] == "fixed" else f"{entry['type']} "
        print(f"  {name:<16}{kind}{json.dumps(value)}")
    journal.write_json_atomically(
        out / "space.json",
        {
            "space": space.to_config(),
            "scaled_to": profile,
            "trial_0": first_trial,
        },
    )


def _report(result, out: Path) -> None:
    """The table of the trials, best_config.json and the two plots."""
    from glassnet.search import plot_best_so_far, plot_trials

    print(result.table(limit=20))
    best = out / "best_config.json"
    config = {**result.best_config, "seed": int(result.best["seed"]) % (2**32)}
    if result.best.get("budget") is not None:  # a pruned search's last rung
        config["epochs"] = int(result.best["budget"])
    best.write_text(json.dumps(config, indent=2))  # train --config reproduces it
    if result.space.dimensions:  # a space of fixed values only has nothing to plot
        plot_trials(result, out / "trials.png")
    plot_best_so_far(result, out / "best_so_far.png")
    rows = result.per_trial()
    pruned = sum(row["pruned"] is not None for row in rows)
    seconds = sum(row["seconds"] for row in rows)
    print(
        f"\n{len(rows)} trials ({pruned} pruned), {seconds:.1f} s of training; "
        f"best dev accuracy {result.best['metrics']['dev_accuracy']:.4f} "
        f"(trial {result.best['trial_id']}); best config: {best}"
    )


def _refit(result, folder: Path, on: str) -> None:
    """Train the best configuration again on ``on`` and save the run folder."""
    from glassnet.search.refit import refit_best

    run = refit_best(result, folder, on=on)
    print(f"\nrefit of the best configuration on {on}, saved in {folder}:")
    print(run.table())
