"""Activations: forward values, derivatives (float64 gradient check), softmax law."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from contracts import PROPERTY, assert_close_gradient, central_difference
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from glassnet import activations

NAMES = ("sigmoid", "tanh", "relu", "leaky_relu", "linear", "softmax")
LN2, LN3 = np.log(2.0), np.log(3.0)


# --- hand-worked forward values --------------------------------------------------


def test_sigmoid_hand_worked():
    # sigmoid(0) = 1/(1+1) = 0.5; sigmoid(ln 3) = 1/(1 + 1/3) = 3/4;
    # sigmoid(-ln 3) = 1/(1 + 3) = 1/4
    Z = np.array([[0.0, LN3, -LN3]])
    A = activations.get("sigmoid").forward(Z)
    np.testing.assert_allclose(A, [[0.5, 0.75, 0.25]], rtol=1e-15)


def test_tanh_hand_worked():
    # tanh(ln 2) = (2 - 1/2) / (2 + 1/2) = 1.5 / 2.5 = 0.6; tanh is odd; tanh(0) = 0
    Z = np.array([[LN2, -LN2, 0.0]])
    A = activations.get("tanh").forward(Z)
    np.testing.assert_allclose(A, [[0.6, -0.6, 0.0]], rtol=1e-15, atol=1e-16)


def test_relu_hand_worked():
    # max(0, [-2, 0, 3]) = [0, 0, 3]
    A = activations.get("relu").forward(np.array([[-2.0, 0.0, 3.0]]))
    np.testing.assert_array_equal(A, [[0.0, 0.0, 3.0]])


def test_leaky_relu_hand_worked_with_slope():
    # slope 0.1: max(0.1 * -2, -2) = -0.2; 0 -> 0; max(0.3, 3) = 3
    leaky = activations.get("leaky_relu", slope=0.1)
    A = leaky.forward(np.array([[-2.0, 0.0, 3.0]]))
    np.testing.assert_allclose(A, [[-0.2, 0.0, 3.0]], rtol=1e-15)
    assert leaky.get_config() == {"name": "leaky_relu", "slope": 0.1}
    # dZ = dA where Z > 0, else slope * dA: [0.1, 0.1, 1] * [1, 2, 3]
    dZ = leaky.backward(np.array([[1.0, 2.0, 3.0]]), np.array([[-2.0, 0.0, 3.0]]), A)
    np.testing.assert_allclose(dZ, [[0.1, 0.2, 3.0]], rtol=1e-15)


def test_leaky_relu_default_slope_and_dict_config():
    assert activations.get("leaky_relu").options == {"slope": 0.01}
    leaky = activations.get({"name": "leaky_relu", "slope": 0.2})
    np.testing.assert_allclose(leaky.forward(np.array([[-1.0]])), [[-0.2]])


def test_linear_is_identity():
    Z = np.array([[-1.5, 0.0, 2.25]])
    np.testing.assert_array_equal(activations.get("linear").forward(Z), Z)
    assert activations.get(None).name == "linear"


def test_softmax_hand_worked():
    # column 1: exp(ln 1, ln 2, ln 3) = (1, 2, 3), / 6 -> (1/6, 1/3, 1/2)
    # column 2: all equal -> 1/3 each
    Z = np.array([[0.0, 5.0], [LN2, 5.0], [LN3, 5.0]])
    A = activations.get("softmax").forward(Z)
    np.testing.assert_allclose(A, [[1 / 6, 1 / 3], [1 / 3, 1 / 3], [1 / 2, 1 / 3]])


def test_softmax_is_stable_for_large_inputs():
    # shifting a column by a constant changes nothing: (1000, 1000 + ln 3) acts like
    # (0, ln 3) -> (1, 3) / 4 = (0.25, 0.75), with no overflow to inf/nan
    Z = np.array([[1000.0, -1000.0], [1000.0 + LN3, -1000.0 + LN3]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        A = activations.get("softmax").forward(Z)
    np.testing.assert_allclose(A, [[0.25, 0.25], [0.75, 0.75]], rtol=1e-12)


def test_sigmoid_saturates_without_warnings_or_nan():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        A = activations.get("sigmoid").forward(np.array([[-1000.0, 1000.0]]))
    np.testing.assert_array_equal(A, [[0.0, 1.0]])


# --- derivatives ---------------------------------------------------------------


def test_hand_worked_derivatives():
    # sigmoid'(0) = 0.5 * (1 - 0.5) = 0.25; tanh'(ln 2) = 1 - 0.6^2 = 0.64;
    # relu'(3) = 1, relu'(-2) = 0; linear' = 1
    ones = np.ones((1, 1))
    for name, z, expected in (
        ("sigmoid", 0.0, 0.25),
        ("tanh", LN2, 0.64),
        ("relu", 3.0, 1.0),
        ("relu", -2.0, 0.0),
        ("linear", -7.0, 1.0),
    ):
        g = activations.get(name)
        Z = np.array([[z]])
        dZ = g.backward(ones, Z, g.forward(Z))
        np.testing.assert_allclose(dZ, [[expected]], rtol=1e-14, err_msg=name)


@pytest.mark.parametrize("name", NAMES)
def test_derivative_matches_float64_central_difference(name):
    """dZ = backward(dA, Z, A) is the gradient of sum(dA * g(Z)) with respect to Z."""
    options = {"slope": 0.2} if name == "leaky_relu" else {}
    g = activations.get(name, **options)
    rng = np.random.default_rng(3)
    Z = rng.normal(scale=2.0, size=(4, 6))
    Z = np.where(np.abs(Z) < 0.1, 0.5, Z)  # keep away from relu's kink
    dA = rng.normal(size=Z.shape)
    dZ = g.backward(dA, Z, g.forward(Z))
    numeric = central_difference(lambda z: float(np.sum(dA * g.forward(z))), Z)
    assert dZ.shape == Z.shape
    assert_close_gradient(dZ, numeric, what=name)


@pytest.mark.parametrize("name", NAMES)
def test_float32_in_float32_out(name):
    g = activations.get(name)
    Z = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    A = g.forward(Z)
    assert A.dtype == np.float32
    assert g.backward(np.ones_like(Z), Z, A).dtype == np.float32


# --- softmax law (hypothesis) ------------------------------------------------------


@PROPERTY
@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=6),
        elements=st.floats(-500, 500, allow_nan=False),
    )
)
def test_softmax_columns_sum_to_one(Z):
    A = activations.get("softmax").forward(Z)
    assert np.isfinite(A).all()
    assert (A >= 0).all() and (A <= 1).all()
    np.testing.assert_allclose(A.sum(axis=0), 1.0, rtol=0, atol=1e-12)


# --- names and options -------------------------------------------------------------


def test_unknown_name_is_a_value_error_naming_it():
    with pytest.raises(ValueError, match="'swish'"):
        activations.get("swish")


def test_unknown_option_and_bad_slope():
    with pytest.raises(ValueError, match="slope"):
        activations.get("relu", slope=0.1)
    with pytest.raises(
        ValueError, match=r"slope must be in \[0, 1\); received slope=1"
    ):
        activations.get("leaky_relu", slope=1)
    with pytest.raises(ValueError, match="slope=-0.5"):
        activations.get("leaky_relu", slope=-0.5)


def test_get_passes_an_activation_through():
    g = activations.get("tanh")
    assert activations.get(g) is g
    assert set(activations.NAMES) == set(NAMES)
