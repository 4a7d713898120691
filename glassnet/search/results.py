"""What a search found: :class:`SearchResult` and the ranking of trials.

:func:`rank_trials` orders successful trials best first (stable: ties go to the
earlier trial). :class:`SearchResult` holds a search's journal records in plan
order and reads them: the best trial (at the largest halving budget), its config,
a text table, the best config as a ``glassnet train --config`` file, and
:meth:`SearchResult.load` to rebuild the result of a journaled search. The
coarse-to-fine rule that narrows a space around a round's best trials
(``_next_space``) lives here too, because both the runner and ``load`` replay it.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from pathlib import Path

from glassnet.errors import GlassnetError
from glassnet.search import journal
from glassnet.search.spaces import Grid, SearchSpace

__all__ = ["NoTrialSucceededError", "SearchResult", "rank_trials"]


class NoTrialSucceededError(GlassnetError, RuntimeError):
    """Every trial of the search failed (each trial's error is in its record)."""


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
        #: set when the time budget stopped the search: {"time_budget_s",
        #: "not_launched"} (None when every planned trial ran)
        self.stopped = None

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
        """The best successful trial; with halving or pruning, among the trials of
        the last rung reached (a pruned trial never is the best).

        Raises :class:`NoTrialSucceededError` (a RuntimeError) when no trial
        succeeded, with the first error.
        """
        ok = [t for t in self.trials if t["status"] == "ok"]
        if not ok:
            errors = [t["error"] for t in self.trials if t.get("error")]
            first = f"; first error: {errors[0]}" if errors else ""
            raise NoTrialSucceededError(
                f"none of the {len(self.trials)} trials succeeded{first}"
            )
        budgets = [t["budget"] for t in ok if t["budget"] is not None]
        if any(t.get("rung") for t in ok):  # halving or pruning: the last rung reached
            last = max(t.get("rung") or 0 for t in ok)
            ok = [t for t in ok if (t.get("rung") or 0) == last]
        elif budgets:
            ok = [t for t in ok if t["budget"] == max(budgets)]
        return rank_trials(ok, self.metric, self.mode)[0]

    @property
    def best_config(self) -> dict:
        """A copy of the best trial's configuration."""
        return copy.deepcopy(self.best["config"])

    def per_trial(self) -> list[dict]:
        """One row per trial (its last rung's record), in plan order, with
        ``seconds`` (the wall time of all its rungs), ``epochs`` (what it trained
        at its last rung: the objective's ``epochs_run`` or else the budget) and
        ``pruned`` (the rung it was pruned at, or None)."""
        rows = {}
        for trial in self.trials:
            key = (trial["round"], trial["index"])
            row = rows.setdefault(key, {"record": trial, "seconds": 0.0})
            row["seconds"] += float(trial.get("duration_s") or 0.0)
            if trial["rung"] >= row["record"]["rung"]:
                row["record"] = trial
        result = []
        for key in sorted(rows):
            record = rows[key]["record"]
            metrics = record["metrics"] or {}
            epochs = metrics.get("epochs_run", record["budget"])
            result.append(
                {
                    "record": record,
                    "seconds": rows[key]["seconds"],
                    "epochs": None if epochs is None else int(epochs),
                    "pruned": record["rung"] if record.get("pruned") else None,
                }
            )
        return result

    def table(self, limit: int | None = None) -> str:
        """Text table, one row per trial (its last rung), best first by ``metric``
        with the trials of the last rung first, failed ones last; each row's wall
        time in seconds (all its rungs), epochs run and status (``ok``, ``pruned
        at rung k`` or the error)."""
        rows = self.per_trial()
        ok = [r for r in rows if r["record"]["status"] == "ok"]
        order = {
            id(t): i
            for i, t in enumerate(
                rank_trials([r["record"] for r in ok], self.metric, self.mode)
            )
        }
        ok.sort(key=lambda r: (-r["record"]["rung"], order[id(r["record"])]))
        failed = [r for r in rows if r["record"]["status"] != "ok"]
        rows_in = (ok + failed)[:limit] if limit else ok + failed
        names = list(self.space.dimensions) or list(self.space)
        header = ["rank", "trial", "budget", self.metric, *names, "seconds", "epochs"]
        lines = [[*header, "status"]]
        for rank, row in enumerate(rows_in, start=1):
            trial = row["record"]
            value = trial["metrics"].get(self.metric) if trial["metrics"] else None
            status = trial["status"] if trial["status"] == "ok" else trial["error"]
            if row["pruned"] is not None:
                status = f"pruned at rung {row['pruned']}"
            cells = [rank, trial["trial_id"], trial["budget"], value]
            cells += [trial["config"].get(name) for name in names]
            cells += [f"{row['seconds']:.1f}", row["epochs"], status]
            lines.append([_format(cell) for cell in cells])
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        return "\n".join(
            "  ".join(
                cell.ljust(width) for cell, width in zip(line, widths, strict=False)
            )
            + "  "
            + line[-1]
            for line in lines
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


def _next_space(space: SearchSpace, records, settings: Mapping) -> SearchSpace:
    """Shrink ``space`` around the best ``keep_fraction`` of ``records``."""
    ranked = rank_trials(records, settings["metric"], settings["mode"])
    if not ranked:  # nothing succeeded this round: nothing to narrow around
        return space
    kept = ranked[: max(1, math.ceil(settings["keep_fraction"] * len(ranked)))]
    return space.shrink([t["config"] for t in kept], settings["keep_fraction"])
