"""Weight initializers for ``W[l]`` of shape ``(n[l], n[l-1])``; biases start at 0.

=========  ==========================================  =======================
name       W[l] =                                      use
=========  ==========================================  =======================
zeros      0                                           (fails to break symmetry)
random     randn(n[l], n[l-1]) * scale (scale 0.01)    the course's small random
xavier     randn(n[l], n[l-1]) / sqrt(n[l-1])          tanh
glorot     randn(n[l], n[l-1]) * sqrt(2/(n[l-1]+n[l]))  tanh/sigmoid
he         randn(n[l], n[l-1]) * sqrt(2 / n[l-1])      ReLU
=========  ==========================================  =======================

The normal draws come from the layer's ``rng`` in float64, in the order W[1], W[2],
..., exactly as the course's ``np.random.randn`` calls, then are cast to the model's
dtype. A ``numpy.random.RandomState(s)`` therefore reproduces ``np.random.seed(s)``.
"""

from __future__ import annotations

import numpy as np

from glassnet.backend import standard_normal
from glassnet.validation import check_in_range


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
    """W = randn(n, n_prev) / sqrt(n_prev), i.e. variance 1/n_prev."""

    name = "xavier"

    def __call__(self, shape, rng):
        return standard_normal(rng, shape) / np.sqrt(shape[1])


class Glorot(Initializer):
    """W = randn(n, n_prev) * sqrt(2 / (n_prev + n))."""

    name = "glorot"

    def __call__(self, shape, rng):
        return standard_normal(rng, shape) * np.sqrt(2.0 / (shape[0] + shape[1]))


class He(Initializer):
    """W = randn(n, n_prev) * sqrt(2 / n_prev), i.e. variance 2/n_prev (ReLU)."""

    name = "he"

    def __call__(self, shape, rng):
        return standard_normal(rng, shape) * np.sqrt(2.0 / shape[1])


_REGISTRY = {cls.name: cls for cls in (Zeros, RandomNormal, Xavier, Glorot, He)}
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
