"""Random search, coarse-to-fine and successive halving over a :class:`SearchSpace`.

An objective is a module-level (picklable) callable
``objective(config: dict, seed: int, budget: int | None) -> dict[str, float]``
returning metrics such as ``{"dev_accuracy": 0.97, "dev_cost": 0.1}``; ``budget`` is
the number of epochs (``None``: the objective's own default). A trial whose
objective raises, or returns a NaN / missing ``metric``, is recorded as failed and
the search goes on.

Reproducibility: round ``r`` uses ``SeedSequence(seed, spawn_key=(r,))`` (the
``r``-th child of ``SeedSequence(seed)``). Its children
``.spawn(trials)[i].generate_state(1)[0]`` are the trial seeds and
``default_rng(<round sequence>)`` samples the round's configurations, all before
any trial runs. Results therefore never depend on ``n_jobs``, the backend or the
order in which trials finish; ties in the ranking go to the earlier trial.

- ``rounds > 1`` (coarse to fine): after each round, the best ``keep_fraction`` of
  that round's successful trials mark the good region, every dimension shrinks
  around their values on its own scale (``Dimension.shrink(values,
  keep_fraction)``), and the next round samples the narrower space.
- ``halving={"min_budget": 1, "max_budget": 27, "eta": 3}`` (successive halving):
  all ``trials`` configurations run with budget ``min_budget``; the best
  ``floor(n / eta)`` (at least 1) run again, same config and seed, with ``eta``
  times the budget, and so on while the budget stays ``<= max_budget``.

What a search returns, :class:`SearchResult` (and :func:`rank_trials`), lives in
:mod:`glassnet.search.results`; both names are importable from here too.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path

import numpy as np

from glassnet.locks import folder_lock
from glassnet.search import journal
from glassnet.search.executors import BACKENDS, make_executor
from glassnet.search.results import SearchResult, _next_space, rank_trials
from glassnet.search.spaces import SearchSpace, as_space
from glassnet.validation import check_choice, check_in_range, check_positive_int

__all__ = ["SearchResult", "random_search", "rank_trials"]


def _objective_name(objective) -> str:
    target = objective.func if isinstance(objective, partial) else objective
    if not hasattr(target, "__qualname__"):
        target = type(target)
    return f"{getattr(target, '__module__', '?')}.{target.__qualname__}"


def _plan_round(space: SearchSpace, seed: int, round_index: int, trials: int):
    """Configurations and integer seeds of one round, from its SeedSequence."""
    sequence = np.random.SeedSequence(seed, spawn_key=(round_index,))
    seeds = [int(child.generate_state(1)[0]) for child in sequence.spawn(trials)]
    configs = space.sample(np.random.default_rng(sequence), trials)
    return configs, seeds


def _halving_budgets(halving) -> tuple[list[int], int]:
    if not isinstance(halving, Mapping):
        raise TypeError(f"halving must be a dict; received {halving!r}")
    allowed = {"min_budget", "max_budget", "eta"}
    if set(halving) - allowed or "max_budget" not in halving:
        raise ValueError(
            f"halving takes the keys {sorted(allowed)} (max_budget required); "
            f"received {sorted(halving)}"
        )
    low = check_positive_int("halving min_budget", halving.get("min_budget", 1))
    high = check_positive_int("halving max_budget", halving["max_budget"])
    eta = int(check_in_range("halving eta", halving.get("eta", 3), 2, integer=True))
    if high < low:
        raise ValueError(
            f"halving needs min_budget <= max_budget; received min_budget={low}, "
            f"max_budget={high}"
        )
    budgets = [low]
    while budgets[-1] * eta <= high:
        budgets.append(budgets[-1] * eta)
    return budgets, eta


def _checked_arguments(
    objective,
    space,
    *,
    trials,
    seed,
    metric,
    mode,
    n_jobs,
    backend,
    scheduler,
    rounds,
    keep_fraction,
    budget,
    halving,
    timeout,
):
    """random_search's arguments, checked; with the budgets of the rungs (one
    rung of ``budget`` without halving) and halving's eta (None without it)."""
    if not callable(objective):
        raise TypeError(f"objective must be callable; received {objective!r}")
    space = as_space(space)
    trials = check_positive_int("trials", trials)
    seed = int(check_in_range("seed", seed, 0, None, integer=True))
    if not isinstance(metric, str) or not metric:
        raise TypeError(f"metric must be a metric name; received metric={metric!r}")
    check_choice("mode", mode, ("max", "min"))
    check_choice("backend", backend, BACKENDS)
    n_jobs = int(check_in_range("n_jobs", n_jobs, -1, None, integer=True))
    if n_jobs == 0:
        raise ValueError("n_jobs must be >= 1 or -1 (all cores); received n_jobs=0")
    rounds = check_positive_int("rounds", rounds)
    keep_fraction = float(
        check_in_range("keep_fraction", keep_fraction, 0, 1, low_inclusive=False)
    )
    if budget is not None:
        budget = check_positive_int("budget", budget)
    for name, value in (("scheduler", scheduler), ("timeout", timeout)):
        if value is not None and backend != "dask":
            raise ValueError(
                f"{name} is for the dask backend; it needs backend='dask' "
                f"(received backend={backend!r}, {name}={value!r})"
            )
    if timeout is not None:
        check_in_range("timeout", timeout, 0, None, low_inclusive=False)
    budgets, eta = [budget], None
    if halving is not None:
        if budget is not None or rounds != 1:
            raise ValueError(
                "halving sets the budgets itself and runs one round; received "
                f"halving={halving!r} with budget={budget!r}, rounds={rounds}"
            )
        budgets, eta = _halving_budgets(halving)
        halving = {"min_budget": budgets[0], "max_budget": budgets[-1], "eta": eta}
    return space, trials, seed, n_jobs, rounds, keep_fraction, budgets, eta, halving


def random_search(
    objective: Callable,
    space,
    *,
    trials: int,
    seed: int = 0,
    metric: str = "dev_accuracy",
    mode: str = "max",
    n_jobs: int = 1,
    backend: str = "loky",
    scheduler=None,
    out: str | Path | None = None,
    rounds: int = 1,
    keep_fraction: float = 0.25,
    budget: int | None = None,
    halving: Mapping | None = None,
    timeout: float | None = None,
) -> SearchResult:
    """Run ``trials`` trials per round of ``objective`` on configs drawn from ``space``.

    Arguments: ``space`` a :class:`SearchSpace` (or dict, or :class:`Grid`);
    ``metric`` / ``mode`` ("max" or "min") rank the trials; ``n_jobs`` workers for
    ``backend`` "loky" (-1: all cores); ``backend`` "serial", "loky" or "dask"
    (``scheduler`` address or ``distributed.Client``, ``timeout`` seconds to reach
    it, default 10); ``out`` a directory journaling every trial, which makes the
    search resumable; ``rounds`` / ``keep_fraction`` coarse to fine; ``budget`` for
    every trial, or ``halving`` for successive halving (one round only). The math of
    seeding, shrinking and halving is in the module docstring.
    """
    space, trials, seed, n_jobs, rounds, keep_fraction, budgets, eta, halving = (
        _checked_arguments(
            objective,
            space,
            trials=trials,
            seed=seed,
            metric=metric,
            mode=mode,
            n_jobs=n_jobs,
            backend=backend,
            scheduler=scheduler,
            rounds=rounds,
            keep_fraction=keep_fraction,
            budget=budget,
            halving=halving,
            timeout=timeout,
        )
    )
    budget = budgets[0] if eta is None else None
    settings = {
        "objective": _objective_name(objective),
        "space": space.to_config(),
        "grid_points": getattr(space, "points_per_dimension", None),
        "trials": trials,
        "seed": seed,
        "metric": metric,
        "mode": mode,
        "rounds": rounds,
        "keep_fraction": keep_fraction,
        "budget": budget,
        "halving": halving,
    }
    with contextlib.ExitStack() as stack:
        if out is not None:  # one search per folder (glassnet.locks)
            stack.enter_context(folder_lock(out))
        stack.enter_context(_terminate_as_interrupt())
        return _search(
            objective,
            space,
            settings,
            out=out,
            trials=trials,
            seed=seed,
            metric=metric,
            mode=mode,
            rounds=rounds,
            budgets=budgets,
            eta=eta,
            executor_arguments={
                "backend": backend,
                "n_jobs": n_jobs,
                "scheduler": scheduler,
                "timeout": timeout,
            },
        )


@contextlib.contextmanager
def _terminate_as_interrupt():
    """Within the block, SIGTERM (in the main thread) raises KeyboardInterrupt, as
    Ctrl-C does, so the workers are stopped on the way out the same way: a
    terminated search leaves no worker behind. The previous handler comes back."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"terminated by signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _search(
    objective,
    space,
    settings,
    *,
    out,
    trials,
    seed,
    metric,
    mode,
    rounds,
    budgets,
    eta,
    executor_arguments,
) -> SearchResult:
    """The rounds and rungs of :func:`random_search`, its arguments checked."""
    finished = {}
    if out is not None:
        for record in journal.prepare_directory(out, settings):
            finished[record["trial_id"]] = record
    runner = _Runner(objective, metric, finished, out, executor_arguments)
    try:
        spaces, records = [space], []
        for round_index in range(rounds):
            configs, seeds = _plan_round(spaces[-1], seed, round_index, trials)
            active = list(range(trials))
            for rung, rung_budget in enumerate(budgets):
                tasks = [
                    _task(round_index, rung, i, configs[i], seeds[i], rung_budget)
                    for i in active
                ]
                done = runner.run(tasks)
                records += done
                if rung + 1 < len(budgets):
                    ranked = rank_trials(done, metric, mode)
                    survivors = ranked[: max(1, len(active) // eta)]
                    active = sorted(t["index"] for t in survivors)
                    if not active:
                        break
            if round_index + 1 < rounds:
                this_round = [r for r in records if r["round"] == round_index]
                spaces.append(_next_space(spaces[-1], this_round, settings))
    finally:
        runner.close()
    return SearchResult(records, metric=metric, mode=mode, spaces=spaces, out=out)


def _task(round_index, rung, index, config, seed, budget) -> dict:
    return {
        "trial_id": f"r{round_index}-k{rung}-t{index}",
        "round": round_index,
        "rung": rung,
        "index": index,
        "config": config,
        "seed": seed,
        "budget": budget,
        "fingerprint": journal.fingerprint(config, seed, budget),
    }


class _Runner:
    """Runs batches of tasks: reuses journaled records, journals new ones.

    An objective may carry ``cost_estimate(config, budget) -> float`` (relative
    cost); pending trials are then dispatched longest first, which keeps parallel
    workers busy until the end. Results never depend on the order.
    """

    def __init__(self, objective, metric, finished, out, executor_arguments):
        self.objective = objective
        self.metric = metric
        self.finished = finished
        self.path = None if out is None else Path(out) / journal.TRIALS_FILE
        self.executor = None  # started on first need: a finished search needs none
        self.executor_arguments = executor_arguments

    def run(self, tasks: list[dict]) -> list[dict]:
        results, pending = {}, []
        for task in tasks:
            record = self.finished.get(task["trial_id"])
            if record is None:
                pending.append(task)
            elif record.get("fingerprint") != task["fingerprint"]:
                raise ValueError(
                    f"the journal {self.path} holds trial {task['trial_id']} with a "
                    "different config, seed or budget than this search plans; it "
                    "belongs to another search: pass a new out directory"
                )
            else:
                results[task["trial_id"]] = record
        if pending:
            if self.executor is None:
                self.executor = make_executor(**self.executor_arguments)
            by_id = {task["trial_id"]: task for task in pending}
            estimate = getattr(self.objective, "cost_estimate", None)
            if estimate is not None:  # longest first: workers finish together
                pending = sorted(
                    pending,
                    key=lambda task: -estimate(task["config"], task["budget"]),
                )
            for outcome in self.executor.run(self.objective, pending, self.metric):
                task = by_id[outcome["trial_id"]]
                record = {
                    key: task[key]
                    for key in ("trial_id", "round", "rung", "index", "config")
                }
                record.update(seed=task["seed"], budget=task["budget"])
                record.update(
                    status=outcome["status"],
                    metrics=outcome["metrics"],
                    error=outcome["error"],
                    duration_s=outcome["duration_s"],
                    fingerprint=task["fingerprint"],
                )
                if self.path is not None:
                    journal.append_record(self.path, record)
                results[record["trial_id"]] = record
        return [results[task["trial_id"]] for task in tasks]

    def close(self) -> None:
        if self.executor is not None:
            self.executor.close()
