"""A search that earns its time: ``glassnet train``'s defaults against a search.

For each data set, on ``glassnet train``'s split (split_seed 0):

- ``defaults``: ``glassnet train --data NAME`` (a default ``RunConfig``, seed 0);
- ``random``: ``glassnet search --data NAME --trials 16 --jobs 2`` as the command
  runs it: the space scaled to the data (glassnet.search.data_space), trial 0 the
  defaults, pruning on (3 rungs, eta 4), then the best configuration refit on the
  training rows;
- ``random, no pruning``: the same 16 trials (same configs and seeds), every one
  to its last epoch, and the same refit;
- ``tpe``: as ``random`` with ``--sampler tpe`` (when Optuna is installed).

Every search starts fresh worker processes, as the command does (their imports
and the data's loading count in its wall time). Each row prints the test accuracy
of the model that comes out (the refit one for a search), the wall time (search +
refit; one training for the defaults), the seconds the trials took in their
workers (summed over all rungs; a worker's first trial loads the data), how many
were pruned and the epochs they trained. The test rows are looked at only here,
never by the search.

    python benchmarks/search_quality.py [--datasets digits,wine] [--trials 16]
        [--jobs 2] [--samplers random,tpe] [--epochs N] [--json results.json]
        [--runs defaults,random,random-no-pruning,tpe]

``--epochs N`` fixes every trial's (and the defaults') epochs, for a quick check
only. The course's mnist needs ``$GLASSNET_DATA`` or ``../shared/data``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

DATASETS = ("digits", "breast_cancer", "wine", "mnist")


def defaults_row(name: str, epochs: int | None) -> dict:
    from glassnet.run_config import RunConfig
    from glassnet.runs import train_run

    values = {"data": name} if epochs is None else {"data": name, "epochs": epochs}
    started = time.perf_counter()
    run = train_run(RunConfig.from_dict(values), verbose=False)
    return {
        "test_accuracy": run.results["test"]["accuracy"],
        "dev_accuracy": run.results["dev"]["accuracy"],
        "seconds": time.perf_counter() - started,
    }


def search_row(name, *, trials, jobs, sampler, prune, epochs, folder) -> dict:
    from glassnet.run_config import RunConfig
    from glassnet.runs import prepare_data
    from glassnet.search import SearchSpace, random_search
    from glassnet.search.data_space import data_profile, default_trial, space_for_data
    from glassnet.search.objective import known_names, train_objective
    from glassnet.search.refit import refit_best

    started = time.perf_counter()
    profile = data_profile(prepare_data(RunConfig(data=name)))
    values = space_for_data(profile, name)
    if epochs is not None:
        values["epochs"] = epochs
    space = SearchSpace(values, known_names=known_names())
    result = random_search(
        train_objective,
        space,
        trials=trials,
        seed=0,
        n_jobs=jobs,
        backend="loky" if jobs > 1 else "serial",
        out=folder,
        prune=prune or None,
        first_trial=default_trial(space),
        sampler=sampler,
    )
    searched = time.perf_counter() - started
    if jobs > 1:
        _stop_workers()  # the next search starts its own, as the command does
    run = refit_best(result, Path(folder) / "best_run")
    rows = result.per_trial()
    return {
        "test_accuracy": run.results["test"]["accuracy"],
        "dev_accuracy": result.best["metrics"]["dev_accuracy"],
        "seconds": time.perf_counter() - started,
        "search_seconds": searched,
        "best_trial": result.best["trial_id"],
        "pruned": sum(row["pruned"] is not None for row in rows),
        "trial_seconds": sum(row["seconds"] for row in rows),
        "epochs_trained": sum(
            int(t["metrics"].get("epochs_run", 0))
            for t in result.trials
            if t["status"] == "ok"
        ),
    }


def _stop_workers() -> None:
    """Stop joblib's reusable loky workers, so that no search inherits warm
    workers (imports done, data loaded) from the one before it."""
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--samplers", default="random,tpe")
    parser.add_argument("--epochs", type=int, help="fix every run's epochs (quick)")
    parser.add_argument(
        "--runs",
        default="defaults,random,random-no-pruning,tpe",
        help="which rows to run (default all)",
    )
    parser.add_argument("--json", metavar="PATH", help="write the rows as JSON")
    args = parser.parse_args(argv)
    samplers = args.samplers.split(",")
    if "tpe" in samplers:
        try:
            import optuna  # noqa: F401
        except ImportError:
            print("Optuna is not installed: no tpe rows")
            samplers.remove("tpe")
    variants = [("defaults", None, None)]
    for sampler in samplers:
        variants.append((sampler, sampler, True))
        if sampler == "random":
            variants.append(("random, no pruning", sampler, False))
    wanted = set(args.runs.split(","))
    variants = [v for v in variants if v[0].replace(", no ", "-no-") in wanted]
    rows = []
    header = (
        f"{'data set':<14}{'run':<20}{'test acc':>9}{'dev acc':>9}{'seconds':>9}"
        f"{'trial s':>9}{'pruned':>8}{'epochs':>8}  best"
    )
    print(header)
    for name in args.datasets.split(","):
        for label, sampler, prune in variants:
            try:
                if sampler is None:
                    row = defaults_row(name, args.epochs)
                else:
                    with tempfile.TemporaryDirectory() as folder:
                        row = search_row(
                            name,
                            trials=args.trials,
                            jobs=args.jobs,
                            sampler=sampler,
                            prune=prune,
                            epochs=args.epochs,
                            folder=folder,
                        )
            except FileNotFoundError as error:  # course data missing
                print(f"{name:<14}{label:<20}skipped: {error}")
                break
            row.update(data=name, run=label)
            rows.append(row)
            print(
                f"{name:<14}{label:<20}{row['test_accuracy']:>9.4f}"
                f"{row['dev_accuracy']:>9.4f}{row['seconds']:>9.1f}"
                f"{_cell(row.get('trial_seconds')):>9}"
                f"{row.get('pruned', '-'):>8}{row.get('epochs_trained', '-'):>8}  "
                f"{row.get('best_trial', '')}",
                flush=True,
            )
    print(verdict(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


def _cell(value) -> str:
    return "-" if value is None else f"{value:.1f}"


def verdict(rows) -> str:
    """Whether each search's refit model is at least as accurate as the defaults on
    the test rows, and whether pruning saved wall time."""
    lines = []
    for name in dict.fromkeys(row["data"] for row in rows):
        mine = {row["run"]: row for row in rows if row["data"] == name}
        base = mine.get("defaults")
        for label, row in mine.items():
            if label == "defaults" or base is None:
                continue
            relation = ">=" if row["test_accuracy"] >= base["test_accuracy"] else "<"
            lines.append(
                f"{name}: {label} test accuracy {row['test_accuracy']:.4f} {relation} "
                f"defaults {base['test_accuracy']:.4f}"
            )
        if "random" in mine and "random, no pruning" in mine:
            pruned = mine["random"]["search_seconds"]
            full = mine["random, no pruning"]["search_seconds"]
            lines.append(
                f"{name}: pruning {pruned:.1f} s against {full:.1f} s without "
                f"({full / pruned:.2f}x)"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
