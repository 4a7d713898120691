"""Shared contract checks (DESIGN.md §5).

Every layer, activation, loss and optimizer passes the same contract: shapes, keys,
a float64 gradient check below 1e-7 relative error, and one hand-worked step (each
test file writes its arithmetic in a comment). The helpers here are deliberately
independent of the engine's own helpers (our own relative error and central
differences), so a bug in ``glassnet.gradcheck`` cannot hide a bug elsewhere.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import glassnet as gn

#: the notes' verdict for a correct backward pass
GRADCHECK_TOLERANCE = 1e-7

#: hypothesis settings for the engine's properties: few examples, no deadline
#: (the machine is shared), and function-scoped fixtures allowed
PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def relative_error(a, b) -> float:
    """||a - b|| / (||a|| + ||b||), 0 when both are 0 (float64)."""
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    denominator = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denominator == 0 else float(np.linalg.norm(a - b) / denominator)


def central_difference(function, x, epsilon: float = 1e-7) -> np.ndarray:
    """d function(x) / dx for a scalar ``function`` of a float64 array ``x``.

    Two-sided differences, one entry at a time, on a private copy of ``x``.
    """
    x = np.array(x, dtype=np.float64, copy=True)
    gradient = np.zeros_like(x)
    flat, out = x.reshape(-1), gradient.reshape(-1)
    for i in range(flat.size):
        original = flat[i]
        flat[i] = original + epsilon
        plus = function(x)
        flat[i] = original - epsilon
        minus = function(x)
        flat[i] = original
        out[i] = (plus - minus) / (2 * epsilon)
    return gradient


def assert_close_gradient(analytic, numeric, tolerance=GRADCHECK_TOLERANCE, what=""):
    """The float64 gradient-check verdict: relative error below ``tolerance``."""
    error = relative_error(analytic, numeric)
    assert error < tolerance, (
        f"{what}: relative error {error:.3e} >= {tolerance:g}\n"
        f"analytic:\n{np.asarray(analytic)}\nnumeric:\n{np.asarray(numeric)}"
    )


# --- data -------------------------------------------------------------------------


def columns(n, m, *, seed=0, scale=1.0):
    """A float64 ``(n, m)`` matrix of standard normals (examples are columns)."""
    return np.random.default_rng(seed).normal(scale=scale, size=(n, m))


def targets_for(activation: str, n_out: int, m: int, *, seed=1, labels="one_hot"):
    """Engine-layout targets ``Y`` for an output layer (float64).

    sigmoid, 1 unit: 0/1 ``(1, m)``; sigmoid, k units: 0/1 ``(k, m)`` (multi-label);
    softmax: one-hot ``(C, m)`` or, with ``labels="integer"``, codes ``(1, m)``;
    anything else: real values ``(n_out, m)``.
    """
    rng = np.random.default_rng(seed)
    if activation == "sigmoid":
        return (rng.random((n_out, m)) < 0.5).astype(np.float64)
    if activation == "softmax":
        codes = rng.integers(0, n_out, size=m)
        if labels == "integer":
            return codes.reshape(1, m).astype(np.float64)
        return np.eye(n_out)[:, codes]
    return rng.normal(size=(n_out, m))


def build(layers, n_x, *, dtype="float64", rng=0) -> gn.Sequential:
    """A built Sequential model of ``layers``."""
    return gn.Sequential(layers).build(n_x, rng=rng, dtype=dtype)


# --- the contracts ------------------------------------------------------------------


def check_layer_contract(layer, n_prev: int = 4, m: int = 5, *, seed: int = 0):
    """build -> params/grads with the same keys and shapes; forward/backward shapes;
    backward before forward raises RuntimeError. Returns the built layer."""
    rng = np.random.default_rng(seed)
    n_out = layer.build(n_prev, rng, np.float64)
    assert isinstance(n_out, int) and n_out >= 1
    assert layer.n_out == n_out
    assert set(layer.params) == set(layer.grads) == set(layer.param_names)
    for key, value in layer.params.items():
        assert layer.grads[key].shape == value.shape, key
        assert value.dtype == np.float64, key
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.ones((n_out, m)))
    A_prev = rng.normal(size=(n_prev, m))
    A = layer.forward(A_prev, training=True)
    assert A.shape == (n_out, m)
    dA_prev = layer.backward(rng.normal(size=(n_out, m)))
    assert dA_prev.shape == (n_prev, m)
    for key, value in layer.grads.items():
        assert value.shape == layer.params[key].shape, key
        assert np.isfinite(value).all(), key
    inference = layer.forward(A_prev, training=False)
    assert inference.shape == (n_out, m)
    return layer


def check_model_gradients(model, X, Y, *, loss=None, regularizer=None):
    """``gn.gradient_check`` in float64 passes below 1e-7 on every parameter."""
    result = gn.gradient_check(model, X, Y, loss=loss, regularizer=regularizer)
    assert result.difference < GRADCHECK_TOLERANCE, result.table()
    assert result.passed, result.table()
    assert set(result.per_parameter) == set(model.params)
    for key, value in result.gradients.items():
        assert value.shape == model.params[key].shape, key
    return result


def run_optimizer(optimizer, params, grad_sequence):
    """Apply ``optimizer.update`` once per gradient dict in ``grad_sequence``."""
    for grads in grad_sequence:
        optimizer.update(params, grads)
    return params


def random_params(seed=0, dtype=np.float64):
    """A small params dict keyed like a model's (W1, b1, W2, b2)."""
    rng = np.random.default_rng(seed)
    shapes = {"W1": (3, 4), "b1": (3, 1), "W2": (2, 3), "b2": (2, 1)}
    return {k: rng.normal(size=s).astype(dtype) for k, s in shapes.items()}


def random_grad_sequence(params, steps, seed=1):
    """``steps`` dicts of random gradients shaped like ``params``."""
    rng = np.random.default_rng(seed)
    return [
        {k: rng.normal(size=v.shape).astype(v.dtype) for k, v in params.items()}
        for _ in range(steps)
    ]


def copy_params(params):
    return {k: v.copy() for k, v in params.items()}
