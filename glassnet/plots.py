"""Plots of training runs (matplotlib, Agg backend: works without a display).

:func:`plot_history` draws a run's learning curves: the cost (train and dev) and
every logged metric, with the best epoch and early stopping marked;
:func:`plot_runs` several runs' curves on one chart.
"""

from __future__ import annotations

import math


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


NOT_METRICS = ("cost", "learning_rate")
"""History columns that are not metrics (with ``grad_norm_*`` and the ``val_``
twins)."""


def metric_keys(history) -> list[str]:
    """The logged metrics of ``history``, each followed by its dev twin:
    ``["accuracy", "val_accuracy", "f1", "val_f1"]`` (not the cost, the learning
    rate or the gradient norms)."""
    keys = []
    for key in history.history:
        base = key[4:] if key.startswith("val_") else key
        if base in NOT_METRICS or base.startswith("grad_norm"):
            continue
        for name in (base, f"val_{base}"):
            if name in history.history and name not in keys:
                keys.append(name)
    return keys


def best_epoch_of(history, monitor: str = "val_cost") -> int | None:
    """The epoch of the lowest finite ``monitor`` value (None without one)."""
    values = history.history.get(monitor, [])
    finite = [(v, e) for v, e in zip(values, history.epoch, strict=False) if _ok(v)]
    return min(finite)[1] if finite else None


def _ok(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def plot_history(
    history,
    path=None,
    *,
    keys=None,
    title=None,
    best_epoch=None,
    stopped_epoch=None,
    metrics=None,
):
    """Learning curves: cost per epoch (and ``val_cost``) and, in a second panel,
    every logged metric (train solid, dev dashed); saves a PNG when ``path``.

    ``keys`` draws those columns on one panel instead. ``metrics`` chooses the
    metric columns (default: :func:`metric_keys`; ``()`` for none).
    ``best_epoch`` (e.g. ``EarlyStopping.best_epoch``) is marked on each panel
    with a dashed vertical line, labelled, and a dot on each curve at that epoch;
    ``stopped_epoch`` (where early stopping ended training) with a dotted one.
    Epochs are whole numbers on the x axis.
    """
    plt = _pyplot()
    panels = [list(keys or [k for k in ("cost", "val_cost") if k in history.history])]
    if keys is None:
        extra = metric_keys(history) if metrics is None else list(metrics)
        if extra:
            panels.append(extra)
    figure, axes = plt.subplots(
        1, len(panels), figsize=(6 * len(panels), 4), squeeze=False
    )
    for axis, panel in zip(axes[0], panels, strict=True):
        _draw_curves(axis, history, panel)
        if best_epoch is not None:
            _mark_best_epoch(axis, history, panel, best_epoch)
        if stopped_epoch is not None:
            axis.axvline(
                stopped_epoch,
                color="gray",
                linestyle=":",
                linewidth=1,
                label=f"stopped at epoch {stopped_epoch}",
            )
        axis.legend()
    axes[0][0].set_title(title or "learning curve")
    if len(panels) > 1:
        axes[0][1].set_title("metrics (dev dashed)")
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, dpi=100)
        plt.close(figure)
    return figure


def plot_run_history(history, path=None, *, title=None, early_stopping=None):
    """A run's learning curves (:func:`plot_history`): the best epoch marked is
    early stopping's (``early_stopping``, ``EarlyStopping.report()``), else the
    epoch of the lowest dev cost; the epoch early stopping stopped at, dotted."""
    early_stopping = early_stopping or {}
    best = early_stopping.get("best_epoch")
    return plot_history(
        history,
        path,
        title=title,
        best_epoch=best_epoch_of(history) if best is None else best,
        stopped_epoch=early_stopping.get("stopped_epoch"),
    )


def _draw_curves(axis, history, keys) -> None:
    """``keys``' columns against the epoch; a ``val_`` column dashed, in the colour
    of its training twin; a log y axis when the values span over 100x."""
    from matplotlib.ticker import MaxNLocator

    colours = {}
    for key in keys:
        base = key[4:] if key.startswith("val_") else key
        colour = colours.setdefault(base, f"C{len(colours)}")
        style = "--" if key.startswith("val_") else "-"
        axis.plot(history.epoch, history.history[key], style, color=colour, label=key)
    axis.set_xlabel("epoch")
    axis.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    axis.set_ylabel("cost" if all("cost" in k for k in keys) else "value")
    values = [v for k in keys for v in history.history[k] if _ok(v)]
    if values and min(values) > 0 and max(values) / min(values) > 100:
        axis.set_yscale("log")
    axis.grid(alpha=0.3)


def _mark_best_epoch(axis, history, keys, best_epoch) -> None:
    """A dashed line at ``best_epoch`` and a dot on each curve there."""
    axis.axvline(
        best_epoch,
        color="gray",
        linestyle="--",
        linewidth=1,
        label=f"best epoch {best_epoch}",
    )
    if best_epoch not in history.epoch:
        return
    row = history.epoch.index(best_epoch)
    for key in keys:
        value = history.history[key][row]
        if _ok(value):
            axis.plot([best_epoch], [value], "o", color="black", markersize=4)


def plot_runs(histories: dict, path=None, *, key: str = "cost", title=None):
    """Several runs' curves on one chart, e.g. ``{"gd": h1, "momentum": h2,
    "adam": h3}`` to compare optimizers."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6, 4))
    for label, history in histories.items():
        axis.plot(history.epoch, history.history[key], label=label)
    axis.set_xlabel("epoch")
    axis.set_ylabel(key)
    axis.set_title(title or f"{key} per epoch")
    axis.legend()
    axis.grid(alpha=0.3)
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, dpi=100)
        plt.close(figure)
    return figure
