"""Speed-up of a hyperparameter search with 2 local workers against 1.

16 trials of the default ``glassnet search`` space on digits (the same trials, seeds
drawn before anything runs), once with ``n_jobs=1`` and once with ``n_jobs=2`` (loky
worker processes, started cold for every run, one BLAS thread each), alternating,
``--repeats`` times (the machine's speed drifts by tens of percent between minutes,
so one pair proves little). Prints every pair, and the median of the wall times and
of the per-pair ratios; the goal on a 2-core machine is >= 1.8x. Every run must find
the same best trial.

    python benchmarks/search_speedup.py [--trials 16] [--epochs 200] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
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


def stop_workers() -> None:
    """Shut joblib's reusable loky workers down (they would stay warm for 300 s)."""
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor(max_workers=2).shutdown(wait=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    print(f"{args.trials} trials, {args.epochs} epochs each, digits")
    serial_times, parallel_times, bests = [], [], []
    for repeat in range(args.repeats):
        with threadpool_limits(1):  # the serial run gets the same one thread per trial
            serial, first = timed_search(args.trials, args.epochs, 1)
        parallel, second = timed_search(args.trials, args.epochs, 2)
        stop_workers()  # every pair starts its workers cold, as one search would
        serial_times.append(serial)
        parallel_times.append(parallel)
        bests += [(r.best["trial_id"], r.best["metrics"]) for r in (first, second)]
        print(
            f"  pair {repeat + 1}: 1 worker {serial:6.2f} s, 2 workers "
            f"{parallel:6.2f} s, speed-up {serial / parallel:5.2f}x"
        )
    ratios = [s / p for s, p in zip(serial_times, parallel_times, strict=True)]
    same = all(best == bests[0] for best in bests)
    print(f"  1 worker : {statistics.median(serial_times):7.2f} s (median)")
    print(f"  2 workers: {statistics.median(parallel_times):7.2f} s (median)")
    print(
        f"  speed-up : {statistics.median(ratios):7.2f}x median of the pairs "
        f"({min(ratios):.2f}-{max(ratios):.2f}; goal >= 1.8x on 2 cores)"
    )
    print(f"  same best trial and metrics in every run: {same}")
    print(f"  best dev accuracy {first.best['metrics']['dev_accuracy']:.4f}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
