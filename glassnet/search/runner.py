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
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path

import numpy as np

from glassnet.search import journal
from glassnet.search.executors import BACKENDS, make_executor
from glassnet.search.spaces import Grid, SearchSpace, as_space
from glassnet.validation import check_choice, check_in_range, check_positive_int

__all__ = ["SearchResult", "random_search", "rank_trials"]


def rank_trials(trials, metric: str, mode: str) -> list[dict]:
    """Successful trials, best first (``mode`` ``"max"`` or ``"min"``); stable."""
    sign = -1.0 if mode == "max" else 1.0
    ok = [t for t in trials if t["status"] == "ok"]
    return sorted(ok, key=lambda t: sign * t["metrics"][metric])


class SearchResult:
    """The trials of a search (in plan order) and what they say.

    ``trials``: list of journal records (see :mod:`glassnet.search.journal`);
    ``spaces``: the space sampled in each round (narrower ones for coarse-to-fine).
    """

    def __init__(self, trials, *, metric: str, mode: str, spaces, out=None):
        self.trials = list(trials)
        self.metric = metric
        self.mode = mode
        self.spaces = list(spaces)
        self.out = None if out is None else Path(out)

    @property
    def space(self) -> SearchSpace:
        """The original (first round's) space."""
        return self.spaces[0]

    def __repr__(self) -> str:
        failed = sum(t["status"] != "ok" for t in self.trials)
        return (
            f"SearchResult({len(self.trials)} trials, {failed} failed, "
            f"metric={self.metric!r}, mode={self.mode!r})"
        )

    @property
    def best(self) -> dict:
        """The best successful trial; among halving rungs, only the largest budget.

        Raises ``RuntimeError`` when no trial succeeded (with the first error).
        """
        ok = [t for t in self.trials if t["status"] == "ok"]
        if not ok:
            errors = [t["error"] for t in self.trials if t.get("error")]
            first = f"; first error: {errors[0]}" if errors else ""
            raise RuntimeError(
                f"none of the {len(self.trials)} trials succeeded{first}"
            )
        budgets = [t["budget"] for t in ok if t["budget"] is not None]
        if budgets:
            ok = [t for t in ok if t["budget"] == max(budgets)]
        return rank_trials(ok, self.metric, self.mode)[0]

    @property
    def best_config(self) -> dict:
        """A copy of the best trial's configuration."""
        return copy.deepcopy(self.best["config"])

    def table(self, limit: int | None = None) -> str:
        """Text table of the trials, best first by ``metric``, failed ones last.

        With successive halving, trials at a larger budget come first.
        """
        ranked = rank_trials(self.trials, self.metric, self.mode)
        ranked.sort(key=lambda t: -(t["budget"] or 0))  # halving: largest budget first
        failed = [t for t in self.trials if t["status"] != "ok"]
        rows_in = (ranked + failed)[:limit] if limit else ranked + failed
        names = list(self.space)
        header = ["rank", "trial", "budget", self.metric, *names, "status"]
        rows = [header]
        for rank, trial in enumerate(rows_in, start=1):
            value = trial["metrics"].get(self.metric) if trial["metrics"] else None
            status = trial["status"] if trial["status"] == "ok" else trial["error"]
            cells = [rank, trial["trial_id"], trial["budget"], value]
            cells += [trial["config"].get(name) for name in names] + [status]
            rows.append([_format(cell) for cell in cells])
        widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
        return "\n".join(
            "  ".join(
                cell.ljust(width) for cell, width in zip(row, widths, strict=False)
            )
            + "  "
            + row[-1]
            for row in rows
        )

    def save_best(self, path: str | Path) -> Path:
        """Write :attr:`best_config` as a JSON file (a ``glassnet train --config``)."""
        return journal.write_json_atomically(path, self.best_config)

    @classmethod
    def load(cls, out: str | Path) -> SearchResult:
        """Rebuild the result of the search journaled in ``out`` (finished or not)."""
        settings = journal.read_settings(out)
        records = journal.read_journal(Path(out) / journal.TRIALS_FILE)
        by_id = {record["trial_id"]: record for record in records}
        space = SearchSpace.from_config(settings["space"])
        if settings.get("grid_points"):
            space = Grid(space, settings["grid_points"])
        ordered = sorted(  # plan order, whatever order the trials finished in
            by_id.values(), key=lambda r: (r["round"], r["rung"], r["index"])
        )
        spaces = [space]
        for round_index in range(1, settings["rounds"]):
            previous = [r for r in ordered if r["round"] == round_index - 1]
            spaces.append(_next_space(spaces[-1], previous, settings))
        return cls(
            ordered,
            metric=settings["metric"],
            mode=settings["mode"],
            spaces=spaces,
            out=out,
        )


def _format(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


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


def _next_space(space: SearchSpace, records, settings: Mapping) -> SearchSpace:
    """Shrink ``space`` around the best ``keep_fraction`` of ``records``."""
    ranked = rank_trials(records, settings["metric"], settings["mode"])
    if not ranked:  # nothing succeeded this round: nothing to narrow around
        return space
    kept = ranked[: max(1, math.ceil(settings["keep_fraction"] * len(ranked)))]
    return space.shrink([t["config"] for t in kept], settings["keep_fraction"])


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
    finished = {}
    if out is not None:
        for record in journal.prepare_directory(out, settings):
            finished[record["trial_id"]] = record
    executor_arguments = {
        "backend": backend,
        "n_jobs": n_jobs,
        "scheduler": scheduler,
        "timeout": timeout,
    }
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
