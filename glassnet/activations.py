"""Activation functions g(Z) and their derivatives, column layout ``(n[l], m)``.

Each activation is a pair of pure functions, ``forward(Z) -> A`` and
``backward(dA, Z, A) -> dZ = dA * g'(Z)``, wrapped in an :class:`Activation` object
that layers hold. ``get(name)`` looks one up by name:

=============  ======================================  =========================
name           A = g(Z)                                g'(Z)
=============  ======================================  =========================
sigmoid        1 / (1 + exp(-Z))                       A (1 - A)
tanh           (e^Z - e^-Z) / (e^Z + e^-Z)             1 - A^2
relu           max(0, Z)                               1 where Z > 0, else 0
leaky_relu     max(slope Z, Z)                         1 where Z > 0, else slope
linear         Z                                       1
softmax        exp(Z_i) / sum_j exp(Z_j) per column    A_i (delta_ij - A_j)
=============  ======================================  =========================

For the output layer, sigmoid with binary cross-entropy and softmax with softmax
cross-entropy skip ``backward`` entirely: the loss gives ``dZ = A - Y`` directly
(see :mod:`glassnet.losses`), which is stable and never divides by ``A (1 - A)``.
"""

from __future__ import annotations

import numpy as np

from glassnet.validation import check_in_range


def sigmoid(Z):
    """A = 1 / (1 + exp(-Z)), elementwise, shape of Z."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-Z))


def sigmoid_backward(dA, Z, A):
    """dZ = dA * A * (1 - A)."""
    return dA * A * (1.0 - A)


def tanh(Z):
    """A = tanh(Z), elementwise."""
    return np.tanh(Z)


def tanh_backward(dA, Z, A):
    """dZ = dA * (1 - A^2)."""
    return dA * (1.0 - A * A)


def relu(Z):
    """A = max(0, Z), elementwise."""
    return np.maximum(Z, 0)


def relu_backward(dA, Z, A):
    """dZ = dA where Z > 0, else 0."""
    return dA * (Z > 0)


def leaky_relu(Z, slope=0.01):
    """A = max(slope * Z, Z) for 0 <= slope < 1."""
    return np.where(Z > 0, Z, slope * Z)


def leaky_relu_backward(dA, Z, A, slope=0.01):
    """dZ = dA where Z > 0, else slope * dA."""
    return np.where(Z > 0, dA, slope * dA)


def linear(Z):
    """A = Z (the identity; regression outputs)."""
    return Z


def linear_backward(dA, Z, A):
    """dZ = dA."""
    return dA


def softmax(Z):
    """A[:, i] = exp(Z[:, i] - max) / sum(exp(Z[:, i] - max)); each column sums to 1."""
    shifted = Z - Z.max(axis=0, keepdims=True)
    E = np.exp(shifted)
    return E / E.sum(axis=0, keepdims=True)


def softmax_backward(dA, Z, A):
    """dZ = A * (dA - sum_j(dA_j A_j)), the Jacobian-vector product per column."""
    return A * (dA - (dA * A).sum(axis=0, keepdims=True))


class Activation:
    """A named activation: ``forward(Z) -> A`` and ``backward(dA, Z, A) -> dZ``."""

    def __init__(self, name, forward, backward, **options):
        self.name = name
        self._forward = forward
        self._backward = backward
        self.options = options

    def forward(self, Z):
        """A = g(Z)."""
        return self._forward(Z, **self.options)

    def backward(self, dA, Z, A):
        """dZ = dA * g'(Z)."""
        return self._backward(dA, Z, A, **self.options)

    def get_config(self) -> dict:
        """JSON description: ``{"name": ..., **options}``."""
        return {"name": self.name, **self.options}

    def __repr__(self):
        extra = "".join(f", {k}={v!r}" for k, v in self.options.items())
        return f"Activation({self.name!r}{extra})"


_REGISTRY = {
    "sigmoid": (sigmoid, sigmoid_backward),
    "tanh": (tanh, tanh_backward),
    "relu": (relu, relu_backward),
    "leaky_relu": (leaky_relu, leaky_relu_backward),
    "linear": (linear, linear_backward),
    "softmax": (softmax, softmax_backward),
}

NAMES = tuple(_REGISTRY)


def get(name, **options) -> Activation:
    """Return the activation called ``name`` (or pass an :class:`Activation` through).

    ``name`` may be a string, ``None`` (linear), an Activation, or a config dict
    ``{"name": "leaky_relu", "slope": 0.1}``. ``leaky_relu`` takes ``slope`` in [0, 1).
    """
    if isinstance(name, Activation):
        return name
    if name is None:
        name = "linear"
    if isinstance(name, dict):
        options = {**{k: v for k, v in name.items() if k != "name"}, **options}
        name = name.get("name")
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(
            f"unknown activation {name!r}; allowed: {', '.join(NAMES)}"
        )
    allowed_options = {"leaky_relu": {"slope"}}.get(name, set())
    unknown = set(options) - allowed_options
    if unknown:
        raise ValueError(
            f"activation {name!r} takes no option(s) {sorted(unknown)}; "
            f"allowed: {sorted(allowed_options) or 'none'}"
        )
    if name == "leaky_relu":
        slope = options.setdefault("slope", 0.01)
        check_in_range("slope", slope, 0, 1, high_inclusive=False)
    forward, backward = _REGISTRY[name]
    return Activation(name, forward, backward, **options)
