"""Gradient checking: back-propagation against a two-sided numerical derivative.

For every parameter entry theta_i (all of W1, b1, ..., flattened in that order)::

    g_approx_i = (J(theta_i + epsilon) - J(theta_i - epsilon)) / (2 epsilon)
    difference = ||g - g_approx||_2 / (||g||_2 + ||g_approx||_2)

with ``epsilon = 1e-7``. The notes' verdict: below 1e-7 the gradients are right;
up to 2e-7 (the later course versions' threshold) acceptable; above, look for a bug
in backward. Everything runs in float64 on a copy of the model, in training mode
(batch norm uses the batch statistics); inverted dropout makes J random, so a model
with an active Dropout layer is refused. X and Y are in the engine's column layout:
``X (n[0], m)``, ``Y (n[L], m)`` (or ``(1, m)`` integer labels for softmax).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from glassnet import losses as losses_module
from glassnet import regularizers as regularizers_module
from glassnet.backend import get_namespace, to_namespace, to_numpy
from glassnet.layers import Dropout

THRESHOLD = 1e-7
ACCEPTABLE = 2e-7


def relative_difference(gradient, approximation) -> float:
    """||g - g_approx|| / (||g|| + ||g_approx||) (0 when both are 0)."""
    gradient = np.asarray(gradient, dtype=np.float64).ravel()
    approximation = np.asarray(approximation, dtype=np.float64).ravel()
    numerator = np.linalg.norm(gradient - approximation)
    denominator = np.linalg.norm(gradient) + np.linalg.norm(approximation)
    return 0.0 if denominator == 0 else float(numerator / denominator)


def numerical_gradient(cost_function, theta, epsilon: float = 1e-7) -> np.ndarray:
    """Two-sided differences of ``cost_function(theta) -> float`` at every entry.

    ``theta`` (any shape, float64) is perturbed in place and restored.
    """
    if isinstance(theta, (list, tuple, float, int)) or np.isscalar(theta):
        theta = np.asarray(theta)
    approximation = np.zeros(tuple(theta.shape), dtype=np.float64)
    flat = get_namespace(theta).reshape(theta, (-1,))  # a view, in any backend
    out = approximation.reshape(-1)
    for i in range(out.size):
        original = float(flat[i])
        flat[i] = original + epsilon
        J_plus = cost_function(theta)
        flat[i] = original - epsilon
        J_minus = cost_function(theta)
        flat[i] = original
        out[i] = (J_plus - J_minus) / (2 * epsilon)
    return approximation


@dataclass
class GradientCheckResult:
    """``difference`` over all parameters, ``per_parameter`` errors, the verdict."""

    difference: float
    per_parameter: dict[str, float]
    threshold: float = THRESHOLD
    gradients: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    approximations: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def max_relative_error(self) -> float:
        """The largest per-parameter relative difference."""
        return max(self.per_parameter.values(), default=0.0)

    @property
    def passed(self) -> bool:
        """True when the overall difference is below ``threshold``."""
        return self.difference < self.threshold

    @property
    def verdict(self) -> str:
        if self.difference < THRESHOLD:
            return f"correct (difference {self.difference:.3g} < {THRESHOLD:g})"
        if self.difference < ACCEPTABLE:
            return (
                f"acceptable (difference {self.difference:.3g} < {ACCEPTABLE:g}, "
                f"above {THRESHOLD:g})"
            )
        return (
            f"WRONG: difference {self.difference:.3g} >= {ACCEPTABLE:g}; check "
            f"backward for {self.worst}"
        )

    @property
    def worst(self) -> str:
        return max(self.per_parameter, key=self.per_parameter.get)

    def table(self) -> str:
        """One line per parameter: key, shape, relative difference."""
        lines = [f"{'parameter':<12}{'shape':<16}{'relative difference':>20}"]
        for key, value in self.per_parameter.items():
            shape = (
                str(tuple(self.gradients[key].shape)) if key in self.gradients else ""
            )
            flag = "" if value < THRESHOLD else "  <-"
            lines.append(f"{key:<12}{shape:<16}{value:>20.3e}{flag}")
        lines.append(f"{'all':<28}{self.difference:>20.3e}")
        lines.append(f"verdict: {self.verdict}")
        return "\n".join(lines)


def gradient_check(
    model,
    X,
    Y,
    *,
    loss=None,
    regularizer=None,
    epsilon: float = 1e-7,
    gradients: dict | None = None,
    threshold: float = THRESHOLD,
) -> GradientCheckResult:
    """Compare back-propagation with numerical derivatives for every parameter.

    ``gradients`` (optional) are analytic gradients to check instead of the model's
    own backward (e.g. from a hand-written backward pass), keyed like ``params``.
    """
    model._require_built()
    for layer in model.layers:
        if isinstance(layer, Dropout) and layer.active:
            raise ValueError(
                f"gradient checking does not work with dropout: J is random while "
                f"a Dropout layer drops units (received keep_prob={layer.keep_prob}); "
                "check with keep_prob=1, then turn dropout on"
            )
    checked = model.astype("float64")
    regularizer = regularizers_module.get(regularizer)
    loss = checked.default_loss() if loss is None else losses_module.get(loss)
    X = to_namespace(to_numpy(X), checked.xp, checked.device, np.float64)
    Y = to_namespace(to_numpy(Y), checked.xp, checked.device, np.float64)
    model.check_columns(X)

    def cost(_theta=None) -> float:
        AL = checked.forward(X, training=True)
        return checked.compute_cost(AL, Y, loss, regularizer=regularizer)

    AL = checked.forward(X, training=True)
    checked.backward(AL, Y, loss, regularizer=regularizer)
    analytic = {k: np.array(to_numpy(v), copy=True) for k, v in checked.grads.items()}
    if gradients is not None:
        missing = set(analytic) - set(gradients)
        if missing:
            raise ValueError(f"gradients is missing {sorted(missing)}")
        analytic = {
            k: np.asarray(to_numpy(gradients[k]), dtype=np.float64) for k in analytic
        }
    running = {k: v * 1 for k, v in checked.state.items()}
    approximations = {
        key: numerical_gradient(cost, theta, epsilon)
        for key, theta in checked.params.items()
    }
    for key, value in running.items():
        checked.state[key][...] = value
    per_parameter = {
        key: relative_difference(analytic[key], approximations[key]) for key in analytic
    }
    keys = list(analytic)
    overall = relative_difference(
        np.concatenate([analytic[k].ravel() for k in keys]),
        np.concatenate([approximations[k].ravel() for k in keys]),
    )
    return GradientCheckResult(
        difference=overall,
        per_parameter=per_parameter,
        threshold=threshold,
        gradients=analytic,
        approximations=approximations,
    )
