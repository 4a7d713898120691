"""The guard against divergence: stop on NaN/inf weights, keep the last finite ones.

Exploding gradients (the notes' "deep networks" chapter) show up as parameters
that turn infinite, then NaN. ``fit`` keeps a copy of the flat parameter buffer and
of the layers' state (batch-norm running statistics) at the start of every epoch;
when the epoch ends with a NaN cost or a non-finite parameter, the copy is put
back and :class:`DivergenceError` names the epoch and the first parameter or
gradient that went bad. An infinite cost with finite parameters (an output
saturated at exactly 0 or 1 on a wrong label) only warns, once: the gradients are
still finite and the course's own runs go through such epochs (architecture D10).
:func:`gradient_norms` gives the History each epoch's ``||dW[l]||_2``, where
exploding or vanishing gradients show before they do any harm.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from glassnet.backend import all_finite, get_namespace
from glassnet.errors import GlassnetError


class DivergenceError(GlassnetError, RuntimeError):
    """Training produced NaN or infinite parameters; the model keeps the last finite
    weights. ``history`` holds the epochs completed before it happened."""

    def __init__(self, message, *, epoch, layer, history):
        super().__init__(message)
        self.epoch, self.layer, self.history = epoch, layer, history


def find_nonfinite(model) -> str:
    """The first parameter, else gradient, holding NaN or inf, in words."""
    for key, array in model.params.items():
        if not all_finite(array):
            return f"parameter {key}"
    for key, array in model.grads.items():
        if not all_finite(array):
            return f"gradient d{key}"
    return "the cost (parameters still finite)"


class DivergenceGuard:
    """Snapshot at each epoch's start; restore and report when the epoch diverged."""

    def __init__(self, model):
        self.model = model
        self.snapshot = get_namespace(model.flat_params).zeros_like(model.flat_params)
        self.state_snapshot: dict = {}
        self.warned_inf = False

    def start_epoch(self) -> None:
        """Remember the weights and layer state the epoch starts from."""
        self.snapshot[...] = self.model.flat_params
        self.state_snapshot = {k: v * 1 for k, v in self.model.state.items()}

    def check(self, epoch: int, cost: float, learning_rate: float, history):
        """None if the epoch ended finite; else restore the start-of-epoch weights
        and return the :class:`DivergenceError` to raise (the caller cleans up
        first). Warns once about an infinite cost with finite weights."""
        model = self.model
        if math.isnan(cost) or not all_finite(model.flat_params):
            where = find_nonfinite(model)
            model.flat_params[...] = self.snapshot
            for key, value in self.state_snapshot.items():
                model.state[key][...] = value
            return DivergenceError(
                f"training diverged in epoch {epoch}: non-finite values first "
                f"appeared in {where} (learning rate {learning_rate:g}); the "
                f"weights from the start of epoch {epoch} were kept. Lower the "
                "learning rate or normalize the inputs",
                epoch=epoch,
                layer=where,
                history=history,
            )
        if math.isinf(cost) and not self.warned_inf:
            warnings.warn(
                f"the cost is infinite in epoch {epoch} (an output saturated at "
                "exactly 0 or 1 on a wrong label); the gradients are finite, so "
                "training goes on",
                RuntimeWarning,
                stacklevel=3,
            )
            self.warned_inf = True
        return None


def _norm(array) -> float:
    """||array||_2 (NumPy's BLAS norm on NumPy arrays)."""
    if isinstance(array, np.ndarray):
        return float(np.linalg.norm(array))
    xp = get_namespace(array)
    return float(xp.sqrt(xp.sum(array * array)))


def gradient_norms(model) -> dict:
    """``{"grad_norm_W<l>": ||dW[l]||_2}`` (the last batch's) for each trainable W:
    the History's record of exploding or vanishing gradients."""
    return {
        f"grad_norm_{key}": _norm(layer.grads["W"])
        for key, (layer, name) in model.buffers.param_keys.items()
        if name == "W" and layer.trainable
    }
