"""A standalone activation ``A = g(Z)``, used after batch normalization.

``Dense(n) -> BatchNorm() -> Activation("relu")`` normalizes Z before the
non-linearity, as in the notes.
"""

from __future__ import annotations

from glassnet import activations
from glassnet.layers.base import Layer, named_options


class Activation(Layer):
    """``Activation(name)``: A = g(Z), dZ = dA * g'(Z)."""

    config_fields = {"activation": named_options, **Layer.config_fields}

    def __init__(self, activation, *, name: str | None = None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        self.activation = activations.get(activation)

    def forward(self, A_prev, training: bool):
        A = self.activation.forward(A_prev)
        if training:
            self._cache = (A_prev, A)
        return A

    def backward(self, dA):
        Z, A = self._require_cache()
        return self.activation.backward(dA, Z, A)

    def get_config(self) -> dict:
        return {"activation": self.activation.get_config(), **super().get_config()}
