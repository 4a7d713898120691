"""Batch normalization of ``Z[l]`` over the mini-batch, with learnable gamma and beta.

Training, per unit (row) of ``Z (n[l], m)``::

    mu      = (1/m) sum_i Z_i                       (n[l], 1)
    sigma^2 = (1/m) sum_i (Z_i - mu)^2              (n[l], 1)
    Z_norm  = (Z - mu) / sqrt(sigma^2 + epsilon)
    Z_tilde = gamma * Z_norm + beta                 gamma, beta: (n[l], 1)

Running statistics for inference are exponentially weighted averages, as in the
notes' ``V = beta V + (1 - beta) theta``: ``momentum`` is the weight of the OLD value,
``running_mean = momentum * running_mean + (1 - momentum) * mu`` (default 0.9, i.e.
an average over about 10 mini-batches). At inference Z_norm uses the running mean and
variance, so one example's prediction does not depend on the rest of the batch.

Backward (``dZ_tilde`` per example, the layers' convention)::

    dgamma = (1/m) sum_i dZ_tilde * Z_norm,   dbeta = (1/m) sum_i dZ_tilde
    dZ     = gamma / sqrt(sigma^2 + eps) * (dZ_tilde - mean(dZ_tilde)
             - Z_norm * mean(dZ_tilde * Z_norm))

A Dense layer with a linear activation right before BatchNorm drops its bias b: the
mean subtraction cancels any constant, and beta takes its role.
"""

from __future__ import annotations

import numpy as np

from glassnet.backend import get_namespace
from glassnet.layers.base import Layer, boolean_or_none, check_flag, number
from glassnet.validation import check_in_range


class BatchNorm(Layer):
    """``BatchNorm(momentum=0.9, epsilon=1e-5)``."""

    param_names = ("gamma", "beta")
    state_names = ("running_mean", "running_var")
    config_fields = {
        "momentum": number,
        "epsilon": number,
        "use_batch_statistics": boolean_or_none,
        **Layer.config_fields,
    }

    def __init__(
        self,
        momentum: float = 0.9,
        epsilon: float = 1e-5,
        *,
        use_batch_statistics: bool | None = None,
        name=None,
        trainable=True,
    ):
        super().__init__(name=name, trainable=trainable)
        self.momentum = check_in_range("momentum", momentum, 0, 1, high_inclusive=False)
        self.epsilon = check_in_range("epsilon", epsilon, 0, None, low_inclusive=False)
        #: None: batch statistics in training, running ones at inference; True/False
        #: forces one kind (e.g. a frozen BatchNorm during transfer learning)
        self.use_batch_statistics = (
            None
            if use_batch_statistics is None
            else check_flag("use_batch_statistics", use_batch_statistics)
        )

    def build(self, n_prev: int, rng, dtype, *, initialize: bool = True) -> int:
        super().build(n_prev, rng, dtype)
        shape = (int(n_prev), 1)
        self.params = {
            "gamma": np.ones(shape, dtype=self.dtype),
            "beta": np.zeros(shape, dtype=self.dtype),
        }
        self.state = {
            "running_mean": np.zeros(shape, dtype=self.dtype),
            "running_var": np.ones(shape, dtype=self.dtype),
        }
        self._allocate_grads()
        return self.n_out

    def planned_arrays(self, n_prev: int) -> tuple[int, dict, dict]:
        shape = (int(n_prev), 1)
        params = {"gamma": shape, "beta": shape}
        return int(n_prev), params, {"running_mean": shape, "running_var": shape}

    def forward(self, A_prev, training: bool):
        Z = A_prev
        batch_statistics = (
            training if self.use_batch_statistics is None else self.use_batch_statistics
        )
        xp = get_namespace(Z)
        if batch_statistics:
            mu = xp.mean(Z, axis=1, keepdims=True)
            centered = Z - mu
            var = xp.mean(centered * centered, axis=1, keepdims=True)
            if training and self.trainable:
                self._update_running(mu, var)
        else:
            mu, var = self.state["running_mean"], self.state["running_var"]
            centered = Z - mu
        inverse_std = 1.0 / xp.sqrt(var + self.epsilon)
        Z_norm = centered * inverse_std
        out = self.params["gamma"] * Z_norm + self.params["beta"]
        if training:
            self._cache = (Z_norm, inverse_std, batch_statistics)
        return out

    def _update_running(self, mu, var) -> None:
        beta = self.momentum
        self.state["running_mean"] *= beta
        self.state["running_mean"] += (1 - beta) * mu
        self.state["running_var"] *= beta
        self.state["running_var"] += (1 - beta) * var

    def backward(self, dA):
        Z_norm, inverse_std, batch_statistics = self._require_cache()
        gamma = self.params["gamma"]
        xp = get_namespace(dA)
        mean_d = xp.mean(dA, axis=1, keepdims=True)
        mean_d_znorm = xp.mean(dA * Z_norm, axis=1, keepdims=True)
        self.grads["gamma"][...] = mean_d_znorm
        self.grads["beta"][...] = mean_d
        if not batch_statistics:
            return dA * (gamma * inverse_std)
        return (gamma * inverse_std) * (dA - mean_d - Z_norm * mean_d_znorm)

    def get_config(self) -> dict:
        return {
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "use_batch_statistics": self.use_batch_statistics,
            **super().get_config(),
        }

    def describe_shapes(self, index: int) -> list[str]:
        n = self.n_in
        return [
            f"gamma[{index}]: (n[{index}], 1) = ({n}, 1)",
            f"beta[{index}]: (n[{index}], 1) = ({n}, 1)",
        ]
