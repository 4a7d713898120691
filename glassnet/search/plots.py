"""Figures of a search: the metric against each hyperparameter, and best so far.

Each hyperparameter is drawn on the scale it was sampled on, so a good region
shows up as a band rather than a crowd squeezed against one end:

- ``LogUniform``: ``alpha`` on a log axis (``alpha = 10^r``, ``r`` uniform);
- ``OneMinusLogUniform``: ``1 - beta`` on a log axis (``1 - beta = 10^r``);
- ``PowersOfTwo``: a base-2 log axis; ``Uniform`` / ``IntUniform``: linear;
- ``Choice``: one column per value.

Figures are built with ``matplotlib.figure.Figure`` and the Agg canvas, so nothing
touches pyplot's global state or needs a display; each function saves the figure to
``path`` and returns it.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["plot_trials", "plot_best_so_far"]


def _new_figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _successful(result) -> list[dict]:
    ok = [t for t in result.trials if t["status"] == "ok"]
    if not ok:
        raise ValueError(
            f"no successful trials to plot ({len(result.trials)} trials, all failed)"
        )
    return ok


def _groups(trials) -> tuple[str, list]:
    """Colour trials by halving budget, else by round; one group when neither varies."""
    for key in ("budget", "round"):
        values = sorted({t[key] for t in trials if t[key] is not None})
        if len(values) > 1:
            return key, values
    return "", [None]


def _save(figure, path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)


def plot_trials(result, path: str | Path):
    """Scatter ``result.metric`` against each sampled hyperparameter; save to ``path``.

    One panel per dimension of ``result.space`` on its own scale (see the module
    docstring); failed trials are counted in the title, not drawn.
    """
    trials = _successful(result)
    dimensions = result.space.dimensions
    if not dimensions:
        raise ValueError("the space has no sampled hyperparameters to plot")
    columns = min(3, len(dimensions))
    rows = -(-len(dimensions) // columns)
    figure = _new_figure(4.0 * columns, 3.2 * rows)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    group_key, groups = _groups(trials)
    for axis, (name, dimension) in zip(axes, dimensions.items(), strict=False):
        label = name
        if dimension.scale == "categorical":
            codes = {
                json.dumps(v, sort_keys=True): i for i, v in enumerate(dimension.values)
            }
            axis.set_xticks(range(len(codes)), [str(v) for v in dimension.values])
        for group in groups:
            members = [t for t in trials if group is None or t[group_key] == group]
            values = [t["config"][name] for t in members]
            if dimension.scale == "categorical":
                x = [codes.get(json.dumps(v, sort_keys=True), -1) for v in values]
            elif dimension.scale == "one_minus_log":
                x = [1.0 - v for v in values]
            else:
                x = values
            y = [t["metrics"][result.metric] for t in members]
            text = None if group is None else f"{group_key} {group}"
            axis.scatter(x, y, s=18, alpha=0.75, label=text)
        if dimension.scale in ("log", "one_minus_log"):
            axis.set_xscale("log")
        elif dimension.scale == "log2":
            axis.set_xscale("log", base=2)
        if dimension.scale == "one_minus_log":
            label = f"1 - {name}"
        scale_note = {"log": " (log)", "one_minus_log": " (log)", "log2": " (log2)"}
        axis.set_xlabel(label + scale_note.get(dimension.scale, ""))
        axis.set_ylabel(result.metric)
        if group_key:
            axis.legend(fontsize="small")
    for axis in axes[len(dimensions) :]:
        axis.set_visible(False)
    failed = len(result.trials) - len(trials)
    figure.suptitle(
        f"{len(trials)} trials ({failed} failed), {result.mode} {result.metric}"
    )
    _save(figure, path)
    return figure


def plot_best_so_far(result, path: str | Path):
    """Each trial's metric (plan order) and the best value so far; save to ``path``."""
    _successful(result)
    better = max if result.mode == "max" else min
    numbers, values, best_numbers, best_values = [], [], [], []
    best = None
    for number, trial in enumerate(result.trials, start=1):
        if trial["status"] != "ok":
            continue
        value = trial["metrics"][result.metric]
        best = value if best is None else better(best, value)
        numbers.append(number)
        values.append(value)
        best_numbers.append(number)
        best_values.append(best)
    figure = _new_figure(6.0, 4.0)
    axis = figure.subplots()
    axis.scatter(numbers, values, s=14, alpha=0.5, label="trial")
    axis.step(best_numbers, best_values, where="post", color="C3", label="best so far")
    axis.set_xlabel("trial (plan order)")
    axis.set_ylabel(result.metric)
    axis.legend()
    _save(figure, path)
    return figure
