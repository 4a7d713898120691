"""Layers (Dense, Dropout, BatchNorm, Activation) and weight initializers.

Each layer passes the shared contract (tests/contracts.py): keys and shapes,
backward before forward raises, and a float64 gradient check below 1e-7 of a small
model that contains it; plus one hand-worked step with the arithmetic written out.
"""

from __future__ import annotations

import numpy as np
import pytest
from contracts import (
    PROPERTY,
    build,
    check_layer_contract,
    check_model_gradients,
    columns,
    targets_for,
)
from hypothesis import given
from hypothesis import strategies as st

import glassnet as gn
from glassnet import initializers

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "linear", "softmax")
F64 = np.float64


# === Dense ===========================================================================


@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dense_contract(activation, use_bias):
    layer = gn.Dense(3, activation, use_bias=use_bias)
    check_layer_contract(layer, n_prev=4, m=5)
    expected = {"W", "b"} if use_bias else {"W"}
    assert set(layer.params) == expected
    assert layer.params["W"].shape == (3, 4)
    if use_bias:
        assert layer.params["b"].shape == (3, 1)
        np.testing.assert_array_equal(layer.params["b"], 0.0)


@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dense_gradient_check_each_activation(activation, use_bias):
    # hidden Dense with the activation under test, a sigmoid output
    model = build(
        [gn.Dense(3, activation, use_bias=use_bias), gn.Dense(1, "sigmoid")], 4
    )
    X = columns(4, 6, seed=1)
    check_model_gradients(model, X, targets_for("sigmoid", 1, 6))


@pytest.mark.parametrize(
    "activation, n_out, loss",
    [
        ("sigmoid", 1, None),  # binary CE, fused dZ = A - Y
        ("sigmoid", 3, None),  # multi-label
        ("softmax", 3, None),  # softmax CE, fused
        ("linear", 2, None),  # MSE, fused
        ("tanh", 2, "mean_squared_error"),  # not fused: dA through tanh'
        ("relu", 2, "mean_squared_error"),
        ("leaky_relu", 2, "mean_squared_error"),
        ("softmax", 3, "mean_squared_error"),  # not fused: the softmax Jacobian
    ],
)
def test_dense_as_output_layer_gradient_check(activation, n_out, loss):
    model = build([gn.Dense(4, "tanh"), gn.Dense(n_out, activation)], 3, rng=2)
    X = columns(3, 7, seed=3)
    kind = activation if loss is None else "linear"
    check_model_gradients(model, X, targets_for(kind, n_out, 7), loss=loss)


def test_softmax_output_with_integer_labels_gradient_check():
    model = build([gn.Dense(4, "relu"), gn.Dense(3, "softmax")], 3, rng=4)
    X = columns(3, 8, seed=4)
    check_model_gradients(model, X, targets_for("softmax", 3, 8, labels="integer"))


@pytest.mark.parametrize("regularizer", [gn.L2(0.7), gn.L1(0.3)], ids=["L2", "L1"])
def test_dense_with_its_own_regularizer_gradient_check(regularizer):
    model = build(
        [gn.Dense(4, "relu", regularizer=regularizer), gn.Dense(1, "sigmoid")], 3
    )
    X = columns(3, 5, seed=6)
    result = check_model_gradients(model, X, targets_for("sigmoid", 1, 5))
    # the penalty is really in there: without it the gradient of W1 differs
    plain = build([gn.Dense(4, "relu"), gn.Dense(1, "sigmoid")], 3)
    plain.set_weights(model.get_weights())
    without = gn.gradient_check(plain, X, targets_for("sigmoid", 1, 5))
    assert not np.allclose(result.gradients["W1"], without.gradients["W1"])
    np.testing.assert_allclose(result.gradients["W2"], without.gradients["W2"])


def _hand_worked_dense(activation="relu", regularizer=None):
    layer = gn.Dense(2, activation, regularizer=regularizer)
    layer.build(2, np.random.default_rng(0), F64)
    layer.params["W"][...] = [[1.0, -1.0], [2.0, 0.5]]
    layer.params["b"][...] = [[0.5], [-1.0]]
    return layer


# A_prev has two examples as columns: x1 = (1, 3), x2 = (2, -1)
A_PREV = np.array([[1.0, 2.0], [3.0, -1.0]])
D_A = np.array([[1.0, 2.0], [-1.0, 1.0]])


def test_dense_hand_worked_forward_backward():
    layer = _hand_worked_dense()
    # Z = W A_prev + b
    #   row 1, W = (1, -1): x1: 1 - 3 = -2, + 0.5 = -1.5;  x2: 2 + 1 = 3, + 0.5 = 3.5
    #   row 2, W = (2, .5): x1: 2 + 1.5 = 3.5, - 1 = 2.5;  x2: 4 - 0.5 = 3.5, - 1 = 2.5
    # A = relu(Z) = [[0, 3.5], [2.5, 2.5]]
    A = layer.forward(A_PREV, training=True)
    np.testing.assert_allclose(A, [[0.0, 3.5], [2.5, 2.5]])
    # dZ = dA * (Z > 0) = [[1, 2], [-1, 1]] * [[0, 1], [1, 1]] = [[0, 2], [-1, 1]]
    # dW = dZ A_prev^T / m, A_prev^T = [[1, 3], [2, -1]]:
    #   row 1: (0*1 + 2*2, 0*3 + 2*-1) = (4, -2)   row 2: (-1 + 2, -3 - 1) = (1, -4)
    #   / 2 -> [[2, -1], [0.5, -2]]
    # db = sum(dZ, axis=1) / m = [[2], [0]] / 2 = [[1], [0]]
    # dA_prev = W^T dZ, W^T = [[1, 2], [-1, 0.5]]:
    #   row 1: (0 - 2, 2 + 2) = (-2, 4)   row 2: (0 - 0.5, -2 + 0.5) = (-0.5, -1.5)
    dA_prev = layer.backward(D_A)
    np.testing.assert_allclose(layer.grads["W"], [[2.0, -1.0], [0.5, -2.0]])
    np.testing.assert_allclose(layer.grads["b"], [[1.0], [0.0]])
    np.testing.assert_allclose(dA_prev, [[-2.0, 4.0], [-0.5, -1.5]])


def test_dense_hand_worked_l2_and_l1():
    # L2, lambd = 0.4, m = 2: dW += 0.4/2 W = 0.2 W
    #   [[2 + 0.2, -1 - 0.2], [0.5 + 0.4, -2 + 0.1]] = [[2.2, -1.2], [0.9, -1.9]]
    #   cost = 0.4 / (2*2) * (1 + 1 + 4 + 0.25) = 0.1 * 6.25 = 0.625
    layer = _hand_worked_dense(regularizer=gn.L2(0.4))
    layer.forward(A_PREV, training=True)
    layer.backward(D_A)
    np.testing.assert_allclose(layer.grads["W"], [[2.2, -1.2], [0.9, -1.9]])
    np.testing.assert_allclose(layer.grads["b"], [[1.0], [0.0]])  # b never penalized
    assert layer.regularization_cost(2) == pytest.approx(0.625)
    # L1, lambd = 0.4: dW += 0.2 sign(W) -> [[2.2, -1.2], [0.7, -1.8]]
    #   cost = 0.4 / 2 * (1 + 1 + 2 + 0.5) = 0.2 * 4.5 = 0.9
    layer = _hand_worked_dense(regularizer=gn.L1(0.4))
    layer.forward(A_PREV, training=True)
    layer.backward(D_A)
    np.testing.assert_allclose(layer.grads["W"], [[2.2, -1.2], [0.7, -1.8]])
    assert layer.regularization_cost(2) == pytest.approx(0.9)


def test_dense_backward_from_dZ_for_a_fused_output():
    layer = _hand_worked_dense("sigmoid")
    layer.forward(A_PREV, training=True)
    dZ = np.array([[0.0, 2.0], [-1.0, 1.0]])
    dA_prev = layer.backward(dZ=dZ)
    # the same dZ as the relu case above: same dW, db and dA_prev
    np.testing.assert_allclose(layer.grads["W"], [[2.0, -1.0], [0.5, -2.0]])
    np.testing.assert_allclose(dA_prev, [[-2.0, 4.0], [-0.5, -1.5]])


def test_dense_inference_forward_does_not_cache():
    layer = gn.Dense(2)
    layer.build(3, np.random.default_rng(0), F64)
    layer.forward(columns(3, 4), training=False)
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.ones((2, 4)))


def test_dense_argument_errors():
    with pytest.raises(ValueError, match="units"):
        gn.Dense(0)
    with pytest.raises(ValueError, match="'swish'"):
        gn.Dense(3, "swish")
    with pytest.raises(ValueError, match="'kaiming'"):
        gn.Dense(3, initializer="kaiming")
    with pytest.raises(ValueError, match="regularizer"):
        gn.Dense(3, regularizer="l2")
    with pytest.raises(ValueError, match="lambd"):
        gn.L2(-1.0)


def test_dense_default_initializer():
    assert gn.Dense(3, "relu").initializer.name == "he"
    assert gn.Dense(3, "leaky_relu").initializer.name == "he"
    assert gn.Dense(3, "tanh").initializer.name == "xavier"
    assert gn.Dense(3, "sigmoid").initializer.name == "xavier"


def test_dense_config_round_trip():
    layer = gn.Dense(
        5,
        {"name": "leaky_relu", "slope": 0.2},
        initializer={"name": "random", "scale": 0.5},
        use_bias=False,
        regularizer=gn.L2(0.3),
        name="hidden",
        trainable=False,
    )
    config = layer.get_config()
    again = gn.Dense.from_config(dict(config))
    assert again.get_config() == config
    assert again.activation.options == {"slope": 0.2}
    assert again.initializer.scale == 0.5
    assert isinstance(again.regularizer, gn.L2) and again.regularizer.lambd == 0.3
    assert again.use_bias is False and again.trainable is False


# === Activation layer ================================================================


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_activation_layer_contract(activation):
    layer = check_layer_contract(gn.Activation(activation), n_prev=4, m=5)
    assert layer.params == {} and layer.n_out == 4


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "leaky_relu"])
def test_activation_layer_gradient_check(activation):
    model = build(
        [gn.Dense(4), gn.Activation(activation), gn.Dense(1, "sigmoid")], 3, rng=1
    )
    # an Activation after a linear Dense keeps the bias (only BatchNorm drops it)
    assert list(model.params) == ["W1", "b1", "W2", "b2"]
    check_model_gradients(model, columns(3, 6, seed=2), targets_for("sigmoid", 1, 6))


def test_activation_layer_as_output_gradient_check():
    model = build([gn.Dense(3), gn.Activation("softmax")], 4, rng=3)
    assert model.output_activation == "softmax"
    assert isinstance(model.default_loss(), gn.SoftmaxCrossEntropy)
    check_model_gradients(model, columns(4, 6, seed=3), targets_for("softmax", 3, 6))


# === Dropout ==========================================================================


def test_dropout_contract():
    layer = check_layer_contract(gn.Dropout(0.7, rng=0), n_prev=4, m=5)
    assert layer.params == {} and layer.n_out == 4


@pytest.mark.parametrize("keep_prob", [0, 0.0, -0.1, 1.5, 1.0000001])
def test_dropout_keep_prob_outside_0_1_errors(keep_prob):
    with pytest.raises(ValueError) as info:
        gn.Dropout(keep_prob)
    message = str(info.value)
    assert "keep_prob must be in (0, 1]" in message
    assert f"received keep_prob={keep_prob!r}" in message


def test_dropout_keep_prob_message_as_in_the_design():
    with pytest.raises(
        ValueError, match=r"^keep_prob must be in \(0, 1\]; received keep_prob=1\.5$"
    ):
        gn.Dropout(1.5)
    with pytest.raises(ValueError, match="keep_prob"):
        gn.Dropout(float("nan"))


def test_dropout_is_the_identity_at_inference():
    layer = gn.Dropout(0.5, rng=0)
    layer.build(6, None, F64)
    A = columns(6, 10)
    np.testing.assert_array_equal(layer.forward(A, training=False), A)


@PROPERTY
@given(
    keep_prob=st.floats(0.05, 1.0),
    seed=st.integers(0, 2**16),
)
def test_inverted_dropout_keeps_the_mean(keep_prob, seed):
    layer = gn.Dropout(keep_prob, rng=seed)
    layer.build(200, None, F64)
    A_prev = np.ones((200, 250))  # N = 50 000 units
    A = layer.forward(A_prev, training=True)
    # every unit is 0 or 1/keep_prob
    kept = A != 0
    np.testing.assert_allclose(A[kept], 1.0 / keep_prob, rtol=1e-12)
    # E[A] = keep_prob * 1/keep_prob = 1; std of the mean sqrt((1-p)/(p N))
    N = A.size
    sigma = np.sqrt((1 - keep_prob) / (keep_prob * N))
    assert abs(A.mean() - 1.0) <= 6 * sigma + 1e-12
    assert (
        abs(kept.mean() - keep_prob)
        <= 6 * np.sqrt(keep_prob * (1 - keep_prob) / N) + 1e-12
    )


def test_dropout_backward_uses_the_forward_mask():
    layer = gn.Dropout(0.6, rng=3)
    layer.build(5, None, F64)
    A_prev = columns(5, 40, seed=1) + 10.0  # nothing is zero before the mask
    A = layer.forward(A_prev, training=True)
    mask = A != 0
    assert 0 < mask.mean() < 1
    dA = columns(5, 40, seed=2)
    dA_prev = layer.backward(dA)
    # dA_prev = dA * D / keep_prob with the same D as forward
    np.testing.assert_allclose(dA_prev, dA * mask / 0.6, rtol=1e-15)
    np.testing.assert_allclose(A, A_prev * mask / 0.6, rtol=1e-15)
    # the next forward draws a new mask, the backward follows it
    A2 = layer.forward(A_prev, training=True)
    assert not np.array_equal(A2 != 0, mask)
    np.testing.assert_allclose(layer.backward(dA), dA * (A2 != 0) / 0.6, rtol=1e-15)


def test_dropout_reproduces_the_course_masks_with_a_random_state():
    # the course: np.random.seed(1); D1 = np.random.rand(*A1.shape) < keep_prob
    keep_prob = 0.7
    layer = gn.Dropout(keep_prob, rng=np.random.RandomState(1))
    layer.build(4, None, F64)
    A_prev = np.ones((4, 6))
    expected = (np.random.RandomState(1).rand(4, 6) < keep_prob) / keep_prob
    np.testing.assert_array_equal(layer.forward(A_prev, training=True), expected)


def test_dropout_keep_prob_one_is_inactive_and_gradient_checkable():
    layer = gn.Dropout(1.0)
    assert not layer.active
    model = build([gn.Dense(4, "relu"), layer, gn.Dense(1, "sigmoid")], 3)
    X = columns(3, 5)
    np.testing.assert_array_equal(
        model.forward(X, training=True), model.forward(X, training=False)
    )
    check_model_gradients(model, X, targets_for("sigmoid", 1, 5))


def test_gradient_check_refuses_active_dropout():
    model = build([gn.Dense(4, "relu"), gn.Dropout(0.8), gn.Dense(1, "sigmoid")], 3)
    with pytest.raises(ValueError, match=r"keep_prob=0\.8"):
        gn.gradient_check(model, columns(3, 5), targets_for("sigmoid", 1, 5))


def test_dropout_config_round_trip():
    config = gn.Dropout(0.8, name="drop").get_config()
    assert gn.Dropout.from_config(dict(config)).get_config() == config


# === BatchNorm ========================================================================


def test_batchnorm_contract():
    layer = check_layer_contract(gn.BatchNorm(), n_prev=4, m=6)
    assert set(layer.params) == {"gamma", "beta"}
    np.testing.assert_array_equal(layer.params["gamma"], np.ones((4, 1)))
    np.testing.assert_array_equal(layer.params["beta"], np.zeros((4, 1)))
    assert set(layer.state) == {"running_mean", "running_var"}
    assert layer.state["running_mean"].shape == (4, 1)


def test_batchnorm_hand_worked_forward():
    # one unit, Z = (1, 3): mu = 2, sigma^2 = ((1-2)^2 + (3-2)^2)/2 = 1
    # Z_norm = (-1, 1) / sqrt(1 + eps); gamma = 2, beta = 0.5:
    # Z_tilde = (-2 + 0.5, 2 + 0.5) = (-1.5, 2.5)   (eps = 1e-12 is negligible)
    layer = gn.BatchNorm(epsilon=1e-12)
    layer.build(1, None, F64)
    layer.params["gamma"][...] = 2.0
    layer.params["beta"][...] = 0.5
    out = layer.forward(np.array([[1.0, 3.0]]), training=True)
    np.testing.assert_allclose(out, [[-1.5, 2.5]], rtol=1e-10)
    # backward, dZ_tilde = (1, 0): dbeta = mean = 0.5; dgamma = mean(dA Z_norm) = -0.5
    # dZ = gamma/sigma (dA - mean(dA) - Z_norm mean(dA Z_norm))
    #    = 2 * ((1, 0) - 0.5 - (-1, 1) * -0.5) = 2 * ((0.5, -0.5) - (0.5, -0.5)) = 0
    dZ = layer.backward(np.array([[1.0, 0.0]]))
    np.testing.assert_allclose(layer.grads["beta"], [[0.5]])
    np.testing.assert_allclose(layer.grads["gamma"], [[-0.5]], rtol=1e-10)
    np.testing.assert_allclose(dZ, [[0.0, 0.0]], atol=1e-10)


def test_batchnorm_training_output_is_normalized():
    layer = gn.BatchNorm()
    layer.build(5, None, F64)
    rng = np.random.default_rng(0)
    Z = rng.normal(
        loc=[[5.0], [-3.0], [0.0], [100.0], [1.0]],
        scale=[[3.0], [0.1], [1.0], [20.0], [7.0]],
        size=(5, 300),
    )
    out = layer.forward(Z, training=True)
    np.testing.assert_allclose(out.mean(axis=1), 0.0, atol=1e-12)
    # variance sigma^2 / (sigma^2 + eps): ~1 (0.999 for the unit with sigma = 0.1)
    var = Z.var(axis=1)
    np.testing.assert_allclose(out.var(axis=1), var / (var + 1e-5), rtol=1e-10)
    np.testing.assert_allclose(out.var(axis=1), 1.0, rtol=2e-3)


def test_batchnorm_running_statistics_hand_worked():
    # momentum 0.5 is the weight of the old value; start at mean 0, var 1
    # batch 1, Z = (1, 3): mu = 2, var = 1 -> mean = .5*0 + .5*2 = 1, var = .5 + .5 = 1
    # batch 2, Z = (4, 8): mu = 6, var = 4 -> mean = .5*1 + .5*6 = 3.5,
    #                                         var = .5*1 + .5*4 = 2.5
    layer = gn.BatchNorm(momentum=0.5)
    layer.build(1, None, F64)
    layer.forward(np.array([[1.0, 3.0]]), training=True)
    assert layer.state["running_mean"][0, 0] == pytest.approx(1.0)
    assert layer.state["running_var"][0, 0] == pytest.approx(1.0)
    layer.forward(np.array([[4.0, 8.0]]), training=True)
    assert layer.state["running_mean"][0, 0] == pytest.approx(3.5)
    assert layer.state["running_var"][0, 0] == pytest.approx(2.5)
    # inference does not touch them
    layer.forward(np.array([[100.0, -100.0]]), training=False)
    assert layer.state["running_mean"][0, 0] == pytest.approx(3.5)


def test_batchnorm_running_statistics_formula_over_many_batches():
    momentum = 0.9
    layer = gn.BatchNorm(momentum=momentum)
    layer.build(3, None, F64)
    mean, var = np.zeros((3, 1)), np.ones((3, 1))
    for seed in range(5):
        Z = columns(3, 8, seed=seed, scale=2.0) + seed
        layer.forward(Z, training=True)
        mu = Z.mean(axis=1, keepdims=True)
        mean = momentum * mean + (1 - momentum) * mu
        var = momentum * var + (1 - momentum) * Z.var(axis=1, keepdims=True)
    np.testing.assert_allclose(layer.state["running_mean"], mean, rtol=1e-12)
    np.testing.assert_allclose(layer.state["running_var"], var, rtol=1e-12)


def test_batchnorm_inference_uses_running_statistics():
    layer = gn.BatchNorm(epsilon=1e-5)
    layer.build(2, None, F64)
    layer.state["running_mean"][...] = [[1.0], [-2.0]]
    layer.state["running_var"][...] = [[4.0], [0.25]]
    layer.params["gamma"][...] = [[3.0], [1.0]]
    layer.params["beta"][...] = [[0.5], [0.0]]
    X = columns(2, 9, seed=4)
    out = layer.forward(X, training=False)
    expected = np.array([[3.0], [1.0]]) * (X - [[1.0], [-2.0]]) / np.sqrt(
        np.array([[4.0], [0.25]]) + 1e-5
    ) + [[0.5], [0.0]]
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    # one example's prediction does not depend on the rest of the batch
    for i in range(X.shape[1]):
        np.testing.assert_array_equal(
            layer.forward(X[:, i : i + 1], training=False), out[:, i : i + 1]
        )


def test_batchnorm_model_prediction_does_not_depend_on_the_batch():
    model = build(
        [gn.Dense(4), gn.BatchNorm(), gn.Activation("relu"), gn.Dense(1, "sigmoid")],
        3,
    )
    for seed in range(3):  # move the running statistics off their start
        model.forward(columns(3, 16, seed=seed) + 1.0, training=True)
    X = columns(10, 3, seed=9)  # rows at the public boundary
    together = model.predict_proba(X)
    alone = np.concatenate([model.predict_proba(X[i : i + 1]) for i in range(10)])
    np.testing.assert_allclose(alone, together, rtol=1e-12)


@pytest.mark.parametrize("epsilon", [0, 0.0, -1e-5])
def test_batchnorm_epsilon_must_be_positive(epsilon):
    with pytest.raises(ValueError, match=f"received epsilon={epsilon!r}"):
        gn.BatchNorm(epsilon=epsilon)


@pytest.mark.parametrize("momentum", [1.0, -0.1, 2])
def test_batchnorm_momentum_range(momentum):
    with pytest.raises(ValueError, match="momentum"):
        gn.BatchNorm(momentum=momentum)


def test_dense_linear_before_batchnorm_drops_its_bias():
    dense = gn.Dense(4)
    model = build(
        [dense, gn.BatchNorm(), gn.Activation("relu"), gn.Dense(2, "softmax")], 3
    )
    assert list(model.params) == ["W1", "gamma1", "beta1", "W2", "b2"]
    assert "b" not in dense.params and "b" not in dense.grads
    assert dense.use_bias is False
    assert list(model.state) == ["running_mean1", "running_var1"]
    # a non-linear Dense before BatchNorm keeps its bias
    model = build([gn.Dense(4, "relu"), gn.BatchNorm(), gn.Dense(1, "sigmoid")], 3)
    assert list(model.params) == ["W1", "b1", "gamma1", "beta1", "W2", "b2"]


@pytest.mark.parametrize(
    "layers, out",
    [
        (
            lambda: [
                gn.Dense(4),
                gn.BatchNorm(),
                gn.Activation("relu"),
                gn.Dense(3, "softmax"),
            ],
            "softmax",
        ),
        (
            lambda: [gn.Dense(4, "tanh"), gn.BatchNorm(), gn.Dense(1, "sigmoid")],
            "sigmoid",
        ),
        (
            lambda: [
                gn.Dense(3),
                gn.BatchNorm(momentum=0.5, epsilon=1e-3),
                gn.Activation("tanh"),
                gn.Dense(2),
            ],
            "linear",
        ),
    ],
    ids=["linear-bn-relu-softmax", "tanh-bn-sigmoid", "bn-tanh-regression"],
)
def test_batchnorm_gradient_check(layers, out):
    model = build(layers(), 3, rng=5)
    n_out = model.n_out
    check_model_gradients(model, columns(3, 8, seed=6), targets_for(out, n_out, 8))


def test_batchnorm_with_running_statistics_gradient_check():
    # a frozen-statistics BatchNorm (transfer learning) is an affine map per unit
    model = build(
        [
            gn.Dense(4, "relu"),
            gn.BatchNorm(use_batch_statistics=False),
            gn.Dense(1, "sigmoid"),
        ],
        3,
    )
    model.state["running_mean1"][...] = 0.3
    model.state["running_var1"][...] = 2.0
    check_model_gradients(model, columns(3, 6, seed=7), targets_for("sigmoid", 1, 6))


def test_batchnorm_config_round_trip():
    config = gn.BatchNorm(0.8, 1e-3, use_batch_statistics=True).get_config()
    assert gn.BatchNorm.from_config(dict(config)).get_config() == config


# === initializers ====================================================================


@pytest.mark.parametrize("name", initializers.NAMES)
def test_initializer_shapes(name):
    W = initializers.get(name)((3, 5), np.random.default_rng(0))
    assert W.shape == (3, 5) and W.dtype == np.float64


def test_zeros_initializer():
    np.testing.assert_array_equal(
        initializers.get("zeros")((4, 2), np.random.default_rng(0)), 0.0
    )
    layer = gn.Dense(3, initializer="zeros")
    layer.build(2, np.random.default_rng(0), F64)
    np.testing.assert_array_equal(layer.params["W"], 0.0)


@pytest.mark.parametrize(
    "name, options, std",
    [
        ("he", {}, np.sqrt(2 / 400)),
        ("xavier", {}, np.sqrt(1 / 400)),
        ("glorot", {}, np.sqrt(2 / (400 + 500))),
        ("random", {}, 0.01),
        ("random", {"scale": 3.0}, 3.0),
    ],
)
def test_initializer_scales(name, options, std):
    # 200 000 draws: the sample std is within ~0.2% of the true one
    W = initializers.get(name, **options)((500, 400), np.random.default_rng(1))
    assert W.std() == pytest.approx(std, rel=0.02)
    assert abs(W.mean()) < 5 * std / np.sqrt(W.size)


def test_he_reproduces_the_course_draws():
    # np.random.seed(3); W = np.random.randn(4, 5) * np.sqrt(2 / 5)
    W = initializers.get("he")((4, 5), np.random.RandomState(3))
    np.testing.assert_array_equal(
        W, np.random.RandomState(3).randn(4, 5) * np.sqrt(2 / 5)
    )


def test_initializer_names_and_options():
    with pytest.raises(ValueError, match="'kaiming'"):
        initializers.get("kaiming")
    with pytest.raises(ValueError, match="scale"):
        initializers.get("random", scale=-1.0)
    with pytest.raises(ValueError, match="'he'"):
        initializers.get("he", scale=2.0)
    init = initializers.get({"name": "random", "scale": 0.5})
    assert init.get_config() == {"name": "random", "scale": 0.5}
    assert initializers.get(init) is init
