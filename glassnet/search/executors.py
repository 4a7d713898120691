"""Where trials run: in this process, in loky worker processes, or on a dask cluster.

Every executor has ``run(objective, tasks, metric, deadline=None)``, a generator
yielding one trial record per task *as the trials finish* (in any order for the
parallel ones; the runner journals each as it arrives and reorders them by plan),
and ``close()``. With a ``deadline`` (a ``time.monotonic()`` value) a task is
launched only while the deadline has not passed, so the trials launched last do
not overrun it by more than their own length; the others are not yielded.

- ``"serial"``: one trial after another in this process.
- ``"loky"``: ``joblib.Parallel(n_jobs, backend="loky")``, results unordered.
- ``"dask"``: ``distributed.Client(scheduler, timeout=timeout)`` on a running
  scheduler (``"tcp://host:8786"``) or an existing ``distributed.Client``. An
  unreachable scheduler raises ``ConnectionError`` once ``timeout`` seconds
  (default 10) have passed; it never hangs. ``distributed`` is imported only here.

A loky worker dies with the search's process (Linux's parent-death signal), and the
search turns SIGTERM into KeyboardInterrupt, which stops the workers as Ctrl-C does:
a killed or terminated search leaves no worker behind.

In worker processes the trial runs under ``threadpool_limits(1)`` so that BLAS does
not start one thread per core in each of ``n_jobs`` workers (2 workers on 2 cores
would otherwise run 4 busy threads).
"""

from __future__ import annotations

import ctypes
import math
import numbers
import os
import signal
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np

from glassnet.validation import check_choice, check_in_range

__all__ = ["BACKENDS", "run_trial", "make_executor"]

BACKENDS = ("serial", "loky", "dask")
DEFAULT_TIMEOUT = 10.0


def _clean_metrics(result, metric: str) -> tuple[dict, str | None]:
    """An objective's return value as JSON-safe metrics, and an error or None."""
    if not isinstance(result, Mapping):
        return {}, (
            "the objective must return a dict of metrics; received "
            f"{type(result).__name__}"
        )
    metrics, error = {}, None
    for name, value in result.items():
        if isinstance(value, np.ndarray) and value.ndim == 0:
            value = value[()]  # a 0-d array from a NumPy reduction
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            return {}, f"metric {name!r} is not a number: {value!r}"
        value = float(value)
        metrics[str(name)] = value if math.isfinite(value) else None
    if metric not in metrics:
        error = f"the objective returned no {metric!r} (got {sorted(metrics)})"
    elif metrics[metric] is None:
        error = f"metric {metric!r} is {float(result[metric])} (not finite)"
    return metrics, error


def run_trial(
    objective: Callable, task: Mapping, metric: str, limit_threads: bool = False
) -> dict:
    """Run ``objective(config, seed, budget)`` for one task; never raises ``Exception``.

    Returns ``{"trial_id", "status", "metrics", "error", "duration_s"}``; an objective
    that raises, or returns a non-finite ``metric``, gives ``status="failed"``.
    """
    start = time.perf_counter()
    try:
        config = dict(task["config"])
        if limit_threads:
            from threadpoolctl import threadpool_limits

            with threadpool_limits(limits=1):
                result = objective(config, task["seed"], task["budget"])
        else:
            result = objective(config, task["seed"], task["budget"])
        metrics, error = _clean_metrics(result, metric)
    except Exception as exception:  # the search goes on; the record says why
        metrics, error = {}, f"{type(exception).__name__}: {exception}"
    return {
        "trial_id": task["trial_id"],
        "status": "ok" if error is None else "failed",
        "metrics": metrics,
        "error": error,
        "duration_s": time.perf_counter() - start,
    }


def _until(tasks, deadline) -> Iterator[Mapping]:
    """The tasks, one at a time, while ``time.monotonic()`` is before ``deadline``."""
    for task in tasks:
        if deadline is not None and time.monotonic() >= deadline:
            return
        yield task


_WORKER_READY = False


def _die_with_parent() -> None:
    """In a loky worker: have Linux kill this process when the process that started
    it dies (``prctl(PR_SET_PDEATHSIG, SIGKILL)``), so a search killed with SIGKILL,
    which cannot stop its workers itself, leaves none behind. Once per process;
    elsewhere than Linux, nothing (SIGTERM and Ctrl-C still stop the workers)."""
    global _WORKER_READY
    if _WORKER_READY:
        return
    _WORKER_READY = True
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if parent == 1 or os.getppid() != parent:  # the parent died before the prctl
        os._exit(1)


def run_worker_trial(objective, task, metric, limit_threads):
    """:func:`run_trial` in a loky worker, which dies with the search's process."""
    _die_with_parent()
    return run_trial(objective, task, metric, limit_threads)


class SerialExecutor:
    """Trials one after another in this process."""

    def run(
        self, objective, tasks: Sequence[Mapping], metric: str, deadline=None
    ) -> Iterator[dict]:
        for task in _until(tasks, deadline):
            yield run_trial(objective, task, metric)

    def close(self) -> None:
        """Nothing to release."""


class LokyExecutor:
    """Trials in ``n_jobs`` loky worker processes (``joblib.Parallel``)."""

    def __init__(self, n_jobs: int):
        self.n_jobs = n_jobs

    def run(
        self, objective, tasks: Sequence[Mapping], metric: str, deadline=None
    ) -> Iterator[dict]:
        from joblib import Parallel, delayed

        if not tasks:
            return
        limit_threads = self.n_jobs != 1
        calls = (  # lazy: joblib takes the next call as a worker frees up
            delayed(run_worker_trial)(objective, task, metric, limit_threads)
            for task in _until(tasks, deadline)
        )
        # one trial per dispatch (trials differ in cost); under a deadline none
        # is queued ahead of a free worker, so none starts after the deadline
        ahead = "2*n_jobs" if deadline is None else "n_jobs"
        options = {"batch_size": 1, "pre_dispatch": ahead}
        try:
            parallel = Parallel(
                n_jobs=self.n_jobs,
                backend="loky",
                return_as="generator_unordered",
                **options,
            )
        except (TypeError, ValueError):  # joblib < 1.4: in order, still streamed
            parallel = Parallel(
                n_jobs=self.n_jobs, backend="loky", return_as="generator", **options
            )
        yield from parallel(calls)

    def close(self) -> None:
        """joblib keeps its reusable loky workers; they exit when idle, or with
        this process (:func:`_die_with_parent`)."""


class DaskExecutor:
    """Trials as tasks on a dask ``distributed`` cluster."""

    def __init__(self, scheduler, timeout: float):
        try:
            import distributed
        except ImportError:
            raise ImportError(
                "backend='dask' needs dask.distributed, which is not installed; "
                "install it with: pip install glassnet[dask]"
            ) from None
        self._distributed = distributed
        self._owns_client = not isinstance(scheduler, distributed.Client)
        if not self._owns_client:
            self.client = scheduler
            return
        if not isinstance(scheduler, str) or not scheduler:
            raise TypeError(
                "scheduler must be a dask scheduler address such as 'tcp://"
                f"127.0.0.1:8786' or a distributed.Client; received {scheduler!r}"
            )
        try:
            self.client = distributed.Client(
                scheduler, timeout=timeout, set_as_default=False
            )
        except (OSError, TimeoutError) as error:
            raise ConnectionError(
                f"could not reach the dask scheduler at {scheduler!r} within "
                f"{timeout:g} s ({error}); start it with `dask scheduler` and "
                "`dask worker <address>`, or check the address"
            ) from None
        except ValueError as error:
            raise ValueError(
                f"invalid dask scheduler address {scheduler!r}: {error}"
            ) from None

    def run(
        self, objective, tasks: Sequence[Mapping], metric: str, deadline=None
    ) -> Iterator[dict]:
        distributed = self._distributed
        batch = uuid.uuid4().hex[:8]
        waiting = _until(tasks, deadline)
        futures = {}

        def submit_next(completed) -> None:
            task = next(waiting, None)
            if task is None:
                return
            future = self.client.submit(
                run_trial,
                objective,
                dict(task),
                metric,
                True,
                key=f"glassnet-trial-{task['trial_id']}-{batch}",
                pure=False,
            )
            futures[future] = task
            completed.add(future)

        # without a deadline every task is submitted at once; with one, as many
        # as the cluster has threads, then one more as each finishes
        window = len(tasks)
        if deadline is not None:
            window = max(1, sum(self.client.nthreads().values()))
        completed = distributed.as_completed([], loop=self.client.loop)
        for _ in range(window):
            submit_next(completed)
        try:
            for future in completed:
                submit_next(completed)
                try:
                    yield future.result()
                except distributed.KilledWorker as error:
                    yield {
                        "trial_id": futures[future]["trial_id"],
                        "status": "failed",
                        "metrics": {},
                        "error": f"KilledWorker: {error}",
                        "duration_s": 0.0,
                    }
        finally:  # also on an early exit: drop whatever has not finished
            self.client.cancel(list(futures))

    def close(self) -> None:
        if self._owns_client:
            self.client.close()


def make_executor(
    backend: str, *, n_jobs: int = 1, scheduler=None, timeout: float | None = None
):
    """Build the executor named by ``backend`` (see the module docstring)."""
    check_choice("backend", backend, BACKENDS)
    if backend == "dask":
        if scheduler is None:
            raise ValueError(
                "backend='dask' needs scheduler=<address of a running dask "
                "scheduler, e.g. 'tcp://127.0.0.1:8786'> or a distributed.Client"
            )
        timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        check_in_range("timeout", timeout, 0, None, low_inclusive=False)
        return DaskExecutor(scheduler, float(timeout))
    if backend == "loky" and n_jobs != 1:
        return LokyExecutor(n_jobs)
    return SerialExecutor()
