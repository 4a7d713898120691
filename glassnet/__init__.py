"""glassnet: a deep-learning toolkit whose code reads like the deeplearning.ai notes.

Quick start (rows are examples at this level)::

    import glassnet as gn
    data = gn.data.load_dataset("digits")
    model = gn.Sequential([gn.Dense(64, "relu"), gn.Dense(10, "softmax")])
    history = model.fit(data.X, data.y, epochs=20, optimizer=gn.Adam(1e-3), rng=0)
    model.predict(data.X[:5])
"""

from __future__ import annotations

import importlib

from glassnet.callbacks import Callback, CSVLogger, EarlyStopping, History
from glassnet.errors import GlassnetError
from glassnet.evaluation import evaluate
from glassnet.gradcheck import (
    GradientCheckResult,
    gradient_check,
    numerical_gradient,
    relative_difference,
)
from glassnet.guard import DivergenceError
from glassnet.layers import (
    Activation,
    BatchNorm,
    CategoryEncoding,
    Dense,
    Dropout,
    Flatten,
    Imputation,
    Layer,
    Rescaling,
    Standardization,
)
from glassnet.layers.table import table_layers
from glassnet.losses import (
    BinaryCrossEntropy,
    MeanSquaredError,
    MultiLabel,
    SoftmaxCrossEntropy,
)
from glassnet.model import Sequential
from glassnet.optimizers import (
    Adam,
    ExponentialAverage,
    GradientDescent,
    Momentum,
    RMSprop,
)
from glassnet.regularizers import L1, L2
from glassnet.schedules import (
    Exponential,
    InverseSqrtEpoch,
    InverseSqrtStep,
    InverseTime,
)
from glassnet.step import train_step
from glassnet.training import fit

__version__ = "0.1.0"

_SUBMODULES = (
    "activations",
    "backend",
    "cluster",
    "data",
    "distributed",
    "estimators",
    "initializers",
    "io",
    "losses",
    "metrics",
    "networks",
    "persistence",
    "plots",
    "regularizers",
    "schedules",
    "search",
    "strategy",
    "transfer",
    "validation",
)
_LAZY = {
    "load": "glassnet.persistence",
    "ModelFileError": "glassnet.io",
    "KMeans": "glassnet.cluster",
    "GlassClassifier": "glassnet.estimators",
    "GlassRegressor": "glassnet.estimators",
    "show_config": "glassnet.system_info",
}


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"glassnet.{name}")
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'glassnet' has no attribute {name!r}")


__all__ = [
    "Activation",
    "Adam",
    "BatchNorm",
    "BinaryCrossEntropy",
    "CategoryEncoding",
    "CSVLogger",
    "Callback",
    "Dense",
    "DivergenceError",
    "GlassnetError",
    "Dropout",
    "EarlyStopping",
    "Flatten",
    "Exponential",
    "ExponentialAverage",
    "GlassClassifier",
    "GlassRegressor",
    "GradientCheckResult",
    "GradientDescent",
    "History",
    "Imputation",
    "InverseSqrtEpoch",
    "InverseSqrtStep",
    "InverseTime",
    "KMeans",
    "L1",
    "L2",
    "Layer",
    "MeanSquaredError",
    "ModelFileError",
    "Momentum",
    "MultiLabel",
    "RMSprop",
    "Rescaling",
    "Sequential",
    "SoftmaxCrossEntropy",
    "Standardization",
    "evaluate",
    "fit",
    "train_step",
    "table_layers",
    "gradient_check",
    "load",
    "numerical_gradient",
    "relative_difference",
    "__version__",
]
