"""Figures of a search: the metric against each hyperparameter, and best so far.

Each hyperparameter is drawn on the scale it was sampled on, so a good region
shows up as a band rather than a crowd squeezed against one end:

- ``LogUniform``: ``alpha`` on a log axis (``alpha = 10^r``, ``r`` uniform);
- ``OneMinusLogUniform``: ``1 - beta`` on a log axis (``1 - beta = 10^r``);
- ``PowersOfTwo``: a base-2 log axis; ``Uniform`` / ``IntUniform``: linear;
- ``Choice``: one column per value.

Ticks are chosen to be read: a log axis is labelled with plain numbers (0.01,
0.02, 0.05 rather than overlapping ``2 x 10^-2`` minor labels), at most
:data:`MAX_TICKS` of them, a base-2 axis with its powers of two, and trial numbers
are whole numbers.

Figures are built with ``matplotlib.figure.Figure`` and the Agg canvas, so nothing
touches pyplot's global state or needs a display; each function returns the figure
and saves it to ``path`` when one is given (the run report embeds it instead).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

__all__ = ["plot_trials", "plot_best_so_far", "log_ticks"]

MAX_TICKS = 6
"""The most labelled ticks on a hyperparameter's axis."""
MIN_GAP = 0.16
"""The least distance between two labelled ticks, as a fraction of the axis (a
4-inch panel: about 50 pixels, wider than a label such as ``0.0005``)."""


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
    """Colour trials by pruning rung (each trial's rung r ran a fixed share of its
    own epochs), else by halving budget, else by round; one group when none
    varies."""
    for key in ("rung", "budget", "round"):
        values = sorted({t.get(key) for t in trials if t.get(key) is not None})
        if len(values) > 1:
            return key, values
    return "", [None]


def log_ticks(low: float, high: float, base: int = 10) -> list[float]:
    """Readable tick values in ``[low, high]`` (``0 < low <= high``) on a log axis.

    Base 10: the numbers ``m 10^k`` with ``m`` in 1, 2, 5; the decades alone when
    that gives more than :data:`MAX_TICKS`, and every ``m`` in 1..9 when it gives
    fewer than two. Base 2: the powers of two. Every other value is dropped until
    at most :data:`MAX_TICKS` are left, then any closer than :data:`MIN_GAP` of
    the axis to the one before.
    """
    if not (0 < low <= high and math.isfinite(high)):
        return []
    first, last = math.floor(math.log(low, base)), math.ceil(math.log(high, base))

    def inside(mantissas) -> list[float]:
        values = [
            m * float(base) ** k for k in range(first, last + 1) for m in mantissas
        ]
        return [v for v in values if low * (1 - 1e-9) <= v <= high * (1 + 1e-9)]

    ticks = inside((1,) if base == 2 else (1, 2, 5))
    if base == 10 and len(ticks) > MAX_TICKS:
        ticks = inside((1,))
    elif base == 10 and len(ticks) < 2:
        ticks = inside(range(1, 10))
    while len(ticks) > MAX_TICKS:
        ticks = ticks[::2]
    return _spaced(ticks, math.log(high / low, base) if high > low else 1.0, base)


def _spaced(ticks: list[float], span: float, base: int) -> list[float]:
    """``ticks`` without those closer than :data:`MIN_GAP` of the axis (``span``
    in powers of ``base``) to the previous one kept, so labels never touch."""
    kept = ticks[:1]
    for value in ticks[1:]:
        if math.log(value / kept[-1], base) >= MIN_GAP * span:
            kept.append(value)
    return kept


def _tick_text(value: float) -> str:
    """A tick value as a plain number: 0.001, 0.02, 16, 1e-05."""
    return f"{value:g}"


def _readable_log_axis(axis, base: int) -> None:
    """Fixed, plainly labelled ticks on ``axis``'s log x axis, no minor labels."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    low, high = sorted(axis.get_xlim())
    ticks = log_ticks(low, high, base)
    if not ticks:
        return
    axis.xaxis.set_major_locator(FixedLocator(ticks))
    axis.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _tick_text(v)))
    axis.xaxis.set_minor_locator(NullLocator())
    axis.set_xlim(low, high)


def _save(figure, path) -> None:
    if path is None:
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)


def _scatter_group(axis, result, name, dimension, members, text, codes) -> None:
    """One group's trials on one panel: ``x`` on the dimension's scale, the metric
    on ``y``; trials pruned at this rung are drawn as crosses in the group's
    colour (``"pruned": true`` in the journal)."""
    kept = [t for t in members if not t.get("pruned")]
    pruned = [t for t in members if t.get("pruned")]
    colour = None
    for part, marker, suffix in ((kept, "o", ""), (pruned, "x", ", pruned")):
        if not part:
            continue
        values = [t["config"][name] for t in part]
        if dimension.scale == "categorical":
            x = [codes.get(json.dumps(v, sort_keys=True), -1) for v in values]
        elif dimension.scale == "one_minus_log":
            x = [1.0 - v for v in values]
        else:
            x = values
        y = [t["metrics"][result.metric] for t in part]
        label = None if text is None and not suffix else f"{text or 'all'}{suffix}"
        drawn = axis.scatter(
            x, y, s=18, alpha=0.75, marker=marker, color=colour, label=label
        )
        colour = drawn.get_facecolor()[0] if marker == "o" else colour


def plot_trials(result, path: str | Path | None = None):
    """Scatter ``result.metric`` against each sampled hyperparameter; save to ``path``
    when given.

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
        label, codes = name, {}
        if dimension.scale == "categorical":
            codes = {
                json.dumps(v, sort_keys=True): i for i, v in enumerate(dimension.values)
            }
            axis.set_xticks(range(len(codes)), [str(v) for v in dimension.values])
        for group in groups:
            members = [t for t in trials if group is None or t.get(group_key) == group]
            text = None if group is None else f"{group_key} {group}"
            _scatter_group(axis, result, name, dimension, members, text, codes)
        if dimension.scale in ("log", "one_minus_log"):
            axis.set_xscale("log")
            _readable_log_axis(axis, 10)
        elif dimension.scale == "log2":
            axis.set_xscale("log", base=2)
            _readable_log_axis(axis, 2)
        if dimension.scale == "one_minus_log":
            label = f"1 - {name}"
        scale_note = {"log": " (log)", "one_minus_log": " (log)", "log2": " (log2)"}
        axis.set_xlabel(label + scale_note.get(dimension.scale, ""))
        axis.set_ylabel(result.metric)
        if axis is axes[0] and (group_key or any(t.get("pruned") for t in trials)):
            axis.legend(fontsize="small")  # one legend: the colours are shared
    for axis in axes[len(dimensions) :]:
        axis.set_visible(False)
    failed = len(result.trials) - len(trials)
    figure.suptitle(
        f"{len(trials)} trials ({failed} failed), {result.mode} {result.metric}"
    )
    _save(figure, path)
    return figure


def plot_best_so_far(result, path: str | Path | None = None):
    """Each trial's metric (plan order) and the best value so far; save to ``path``
    when given. Trials are numbered from 1 and the axis shows whole numbers only."""
    from matplotlib.ticker import MaxNLocator

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
    axis.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    axis.set_xlabel("trial (plan order)")
    axis.set_ylabel(result.metric)
    axis.legend()
    _save(figure, path)
    return figure
