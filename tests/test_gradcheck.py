"""gn.gradient_check: passes correct models, catches broken backward passes."""

from __future__ import annotations

import numpy as np
import pytest
from contracts import build, check_model_gradients, columns, targets_for

import glassnet as gn
from glassnet.layers import Dense

MODELS = {
    "relu": (lambda: [gn.Dense(5, "relu"), gn.Dense(1, "sigmoid")], "sigmoid", {}),
    "tanh": (lambda: [gn.Dense(5, "tanh"), gn.Dense(3, "softmax")], "softmax", {}),
    "sigmoid": (lambda: [gn.Dense(4, "sigmoid"), gn.Dense(2)], "linear", {}),
    "softmax-deep": (
        lambda: [
            gn.Dense(5, "relu"),
            gn.Dense(4, "leaky_relu"),
            gn.Dense(3, "softmax"),
        ],
        "softmax",
        {},
    ),
    "L2": (
        lambda: [gn.Dense(5, "relu"), gn.Dense(1, "sigmoid")],
        "sigmoid",
        {"regularizer": gn.L2(0.7)},
    ),
    "L1": (
        lambda: [gn.Dense(5, "tanh"), gn.Dense(1, "sigmoid")],
        "sigmoid",
        {"regularizer": gn.L1(0.3)},
    ),
    "batchnorm": (
        lambda: [
            gn.Dense(5),
            gn.BatchNorm(),
            gn.Activation("relu"),
            gn.Dense(3, "softmax"),
        ],
        "softmax",
        {},
    ),
}


@pytest.mark.parametrize("name", MODELS)
def test_correct_models_pass(name):
    layers, output, options = MODELS[name]
    model = build(layers(), 4, rng=1)
    X = columns(4, 8, seed=2)
    result = check_model_gradients(
        model, X, targets_for(output, model.n_out, 8), **options
    )
    assert result.max_relative_error < 1e-6
    assert result.verdict.startswith("correct")
    assert "verdict: correct" in result.table()


def test_a_float32_model_is_checked_in_float64_and_left_untouched():
    model = build(
        [gn.Dense(5), gn.BatchNorm(), gn.Activation("tanh"), gn.Dense(1, "sigmoid")],
        4,
        dtype="float32",
    )
    weights = model.get_weights()
    result = check_model_gradients(
        model, columns(4, 8).astype(np.float32), targets_for("sigmoid", 1, 8)
    )
    assert all(v.dtype == np.float64 for v in result.gradients.values())
    for key, value in model.get_weights().items():
        np.testing.assert_array_equal(value, weights[key])  # running stats included
        assert value.dtype == np.float32


def test_regularizer_argument_is_applied():
    model = build([gn.Dense(4, "relu"), gn.Dense(1, "sigmoid")], 3)
    X, Y = columns(3, 6), targets_for("sigmoid", 1, 6)
    plain = gn.gradient_check(model, X, Y)
    with_l2 = check_model_gradients(model, X, Y, regularizer=gn.L2(2.0))
    # dW += lambd / m W = 2 / 6 W
    np.testing.assert_allclose(
        with_l2.gradients["W1"] - plain.gradients["W1"],
        2.0 / 6 * model.params["W1"],
        rtol=1e-10,
    )
    np.testing.assert_allclose(with_l2.gradients["b1"], plain.gradients["b1"])


def test_catches_a_backward_that_doubles_dW(monkeypatch):
    model = build([gn.Dense(4, "tanh"), gn.Dense(1, "sigmoid")], 3)
    X, Y = columns(3, 6), targets_for("sigmoid", 1, 6)
    correct = Dense.backward

    def doubled(self, dA=None, **options):
        dA_prev = correct(self, dA, **options)
        self.grads["W"] *= 2
        return dA_prev

    monkeypatch.setattr(Dense, "backward", doubled)
    result = gn.gradient_check(model, X, Y)
    assert result.difference > 1e-3
    assert result.passed is False
    assert result.verdict.startswith("WRONG")
    assert result.per_parameter["W1"] > 1e-3 and result.per_parameter["b1"] < 1e-7
    assert result.worst in ("W1", "W2")


def test_catches_buggy_gradients_passed_in():
    model = build([gn.Dense(4, "relu"), gn.Dense(3, "softmax")], 3, rng=3)
    X, Y = columns(3, 6), targets_for("softmax", 3, 6)
    good = gn.gradient_check(model, X, Y)
    assert good.passed
    buggy = {k: v.copy() for k, v in good.gradients.items()}
    buggy["b2"] = -buggy["b2"]  # a sign error in db[2]
    result = gn.gradient_check(model, X, Y, gradients=buggy)
    assert result.difference > 1e-3
    assert result.passed is False
    assert result.worst == "b2"
    assert result.per_parameter["W1"] < 1e-7
    with pytest.raises(ValueError, match="W1"):
        gn.gradient_check(model, X, Y, gradients={"b2": buggy["b2"]})


def test_rejects_row_layout_input():
    model = build([gn.Dense(2, "sigmoid")], 3)
    with pytest.raises(ValueError, match=r"\(n\[0\], m\) = \(3, m\)"):
        gn.gradient_check(model, columns(6, 3), targets_for("sigmoid", 2, 6))


def test_requires_a_built_model():
    with pytest.raises(RuntimeError, match="not built"):
        gn.gradient_check(
            gn.Sequential([gn.Dense(1)]), np.zeros((2, 3)), np.zeros((1, 3))
        )


def test_numerical_gradient_of_a_linear_function():
    # J(theta) = theta . x has gradient x exactly
    x = np.array([[3.0, -1.0], [0.5, 2.0]])
    theta = np.array([[0.2, 0.4], [-0.7, 1.1]])
    kept = theta.copy()
    approximation = gn.numerical_gradient(lambda t: float(np.sum(t * x)), theta)
    assert approximation.shape == theta.shape
    assert gn.relative_difference(x, approximation) < 1e-7
    np.testing.assert_allclose(approximation, x, rtol=1e-7)
    np.testing.assert_array_equal(theta, kept)  # perturbed in place, then restored


def test_numerical_gradient_of_a_quadratic():
    # J = sum(theta^2) -> 2 theta; the two-sided difference is exact up to rounding
    theta = np.array([1.0, -2.0, 0.5])
    approximation = gn.numerical_gradient(lambda t: float(np.sum(t**2)), theta)
    assert gn.relative_difference(2 * theta, approximation) < 1e-7


def test_relative_difference_hand_worked():
    # g = (1, 0), g_approx = (0, 1): ||(1, -1)|| / (1 + 1) = sqrt(2)/2 = 0.70710678
    assert gn.relative_difference([1.0, 0.0], [0.0, 1.0]) == pytest.approx(
        0.70710678, abs=1e-8
    )
    # g = (3, 4), approx = (3, 4.5): ||(0, -0.5)|| / (5 + 5.40832691) = 0.04803845
    assert gn.relative_difference([3.0, 4.0], [3.0, 4.5]) == pytest.approx(
        0.5 / (5 + np.sqrt(9 + 20.25)), rel=1e-12
    )
    assert gn.relative_difference([0.0, 0.0], [0.0, 0.0]) == 0.0
    assert gn.relative_difference(np.ones((2, 2)), np.ones(4)) == 0.0
