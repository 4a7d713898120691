"""Gradient descent, momentum, RMSprop and Adam.

Each optimizer's update is written once as the notes write it, ``reference_step``:
arrays in, the same names updated in place (``v[...] = beta v + (1 - beta) dW``),
with ``xp`` the arrays' namespace so that it runs on NumPy, torch and cupy arrays
alike (the device backends and the captured GPU step run it). It is the reference;
two accelerations of it, for NumPy arrays only, do the same arithmetic in the same
order and are tested against it bit for bit (``tests/test_reference_paths.py``):

* ``_step``: the blocked NumPy sweep, in-place passes over cache-sized blocks with two
  preallocated temporaries (D2 in docs/architecture.md);
* ``_kernel``: one compiled loop over the flat buffer (``glassnet/_fastops.c``, D16);
  float32 Adam's loop divides by its two constants with Markstein's correction, the
  correctly rounded quotient, so its bits are still the reference's.

Which one runs is decided in one place, :meth:`Optimizer._sweep`."""

from __future__ import annotations

import numpy as np

from glassnet import _kernels
from glassnet.backend import get_namespace
from glassnet.optimizers.base import Optimizer
from glassnet.validation import check_in_range


class GradientDescent(Optimizer):
    """W = W - learning_rate * dW."""

    name = "gd"

    def __init__(self, learning_rate: float = 0.01, **options):
        super().__init__(learning_rate, **options)

    def _step(self, W, dW, slots, temp1, temp2) -> None:
        np.multiply(dW, self.learning_rate, out=temp1)  # alpha dW
        W -= temp1

    def _kernel(self, W, dW, slots, scalar) -> None:
        _kernels.gradient_descent(W, dW, scalar(self.learning_rate))

    def reference_step(self, W, dW, slots, alpha=None, t=None) -> None:
        """The notes' update of one parameter array, in place."""
        alpha = self.learning_rate if alpha is None else alpha
        W[...] = W - alpha * dW


class Momentum(Optimizer):
    """v = beta v + (1 - beta) dW; W = W - learning_rate * v."""

    name = "momentum"
    slot_names = ("v",)

    def __init__(self, learning_rate: float = 0.01, beta: float = 0.9, **options):
        super().__init__(learning_rate, **options)
        self.beta = check_in_range("beta", beta, 0, 1, high_inclusive=False)

    def _step(self, W, dW, slots, temp1, temp2) -> None:
        (v,) = slots
        v *= self.beta  # v = beta v + (1 - beta) dW
        np.multiply(dW, 1 - self.beta, out=temp1)
        v += temp1
        np.multiply(v, self.learning_rate, out=temp1)  # W = W - alpha v
        W -= temp1

    def _kernel(self, W, dW, slots, scalar) -> None:
        (v,) = slots
        _kernels.momentum(
            W,
            dW,
            v,
            scalar(self.beta),
            scalar(1 - self.beta),
            scalar(self.learning_rate),
        )

    def reference_step(self, W, dW, slots, alpha=None, t=None) -> None:
        """The notes' update of one parameter array and its velocity, in place."""
        (v,) = slots
        alpha, beta = self.learning_rate if alpha is None else alpha, self.beta
        v[...] = beta * v + (1 - beta) * dW
        W[...] = W - alpha * v

    def get_config(self) -> dict:
        return {**super().get_config(), "beta": self.beta}


class RMSprop(Optimizer):
    """s = beta2 s + (1 - beta2) dW^2; W = W - learning_rate dW / (sqrt(s) + eps)."""

    name = "rmsprop"
    slot_names = ("s",)

    def __init__(
        self,
        learning_rate: float = 0.001,
        beta2: float = 0.999,
        epsilon: float = 1e-8,
        **options,
    ):
        super().__init__(learning_rate, **options)
        self.beta2 = check_in_range("beta2", beta2, 0, 1, high_inclusive=False)
        self.epsilon = check_in_range("epsilon", epsilon, 0, None)

    def _step(self, W, dW, slots, temp1, temp2) -> None:
        (s,) = slots
        s *= self.beta2  # s = beta2 s + (1 - beta2) dW^2
        np.multiply(dW, dW, out=temp1)
        temp1 *= 1 - self.beta2
        s += temp1
        np.multiply(dW, self.learning_rate, out=temp1)  # alpha dW / (sqrt(s) + eps)
        np.sqrt(s, out=temp2)
        temp2 += self.epsilon
        temp1 /= temp2
        W -= temp1

    def _kernel(self, W, dW, slots, scalar) -> None:
        (s,) = slots
        _kernels.rmsprop(
            W,
            dW,
            s,
            scalar(self.beta2),
            scalar(1 - self.beta2),
            scalar(self.learning_rate),
            scalar(self.epsilon),
        )

    def reference_step(self, W, dW, slots, alpha=None, t=None) -> None:
        """The notes' update of one parameter array and its ``s``, in place."""
        (s,) = slots
        xp = get_namespace(W)
        alpha, beta2, epsilon = (
            self.learning_rate if alpha is None else alpha,
            self.beta2,
            self.epsilon,
        )
        s[...] = beta2 * s + (1 - beta2) * dW**2
        W[...] = W - alpha * dW / (xp.sqrt(s) + epsilon)

    def get_config(self) -> dict:
        return {**super().get_config(), "beta2": self.beta2, "epsilon": self.epsilon}


class Adam(Optimizer):
    """Adam with bias correction; epsilon outside the square root (see module doc)."""

    name = "adam"
    slot_names = ("v", "s")

    def __init__(
        self,
        learning_rate: float = 0.001,
        beta1: float = 0.9,
        beta2: float = 0.999,
        epsilon: float = 1e-8,
        **options,
    ):
        super().__init__(learning_rate, **options)
        self.beta1 = check_in_range("beta1", beta1, 0, 1, high_inclusive=False)
        self.beta2 = check_in_range("beta2", beta2, 0, 1, high_inclusive=False)
        self.epsilon = check_in_range("epsilon", epsilon, 0, None)

    def _step(self, W, dW, slots, temp1, temp2) -> None:
        v, s = slots
        v *= self.beta1  # v = beta1 v + (1 - beta1) dW
        np.multiply(dW, 1 - self.beta1, out=temp1)
        v += temp1
        s *= self.beta2  # s = beta2 s + (1 - beta2) dW^2
        np.multiply(dW, dW, out=temp1)
        temp1 *= 1 - self.beta2
        s += temp1
        np.divide(v, 1 - self.beta1**self.t, out=temp1)  # v_hat
        temp1 *= self.learning_rate  # alpha v_hat
        np.divide(s, 1 - self.beta2**self.t, out=temp2)  # s_hat
        np.sqrt(temp2, out=temp2)
        temp2 += self.epsilon
        temp1 /= temp2  # alpha v_hat / (sqrt(s_hat) + eps)
        W -= temp1

    def _kernel(self, W, dW, slots, scalar) -> None:
        v, s = slots
        _kernels.adam(
            W,
            dW,
            v,
            s,
            scalar(self.beta1),
            scalar(1 - self.beta1),
            scalar(self.beta2),
            scalar(1 - self.beta2),
            scalar(1 - self.beta1**self.t),
            scalar(self.learning_rate),
            scalar(1 - self.beta2**self.t),
            scalar(self.epsilon),
        )

    def reference_step(self, W, dW, slots, alpha=None, t=None) -> None:
        """The notes' update of one parameter array, its ``v`` and ``s``, in place."""
        v, s = slots
        xp = get_namespace(W)
        alpha = self.learning_rate if alpha is None else alpha
        t = self.t if t is None else t
        beta1, beta2, epsilon = self.beta1, self.beta2, self.epsilon
        v[...] = beta1 * v + (1 - beta1) * dW
        s[...] = beta2 * s + (1 - beta2) * dW**2
        v_hat = v / (1 - beta1**t)
        s_hat = s / (1 - beta2**t)
        W[...] = W - alpha * v_hat / (xp.sqrt(s_hat) + epsilon)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "beta1": self.beta1,
            "beta2": self.beta2,
            "epsilon": self.epsilon,
        }
