"""The glassnet objective: train one network from a config, report dev metrics.

``train_objective(config, seed, budget)`` turns a sampled config (names of
:class:`glassnet.run_config.RunConfig`) into a run: ``seed`` seeds the weights and the
shuffling, the train/dev/test split stays fixed (``split_seed``) so every trial is
judged on the same dev set, and ``budget`` (successive halving) is the number of
epochs. It returns ``dev_accuracy``, ``dev_cost``, ``train_accuracy``,
``train_cost`` and ``epochs_run`` (fewer than the epochs when the trial's own early
stopping ended it); the test set is never looked at during a search.
"""

from __future__ import annotations

import math

from glassnet.run_config import RunConfig, parse_layers
from glassnet.runs import prepare_data, train_run
from glassnet.search.dimensions import (
    Choice,
    LogUniform,
    OneMinusLogUniform,
    PowersOfTwo,
)

_PREPARED: dict = {}


def default_space() -> dict:
    """A small fixed space (20 epochs) for quick searches and benchmarks;
    ``glassnet search`` without ``--space`` scales its space to the data instead
    (:mod:`glassnet.search.data_space`)."""
    return {
        "learning_rate": LogUniform(1e-4, 3e-2),
        "layers": Choice(["32", "64", "128", "64,32", "128,64"]),
        "batch_size": PowersOfTwo(16, 128),
        "beta1": OneMinusLogUniform(0.8, 0.99),
        "activation": Choice(["relu", "tanh"]),
        "optimizer": "adam",
        "epochs": 20,
    }


def known_names() -> set[str]:
    """Hyperparameter names a space may use (RunConfig's fields)."""
    return set(RunConfig.field_names())


def _prepared(config: RunConfig) -> dict:
    key = (
        config.data,
        config.split_seed,
        config.standardize,
        config.label_column,
        config.dtype,
    )
    if key not in _PREPARED:
        _PREPARED.clear()
        _PREPARED[key] = prepare_data(config)
    return _PREPARED[key]


def _cost_estimate(config: dict, budget: int | None = None) -> float:
    """Relative training cost of a config: epochs x steps per example x units."""
    epochs = budget if budget is not None else config.get("epochs", 30)
    batch_size = config.get("batch_size", 32)
    try:
        units = sum(parse_layers(config.get("layers", (64,))))
    except (TypeError, ValueError):
        units = 64
    return float(epochs) * (1.0 + 64.0 / float(batch_size)) * (1.0 + units / 64.0)


def train_objective(config: dict, seed: int, budget: int | None = None) -> dict:
    """Train the run described by ``config``; return its train and dev metrics."""
    values = dict(config)
    values["seed"] = int(seed) % (2**32)
    if budget is not None:
        values["epochs"] = int(budget)
    run_config = RunConfig.from_dict(values)
    result = train_run(run_config, prepared=_prepared(run_config), verbose=False)
    metrics = {}
    for split in ("train", "dev"):
        row = result.results.get(split, {})
        for name in ("cost", "accuracy"):
            if name in row:
                value = float(row[name])
                metrics[f"{split}_{name}"] = value if math.isfinite(value) else math.nan
    metrics["epochs_run"] = float(len(result.history))  # early stopping may cut it
    return metrics


train_objective.cost_estimate = _cost_estimate
