"""Weight initializers for ``W[l]`` of shape ``(n[l], n[l-1])``; biases start at 0.

The notes' initializers (normal draws, as the course writes them), n = n[l],
n_prev = n[l-1]::

    name     W[l] =                                Var(W)        use
    zeros    0                                     0             (no symmetry breaking)
    random   randn(n, n_prev) * scale (0.01)       scale^2       the course's small W
    xavier   randn(n, n_prev) / sqrt(n_prev)       1/n_prev      tanh (the notes' name)
    glorot   randn(n, n_prev) * sqrt(2/(n_prev+n)) 2/(n_prev+n)  tanh / sigmoid
    he       randn(n, n_prev) * sqrt(2/n_prev)     2/n_prev      ReLU

Keras's names and definitions (``keras.initializers``), fan_in = n[l-1] and
fan_out = n[l]::

    name            distribution                                  Var(W)
    glorot_uniform  U(-r, r), r = sqrt(6 / (fan_in + fan_out))    2/(fan_in + fan_out)
    glorot_normal   truncated normal                              2/(fan_in + fan_out)
    he_uniform      U(-r, r), r = sqrt(6 / fan_in)                2/fan_in
    he_normal       truncated normal                              2/fan_in
    lecun_normal    truncated normal                              1/fan_in

(Var of U(-r, r) is r^2 / 3.) "Truncated normal" is Keras's: a normal draw more
than 2 standard deviations from 0 is drawn again, and the scale is divided by
0.87962566103423978 (the standard deviation of a standard normal truncated at
+-2), so that the variance of W is exactly the one in the table. The notes'
``xavier`` has LeCun's variance 1/n[l-1] without the truncation (so it is not
Keras's ``glorot_*``, whose variance also counts fan_out); ``he`` is ``he_normal``
without the truncation, the course's exact draws.

The draws come from the layer's ``rng`` in float64, in the order W[1], W[2], ...,
exactly as the course's ``np.random.randn`` calls, then are cast to the model's
dtype. A ``numpy.random.RandomState(s)`` therefore reproduces ``np.random.seed(s)``.
"""

from __future__ import annotations

import numpy as np

from glassnet.backend import standard_normal, uniform
from glassnet.validation import check_in_range

#: the standard deviation of a standard normal truncated at +-2 (Keras's constant)
TRUNCATED_NORMAL_STDDEV = 0.87962566103423978


def truncated_normal(rng, shape) -> np.ndarray:
    """Standard normal draws with every value beyond +-2 drawn again (float64)."""
    W = standard_normal(rng, shape)
    outside = np.abs(W) > 2.0
    while outside.any():
        W[outside] = standard_normal(rng, (int(outside.sum()),))
        outside = np.abs(W) > 2.0
    return W


class Initializer:
    """Callable ``initializer((n, n_prev), rng) -> float64 array``."""

    name = "initializer"

    def __call__(self, shape, rng):
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"name": self.name}

    def __repr__(self):
        return f"{type(self).__name__}()"


class Zeros(Initializer):
    """W = 0 (every unit computes the same function: symmetry is never broken)."""

    name = "zeros"

    def __call__(self, shape, rng):
        return np.zeros(shape)


class RandomNormal(Initializer):
    """W = randn(n, n_prev) * scale."""

    name = "random"

    def __init__(self, scale: float = 0.01):
        self.scale = check_in_range("scale", scale, 0, None, low_inclusive=False)

    def __call__(self, shape, rng):
        return standard_normal(rng, shape) * self.scale

    def get_config(self) -> dict:
        return {"name": self.name, "scale": self.scale}

    def __repr__(self):
        return f"RandomNormal(scale={self.scale!r})"


class Xavier(Initializer):
    """W = randn(n, n_prev) / sqrt(n_prev), i.e. variance 1/n_prev (the notes'
    ``xavier``, for tanh; LeCun's variance, untruncated)."""

    name = "xavier"

    def __call__(self, shape, rng):
        return standard_normal(rng, shape) / np.sqrt(shape[1])


class Glorot(Initializer):
    """W = randn(n, n_prev) * sqrt(2 / (n_prev + n)), i.e. variance
    2/(n_prev + n) (the notes' alternative for tanh; untruncated)."""

    name = "glorot"

    def __call__(self, shape, rng):
        return standard_normal(rng, shape) * np.sqrt(2.0 / (shape[0] + shape[1]))


class He(Initializer):
    """W = randn(n, n_prev) * sqrt(2 / n_prev), i.e. variance 2/n_prev (ReLU; the
    notes' and the course's, untruncated)."""

    name = "he"

    def __call__(self, shape, rng):
        return standard_normal(rng, shape) * np.sqrt(2.0 / shape[1])


class _VarianceScaling(Initializer):
    """Keras's initializers: Var(W) = ``scale / fan`` with ``fan`` = fan_in
    (n[l-1]) or the mean of fan_in and fan_out (n[l]), drawn uniform or from the
    truncated normal (module docstring)."""

    scale = 1.0
    fan = "fan_in"  # or "fan_avg"
    distribution = "truncated_normal"  # or "uniform"

    def variance(self, shape) -> float:
        """Var(W) for ``W (n[l], n[l-1])``."""
        n, n_prev = shape
        fan = n_prev if self.fan == "fan_in" else (n_prev + n) / 2.0
        return self.scale / fan

    def __call__(self, shape, rng):
        variance = self.variance(shape)
        if self.distribution == "uniform":  # Var(U(-r, r)) = r^2 / 3
            limit = np.sqrt(3.0 * variance)
            return (2.0 * uniform(rng, shape) - 1.0) * limit
        stddev = np.sqrt(variance) / TRUNCATED_NORMAL_STDDEV
        return truncated_normal(rng, shape) * stddev


class GlorotUniform(_VarianceScaling):
    """W ~ U(-r, r), r = sqrt(6 / (n[l-1] + n[l])): Var(W) = 2 / (n[l-1] + n[l])
    (Keras's default for Dense layers)."""

    name = "glorot_uniform"
    scale, fan, distribution = 1.0, "fan_avg", "uniform"


class GlorotNormal(_VarianceScaling):
    """W = truncated normal, Var(W) = 2 / (n[l-1] + n[l])."""

    name = "glorot_normal"
    scale, fan, distribution = 1.0, "fan_avg", "truncated_normal"


class HeUniform(_VarianceScaling):
    """W ~ U(-r, r), r = sqrt(6 / n[l-1]): Var(W) = 2 / n[l-1]."""

    name = "he_uniform"
    scale, fan, distribution = 2.0, "fan_in", "uniform"


class HeNormal(_VarianceScaling):
    """W = truncated normal, Var(W) = 2 / n[l-1] (ReLU)."""

    name = "he_normal"
    scale, fan, distribution = 2.0, "fan_in", "truncated_normal"


class LecunNormal(_VarianceScaling):
    """W = truncated normal, Var(W) = 1 / n[l-1] (SELU; tanh)."""

    name = "lecun_normal"
    scale, fan, distribution = 1.0, "fan_in", "truncated_normal"


_REGISTRY = {
    cls.name: cls
    for cls in (
        Zeros,
        RandomNormal,
        Xavier,
        Glorot,
        He,
        GlorotUniform,
        GlorotNormal,
        HeUniform,
        HeNormal,
        LecunNormal,
    )
}
NAMES = tuple(_REGISTRY)


def get(name, **options) -> Initializer:
    """Return the initializer called ``name``; ``get("random", scale=10)``.

    Also accepts an :class:`Initializer` (returned as is) or a config dict
    ``{"name": "random", "scale": 10}``.
    """
    if isinstance(name, Initializer):
        return name
    if isinstance(name, dict):
        options = {**{k: v for k, v in name.items() if k != "name"}, **options}
        name = name.get("name")
    if name not in _REGISTRY:
        raise ValueError(f"unknown initializer {name!r}; allowed: {', '.join(NAMES)}")
    cls = _REGISTRY[name]
    try:
        return cls(**options)
    except TypeError:
        raise ValueError(
            f"initializer {name!r} does not take options {sorted(options)}"
        ) from None
