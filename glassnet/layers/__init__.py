"""Layers: Dense, Activation, Dropout, BatchNorm, the preprocessing layers
Flatten, Rescaling, Standardization and the table layers Imputation,
CategoryEncoding (a closed registry for model files)."""

import reprlib

from glassnet.layers.activation import Activation
from glassnet.layers.base import Layer, check_config
from glassnet.layers.batchnorm import BatchNorm
from glassnet.layers.dense import Dense
from glassnet.layers.dropout import Dropout
from glassnet.layers.preprocessing import Flatten, Rescaling, Standardization
from glassnet.layers.table import CategoryEncoding, Imputation

#: the only layer types a model file may name; loading never imports anything else
LAYER_TYPES = {
    cls.__name__: cls
    for cls in (
        Dense,
        Activation,
        Dropout,
        BatchNorm,
        Flatten,
        Rescaling,
        Standardization,
        Imputation,
        CategoryEncoding,
    )
}


def layer_from_config(record: dict) -> Layer:
    """Rebuild a layer from ``{"type": "Dense", "config": {...}}`` (closed registry).

    The record may come from a file: the type must be one of :data:`LAYER_TYPES`
    and every setting of the config one the layer has, of the type it writes
    (:func:`~glassnet.layers.base.check_config`: ``"5"``, ``5.0`` or ``true`` are
    not units, ``"false"`` is not a boolean); the constructor checks the ranges.
    Anything wrong raises ValueError saying what.
    """
    if type(record) is not dict:
        raise ValueError(
            f"a layer record must be an object; received {reprlib.repr(record)}"
        )
    unknown = sorted(set(record) - {"type", "config"}, key=str)
    if unknown:
        raise ValueError(
            f"a layer record holds 'type' and 'config' only; received "
            f"{reprlib.repr(unknown[0])}"
        )
    kind = record.get("type")
    if type(kind) is not str or kind not in LAYER_TYPES:
        raise ValueError(
            f"unknown layer type {reprlib.repr(kind)}; allowed: "
            f"{', '.join(LAYER_TYPES)}"
        )
    config = record.get("config", {})
    if type(config) is not dict:
        raise ValueError(
            f"layer config must be an object; received {reprlib.repr(config)}"
        )
    cls = LAYER_TYPES[kind]
    check_config(cls, config)
    try:
        return cls.from_config(dict(config))
    except TypeError as error:  # a missing setting, or a type the checks let by
        raise ValueError(f"{kind}: {error}") from None


__all__ = [
    "Activation",
    "BatchNorm",
    "CategoryEncoding",
    "Dense",
    "Dropout",
    "Flatten",
    "Imputation",
    "Layer",
    "LAYER_TYPES",
    "layer_from_config",
    "Rescaling",
    "Standardization",
]
