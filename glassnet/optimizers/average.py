"""Exponentially weighted averages: ``V_t = beta V_{t-1} + (1 - beta) theta_t``."""

from __future__ import annotations

import numpy as np

from glassnet.validation import check_in_range


class ExponentialAverage:
    """``V_t = beta V_{t-1} + (1 - beta) theta_t``, optionally ``V_t / (1 - beta^t)``.

    Averages over about ``1 / (1 - beta)`` recent values. Use it on its own (e.g. to
    smooth a cost curve with :meth:`smooth`) or per parameter inside the optimizers.
    """

    def __init__(self, beta: float = 0.9, *, bias_correction: bool = True):
        self.beta = check_in_range("beta", beta, 0, 1, high_inclusive=False)
        self.bias_correction = bias_correction
        self.value = 0.0
        self.t = 0

    def update(self, theta):
        """Fold in ``theta``; return the (bias-corrected) average."""
        self.t += 1
        self.value = self.beta * self.value + (1 - self.beta) * theta
        return self.corrected

    @property
    def corrected(self):
        """V_t / (1 - beta^t) with bias correction, else V_t."""
        if not self.bias_correction or self.t == 0:
            return self.value
        return self.value / (1 - self.beta**self.t)

    def smooth(self, values) -> np.ndarray:
        """The running average of a whole sequence (a fresh average, not self)."""
        average = ExponentialAverage(self.beta, bias_correction=self.bias_correction)
        return np.array([average.update(float(value)) for value in values])
