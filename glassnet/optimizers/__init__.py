"""Optimization algorithms from the notes, each one ``update(params, grads)`` in place.

``params`` and ``grads`` are dicts of arrays with the same keys (``W1``, ``b1``, ...).
State (``v``, ``s``) is kept per parameter, keyed like ``params``; ``t`` counts
mini-batch steps (updates), starting at 1 on the first update.

================  ===============================================================
GradientDescent   W = W - alpha dW
Momentum          v = beta v + (1 - beta) dW;       W = W - alpha v
RMSprop           s = beta2 s + (1 - beta2) dW^2;   W = W - alpha dW / (sqrt(s) + eps)
Adam              v = beta1 v + (1 - beta1) dW,     v_hat = v / (1 - beta1^t)
                  s = beta2 s + (1 - beta2) dW^2,   s_hat = s / (1 - beta2^t)
                  W = W - alpha v_hat / (sqrt(s_hat) + eps)
================  ===============================================================

epsilon sits *outside* the square root, as in the course's programming assignment
(the lecture notes write ``sqrt(s + eps)``; the difference only matters when s ~ eps).

Denormals: in float32, the moments of a parameter whose gradient is always zero (a
dead ReLU) decay geometrically into the subnormal range, where CPU arithmetic is
10-100x slower and NumPy has no flush-to-zero switch. The optimizers therefore flush
moment values below ``tiny = 1e-30`` (float32) to exactly zero every ``flush_every``
(64) updates; a moment needs hundreds of steps of decay to fall from 1e-30 into the
subnormal range (below 1.2e-38), and one that small contributes nothing
representable to the update. Set
``flush_denormals=False`` to turn this off; float64 is never flushed.
"""

from __future__ import annotations

from glassnet.optimizers.algorithms import Adam, GradientDescent, Momentum, RMSprop
from glassnet.optimizers.average import ExponentialAverage
from glassnet.optimizers.base import Optimizer

__all__ = [
    "Adam",
    "ExponentialAverage",
    "GradientDescent",
    "Momentum",
    "NAMES",
    "Optimizer",
    "RMSprop",
    "get",
]

_REGISTRY = {cls.name: cls for cls in (GradientDescent, Momentum, RMSprop, Adam)}
NAMES = tuple(_REGISTRY)
_ALIASES = {"sgd": "gd", "gradient_descent": "gd"}


def get(value, **options) -> Optimizer:
    """An Optimizer from a name (``"gd"``, ``"momentum"``, ``"rmsprop"``, ``"adam"``),
    a config dict, or an Optimizer (returned as is)."""
    if isinstance(value, Optimizer):
        return value
    if isinstance(value, dict):
        options = {**{k: v for k, v in value.items() if k != "name"}, **options}
        value = value.get("name")
    key = _ALIASES.get(value, value)
    if key not in _REGISTRY:
        raise ValueError(f"unknown optimizer {value!r}; allowed: {', '.join(NAMES)}")
    try:
        return _REGISTRY[key](**options)
    except TypeError as error:
        raise ValueError(f"optimizer {key!r}: {error}") from None
