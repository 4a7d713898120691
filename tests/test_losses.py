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


# --- the stable costs from the logits Z[L] ------------------------------------------


def test_binary_cross_entropy_from_logits_hand_worked():
    # Z = (2, -1), Y = (1, 0): L = softplus(-2) = ln(1 + e^-2) = 0.12692801,
    # softplus(-1) = ln(1 + e^-1) = 0.31326169; J = 0.44018970 / 2 = 0.22009485
    Z, Y = np.array([[2.0, -1.0]]), np.array([[1.0, 0.0]])
    A = activations.sigmoid(Z)
    J = gn.BinaryCrossEntropy().cost(A, Y, logits=Z)
    assert J == pytest.approx(0.22009485, abs=1e-8)
    assert J == pytest.approx(gn.BinaryCrossEntropy().cost(A, Y), rel=1e-14)


def test_softmax_cross_entropy_from_logits_hand_worked():
    # one example, Z = (ln 7, ln 2, ln 1) -> A = (0.7, 0.2, 0.1); class 0:
    # L = -log_softmax(Z)_0 = ln 10 - ln 7 = -ln 0.7 = 0.35667494
    Z = np.log(np.array([[7.0], [2.0], [1.0]]))
    A = activations.softmax(Z)
    loss = gn.SoftmaxCrossEntropy()
    assert loss.cost(A, np.array([[0.0]]), logits=Z) == pytest.approx(0.35667494)
    assert loss.cost(A, np.eye(3)[:, :1], logits=Z) == pytest.approx(0.35667494)


def _logit_cases(dtype, scale):
    rng = np.random.default_rng(3)
    Z1 = (rng.normal(size=(1, 40)) * scale).astype(dtype)
    Zk = (rng.normal(size=(4, 40)) * scale).astype(dtype)
    multi = targets_for("sigmoid", 4, 40, seed=4).astype(dtype)
    multi[0, 1], multi[2, 3] = NAN, -1.0
    codes = targets_for("softmax", 4, 40, labels="integer")
    return [
        ("binary_cross_entropy", "sigmoid", Z1, targets_for("sigmoid", 1, 40)),
        ("softmax_cross_entropy", "softmax", Zk, targets_for("softmax", 4, 40)),
        ("softmax_cross_entropy", "softmax", Zk, codes),
        ("multi_label", "sigmoid", Zk, multi),
    ]


@pytest.mark.parametrize(
    "dtype, scale, rel",
    [
        (np.float64, 0.5, 1e-12),
        (np.float64, 5.0, 1e-12),
        (np.float32, 0.5, 2e-6),
        # float32 with outputs near 1: the notes' log(1 - a) loses digits
        (np.float32, 5.0, 1e-4),
    ],
)
def test_stable_cost_agrees_with_the_notes_formula_where_both_are_finite(
    dtype, scale, rel
):
    for name, activation, Z, Y in _logit_cases(dtype, scale):
        A = activations.get(activation).forward(Z)
        Y = Y.astype(dtype)
        reference = losses.get(name).cost(A, Y)  # -(1/m) sum y log a, from A
        assert np.isfinite(reference), name
        stable = losses.get(name).cost(A, Y, logits=Z)
        assert stable == pytest.approx(reference, rel=rel), name
        literal = losses.get(name, stable=False).cost(A, Y, logits=Z)
        assert literal == reference, name
        # and the stable cost is the closer one to the float64 value
        Z64, Y64 = Z.astype(np.float64), Y.astype(np.float64)
        A64 = activations.get(activation).forward(Z64)
        truth = losses.get(name).cost(A64, Y64)
        assert abs(stable - truth) <= abs(reference - truth) + 1e-6 * truth, name


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stable_cost_is_finite_where_the_notes_formula_gives_inf(dtype):
    # confident and wrong: sigmoid(-800) and softmax's exp(-800) round to 0 in
    # both precisions, so log a = -inf; the loss is exactly |z| (up to e^-800)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # exp overflow in sigmoid
        Z = np.array([[-800.0, 3.0]], dtype=dtype)
        A = activations.sigmoid(Z)
        Y = np.array([[1.0, 1.0]], dtype=dtype)
        bce = gn.BinaryCrossEntropy()
        assert bce.cost(A, Y) == np.inf
        expected = (800.0 + np.log1p(np.exp(-3.0))) / 2
        assert bce.cost(A, Y, logits=Z) == pytest.approx(expected, rel=1e-6)
        assert gn.BinaryCrossEntropy(stable=False).cost(A, Y, logits=Z) == np.inf
        Zk = np.array([[0.0, 0.0], [800.0, 0.0]], dtype=dtype)
        Ak = activations.softmax(Zk)
        codes = np.array([[0.0, 1.0]], dtype=dtype)
        sce = gn.SoftmaxCrossEntropy()
        assert sce.cost(Ak, codes) == np.inf
        J = sce.cost(Ak, codes, logits=Zk)
        assert J == pytest.approx((800.0 + np.log(2.0)) / 2, rel=1e-6)
        assert sce.cost(Ak, np.eye(2, dtype=dtype), logits=Zk) == pytest.approx(
            J, rel=1e-6
        )


def test_stable_cost_keeps_the_conventions_of_the_notes_formula():
    # a missing label adds exactly 0; y_j = 0 adds 0 (the notes' 0 log 0 = 0)
    Z = np.array([[2.0, -300.0], [-1.0, 0.5]])
    A = activations.sigmoid(Z)
    Y = np.array([[1.0, NAN], [-1.0, 0.0]])
    expected = (np.log1p(np.exp(-2.0)) + np.log1p(np.exp(0.5))) / 2
    assert gn.MultiLabel().cost(A, Y, logits=Z) == pytest.approx(expected, rel=1e-14)
    Zk = np.array([[0.0], [-np.inf]])  # a class with probability exactly 0
    assert gn.SoftmaxCrossEntropy().cost(
        activations.softmax(Zk), np.array([[1.0], [0.0]]), logits=Zk
    ) == pytest.approx(0.0, abs=0)


def test_mean_squared_error_ignores_logits_and_shapes_are_checked():
    A = np.array([[1.0, 2.0]])
    Y = np.array([[0.5, 4.0]])
    mse = gn.MeanSquaredError()
    assert mse.cost(A, Y, logits=np.zeros((1, 2))) == mse.cost(A, Y)
    with pytest.raises(ValueError, match=r"logits must have the output's shape"):
        gn.BinaryCrossEntropy().cost(A, np.ones((1, 2)), logits=np.zeros((2, 2)))


def test_the_notes_formula_by_name_and_in_configs():
    literal = losses.get("binary_cross_entropy", stable=False)
    assert (
        literal.stable is False and repr(literal) == "BinaryCrossEntropy(stable=False)"
    )
    assert losses.get(literal.get_config()).stable is False
    assert losses.get("softmax_cross_entropy").get_config() == {
        "name": "softmax_cross_entropy",
        "stable": True,
    }
    assert losses.get({"name": "multi_label", "stable": False}).stable is False
    with pytest.raises(ValueError, match="does not take options"):
        losses.get("mse", stable=False)
    with pytest.raises(ValueError, match="stable must be True or False"):
        gn.SoftmaxCrossEntropy(stable="yes")


# --- the model hands its logits to the cost, in fit and in evaluate -------------------


def _confident_model(dtype, activation="softmax", n_out=3):
    """A built model whose output is saturated: huge weights on a wrong class."""
    model = gn.Sequential([gn.Dense(4, "relu"), gn.Dense(n_out, activation)])
    model.build(2, rng=0, dtype=dtype)
    W = model.params[f"W{2}"]
    W[...] = 0
    W[n_out - 1] = 500.0  # every example: the last class, with logit ~500 |A1|
    return model


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation, n_out", [("softmax", 3), ("sigmoid", 1)])
def test_fit_and_evaluate_report_finite_costs_for_a_saturated_output(
    dtype, activation, n_out
):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2)) + 3.0  # relu units all active
    y = np.zeros(40, dtype=np.int64)  # class 0: wrong for every example
    model = _confident_model(dtype, activation, n_out)
    AL = model.forward(X.T)
    Y = np.zeros((1, 40))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert model.compute_cost(AL, Y) == np.inf  # the notes' formula from A
        ZL, AL2 = model.forward_logits(X.T)
        np.testing.assert_array_equal(AL2, AL)
        J = model.compute_cost(AL, Y, logits=ZL)
        assert np.isfinite(J) and J > 100
        # evaluate scores from the logits too
        scores = model.evaluate(X, y)
        assert scores["cost"] == pytest.approx(J, rel=1e-6)
        # fit's cost (the first step's, before the update) and its val_cost
        history = model.fit(
            X,
            y,
            epochs=1,
            batch_size=None,
            optimizer=gn.GradientDescent(1e-6),
            validation_data=(X, y),
            shuffle=False,
            verbose=False,
        )
    assert history["cost"][0] == pytest.approx(J, rel=1e-6)
    assert np.isfinite(history["val_cost"][0])


def test_the_notes_formula_can_be_asked_of_fit():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2)) + 3.0
    y = np.zeros(40, dtype=np.int64)
    model = _confident_model("float64")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        history = model.fit(
            X,
            y,
            epochs=1,
            batch_size=None,
            loss=gn.SoftmaxCrossEntropy(stable=False),
            optimizer=gn.GradientDescent(1e-6),
            shuffle=False,
            verbose=False,
        )
    assert history["cost"][0] == np.inf


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fit_keeps_the_logits_without_changing_the_weights_bits(dtype):
    # the buffered pass copies Z[L] before writing A over it: the weights after
    # fit are bitwise those of the reference path (fresh arrays), and so is J
    from glassnet import _kernels

    rng = np.random.default_rng(1)
    X = rng.normal(size=(64, 5))
    y = rng.integers(0, 3, size=64)
    results = []
    for fast in (True, False):
        model = gn.Sequential([gn.Dense(8, "tanh"), gn.Dense(3, "softmax")])
        model.build(5, rng=2, dtype=dtype)
        with _kernels.reference_only():
            history = model.fit(
                X,
                y,
                epochs=3,
                batch_size=16,
                optimizer=gn.GradientDescent(0.1),
                shuffle=False,
                verbose=False,
                fast=fast,
            )
        results.append((model.flat_params.copy(), history["cost"]))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    assert results[0][1] == results[1][1]
