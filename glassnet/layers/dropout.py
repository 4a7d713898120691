"""Inverted dropout: keep each unit with probability ``keep_prob`` and rescale.

Training (shapes of A, ``(n[l], m)``)::

    D = rand(n[l], m) < keep_prob        # the mask, drawn from the layer's rng
    A = A * D / keep_prob                # inverted: the expected value is unchanged
    backward: dA_prev = dA * D / keep_prob

At inference (``training=False``) the layer is the identity: nothing to rescale.
The mask comes from ``rng`` (int, Generator or RandomState); without one, the layer
splits a stream of its own off the model's rng when it is built (so its state can be
checkpointed and restored on its own). Several Dropout layers
may share one generator; a ``numpy.random.RandomState(1)`` shared by the layers and
reseeded before each pass reproduces the course's ``np.random.seed(1)`` masks.
"""

from __future__ import annotations

import numpy as np

from glassnet.backend import (
    device_of,
    device_uniform,
    get_namespace,
    make_device_generator,
    resolve_rng,
    spawn_rng,
    uniform,
)
from glassnet.layers.base import Layer, number
from glassnet.validation import check_in_range


class Dropout(Layer):
    """``Dropout(keep_prob, *, rng=None)``; keep_prob in (0, 1]."""

    config_fields = {"keep_prob": number, **Layer.config_fields}

    def __init__(self, keep_prob: float, *, rng=None, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        self.keep_prob = check_in_range(
            "keep_prob", keep_prob, 0, 1, low_inclusive=False
        )
        self.rng = None if rng is None else resolve_rng(rng)
        self._device_generator = None

    def build(self, n_prev: int, rng, dtype, *, initialize: bool = True) -> int:
        if self.rng is None:  # a stream of its own, split off the model's rng
            self.rng = spawn_rng(resolve_rng(rng))
        return super().build(n_prev, rng, dtype)

    @property
    def active(self) -> bool:
        """True when the layer drops anything (keep_prob < 1)."""
        return self.keep_prob < 1.0

    def forward(self, A_prev, training: bool):
        if not training or not self.active:
            if training:
                self._cache = None, A_prev
            return A_prev
        if isinstance(A_prev, np.ndarray):
            D = uniform(self.rng, A_prev.shape) < self.keep_prob
        else:  # masks drawn on the device, from a generator seeded by self.rng
            xp, device = get_namespace(A_prev), device_of(A_prev)
            if self._device_generator is None:
                self._device_generator = make_device_generator(xp, device, self.rng)
            D = (
                device_uniform(
                    xp, self._device_generator, tuple(A_prev.shape), "float32", device
                )
                < self.keep_prob
            )
        A = A_prev * D
        A /= self.keep_prob
        self._cache = D, A_prev
        return A

    def backward(self, dA):
        D, _ = self._require_cache()
        if D is None:
            return dA
        dA_prev = dA * D
        dA_prev /= self.keep_prob
        return dA_prev

    def get_config(self) -> dict:
        return {"keep_prob": self.keep_prob, **super().get_config()}
