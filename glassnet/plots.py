"""Plots of training runs (matplotlib, Agg backend: works without a display)."""

from __future__ import annotations

import math


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def plot_history(history, path=None, *, keys=None, title=None):
    """Cost per epoch (and val_cost when present); saves a PNG when ``path``."""
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
    axis.set_title(title or "learning curve")
    axis.legend()
    axis.grid(alpha=0.3)
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, dpi=100)
        plt.close(figure)
    return figure


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
