"""Layers: Dense, Activation, Dropout, BatchNorm and the preprocessing layers
Flatten, Rescaling, Standardization (a closed registry for model files)."""

from glassnet.layers.activation import Activation
from glassnet.layers.base import Layer
from glassnet.layers.batchnorm import BatchNorm
from glassnet.layers.dense import Dense
from glassnet.layers.dropout import Dropout
from glassnet.layers.preprocessing import Flatten, Rescaling, Standardization

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
    )
}


def layer_from_config(record: dict) -> Layer:
    """Rebuild a layer from ``{"type": "Dense", "config": {...}}`` (closed registry)."""
    if not isinstance(record, dict):
        raise ValueError(f"a layer record must be an object; received {record!r}")
    kind = record.get("type")
    if kind not in LAYER_TYPES:
        raise ValueError(
            f"unknown layer type {kind!r}; allowed: {', '.join(LAYER_TYPES)}"
        )
    config = record.get("config", {})
    if not isinstance(config, dict):
        raise ValueError(f"layer config must be an object; received {config!r}")
    return LAYER_TYPES[kind].from_config(dict(config))


__all__ = [
    "Activation",
    "BatchNorm",
    "Dense",
    "Dropout",
    "Flatten",
    "Layer",
    "LAYER_TYPES",
    "layer_from_config",
    "Rescaling",
    "Standardization",
]
