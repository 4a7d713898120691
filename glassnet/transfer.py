"""Transfer learning on a :class:`~glassnet.Sequential`: cut, freeze, re-head, tune.

The notes' recipe: take a network trained on a task with lots of data, drop its
output layer, put a new output layer (or a few) for the new task, train only the new
layers when the new data set is small, or retrain everything (with a smaller
learning rate for the pretrained layers) when there is more::

    body_and_head = replace_head(pretrained, [Dense(5, "softmax")], freeze=True)
    body_and_head.fit(X_small, y_small, optimizer="adam", epochs=30)
    unfreeze(body_and_head)
    set_learning_rate_multipliers(body_and_head, {i: 0.1 for i in range(4)})
    body_and_head.fit(X_small, y_small, optimizer="adam", epochs=10)

Every function that returns a model returns a NEW model built from copies of the
layers (``type(layer).from_config(layer.get_config())``, built, weights copied): the
original keeps its weights and its layer objects, and training one model never moves
the other. ``freeze``, ``unfreeze`` and ``set_learning_rate_multipliers`` change the
model they are given (and return it, for chaining).

Layer indices are positions in ``model.layers``. "Layers" in :func:`drop_layers` and
``drop=`` count Dense layers: a Dense together with the BatchNorm / Activation /
Dropout layers after it is one unit, as in the notes' ``L``.
"""

from __future__ import annotations

import numbers

from glassnet.backend import resolve_rng
from glassnet.layers import Dense, Dropout, Layer
from glassnet.model import Sequential
from glassnet.validation import check_in_range

__all__ = [
    "copy_layer",
    "drop_layers",
    "freeze",
    "learning_rate_multipliers",
    "replace_head",
    "set_learning_rate_multipliers",
    "trainable_fraction",
    "unfreeze",
]


def copy_layer(layer: Layer, rng=None) -> Layer:
    """A new layer with the same configuration, weights, state, ``trainable`` and
    ``learning_rate_multiplier`` as ``layer`` (built when ``layer`` is); shares no
    array with it. A Dropout copy draws its masks from ``rng``."""
    new = type(layer).from_config(layer.get_config())
    new.learning_rate_multiplier = layer.learning_rate_multiplier
    if not layer.built:
        return new
    rng = resolve_rng(rng)
    if isinstance(new, Dropout):
        new.rng = rng
    new.build(layer.n_in, rng, layer.dtype)
    for source, target in ((layer.params, new.params), (layer.state, new.state)):
        if set(source) != set(target):
            raise ValueError(
                f"cannot copy {type(layer).__name__}: its arrays {sorted(source)} do "
                f"not match a rebuilt copy's {sorted(target)}"
            )
        for key, value in source.items():
            target[key][...] = value
    return new


def _blocks(model: Sequential) -> list[list[int]]:
    """Layer indices grouped into units: each Dense with the layers after it
    (layers before the first Dense form a leading unit of their own)."""
    blocks: list[list[int]] = []
    for index, layer in enumerate(model.layers):
        if isinstance(layer, Dense) or not blocks:
            blocks.append([])
        blocks[-1].append(index)
    return blocks


def _built_copy(model: Sequential, layers: list[Layer], name: str) -> Sequential:
    new = Sequential(layers, name=name)
    return new.build(model.n_x, rng=0, dtype=model.dtype)


def drop_layers(model: Sequential, count: int = 1, *, rng=None) -> Sequential:
    """A copy of ``model`` without its last ``count`` Dense layers.

    A Dense layer counts together with the BatchNorm / Activation / Dropout layers
    that follow it, so ``drop_layers(model, 1)`` on ``Dense(64) BatchNorm
    Activation(relu) Dropout Dense(10, softmax)`` leaves ``Dense(64) BatchNorm
    Activation(relu) Dropout``; ``count=2`` would leave nothing and raises.
    ``count=0`` gives a plain copy. The copy's layers are new objects holding copies
    of the weights and running statistics; ``rng`` seeds copied Dropout masks.
    """
    model._require_built()
    count = int(check_in_range("count", count, 0, None, integer=True))
    blocks = _blocks(model)
    dense_blocks = sum(isinstance(model.layers[b[0]], Dense) for b in blocks)
    kept = blocks[: len(blocks) - count] if count else blocks
    if count > dense_blocks or not kept:
        raise ValueError(
            f"cannot drop {count} Dense layer(s) from a model with {dense_blocks}: "
            "at least one layer must remain"
        )
    rng = resolve_rng(rng)
    layers = [copy_layer(model.layers[i], rng) for block in kept for i in block]
    return _built_copy(model, layers, f"{model.name}-body")


def replace_head(
    model: Sequential,
    new_layers,
    *,
    drop: int = 1,
    freeze: bool = True,
    rng=None,
) -> Sequential:
    """``drop`` Dense layers cut from the end of ``model``, ``new_layers`` put on.

    The result is a new model: copies of the kept body layers (all frozen when
    ``freeze``), then ``new_layers``, built for the body's output size ``n`` and
    initialized from ``rng``. A new layer that is not built yet becomes part of
    the new model (weights drawn from ``rng``; a linear Dense before a BatchNorm
    drops its bias, as in ``Sequential.build``); one that is already built keeps its
    weights (copied) and must have been built for exactly the size it receives,
    otherwise ``ValueError``.
    """
    new_layers = list(new_layers) if not isinstance(new_layers, Layer) else [new_layers]
    if not new_layers:
        raise ValueError("new_layers is empty; give at least one layer for the head")
    for index, layer in enumerate(new_layers):
        if not isinstance(layer, Layer):
            raise TypeError(
                f"new_layers[{index}] must be a glassnet layer; received "
                f"{type(layer).__name__}"
            )
    rng = resolve_rng(rng)
    body = drop_layers(model, drop, rng=rng)
    n = body.n_out
    head = []
    for index, layer in enumerate(new_layers):
        if layer.built:
            if layer.n_in != n:
                source = "the body" if index == 0 else f"new_layers[{index - 1}]"
                raise ValueError(
                    f"new_layers[{index}] ({type(layer).__name__}) was built for "
                    f"{layer.n_in} inputs but receives {n} (the output size of "
                    f"{source}); pass an unbuilt layer or one built for that size"
                )
            if layer.dtype != model.dtype:
                raise ValueError(
                    f"new_layers[{index}] holds {layer.dtype} weights; the model is "
                    f"{model.dtype}"
                )
            layer = copy_layer(layer, rng)
            n = layer.n_out
        else:  # Sequential.build below builds it; Dense sets the size, others keep it
            n = getattr(layer, "units", n)
        head.append(layer)
    body_layers = body.layers
    if freeze:
        for layer in body_layers:
            layer.trainable = False
    new = Sequential([*body_layers, *head], name=f"{model.name}-transfer")
    return new.build(model.n_x, rng=rng, dtype=model.dtype)


def _indices(model: Sequential, layers) -> list[int]:
    count = len(model.layers)
    if layers is None:
        return list(range(count))
    if isinstance(layers, slice):
        return list(range(count))[layers]
    if isinstance(layers, numbers.Integral):
        layers = [layers]
    indices = []
    for index in layers:
        if not isinstance(index, numbers.Integral) or isinstance(index, bool):
            raise TypeError(f"layer indices must be integers; received {index!r}")
        if not -count <= index < count:
            raise ValueError(
                f"layer index {index} is out of range for a model with {count} layers"
            )
        indices.append(int(index) % count)
    return indices


def freeze(model: Sequential, layers=None) -> Sequential:
    """Mark layers as not trainable (``layers``: an index, indices, a slice, or
    None for all); ``fit`` then leaves their parameters bitwise unchanged.

    Freezing is not inference mode. A frozen BatchNorm keeps its gamma, beta and
    running statistics fixed, but which statistics it normalizes with follows its
    ``use_batch_statistics``: ``None`` (default) uses the mini-batch's mean and
    variance while training and the running ones at inference, as before freezing;
    set ``layer.use_batch_statistics = False`` to normalize with the pretrained
    running statistics in training too. A frozen Dropout still drops units.
    """
    for index in _indices(model, layers):
        model.layers[index].trainable = False
    return model


def unfreeze(model: Sequential, layers=None) -> Sequential:
    """Mark layers as trainable again (same ``layers`` forms as :func:`freeze`)."""
    for index in _indices(model, layers):
        model.layers[index].trainable = True
    return model


def set_learning_rate_multipliers(model: Sequential, multipliers: dict) -> Sequential:
    """Scale the optimizer's learning rate per layer: ``{index: factor}``.

    During ``fit`` a parameter of layer ``index`` is updated with
    ``factor * learning_rate`` (e.g. 0.1 for pretrained layers while fine-tuning,
    1 for a new head). Layers not named keep their current factor (1 by default).
    A factor of 0 stops the updates, like freezing, but still computes gradients.
    """
    if not isinstance(multipliers, dict):
        raise TypeError(
            "multipliers must be a dict {layer index: factor}; received "
            f"{type(multipliers).__name__}"
        )
    checked = {}
    for index, factor in multipliers.items():
        (position,) = _indices(model, [index])
        checked[position] = float(
            check_in_range("learning rate multiplier", factor, 0, None)
        )
    for position, factor in checked.items():
        model.layers[position].learning_rate_multiplier = factor
    return model


def learning_rate_multipliers(model: Sequential) -> dict[int, float]:
    """``{index: factor}`` for every layer with parameters."""
    return {
        index: float(layer.learning_rate_multiplier)
        for index, layer in enumerate(model.layers)
        if layer.param_names
    }


def trainable_fraction(model: Sequential) -> float:
    """The fraction of the model's parameters that ``fit`` will update."""
    model._require_built()
    total = model.flat_params.size
    trainable = sum(model.params[k].size for k in model.trainable_keys())
    return float(trainable / total) if total else 0.0
