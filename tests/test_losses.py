"""Losses: hand-worked costs, dA against numerical derivatives, dZ = A - Y, masks."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from contracts import assert_close_gradient, central_difference, targets_for

import glassnet as gn
from glassnet import activations, losses

NAN = np.nan


# --- hand-worked costs --------------------------------------------------------------


def test_binary_cross_entropy_hand_worked():
    # A = (0.8, 0.4), Y = (1, 0): L = -ln 0.8 = 0.22314355, -ln(1 - 0.4) = 0.51082562
    # J = (0.22314355 + 0.51082562) / 2 = 0.36698459
    A, Y = np.array([[0.8, 0.4]]), np.array([[1.0, 0.0]])
    J = gn.BinaryCrossEntropy().cost(A, Y)
    assert isinstance(J, float)
    assert J == pytest.approx(0.36698459, abs=1e-8)
    # dZ = A - Y = (-0.2, 0.4)
    np.testing.assert_allclose(gn.BinaryCrossEntropy().output_dZ(A, Y), [[-0.2, 0.4]])


def test_softmax_cross_entropy_hand_worked_one_hot_and_integer():
    # columns are examples; example 1 is class 0 (a = 0.7), example 2 class 2 (a = 0.3)
    # J = -(ln 0.7 + ln 0.3) / 2 = (0.35667494 + 1.20397280) / 2 = 0.78032387
    A = np.array([[0.7, 0.2], [0.2, 0.5], [0.1, 0.3]])
    one_hot = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])
    codes = np.array([[0.0, 2.0]])
    loss = gn.SoftmaxCrossEntropy()
    assert loss.cost(A, one_hot) == pytest.approx(0.78032387, abs=1e-8)
    assert loss.cost(A, codes) == pytest.approx(0.78032387, abs=1e-8)
    # dZ = A - Y: (0.7 - 1, 0.2, 0.1) and (0.2, 0.5, 0.3 - 1)
    expected = [[-0.3, 0.2], [0.2, 0.5], [0.1, -0.7]]
    np.testing.assert_allclose(loss.output_dZ(A, one_hot), expected, atol=1e-15)
    np.testing.assert_allclose(loss.output_dZ(A, codes), expected, atol=1e-15)
    # the integer path must not modify its input
    np.testing.assert_array_equal(A, [[0.7, 0.2], [0.2, 0.5], [0.1, 0.3]])


def test_mean_squared_error_hand_worked():
    # A = (1, 2), Y = (0.5, 4): J = (0.5^2 + 2^2) / (2 * 2) = 4.25 / 4 = 1.0625
    A, Y = np.array([[1.0, 2.0]]), np.array([[0.5, 4.0]])
    assert gn.MeanSquaredError().cost(A, Y) == pytest.approx(1.0625, abs=1e-15)
    np.testing.assert_allclose(gn.MeanSquaredError().dA(A, Y), [[0.5, -2.0]])


def test_multi_label_hand_worked_with_missing_labels():
    # two labels (rows) x two examples (columns); NaN and -1 are missing.
    # present: (0,0) y=1, a=0.9 -> -ln 0.9 = 0.10536052
    #          (1,1) y=0, a=0.7 -> -ln 0.3 = 1.20397280
    # J = (0.10536052 + 1.20397280) / m=2 = 0.65466666
    A = np.array([[0.9, 0.2], [0.6, 0.7]])
    Y = np.array([[1.0, NAN], [-1.0, 0.0]])
    loss = gn.MultiLabel()
    assert loss.cost(A, Y) == pytest.approx(0.65466666, abs=1e-8)
    # dZ = (A - Y) * present = (0.9 - 1, 0; 0, 0.7)
    np.testing.assert_allclose(loss.output_dZ(A, Y), [[-0.1, 0.0], [0.0, 0.7]])


# --- dA against the numerical derivative of m * J ---------------------------------


def _cases():
    rng = np.random.default_rng(0)
    A_prob = rng.uniform(0.05, 0.95, size=(3, 5))
    A_softmax = activations.softmax(rng.normal(size=(4, 5)))
    multi = targets_for("sigmoid", 3, 5, seed=2)
    multi[0, 1], multi[2, 3] = NAN, -1.0
    return [
        ("binary_cross_entropy", A_prob[:1], targets_for("sigmoid", 1, 5)),
        ("softmax_cross_entropy", A_softmax, targets_for("softmax", 4, 5)),
        (
            "softmax_cross_entropy",
            A_softmax,
            targets_for("softmax", 4, 5, labels="integer"),
        ),
        ("mean_squared_error", rng.normal(size=(2, 5)), rng.normal(size=(2, 5))),
        ("multi_label", A_prob, multi),
    ]


@pytest.mark.parametrize(
    "name, A, Y", _cases(), ids=["bce", "sce-onehot", "sce-int", "mse", "multi"]
)
def test_dA_is_the_derivative_of_m_times_J(name, A, Y):
    loss = losses.get(name)
    m = A.shape[1]
    dA = loss.dA(A, Y)
    assert dA.shape == A.shape
    numeric = central_difference(lambda a: m * loss.cost(a, Y), A, epsilon=1e-7)
    assert_close_gradient(dA, numeric, what=name)


@pytest.mark.parametrize(
    "name, activation, n_out, labels",
    [
        ("binary_cross_entropy", "sigmoid", 1, "one_hot"),
        ("softmax_cross_entropy", "softmax", 3, "one_hot"),
        ("softmax_cross_entropy", "softmax", 3, "integer"),
        ("mean_squared_error", "linear", 2, "one_hot"),
        ("multi_label", "sigmoid", 3, "one_hot"),
    ],
    ids=["bce", "sce-onehot", "sce-int", "mse", "multi"],
)
def test_output_dZ_is_dA_back_propagated_through_the_matching_activation(
    name, activation, n_out, labels
):
    loss = losses.get(name)
    assert loss.matching_activation == activation
    g = activations.get(activation)
    Y = targets_for(activation, n_out, 6, labels=labels)
    Z = np.random.default_rng(5).normal(size=(n_out, 6))
    A = g.forward(Z)
    dZ = loss.output_dZ(A, Y)
    chained = g.backward(loss.dA(A, Y), Z, A)
    np.testing.assert_allclose(dZ, chained, rtol=1e-10, atol=1e-12)
    # and it is A - Y (with Y one-hot)
    if labels == "integer":
        Y = np.eye(n_out)[:, Y[0].astype(int)]
    np.testing.assert_allclose(dZ, A - Y, rtol=1e-12, atol=1e-15)


# --- missing labels and saturation ------------------------------------------------


@pytest.mark.parametrize("missing", [NAN, -1.0])
def test_a_missing_label_contributes_exactly_zero(missing):
    loss = gn.MultiLabel()
    Y = np.array([[1.0, 0.0], [missing, 1.0]])
    costs, dZs, dAs = [], [], []
    for a in (0.01, 0.5, 0.99, 0.0, 1.0):  # even a saturated output at the hole
        A = np.array([[0.8, 0.3], [a, 0.6]])
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            costs.append(loss.cost(A, Y))
            dZs.append(loss.output_dZ(A, Y))
            dAs.append(loss.dA(A, Y))
    assert len(set(costs)) == 1 and np.isfinite(costs[0])
    for dZ, dA in zip(dZs, dAs, strict=True):
        assert dZ[1, 0] == 0.0 and dA[1, 0] == 0.0
        np.testing.assert_array_equal(dZ, dZs[0])
    # the cost equals binary CE over the present labels only, divided by m = 2:
    # -(ln 0.8 + ln 0.7 + ln 0.6) / 2
    expected = -(np.log(0.8) + np.log(0.7) + np.log(0.6)) / 2
    assert costs[0] == pytest.approx(expected, rel=1e-14)


def test_multi_label_output_dZ_keeps_the_dtype():
    A = np.array([[0.8, 0.3]], dtype=np.float32)
    Y = np.array([[1.0, NAN]], dtype=np.float32)
    assert gn.MultiLabel().output_dZ(A, Y).dtype == np.float32


def test_zero_log_zero_is_zero():
    # a saturated output that is right costs 0, not nan: 0 * log 0 = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert (
            gn.BinaryCrossEntropy().cost(np.array([[1.0, 0.0]]), np.array([[1.0, 0.0]]))
            == 0.0
        )
        A = np.array([[1.0, 0.0], [0.0, 1.0]])
        assert gn.SoftmaxCrossEntropy().cost(A, np.eye(2)) == 0.0
        assert gn.SoftmaxCrossEntropy().cost(A, np.array([[0.0, 1.0]])) == 0.0
        Y = np.array([[1.0, NAN], [0.0, 1.0]])
        assert gn.MultiLabel().cost(np.array([[1.0, 0.5], [0.0, 1.0]]), Y) == 0.0
        dZ = gn.BinaryCrossEntropy().output_dZ(np.array([[1.0, 0.0]]), np.eye(1, 2))
        np.testing.assert_array_equal(dZ, [[0.0, 0.0]])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_xlogy_matches_scipy(dtype):
    from scipy.special import xlogy as scipy_xlogy

    rng = np.random.default_rng(0)
    x, y = rng.random((2, 1000)).astype(dtype)
    x[:10], y[5:15], y[20], x[20], y[21] = 0, 0, np.nan, 0, np.inf
    ours, theirs = losses.xlogy(x, y), scipy_xlogy(x, y)
    assert ours.dtype == theirs.dtype == dtype
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    np.testing.assert_array_max_ulp(ours, theirs, maxulp=2)


def test_saturated_wrong_output_costs_inf_not_nan():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        J = gn.BinaryCrossEntropy().cost(np.array([[1.0, 0.5]]), np.array([[0.0, 1.0]]))
    assert J == np.inf


# --- names ----------------------------------------------------------------------


def test_get_names_aliases_and_unknown():
    assert isinstance(losses.get("bce"), gn.BinaryCrossEntropy)
    assert isinstance(losses.get("mse"), gn.MeanSquaredError)
    assert isinstance(losses.get({"name": "multi_label"}), gn.MultiLabel)
    loss = gn.SoftmaxCrossEntropy()
    assert losses.get(loss) is loss
    with pytest.raises(ValueError, match="'hinge'"):
        losses.get("hinge")


def test_loss_inferred_from_the_output_activation():
    assert isinstance(losses.for_output("sigmoid", 1), gn.BinaryCrossEntropy)
    assert not isinstance(losses.for_output("sigmoid", 1), gn.MultiLabel)
    assert isinstance(losses.for_output("sigmoid", 4), gn.MultiLabel)
    assert isinstance(losses.for_output("softmax", 10), gn.SoftmaxCrossEntropy)
    assert isinstance(losses.for_output("linear", 2), gn.MeanSquaredError)
