"""Cheap, picklable objectives for the search tests (module-level functions).

``noisy_quadratic`` peaks at ``log10(learning_rate) = -2`` (``dev_accuracy`` up to
~0.95) with a little seeded noise, so results depend on (config, seed, budget) only.
"""

from __future__ import annotations

import math
import os
import time

import numpy as np

OPTIMUM = -2.0
CALLS: list[tuple] = []  # (config, seed, budget) of every in-process call


def noisy_quadratic(config: dict, seed: int, budget: int | None) -> dict:
    """``0.95 - 0.05 (log10 lr + 2)^2 - 0.2 (1 - beta1 - 0.05)^2 + noise``."""
    CALLS.append((dict(config), seed, budget))
    delay = float(os.environ.get("GLASSNET_TEST_SLEEP", "0"))
    if delay:
        time.sleep(delay)
    r = math.log10(config["learning_rate"])
    accuracy = 0.95 - 0.05 * (r - OPTIMUM) ** 2
    if "beta1" in config:
        accuracy -= 0.2 * (1.0 - config["beta1"] - 0.05) ** 2
    accuracy += 0.002 * np.random.default_rng(seed).standard_normal()
    return {"dev_accuracy": float(accuracy), "dev_cost": float(1.0 - accuracy)}


def budgeted_quadratic(config: dict, seed: int, budget: int | None) -> dict:
    """Like :func:`noisy_quadratic`, approaching its value as the budget grows."""
    CALLS.append((dict(config), seed, budget))
    budget = 10 if budget is None else budget
    r = math.log10(config["learning_rate"])
    accuracy = (0.95 - 0.05 * (r - OPTIMUM) ** 2) * (1.0 - 0.5 / budget)
    accuracy += 0.001 * np.random.default_rng(seed).standard_normal()
    return {"dev_accuracy": float(accuracy)}


def sometimes_broken(config: dict, seed: int, budget: int | None) -> dict:
    """Raises when ``learning_rate > 0.1``, returns NaN when ``< 1e-3``."""
    if config["learning_rate"] > 0.1:
        raise FloatingPointError(f"diverged at learning_rate={config['learning_rate']}")
    if config["learning_rate"] < 1e-3:
        return {"dev_accuracy": float("nan"), "dev_cost": float("inf")}
    return noisy_quadratic(config, seed, budget)


def always_nan(config: dict, seed: int, budget: int | None) -> dict:
    """Every trial fails."""
    return {"dev_accuracy": float("nan")}


def blas_threads(config: dict, seed: int, budget: int | None) -> dict:
    """The most threads any loaded BLAS / OpenMP pool may use right now."""
    from threadpoolctl import threadpool_info

    threads = [pool["num_threads"] for pool in threadpool_info()]
    return {"dev_accuracy": float(max(threads, default=1)), "pools": len(threads)}


def epochs_quadratic(config: dict, seed: int, budget: int | None) -> dict:
    """A stand-in for training: ``budget`` epochs (``config["epochs"]`` without
    one) bring the dev accuracy up towards a peak at ``log10 lr = -2.5``
    (``learning_rate`` None counts as Adam's 1e-3); the trial's seed moves it a
    little; ``GLASSNET_TEST_SLEEP`` seconds times ``seed % 3`` of sleep make the
    trials finish in another order than they were planned."""
    CALLS.append((dict(config), seed, budget))
    delay = float(os.environ.get("GLASSNET_TEST_SLEEP", "0"))
    if delay:
        time.sleep(delay * (seed % 3))
    epochs = config["epochs"] if budget is None else budget
    r = math.log10(config.get("learning_rate") or 1e-3)
    accuracy = (0.95 - 0.05 * (r + 2.5) ** 2) * (1.0 - 1.0 / (1.0 + epochs))
    accuracy += 0.002 * np.random.default_rng(seed).standard_normal()
    return {"dev_accuracy": float(accuracy), "epochs_run": float(epochs)}
