"""Speed-up of a hyperparameter search with 2 local workers against 1.

16 trials of the default ``glassnet search`` space on digits (the same trials, seeds
drawn before anything runs), once with ``n_jobs=1`` and once with ``n_jobs=2`` (loky
worker processes, one BLAS thread each). Prints both wall times and the ratio; the
goal on a 2-core machine is >= 1.8x. Both runs must find the same best trial.

    python benchmarks/search_speedup.py [--trials 16] [--epochs 200]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time

from glassnet.search import SearchSpace, random_search
from glassnet.search.objective import default_space, known_names, train_objective


def timed_search(trials: int, epochs: int, n_jobs: int):
    space = SearchSpace(
        {**default_space(), "epochs": epochs}, known_names=known_names()
    )
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        result = random_search(
            train_objective,
            space,
            trials=trials,
            seed=0,
            n_jobs=n_jobs,
            backend="loky" if n_jobs > 1 else "serial",
            out=out,
        )
        return time.perf_counter() - start, result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=200)
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # the serial run gets the same one thread per trial
        serial, first = timed_search(args.trials, args.epochs, 1)
    parallel, second = timed_search(args.trials, args.epochs, 2)
    same = first.best["trial_id"] == second.best["trial_id"] and (
        first.best["metrics"] == second.best["metrics"]
    )
    print(f"{args.trials} trials, {args.epochs} epochs each, digits")
    print(f"  1 worker : {serial:7.2f} s")
    print(f"  2 workers: {parallel:7.2f} s")
    print(f"  speed-up : {serial / parallel:7.2f}x (goal >= 1.8x on 2 cores)")
    print(f"  same best trial and metrics in both runs: {same}")
    print(f"  best dev accuracy {first.best['metrics']['dev_accuracy']:.4f}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
