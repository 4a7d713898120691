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

- ``prune={"eta": 4, "rungs": 3}``: each trial's epochs split into rungs and the
  hopeless trials stopped after each rung, in plan order
  (:mod:`glassnet.search.pruning`, where the schedule is); ``first_trial`` as
  trial 0, which is never pruned; ``sampler="tpe"`` plans in fixed batches
  (:mod:`glassnet.search.samplers`).
- ``time_budget`` (seconds): once spent, no further trial is launched (those
  running finish and are journaled); ``SearchResult.stopped`` says how many were
  not launched, and a rerun in the same folder resumes with them.

What a search returns, :class:`SearchResult` (and :func:`rank_trials`), lives in
:mod:`glassnet.search.results`; both names are importable from here too.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path

from glassnet.locks import folder_lock
from glassnet.search import journal, pruning
from glassnet.search.executors import BACKENDS, make_executor
from glassnet.search.results import SearchResult, _next_space, rank_trials
from glassnet.search.samplers import SAMPLERS, make_sampler, plan_round
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
    return plan_round(space, seed, round_index, trials)


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


def _checked_first_trial(first_trial, space: SearchSpace):
    """``{"config": dict, "seed": int}`` with the space's names, or None."""
    if first_trial is None:
        return None
    if not isinstance(first_trial, Mapping) or set(first_trial) != {"config", "seed"}:
        raise ValueError(
            'first_trial must be {"config": {...}, "seed": int}; received '
            f"{first_trial!r}"
        )
    config = first_trial["config"]
    if not isinstance(config, Mapping) or set(config) != set(space):
        raise ValueError(
            "first_trial's config must set exactly the space's names "
            f"{sorted(space)}; received {config!r}"
        )
    seed = int(
        check_in_range("first_trial seed", first_trial["seed"], 0, None, integer=True)
    )
    return journal.json_copy({"config": dict(config), "seed": seed}, "first_trial")


def _checked_arguments(objective, space, arguments: dict) -> dict:
    """random_search's arguments, checked; with the budgets of the rungs (one
    rung of ``budget`` without halving) and halving's eta (None without it)."""
    a = dict(arguments)
    if not callable(objective):
        raise TypeError(f"objective must be callable; received {objective!r}")
    a["space"] = space = as_space(space)
    a["trials"] = check_positive_int("trials", a["trials"])
    a["seed"] = int(check_in_range("seed", a["seed"], 0, None, integer=True))
    metric = a["metric"]
    if not isinstance(metric, str) or not metric:
        raise TypeError(f"metric must be a metric name; received metric={metric!r}")
    check_choice("mode", a["mode"], ("max", "min"))
    check_choice("backend", a["backend"], BACKENDS)
    check_choice("sampler", a["sampler"], SAMPLERS)
    n_jobs = int(check_in_range("n_jobs", a["n_jobs"], -1, None, integer=True))
    if n_jobs == 0:
        raise ValueError("n_jobs must be >= 1 or -1 (all cores); received n_jobs=0")
    a["n_jobs"] = n_jobs
    a["rounds"] = check_positive_int("rounds", a["rounds"])
    a["keep_fraction"] = float(
        check_in_range("keep_fraction", a["keep_fraction"], 0, 1, low_inclusive=False)
    )
    if a["budget"] is not None:
        a["budget"] = check_positive_int("budget", a["budget"])
    for name in ("scheduler", "timeout"):
        if a[name] is not None and a["backend"] != "dask":
            raise ValueError(
                f"{name} is for the dask backend; it needs backend='dask' "
                f"(received backend={a['backend']!r}, {name}={a[name]!r})"
            )
    if a["timeout"] is not None:
        check_in_range("timeout", a["timeout"], 0, None, low_inclusive=False)
    if a["time_budget"] is not None:
        check_in_range("time_budget", a["time_budget"], 0, None, low_inclusive=False)
    a["prune"] = pruning.check_prune(a["prune"])
    a["first_trial"] = _checked_first_trial(a["first_trial"], space)
    a["budgets"], a["eta"] = [a["budget"]], None
    halving = a["halving"]
    if halving is not None:
        if a["budget"] is not None or a["rounds"] != 1 or a["prune"] is not None:
            raise ValueError(
                "halving sets the budgets itself and runs one round; received "
                f"halving={halving!r} with budget={a['budget']!r}, rounds={a['rounds']}"
                f", prune={a['prune']!r}"
            )
        a["budgets"], a["eta"] = _halving_budgets(halving)
        budgets = a["budgets"]
        a["halving"] = {
            "min_budget": budgets[0],
            "max_budget": budgets[-1],
            "eta": a["eta"],
        }
    if a["prune"] is not None and a["budget"] is not None:
        raise ValueError(
            "prune sets each rung's budget itself; received prune with "
            f"budget={a['budget']!r} (set the trials' epochs instead)"
        )
    return a


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
    prune: Mapping | bool | None = None,
    first_trial: Mapping | None = None,
    time_budget: float | None = None,
    sampler: str = "random",
) -> SearchResult:
    """Run ``trials`` trials per round of ``objective`` on configs drawn from ``space``.

    Arguments: ``space`` a :class:`SearchSpace` (or dict, or :class:`Grid`);
    ``metric`` / ``mode`` ("max" or "min") rank the trials; ``n_jobs`` workers for
    ``backend`` "loky" (-1: all cores); ``backend`` "serial", "loky" or "dask"
    (``scheduler`` address or ``distributed.Client``, ``timeout`` seconds to reach
    it, default 10); ``out`` a directory journaling every trial, which makes the
    search resumable; ``rounds`` / ``keep_fraction`` coarse to fine; ``budget`` for
    every trial, or ``halving`` for successive halving (one round only), or
    ``prune`` (``True`` or ``{"eta": 4, "rungs": 3}``) to stop hopeless trials
    at rungs (:mod:`glassnet.search.pruning`); ``first_trial``
    (``{"config", "seed"}``) as trial 0, never pruned; ``time_budget`` seconds
    after which no trial is launched (a rerun resumes); ``sampler`` "random" or
    "tpe" (:mod:`glassnet.search.samplers`). The math of seeding, shrinking and
    halving is in the module docstring.
    """
    a = _checked_arguments(
        objective,
        space,
        {
            "trials": trials,
            "seed": seed,
            "metric": metric,
            "mode": mode,
            "n_jobs": n_jobs,
            "backend": backend,
            "scheduler": scheduler,
            "rounds": rounds,
            "keep_fraction": keep_fraction,
            "budget": budget,
            "halving": halving,
            "timeout": timeout,
            "prune": prune,
            "first_trial": first_trial,
            "time_budget": time_budget,
            "sampler": sampler,
        },
    )
    settings = {
        "objective": _objective_name(objective),
        "space": a["space"].to_config(),
        "grid_points": getattr(a["space"], "points_per_dimension", None),
        **{
            key: a[key]
            for key in ("trials", "seed", "metric", "mode", "rounds", "keep_fraction")
        },
        "budget": a["budgets"][0] if a["eta"] is None else None,
        "halving": a["halving"],
    }
    for key, unset in (("prune", None), ("first_trial", None), ("sampler", "random")):
        if a[key] != unset:  # absent when unused: older search folders still resume
            settings[key] = a[key]
    deadline = None
    if a["time_budget"] is not None:
        deadline = time.monotonic() + float(a["time_budget"])
    with contextlib.ExitStack() as stack:
        if out is not None:  # one search per folder (glassnet.locks)
            stack.enter_context(folder_lock(out))
        stack.enter_context(_terminate_as_interrupt())
        return _search(
            objective,
            settings,
            a,
            out=out,
            deadline=deadline,
            executor_arguments={
                "backend": a["backend"],
                "n_jobs": a["n_jobs"],
                "scheduler": a["scheduler"],
                "timeout": a["timeout"],
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


def _search(objective, settings, a, *, out, deadline, executor_arguments):
    """The rounds, batches and rungs of :func:`random_search`, its arguments
    checked (``a``)."""
    finished = {}
    if out is not None:
        for record in journal.prepare_directory(out, settings):
            finished[record["trial_id"]] = record  # a later line supersedes
    runner = _Runner(objective, a["metric"], finished, out, executor_arguments)
    runner.deadline = deadline
    try:
        spaces, records = [a["space"]], []
        for round_index in range(a["rounds"]):
            sampler = make_sampler(
                a["sampler"],
                spaces[-1],
                a["seed"],
                round_index,
                a["trials"],
                a["first_trial"] if round_index == 0 else None,
                metric=a["metric"],
                mode=a["mode"],
            )
            for start, configs, seeds in sampler.batches():
                done = _run_batch(runner, a, round_index, start, configs, seeds)
                records += done
                sampler.tell(done)
                if runner.skipped:
                    break
            if runner.skipped:
                break
            if round_index + 1 < a["rounds"]:
                this_round = [r for r in records if r["round"] == round_index]
                spaces.append(_next_space(spaces[-1], this_round, settings))
    finally:
        runner.close()
    result = SearchResult(
        records, metric=a["metric"], mode=a["mode"], spaces=spaces, out=out
    )
    if runner.skipped:
        result.stopped = {
            "time_budget_s": a["time_budget"],
            "not_launched": runner.skipped,
        }
    return result


def _run_batch(runner, a, round_index, start, configs, seeds) -> list[dict]:
    """One batch of trials through its rungs (one rung without halving or
    pruning); returns every record, a pruned trial's last one marked."""
    metric, mode, prune = a["metric"], a["mode"], a["prune"]
    protected = {0} if a["first_trial"] is not None and round_index == 0 else set()
    indices = range(start, start + len(configs))
    config_of = dict(zip(indices, configs, strict=True))
    seed_of = dict(zip(indices, seeds, strict=True))
    rungs = prune["rungs"] if prune is not None else len(a["budgets"])
    active, records = list(indices), []
    for rung in range(rungs):
        tasks = []
        for i in active:
            budget = (
                a["budgets"][rung]
                if prune is None
                else pruning.rung_budget(config_of[i], prune, rung)
            )
            tasks.append(_task(round_index, rung, i, config_of[i], seed_of[i], budget))
        done = runner.run(tasks)
        records += done
        if runner.skipped or rung + 1 == rungs:
            break
        if prune is None:  # halving: the best floor(n / eta), at least one
            ranked = rank_trials(done, metric, mode)
            survivors = ranked[: max(1, len(active) // a["eta"])]
            active = sorted(t["index"] for t in survivors)
        else:
            active = pruning.survivors(done, metric, mode, prune["eta"], protected)
            for record in done:
                if record["status"] == "ok" and record["index"] not in active:
                    marked = runner.mark_pruned(record)
                    records[records.index(record)] = marked
        if not active:
            break
    return records


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
        self.deadline = None  # time.monotonic() after which no trial is launched
        self.skipped = 0  # trials not launched because the time budget was spent

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
            outcomes = self.executor.run(
                self.objective, pending, self.metric, deadline=self.deadline
            )
            for outcome in outcomes:
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
        self.skipped += sum(task["trial_id"] not in results for task in tasks)
        return [results[t["trial_id"]] for t in tasks if t["trial_id"] in results]

    def mark_pruned(self, record: dict) -> dict:
        """``record`` (a rung's) as pruned: journaled once, as a superseding line."""
        if record.get("pruned"):
            return record  # a resumed search: decided and journaled before
        marked = {**record, "pruned": True}
        if self.path is not None:
            journal.append_record(self.path, marked)
        self.finished[marked["trial_id"]] = marked
        return marked

    def close(self) -> None:
        if self.executor is not None:
            self.executor.close()
