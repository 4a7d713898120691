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

from glassnet import _kernels
from glassnet.backend import get_namespace
from glassnet.validation import check_in_range


def sigmoid(Z):
    """A = 1 / (1 + exp(-Z)), elementwise, shape of Z."""
    xp = get_namespace(Z)
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + xp.exp(-Z))


def sigmoid_backward(dA, Z, A):
    """dZ = dA * A * (1 - A)."""
    return dA * A * (1.0 - A)


def tanh(Z):
    """A = tanh(Z), elementwise."""
    return get_namespace(Z).tanh(Z)


def tanh_backward(dA, Z, A):
    """dZ = dA * (1 - A^2)."""
    return dA * (1.0 - A * A)


def relu(Z):
    """A = max(0, Z), elementwise."""
    if isinstance(Z, np.ndarray):
        return np.maximum(Z, 0)
    return Z * (Z > 0)


def relu_backward(dA, Z, A):
    """dZ = dA where Z > 0, else 0."""
    return dA * (Z > 0)


def leaky_relu(Z, slope=0.01):
    """A = max(slope * Z, Z) for 0 <= slope < 1."""
    return get_namespace(Z).where(Z > 0, Z, slope * Z)


def leaky_relu_backward(dA, Z, A, slope=0.01):
    """dZ = dA where Z > 0, else slope * dA."""
    return get_namespace(Z).where(Z > 0, dA, slope * dA)


def linear(Z):
    """A = Z (the identity; regression outputs)."""
    return Z


def linear_backward(dA, Z, A):
    """dZ = dA."""
    return dA


def softmax(Z):
    """A[:, i] = exp(Z[:, i] - max) / sum(exp(Z[:, i] - max)); each column sums to 1."""
    xp = get_namespace(Z)
    shifted = Z - xp.max(Z, axis=0, keepdims=True)
    E = xp.exp(shifted)
    return E / xp.sum(E, axis=0, keepdims=True)


def softmax_backward(dA, Z, A):
    """dZ = A * (dA - sum_j(dA_j A_j)), the Jacobian-vector product per column."""
    return A * (dA - get_namespace(A).sum(dA * A, axis=0, keepdims=True))


# -- in-place kernels for the training fast path (NumPy) ----------------------------
# Same arithmetic as the functions above, written into the input's memory; the
# derivatives are computed from the output A alone (A > 0 exactly where Z > 0), so a
# layer need not keep Z. Results are bitwise equal to the allocating versions.


def sigmoid_inplace(Z):
    """Z <- 1 / (1 + exp(-Z)); returns Z."""
    np.negative(Z, out=Z)
    with np.errstate(over="ignore"):
        np.exp(Z, out=Z)
    Z += 1.0
    return np.divide(1.0, Z, out=Z)


def tanh_inplace(Z):
    """Z <- tanh(Z)."""
    return np.tanh(Z, out=Z)


def relu_inplace(Z):
    """Z <- max(0, Z)."""
    return np.maximum(Z, 0, out=Z)


def leaky_relu_inplace(Z, slope=0.01):
    """Z <- max(slope Z, Z)."""
    Z[...] = np.where(Z > 0, Z, slope * Z)
    return Z


def linear_inplace(Z):
    """Z unchanged."""
    return Z


def softmax_inplace(Z):
    """Z <- softmax(Z) column-wise."""
    Z -= Z.max(axis=0, keepdims=True)
    np.exp(Z, out=Z)
    Z /= Z.sum(axis=0, keepdims=True)
    return Z


def sigmoid_backward_inplace(dA, A):
    """dA <- dA * A * (1 - A)."""
    dA *= A
    dA *= 1.0 - A
    return dA


def tanh_backward_inplace(dA, A):
    """dA <- dA * (1 - A^2)."""
    dA *= 1.0 - A * A
    return dA


def relu_backward_inplace(dA, A):
    """dA <- dA where A > 0, else 0."""
    if _kernels.usable(dA, A):  # the same product in one compiled pass
        _kernels.relu_backward(dA, A)
        return dA
    return np.multiply(dA, A > 0, out=dA)


def leaky_relu_backward_inplace(dA, A, slope=0.01):
    """dA <- dA where A > 0, else slope dA (slope > 0 keeps the sign of Z)."""
    if slope == 0:
        return np.multiply(dA, A > 0, out=dA)
    dA[...] = np.where(A > 0, dA, slope * dA)
    return dA


def linear_backward_inplace(dA, A):
    """dA unchanged."""
    return dA


def softmax_backward_inplace(dA, A):
    """dA <- A * (dA - sum_j(dA_j A_j))."""
    dA -= (dA * A).sum(axis=0, keepdims=True)
    dA *= A
    return dA


_INPLACE = {
    "sigmoid": (sigmoid_inplace, sigmoid_backward_inplace),
    "tanh": (tanh_inplace, tanh_backward_inplace),
    "relu": (relu_inplace, relu_backward_inplace),
    "leaky_relu": (leaky_relu_inplace, leaky_relu_backward_inplace),
    "linear": (linear_inplace, linear_backward_inplace),
    "softmax": (softmax_inplace, softmax_backward_inplace),
}


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

    def forward_inplace(self, Z):
        """A = g(Z) written over Z (training fast path)."""
        return _INPLACE[self.name][0](Z, **self.options)

    def backward_inplace(self, dA, A):
        """dZ = dA * g'(Z) written over dA, from the output A alone."""
        return _INPLACE[self.name][1](dA, A, **self.options)

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
        raise ValueError(f"unknown activation {name!r}; allowed: {', '.join(NAMES)}")
    allowed_options = {"leaky_relu": {"slope"}}.get(name, set())
    unknown = set(options) - allowed_options
    if unknown:
        raise ValueError(
            f"activation {name!r} takes no option(s) {sorted(unknown)}; "
            f"allowed: {sorted(allowed_options) or 'none'}"
        )
    if name == "leaky_relu":
        options["slope"] = check_in_range(
            "slope", options.get("slope", 0.01), 0, 1, high_inclusive=False
        )
    forward, backward = _REGISTRY[name]
    return Activation(name, forward, backward, **options)
