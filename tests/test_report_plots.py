"""The report's plots, read from the figure objects (issue 22, point 2): the
learning curve has a metric panel and whole-number epochs, a search's log axes
have distinct tick labels that do not overlap, and trials are counted in whole
numbers."""

from __future__ import annotations

import numpy as np
import pytest
import search_objectives as objectives

import glassnet as gn
from glassnet.plots import best_epoch_of, metric_keys, plot_run_history
from glassnet.search import (
    Choice,
    LogUniform,
    OneMinusLogUniform,
    PowersOfTwo,
    plot_best_so_far,
    plot_trials,
    random_search,
)
from glassnet.search.plots import MAX_TICKS, log_ticks


def history_of(epochs: int) -> gn.History:
    """A History as fit logs it: cost, learning rate, gradient norm, metrics, and
    their dev twins."""
    history = gn.History()
    for epoch in range(epochs):
        cost = 1.0 / (epoch + 1)
        history.on_epoch_end(
            epoch,
            {
                "cost": cost,
                "learning_rate": 0.001,
                "grad_norm_W1": 0.5,
                "accuracy": 1 - cost / 2,
                "f1": 1 - cost / 2.5,
                "val_cost": 0.5 + 0.05 * (epoch - 3) ** 2,
                "val_accuracy": 1 - cost / 1.5,
                "val_f1": 1 - cost / 1.8,
            },
        )
    return history


def labels(axis) -> list[str]:
    return [line.get_label() for line in axis.get_lines() if line.get_label()[0] != "_"]


def test_the_learning_curve_has_a_metric_panel_and_whole_epochs():
    history = history_of(7)
    assert metric_keys(history) == ["accuracy", "val_accuracy", "f1", "val_f1"]
    assert best_epoch_of(history) == 3  # the lowest val_cost
    early = {"best_epoch": 2, "stopped_epoch": 6}
    figure = plot_run_history(history, title="t", early_stopping=early)
    costs, metrics = figure.axes
    assert labels(costs) == ["cost", "val_cost", "best epoch 2", "stopped at epoch 6"]
    assert labels(metrics) == [
        "accuracy",
        "val_accuracy",
        "f1",
        "val_f1",
        "best epoch 2",
        "stopped at epoch 6",
    ]
    styles = {line.get_label(): line.get_linestyle() for line in metrics.get_lines()}
    assert styles["accuracy"] == "-" and styles["val_accuracy"] == "--"
    figure.canvas.draw()
    for axis in (costs, metrics):
        ticks = [t for t in axis.get_xticks() if 0 <= t <= 6]
        assert ticks and all(float(t).is_integer() for t in ticks)
    # without early stopping the lowest dev cost is marked
    figure = plot_run_history(history, title="t")
    assert "best epoch 3" in labels(figure.axes[0])


def test_a_history_without_metrics_keeps_one_panel():
    history = gn.History()
    for epoch in range(3):
        history.on_epoch_end(epoch, {"cost": 1.0 - epoch / 10, "learning_rate": 0.1})
    figure = plot_run_history(history)
    assert len(figure.axes) == 1 and labels(figure.axes[0]) == ["cost"]


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0.0145, 0.033, [0.02, 0.03]),  # within a decade: 1..9 x 10^k
        (0.011, 0.13, [0.02, 0.05, 0.1]),  # 1, 2, 5 x 10^k
        (9e-5, 0.035, [1e-4, 1e-3, 1e-2]),  # many decades: decades only
        (1e-7, 1.0, [1e-7, 1e-5, 1e-3, 1e-1]),  # too many decades: every other
    ],
)
def test_log_ticks_are_few_and_plain(low, high, expected):
    assert log_ticks(low, high) == pytest.approx(expected)
    assert len(log_ticks(low, high)) <= MAX_TICKS


def overlapping(axis) -> list[tuple[str, str]]:
    """Pairs of neighbouring x tick labels whose drawn boxes overlap."""
    renderer = axis.figure.canvas.get_renderer()
    shown = [
        (label.get_text(), label.get_window_extent(renderer))
        for label in axis.get_xticklabels()
        if label.get_visible() and label.get_text()
    ]
    shown.sort(key=lambda item: item[1].x0)
    return [
        (a[0], b[0])
        for a, b in zip(shown, shown[1:], strict=False)
        if a[1].x1 > b[1].x0
    ]


@pytest.mark.parametrize(
    ("low", "high"),
    [(0.95, 0.985), (0.97, 0.99), (0.8, 0.99), (0.0, 0.9999)],
)
def test_one_minus_beta_ticks_are_distinct_and_do_not_overlap(low, high):
    space = {
        "learning_rate": LogUniform(2e-3, 9e-3),
        "beta1": OneMinusLogUniform(low, high),
        "batch_size": PowersOfTwo(16, 512),
        "layers": Choice(["64", "128,64"]),
    }
    result = random_search(objectives.noisy_quadratic, space, trials=9, seed=1)
    figure = plot_trials(result)
    figure.canvas.draw()
    axes = {axis.get_xlabel(): axis for axis in figure.axes if axis.get_visible()}
    for name in ("1 - beta1 (log)", "learning_rate (log)", "batch_size (log2)"):
        axis = axes[name]
        low_x, high_x = axis.get_xlim()
        ticks = [t for t in axis.get_xticks() if low_x <= t <= high_x]
        texts = [label.get_text() for label in axis.get_xticklabels()]
        texts = [t for t in texts if t]
        assert 1 <= len(texts) <= MAX_TICKS, (name, texts)
        assert len(set(texts)) == len(texts), (name, texts)
        assert texts == [f"{t:g}" for t in ticks], (name, texts, ticks)
        assert overlapping(axis) == [], name
        assert axis.get_xticklabels(minor=True) == [] or not any(
            t.get_text() for t in axis.get_xticklabels(minor=True)
        )


@pytest.mark.parametrize("trials", [2, 3, 5])
def test_best_so_far_numbers_trials_with_whole_numbers(trials):
    space = {"learning_rate": LogUniform(1e-4, 1e-1)}
    result = random_search(objectives.noisy_quadratic, space, trials=trials, seed=0)
    figure = plot_best_so_far(result)
    figure.canvas.draw()
    axis = figure.axes[0]
    low, high = axis.get_xlim()
    ticks = [t for t in axis.get_xticks() if low <= t <= high]
    assert ticks and all(float(t).is_integer() for t in ticks), ticks
    assert set(np.arange(1, trials + 1)) >= set(ticks)


def test_a_pruned_search_is_coloured_by_rung_with_pruned_trials_as_crosses():
    """Pruning rungs run a share of each trial's own epochs (9 or 27 here), so the
    colours follow the rung, not the budget; a trial pruned at a rung is a cross
    in that rung's colour, and one legend serves every panel."""
    space = {
        "learning_rate": LogUniform(1e-4, 1e-1),
        "layers": Choice(["64", "100"]),
        "epochs": Choice([9, 27]),
    }
    result = random_search(
        objectives.epochs_quadratic, space, trials=9, seed=1,
        prune={"eta": 3, "rungs": 3}, backend="serial",
    )  # fmt: skip
    pruned = [t for t in result.trials if t.get("pruned")]
    assert pruned  # the test needs some
    figure = plot_trials(result)
    first, *others = [axis for axis in figure.axes if axis.get_visible()]
    legend = [text.get_text() for text in first.get_legend().get_texts()]
    rungs = sorted({t["rung"] for t in result.trials})
    assert [text for text in legend if "pruned" not in text] == [
        f"rung {r}" for r in rungs
    ]
    assert {f"rung {t['rung']}, pruned" for t in pruned} == {
        text for text in legend if "pruned" in text
    }
    assert all(axis.get_legend() is None for axis in others)
    crosses = sum(
        len(collection.get_offsets())
        for collection in first.collections
        if "pruned" in collection.get_label()
    )
    assert crosses == len(pruned)
