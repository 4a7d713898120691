"""Plots of training runs (matplotlib, Agg backend: works without a display)."""

from __future__ import annotations

import math


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def plot_history(history, path=None, *, keys=None, title=None, best_epoch=None):
    """Cost per epoch (and val_cost when present); saves a PNG when ``path``.

    ``best_epoch`` (e.g. ``EarlyStopping.best_epoch``) is marked with a dashed
    vertical line, labelled, and a dot on each curve at that epoch.
    """
    plt = _pyplot()
    keys = keys or [k for k in ("cost", "val_cost") if k in history.history]
    figure, axis = plt.subplots(figsize=(6, 4))
    for key in keys:
        axis.plot(history.epoch, history.history[key], label=key)
    axis.set_xlabel("epoch")
    axis.set_ylabel("cost" if all("cost" in k for k in keys) else "value")
    values = [v for k in keys for v in history.history[k] if math.isfinite(v)]
    if values and min(values) > 0 and max(values) / min(values) > 100:
        axis.set_yscale("log")
    if best_epoch is not None:
        _mark_best_epoch(axis, history, keys, best_epoch)
    axis.set_title(title or "learning curve")
    axis.legend()
    axis.grid(alpha=0.3)
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, dpi=100)
        plt.close(figure)
    return figure


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
        if math.isfinite(value):
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
