"""Hyperparameter search: spaces on the right scale, random search, coarse to fine.

The notes' recipe: sample at random rather than on a grid, on the scale where the
hyperparameter acts (``alpha = 10^r`` with ``r ~ U[-4, 0]``; ``1 - beta = 10^r``
with ``r ~ U[-3, -1]``), then zoom in on the region of the best trials; with enough
machines, train many models in parallel ("caviar") instead of babysitting one.

Example::

    from glassnet.search import LogUniform, OneMinusLogUniform, random_search

    space = {
        "learning_rate": LogUniform(1e-4, 1),
        "beta1": OneMinusLogUniform(0.9, 0.999),
    }
    result = random_search(objective, space, trials=20, n_jobs=2, out="runs/search")
    print(result.table(limit=5))
    result.save_best("best.json")

Modules: :mod:`~glassnet.search.dimensions` (the dimensions, on their scales),
:mod:`~glassnet.search.spaces` (:class:`SearchSpace`, grids, TOML),
:mod:`~glassnet.search.runner` (:func:`random_search`),
:mod:`~glassnet.search.results` (:class:`SearchResult`, :func:`rank_trials`),
:mod:`~glassnet.search.journal` (resumable ``trials.jsonl``),
:mod:`~glassnet.search.executors` (serial, loky, dask),
:mod:`~glassnet.search.plots` (matplotlib figures),
:mod:`~glassnet.search.data_space` (the default space scaled to the data; trial 0
is ``glassnet train``'s defaults), :mod:`~glassnet.search.pruning` (hopeless
trials stopped at rungs), :mod:`~glassnet.search.samplers` and
:mod:`~glassnet.search.tpe` (random or Optuna's TPE) and
:mod:`~glassnet.search.refit` (the best trial trained again as a run folder).
"""

from glassnet.search.dimensions import (
    Choice,
    Dimension,
    IntUniform,
    LogUniform,
    OneMinusLogUniform,
    PowersOfTwo,
    Uniform,
    dimension_from_config,
)
from glassnet.search.journal import read_journal
from glassnet.search.plots import plot_best_so_far, plot_trials
from glassnet.search.results import NoTrialSucceededError, SearchResult, rank_trials
from glassnet.search.runner import random_search
from glassnet.search.spaces import Grid, SearchSpace, grid_points, load_space

__all__ = [
    "Choice",
    "Dimension",
    "Grid",
    "IntUniform",
    "LogUniform",
    "NoTrialSucceededError",
    "OneMinusLogUniform",
    "PowersOfTwo",
    "SearchResult",
    "SearchSpace",
    "Uniform",
    "dimension_from_config",
    "grid_points",
    "load_space",
    "plot_best_so_far",
    "plot_trials",
    "random_search",
    "rank_trials",
    "read_journal",
]
