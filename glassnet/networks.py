"""Building networks from settings: the one place that turns "64,32 relu units,
batch norm, dropout, a task" into layers, shared by ``glassnet train`` and the
search (:mod:`glassnet.runs`), the estimators, and the CLI's ``gradcheck`` and
``transfer``.

A hidden layer is ``Dense(units, g)``, or with batch norm the notes' order
``Dense(units, linear) -> BatchNorm -> Activation(g)`` (``Z -> Z_tilde -> A``; the
Dense layer then has no bias, since beta replaces it), followed by
``Dropout(keep_prob)`` when ``keep_prob < 1``. The output layer follows the task:

=================  ========================  ===========================
task               output layer              loss
=================  ========================  ===========================
binary             Dense(1, "sigmoid")       binary cross-entropy
multiclass         Dense(C, "softmax")       softmax cross-entropy
multilabel         Dense(k, "sigmoid")       multi-label cross-entropy
regression         Dense(k, "linear")        mean squared error
=================  ========================  ===========================
"""

from __future__ import annotations

from glassnet import optimizers
from glassnet.layers import Activation, BatchNorm, Dense, Dropout
from glassnet.model import Sequential

__all__ = ["build_network", "hidden_layers", "make_optimizer", "output_layer"]

_OUTPUT_ACTIVATIONS = {
    "binary": "sigmoid",
    "multiclass": "softmax",
    "multilabel": "sigmoid",
    "regression": "linear",
}


def hidden_layers(
    units, activation, *, batchnorm=False, keep_prob=1.0, initializer=None
) -> list:
    """The hidden layers for ``units`` (one int per layer); ``keep_prob`` is one
    value for all, or one per layer."""
    units = list(units)
    per_layer = isinstance(keep_prob, tuple | list)
    keep = keep_prob if per_layer else (keep_prob,) * len(units)
    layers = []
    for n, keep_prob_l in zip(units, keep, strict=False):
        if batchnorm:
            layers += [
                Dense(n, "linear", initializer=initializer or "he"),
                BatchNorm(),
                Activation(activation),
            ]
        else:
            layers.append(Dense(n, activation, initializer=initializer))
        if keep_prob_l < 1:
            layers.append(Dropout(keep_prob_l))
    return layers


def output_layer(task: str, n_outputs: int) -> Dense:
    """The output layer of a task (the table above); ``n_outputs`` is 1 for
    binary tasks."""
    if task not in _OUTPUT_ACTIVATIONS:
        raise ValueError(
            f"task must be one of {', '.join(_OUTPUT_ACTIVATIONS)}; received {task!r}"
        )
    return Dense(1 if task == "binary" else n_outputs, _OUTPUT_ACTIVATIONS[task])


def build_network(config, n_x: int, task: str, n_outputs: int, rng) -> Sequential:
    """The built network of a run's settings (a :class:`~glassnet.run_config.RunConfig`:
    ``layers``, ``activation``, ``batchnorm``, ``keep_prob``, ``initializer``,
    ``dtype``) for ``n_x`` inputs and the task's output."""
    layers = hidden_layers(
        config.layers,
        config.activation,
        batchnorm=config.batchnorm,
        keep_prob=config.keep_prob,
        initializer=config.initializer,
    )
    model = Sequential(
        [*layers, output_layer(task, n_outputs)], name=f"{config.data}-network"
    )
    return model.build(n_x, rng=rng, dtype=config.dtype)


def make_optimizer(config):
    """The optimizer of a run's settings (``optimizer``, ``learning_rate``,
    ``beta1``, ``beta2``, ``epsilon``; each optimizer takes the ones it has)."""
    options = {}
    if config.learning_rate is not None:
        options["learning_rate"] = config.learning_rate
    if config.optimizer == "momentum":
        options["beta"] = config.beta1
    elif config.optimizer == "rmsprop":
        options.update(beta2=config.beta2, epsilon=config.epsilon)
    elif config.optimizer == "adam":
        options.update(beta1=config.beta1, beta2=config.beta2, epsilon=config.epsilon)
    return optimizers.get(config.optimizer, **options)
