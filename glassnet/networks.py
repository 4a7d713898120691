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

In front of them come the preprocessing layers of :func:`preprocessing_layers`,
the one place that decides how raw inputs are scaled: image data are rescaled to
[0, 1] (not standardized per pixel), other data standardized with a floor on the
spread (``Standardization``), both fitted on the training rows only.
"""

from __future__ import annotations

import numpy as np

from glassnet import optimizers
from glassnet.layers import (
    Activation,
    BatchNorm,
    Dense,
    Dropout,
    Flatten,
    Rescaling,
    Standardization,
)
from glassnet.model import Sequential

__all__ = [
    "build_network",
    "hidden_layers",
    "is_image_data",
    "make_optimizer",
    "output_layer",
    "preprocessing_layers",
]

#: rows of X looked at to tell integer pixel values from measurements
_INTEGER_CHECK_ROWS = 2000
#: the fewest features of flat rows read as pixels (an 8x8 picture)
_MIN_PIXELS = 64

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


def is_image_data(X, image_shape=None) -> bool:
    """True for pixels: a uint8 array; image-shaped examples (``image_shape``
    known: ``(m, h, w[, c])`` arrays, image folders, named image sets) with no
    negative value; or rows of at least 64 features whose values are integers in
    [0, 255] (flat pixel files such as MNIST's CSV). Everything else is tabular."""
    X = np.asarray(X)
    if X.dtype == np.uint8:
        return True
    if X.size == 0 or X.dtype.kind not in "biuf":
        return False
    low = float(X.min())
    if image_shape is not None:
        return low >= 0
    rows = X.reshape(len(X), -1)
    if rows.shape[1] < _MIN_PIXELS or low < 0 or float(X.max()) > 255:
        return False
    sample = rows[:_INTEGER_CHECK_ROWS]
    return bool(np.all(sample == np.round(sample)))


def preprocessing_layers(
    X_train, image_shape=None, *, standardize=True, roles=None
) -> list:
    """The input layers for training rows ``X_train`` (``(m, n)`` or image-shaped),
    fitted on them only; what ``glassnet train`` and the estimators put first:

    * ``Flatten(image_shape)`` when the examples are pictures of known shape (the
      model then also takes ``(m, h, w, c)`` arrays);
    * image data (:func:`is_image_data`): ``Rescaling(1 / top)``, with ``top`` 255
      for uint8 and otherwise the largest training value, so the training pixels
      span [0, 1] (nothing when they already lie in [0, 1]); not standardized per
      pixel, whose near-constant border pixels would explode on new examples;
    * other (tabular) data: ``Standardization()`` adapted on ``X_train``, with the
      spread floor.

    * a raw table (``roles``: its columns' :class:`~glassnet.data.columns.ColumnRole`
      list, ``X_train`` its rows with text and empty cells): the table layers
      ``Imputation`` and ``CategoryEncoding`` (D40), then ``Standardization()``
      of the encoded columns.

    ``standardize=False`` keeps the values as given (only the Flatten, or the
    table layers).
    """
    if roles is not None:
        from glassnet.layers.table import table_layers

        layers, encoded = table_layers(X_train, roles)
        if standardize:
            layers.append(Standardization().adapt(encoded))
        return layers
    X = np.asarray(X_train)
    if image_shape is None and X.ndim > 2:
        image_shape = X.shape[1:] if X.ndim > 3 else (*X.shape[1:], 1)
    layers = [] if image_shape is None else [Flatten(image_shape)]
    if not standardize:
        return layers
    if is_image_data(X, image_shape):
        top = 255.0 if X.dtype == np.uint8 else float(X.max()) if X.size else 1.0
        if top > 1:
            layers.append(Rescaling(1.0 / top))
    else:
        layers.append(Standardization().adapt(X.reshape(len(X), -1)))
    return layers


def output_layer(task: str, n_outputs: int) -> Dense:
    """The output layer of a task (the table above); ``n_outputs`` is 1 for
    binary tasks."""
    if task not in _OUTPUT_ACTIVATIONS:
        raise ValueError(
            f"task must be one of {', '.join(_OUTPUT_ACTIVATIONS)}; received {task!r}"
        )
    return Dense(1 if task == "binary" else n_outputs, _OUTPUT_ACTIVATIONS[task])


def build_network(
    config, n_x: int, task: str, n_outputs: int, rng, preprocessing=()
) -> Sequential:
    """The built network of a run's settings (a :class:`~glassnet.run_config.RunConfig`:
    ``layers``, ``activation``, ``batchnorm``, ``keep_prob``, ``initializer``,
    ``dtype``) for ``n_x`` inputs and the task's output, after the
    ``preprocessing`` layers (:func:`preprocessing_layers`; unbuilt, not shared
    with another model)."""
    layers = hidden_layers(
        config.layers,
        config.activation,
        batchnorm=config.batchnorm,
        keep_prob=config.keep_prob,
        initializer=config.initializer,
    )
    model = Sequential(
        [*preprocessing, *layers, output_layer(task, n_outputs)],
        name=f"{config.data}-network",
        initializer=config.initializer,  # the output layer's too
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
