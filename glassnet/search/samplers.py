"""Where a round's configurations come from: random sampling, or Optuna's TPE.

A sampler plans one round of ``trials`` trials in batches: ``batches()`` yields
``(start, configs, seeds)`` (the trial indices ``start, start + 1, ...``) and
``tell(records)`` gives it the journal records of the batch just run, before the
next batch is planned. Every batch boundary is fixed in advance (never "when a
worker is free"), so the plan depends on the results of earlier batches only, not
on the number of workers or the order in which trials finish.

- ``"random"``: the whole round is one batch, drawn before anything runs: round
  ``r`` uses ``SeedSequence(seed, spawn_key=(r,))``; its children
  ``.spawn(trials)[i].generate_state(1)[0]`` are the trial seeds and
  ``default_rng(<round sequence>)`` samples the configurations.
- ``"tpe"``: Optuna's Tree-structured Parzen Estimator
  (:mod:`glassnet.search.tpe`), batches of ``TPE_BATCH`` trials, each batch asked
  from a study told every earlier batch's results. Trial seeds as for random.

``first_trial = {"config": ..., "seed": ...}`` replaces trial 0 of round 0 (the
search's baseline: ``glassnet search`` puts ``glassnet train``'s defaults there).
"""

from __future__ import annotations

import numpy as np

__all__ = ["SAMPLERS", "TPE_BATCH", "make_sampler", "plan_round", "trial_seeds"]

SAMPLERS = ("random", "tpe")
TPE_BATCH = 4


def trial_seeds(seed: int, round_index: int, trials: int) -> list[int]:
    """The integer seeds of a round's trials (the module docstring)."""
    sequence = np.random.SeedSequence(seed, spawn_key=(round_index,))
    return [int(child.generate_state(1)[0]) for child in sequence.spawn(trials)]


def plan_round(space, seed: int, round_index: int, trials: int):
    """Configurations and integer seeds of one random round, from its SeedSequence."""
    sequence = np.random.SeedSequence(seed, spawn_key=(round_index,))
    seeds = [int(child.generate_state(1)[0]) for child in sequence.spawn(trials)]
    configs = space.sample(np.random.default_rng(sequence), trials)
    return configs, seeds


class RandomSampler:
    """The whole round in one batch, drawn before anything runs."""

    def __init__(self, space, seed, round_index, trials, first_trial=None):
        self.configs, self.seeds = plan_round(space, seed, round_index, trials)
        if first_trial is not None:
            self.configs[0] = dict(first_trial["config"])
            self.seeds[0] = int(first_trial["seed"])

    def batches(self):
        yield 0, self.configs, self.seeds

    def tell(self, records) -> None:
        """Random sampling learns nothing from results."""


def make_sampler(
    name,
    space,
    seed,
    round_index,
    trials,
    first_trial=None,
    *,
    metric="dev_accuracy",
    mode="max",
):
    """The sampler called ``name`` for one round."""
    if name == "tpe":
        from glassnet.search.tpe import TPESampler

        return TPESampler(
            space,
            seed,
            round_index,
            trials,
            first_trial,
            metric=metric,
            mode=mode,
            batch=TPE_BATCH,
        )
    return RandomSampler(space, seed, round_index, trials, first_trial)
