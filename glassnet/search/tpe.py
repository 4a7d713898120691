"""Optuna's TPE as a glassnet sampler, on the same scales as random search.

Optional: ``pip install "glassnet[optuna]"``; Optuna is imported only here.

Each dimension becomes the Optuna distribution that samples it on its own scale,
under a parameter name that says which scale:

- ``Uniform(a, b)``: ``FloatDistribution(a, b)`` as ``name``;
- ``IntUniform(a, b)``: ``IntDistribution(a, b)`` as ``name``;
- ``LogUniform(a, b)``: ``FloatDistribution(a, b, log=True)`` as ``name`` (uniform
  in ``log10 alpha``, the notes' ``alpha = 10^r``);
- ``OneMinusLogUniform(a, b)``: ``1 - beta`` as ``FloatDistribution(1 - b, 1 - a,
  log=True)``, parameter ``"1-name"``, so TPE models ``log10(1 - beta)`` as the
  notes sample it;
- ``PowersOfTwo(a, b)``: the exponent ``k`` as ``IntDistribution(log2 a, log2 b)``,
  parameter ``"log2-name"``, the value ``2^k``;
- ``Choice(values)``: ``CategoricalDistribution`` of the values (lists or tables as
  their JSON text).

A round is planned in batches of ``batch`` trials (:mod:`glassnet.search.samplers`):
each batch is asked from a study (``TPESampler(seed=...)``, seeded from the search's
seed and the round) told every earlier batch, so the plan does not depend on the
number of workers. A trial's rungs are reported as intermediate values (step =
budget); a pruned trial is told PRUNED, a failed one FAIL, the others their value
at the last rung. Trial 0 given as ``first_trial`` is told like the others when its
values lie in the distributions (a value such as ``learning_rate = None``, the
optimizer's own default, has no place in them, and that trial is then not told).
"""

from __future__ import annotations

import json
import math

import numpy as np

from glassnet.search.dimensions import (
    Choice,
    IntUniform,
    LogUniform,
    OneMinusLogUniform,
    PowersOfTwo,
    Uniform,
)
from glassnet.search.samplers import trial_seeds

__all__ = ["TPESampler", "optuna_distributions"]


def _optuna():
    """Optuna, or MissingDependencyError naming ``pip install "glassnet[optuna]"``."""
    from glassnet.errors import require

    optuna = require("optuna", "sampler 'tpe'", "optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def _scalar(value) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def _encode(value):
    return value if _scalar(value) else json.dumps(value, sort_keys=True)


def optuna_distributions(space) -> dict:
    """``{parameter: (name, distribution)}`` for the dimensions of ``space``
    (the module docstring's table)."""
    distributions = _optuna().distributions
    result = {}
    for name, dim in space.dimensions.items():
        if isinstance(dim, PowersOfTwo):
            low, high = (int(math.log2(v)) for v in (dim.low, dim.high))
            result[f"log2-{name}"] = (name, distributions.IntDistribution(low, high))
        elif isinstance(dim, IntUniform):
            result[name] = (name, distributions.IntDistribution(dim.low, dim.high))
        elif isinstance(dim, OneMinusLogUniform):
            low, high = 1.0 - dim.high, 1.0 - dim.low
            float_distribution = distributions.FloatDistribution(low, high, log=True)
            result[f"1-{name}"] = (name, float_distribution)
        elif isinstance(dim, LogUniform):
            float_distribution = distributions.FloatDistribution(
                dim.low, dim.high, log=True
            )
            result[name] = (name, float_distribution)
        elif isinstance(dim, Uniform):
            float_distribution = distributions.FloatDistribution(dim.low, dim.high)
            result[name] = (name, float_distribution)
        elif isinstance(dim, Choice):
            choices = [_encode(value) for value in dim.values]
            result[name] = (name, distributions.CategoricalDistribution(choices))
        else:
            raise TypeError(
                f"sampler 'tpe' cannot translate {name}={dim!r}; it knows Uniform, "
                "IntUniform, LogUniform, OneMinusLogUniform, PowersOfTwo and Choice"
            )
    return result


def _value(parameter: str, dim, raw):
    """The config value of an Optuna parameter's ``raw`` value."""
    if parameter.startswith("log2-"):
        return int(2 ** int(raw))
    if parameter.startswith("1-"):
        return float(min(dim.high, max(dim.low, 1.0 - float(raw))))
    if isinstance(dim, Choice):
        return next(v for v in dim.values if _encode(v) == raw)
    if isinstance(dim, IntUniform):
        return int(raw)
    return float(raw)


def _raw(parameter: str, dim, value):
    """The Optuna parameter's value for the config ``value`` (inverse of _value)."""
    if parameter.startswith("log2-"):
        return int(round(math.log2(value)))
    if parameter.startswith("1-"):
        return 1.0 - float(value)
    if isinstance(dim, Choice):
        return _encode(value)
    return value


class TPESampler:
    """Batches of ``batch`` trials asked from a seeded Optuna TPE study."""

    def __init__(
        self,
        space,
        seed,
        round_index,
        trials,
        first_trial=None,
        *,
        metric="dev_accuracy",
        mode="max",
        batch=4,
    ):
        optuna = _optuna()
        self.optuna, self.space, self.trials, self.batch = optuna, space, trials, batch
        self.metric, self.first_trial = metric, first_trial
        self.seeds = trial_seeds(seed, round_index, trials)
        if first_trial is not None:
            self.seeds[0] = int(first_trial["seed"])
        sequence = np.random.SeedSequence(seed, spawn_key=(round_index, 1))
        sampler = optuna.samplers.TPESampler(
            seed=int(sequence.generate_state(1)[0]),
            n_startup_trials=max(batch, trials // 4),
        )
        direction = "maximize" if mode == "max" else "minimize"
        self.study = optuna.create_study(direction=direction, sampler=sampler)
        self.parameters = optuna_distributions(space)
        self.asked: dict = {}  # trial index -> Optuna trial (None: first_trial)

    def _config(self, trial) -> dict:
        config = dict(self.space.fixed)
        for parameter, (name, _) in self.parameters.items():
            config[name] = _value(parameter, self.space[name], trial.params[parameter])
        return {name: config[name] for name in self.space}  # the space's order

    def batches(self):
        distributions = {p: d for p, (_, d) in self.parameters.items()}
        for start in range(0, self.trials, self.batch):
            configs = []
            for index in range(start, min(start + self.batch, self.trials)):
                if index == 0 and self.first_trial is not None:
                    configs.append(dict(self.first_trial["config"]))
                    self.asked[index] = None
                    continue
                trial = self.study.ask(distributions)
                self.asked[index] = trial
                configs.append(self._config(trial))
            yield start, configs, self.seeds[start : start + len(configs)]

    def tell(self, records) -> None:
        """Tell the study each trial's rungs and how it ended."""
        by_index: dict = {}
        for record in sorted(records, key=lambda r: r["rung"]):
            by_index.setdefault(record["index"], []).append(record)
        for index in sorted(by_index):
            if index not in self.asked:
                continue
            trial = self.asked.pop(index)
            rungs = by_index[index]
            if trial is None:
                self._tell_first(rungs)
                continue
            self._finish(trial, rungs)

    def _finish(self, trial, rungs) -> None:
        TrialState = self.optuna.trial.TrialState
        last = rungs[-1]
        if last["status"] != "ok":
            self.study.tell(trial, state=TrialState.FAIL)
            return
        for record in rungs:
            if record["status"] == "ok" and len(rungs) > 1:
                trial.report(record["metrics"][self.metric], step=record["budget"])
        if last.get("pruned"):
            self.study.tell(trial, state=TrialState.PRUNED)
        else:
            self.study.tell(trial, last["metrics"][self.metric])

    def _tell_first(self, rungs) -> None:
        """Trial 0 (first_trial) added as a finished trial, when representable."""
        last = rungs[-1]
        if last["status"] != "ok":
            return
        params, distributions = {}, {}
        for parameter, (name, distribution) in self.parameters.items():
            value = last["config"].get(name)
            try:
                raw = _raw(parameter, self.space[name], value)
                inside = distribution._contains(distribution.to_internal_repr(raw))
            except (TypeError, ValueError):
                inside = False
            if value is None or not inside:
                return
            params[parameter], distributions[parameter] = raw, distribution
        self.study.add_trial(
            self.optuna.trial.create_trial(
                params=params,
                distributions=distributions,
                value=last["metrics"][self.metric],
            )
        )
