"""Sequential: flat keys, one flat buffer, summary, config, weights, predictions."""

from __future__ import annotations

import json

import numpy as np
import pytest
from contracts import build, columns, targets_for

import glassnet as gn


def _mlp(**kw):
    return build(
        [gn.Dense(5, "relu"), gn.Dense(4, "tanh"), gn.Dense(1, "sigmoid")], 3, **kw
    )


# --- keys and the flat buffer ----------------------------------------------------


def test_flat_keys_follow_the_notes():
    model = _mlp()
    assert list(model.params) == ["W1", "b1", "W2", "b2", "W3", "b3"]
    assert list(model.grads) == list(model.params)
    shapes = {k: v.shape for k, v in model.params.items()}
    assert shapes == {
        "W1": (5, 3),
        "b1": (5, 1),
        "W2": (4, 5),
        "b2": (4, 1),
        "W3": (1, 4),
        "b3": (1, 1),
    }
    for key, value in model.params.items():
        assert model.grads[key].shape == value.shape


def test_keys_count_dense_layers_only():
    model = build(
        [
            gn.Dense(4),
            gn.BatchNorm(),
            gn.Activation("relu"),
            gn.Dropout(0.9),
            gn.Dense(3, "relu"),
            gn.BatchNorm(),
            gn.Dense(2, "softmax"),
        ],
        3,
    )
    assert list(model.params) == [
        "W1",
        "gamma1",
        "beta1",
        "W2",
        "b2",
        "gamma2",
        "beta2",
        "W3",
        "b3",
    ]
    assert list(model.state) == [
        "running_mean1",
        "running_var1",
        "running_mean2",
        "running_var2",
    ]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_params_and_grads_are_views_of_one_flat_buffer(dtype):
    model = build(
        [gn.Dense(4), gn.BatchNorm(), gn.Activation("relu"), gn.Dense(2, "softmax")],
        3,
        dtype=dtype,
    )
    params, grads = model.params, model.grads
    assert model.flat_params.dtype == np.dtype(dtype)
    assert model.flat_params.size == sum(v.size for v in params.values())
    np.testing.assert_array_equal(
        np.concatenate([v.ravel() for v in params.values()]), model.flat_params
    )
    for key in params:
        assert np.shares_memory(params[key], model.flat_params), key
        assert np.shares_memory(grads[key], model.flat_grads), key
        assert params[key].dtype == np.dtype(dtype)
    # writing the buffer writes the layers' arrays, and the other way round
    model.flat_params[:] = np.arange(model.flat_params.size)
    assert model.layers[0].params["W"][0, 0] == 0.0
    assert model.params["b2"][1, 0] == model.flat_params.size - 1
    model.layers[1].params["gamma"][...] = -7.0
    assert (model.flat_params == -7.0).sum() == 4
    # a backward pass fills the flat gradient buffer
    X = columns(3, 6)
    AL = model.forward(X, training=True)
    model.backward(AL, targets_for("softmax", 2, 6))
    np.testing.assert_array_equal(
        np.concatenate([v.ravel() for v in model.grads.values()]), model.flat_grads
    )
    assert np.any(model.flat_grads != 0)


def test_layer_params_stay_views_after_an_optimizer_step():
    model = _mlp()
    X = columns(3, 8)
    AL = model.forward(X, training=True)
    model.backward(AL, targets_for("sigmoid", 1, 8))
    before = model.flat_params.copy()
    gn.Adam(0.1).update(model.params, model.grads)
    assert not np.array_equal(before, model.flat_params)
    np.testing.assert_array_equal(
        np.concatenate([v.ravel() for v in model.params.values()]), model.flat_params
    )


# --- initialization reproduces the course ------------------------------------------


def test_random_state_reproduces_the_course_he_initialization():
    # the course: np.random.seed(3); for l in 1..L: W[l] = randn(n[l], n[l-1]) *
    # sqrt(2 / n[l-1]); b[l] = zeros
    saved = np.random.get_state()
    try:
        np.random.seed(3)
        W1 = np.random.randn(4, 5) * np.sqrt(2 / 5)
        W2 = np.random.randn(1, 4) * np.sqrt(2 / 4)
    finally:
        np.random.set_state(saved)
    layers = [
        gn.Dense(4, "relu", initializer="he"),
        gn.Dense(1, "sigmoid", initializer="he"),
    ]
    model = build(layers, 5, rng=np.random.RandomState(3))
    np.testing.assert_array_equal(model.params["W1"], W1)
    np.testing.assert_array_equal(model.params["W2"], W2)
    np.testing.assert_array_equal(model.params["b1"], np.zeros((4, 1)))
    # float32 models hold the same draws, cast
    layers = [
        gn.Dense(4, "relu", initializer="he"),
        gn.Dense(1, "sigmoid", initializer="he"),
    ]
    model = build(layers, 5, rng=np.random.RandomState(3), dtype="float32")
    np.testing.assert_array_equal(model.params["W1"], W1.astype(np.float32))
    np.testing.assert_array_equal(model.params["W2"], W2.astype(np.float32))


def test_build_does_not_touch_the_global_random_state():
    before = np.random.get_state()[1].copy(), np.random.get_state()[2]
    _mlp(rng=None)
    after = np.random.get_state()[1], np.random.get_state()[2]
    np.testing.assert_array_equal(before[0], after[0])
    assert before[1] == after[1]


def test_same_int_seed_same_weights():
    a, b = _mlp(rng=11), _mlp(rng=11)
    np.testing.assert_array_equal(a.flat_params, b.flat_params)
    assert not np.array_equal(a.flat_params, _mlp(rng=12).flat_params)


# --- summary and config ------------------------------------------------------------


def test_summary_uses_the_notes_notation():
    model = build([gn.Dense(64, "relu"), gn.Dense(10, "softmax")], 64)
    text = model.summary(print_fn=None)
    assert "W[1]: (n[1], n[0]) = (64, 64)" in text
    assert "b[1]: (n[1], 1) = (64, 1)" in text
    assert "W[2]: (n[2], n[1]) = (10, 64)" in text
    assert str(64 * 64 + 64 + 10 * 64 + 10) in text
    printed = []
    assert model.summary(print_fn=printed.append) == printed[0]


def test_summary_shows_batchnorm_and_frozen_layers():
    model = build([gn.Dense(8, trainable=False), gn.BatchNorm(), gn.Dense(1)], 4)
    text = model.summary(print_fn=None)
    assert "gamma[1]: (n[1], 1) = (8, 1)" in text
    assert "(frozen)" in text
    assert "b[1]" not in text


def test_config_round_trip():
    model = build(
        [
            gn.Dense(6, {"name": "leaky_relu", "slope": 0.2}, regularizer=gn.L2(0.1)),
            gn.Dropout(0.8),
            gn.Dense(4),
            gn.BatchNorm(momentum=0.8),
            gn.Activation("tanh"),
            gn.Dense(3, "softmax", initializer="glorot"),
        ],
        5,
        dtype="float64",
    )
    config = model.get_config()
    assert json.loads(json.dumps(config)) == config  # JSON, no arrays
    again = gn.Sequential.from_config(config)
    assert again.get_config() == config
    assert again.dtype == np.float64 and again.n_x == 5
    assert list(again.params) == list(model.params)
    for key, value in model.params.items():
        assert again.params[key].shape == value.shape
    again.set_weights(model.get_weights())
    X = columns(7, 5)
    np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))
    unbuilt = gn.Sequential.from_config(config, build=False)
    assert not unbuilt.built


# --- weights ---------------------------------------------------------------------


def test_get_weights_are_copies_and_set_weights_round_trips():
    model = build([gn.Dense(3), gn.BatchNorm(), gn.Dense(1, "sigmoid")], 2)
    weights = model.get_weights()
    assert set(weights) == set(model.params) | set(model.state)
    weights["W1"][...] = 99.0
    assert not np.any(model.params["W1"] == 99.0)
    model.set_weights(weights)
    np.testing.assert_array_equal(model.params["W1"], 99.0)
    assert np.shares_memory(model.params["W1"], model.flat_params)


def test_set_weights_errors_name_the_problem():
    model = _mlp()
    weights = model.get_weights()
    with pytest.raises(ValueError, match=r"'W2'.*\(4, 5\).*\(5, 4\)"):
        model.set_weights({**weights, "W2": np.zeros((5, 4))})
    with pytest.raises(ValueError, match=r"missing \['b3'\]"):
        model.set_weights({k: v for k, v in weights.items() if k != "b3"})
    with pytest.raises(ValueError, match=r"unexpected \['W9'\]"):
        model.set_weights({**weights, "W9": np.zeros((1, 1))})
    # a failed set_weights changes nothing
    np.testing.assert_array_equal(model.params["W2"], weights["W2"])


# --- predictions -----------------------------------------------------------------


def test_forward_refuses_rows_and_says_to_transpose():
    model = gn.Sequential([gn.Dense(3, "relu"), gn.Dense(1, "sigmoid")])
    model.build(2, rng=0)
    assert model.forward(np.ones((2, 5))).shape == (1, 5)
    with pytest.raises(ValueError, match=r"\(2, m\).*received shape \(5, 2\) \(exam"):
        model.forward(np.ones((5, 2)))
    with pytest.raises(ValueError, match=r"received shape \(3, 4\)$"):
        model.forward(np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"received shape \(2,\)"):
        model.forward(np.ones(2))


def test_cost_and_backward_refuse_targets_of_another_shape():
    model = gn.Sequential([gn.Dense(3, "relu"), gn.Dense(1, "sigmoid")])
    model.build(2, rng=0)
    AL = model.forward(np.ones((2, 5)), training=True)
    Y = np.array([[0.0, 1, 1, 0, 1]])
    # a (m,) vector is the one-unit output's row; Y^T would broadcast to (5, 5)
    assert model.compute_cost(AL, Y[0]) == model.compute_cost(AL, Y)
    cases = (
        (Y.T, r"received shape \(5, 1\) \(examples are rows"),
        (Y[:, :4], r"= \(1, 5\) .*received shape \(1, 4\)$"),
    )
    for wrong, match in cases:
        with pytest.raises(ValueError, match=match):
            model.compute_cost(AL, wrong)
        with pytest.raises(ValueError, match=match):
            model.backward(AL, wrong)


def test_softmax_targets_may_be_one_hot_or_a_row_of_class_indices():
    model = gn.Sequential([gn.Dense(3, "softmax")])
    model.build(2, rng=0)
    AL = model.forward(np.ones((2, 4)))
    labels = np.array([0, 2, 1, 2])
    one_hot = np.eye(3)[labels].T
    assert model.compute_cost(AL, labels) == pytest.approx(
        model.compute_cost(AL, one_hot), rel=1e-12
    )
    assert model.compute_cost(AL, labels[None]) == model.compute_cost(AL, labels)
    with pytest.raises(
        ValueError, match=r"\(3, 4\) or \(1, 4\) class indices.*pass Y.T"
    ):
        model.compute_cost(AL, labels[:, None])
    with pytest.raises(
        ValueError, match=r"received shape \(4, 3\) \(examples are rows"
    ):
        model.backward(AL, one_hot.T)


def test_set_weights_takes_the_dict_get_weights_gives():
    model = gn.Sequential([gn.Dense(1, "sigmoid")])
    model.build(2, rng=0)
    with pytest.raises(TypeError, match=r"dict of name -> array.*received a list"):
        model.set_weights(list(model.get_weights().values()))


def test_binary_predictions():
    model = build([gn.Dense(4, "tanh"), gn.Dense(1, "sigmoid")], 3)
    X = columns(9, 3)
    proba = model.predict_proba(X)
    assert proba.shape == (9, 1) and proba.dtype == np.float64
    assert ((proba > 0) & (proba < 1)).all()
    labels = model.predict(X)
    assert labels.shape == (9,)
    np.testing.assert_array_equal(labels, (proba[:, 0] > 0.5).astype(int))


def test_softmax_predictions():
    model = build([gn.Dense(4, "relu"), gn.Dense(5, "softmax")], 3, dtype="float32")
    X = columns(11, 3)
    proba = model.predict_proba(X)
    assert proba.shape == (11, 5) and proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(model.predict(X), proba.argmax(axis=1))
    assert model.predict(X).shape == (11,)


def test_multi_label_predictions():
    model = build([gn.Dense(4, "relu"), gn.Dense(3, "sigmoid")], 2)
    X = columns(6, 2)
    assert model.predict_proba(X).shape == (6, 3)
    labels = model.predict(X)
    assert labels.shape == (6, 3)
    assert set(np.unique(labels)) <= {0, 1}
    assert isinstance(model.default_loss(), gn.MultiLabel)


@pytest.mark.parametrize("n_out", [1, 2])
def test_regression_predictions(n_out):
    model = build([gn.Dense(4, "relu"), gn.Dense(n_out)], 2)
    X = columns(6, 2)
    proba = model.predict_proba(X)
    assert proba.shape == (6, n_out)
    prediction = model.predict(X)
    assert prediction.shape == ((6,) if n_out == 1 else (6, n_out))
    np.testing.assert_array_equal(prediction.reshape(6, n_out), proba)
    assert isinstance(model.default_loss(), gn.MeanSquaredError)


def test_predict_is_rows_of_the_column_forward():
    model = _mlp()
    X = columns(7, 3)
    np.testing.assert_allclose(
        model.predict_proba(X), model.forward(X.T, training=False).T, rtol=1e-15
    )


def test_embed_shapes():
    model = _mlp()
    X = columns(7, 3)
    assert model.embed(X).shape == (7, 4)  # the last hidden layer
    assert model.embed(X, layer=0).shape == (7, 5)
    np.testing.assert_allclose(model.embed(X, layer=-1), model.predict_proba(X))
    # the embedding is the hidden activation
    W1, b1 = model.params["W1"], model.params["b1"]
    np.testing.assert_allclose(
        model.embed(X, layer=0), np.maximum(W1 @ X.T + b1, 0).T, rtol=1e-12
    )


# --- errors -----------------------------------------------------------------------


def test_model_errors():
    with pytest.raises(TypeError, match="list"):
        gn.Sequential([[gn.Dense(2)]])
    with pytest.raises(ValueError, match="at least one layer"):
        gn.Sequential().build(3)
    model = gn.Sequential([gn.Dense(2)])
    with pytest.raises(RuntimeError, match="not built"):
        model.predict(np.zeros((2, 3)))
    with pytest.raises(RuntimeError, match="not built"):
        _ = model.params
    model.build(3)
    with pytest.raises(RuntimeError, match="built"):
        model.add(gn.Dense(1))
    with pytest.raises(ValueError, match=r"4 features.*built for 3"):
        model.predict(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="2-D"):
        model.predict(np.zeros(3))
    with pytest.raises(ValueError, match="dtype"):
        gn.Sequential([gn.Dense(2)]).build(3, dtype="float16")


def test_compute_cost_adds_the_regularization_terms():
    model = build(
        [gn.Dense(3, "relu", regularizer=gn.L2(0.5)), gn.Dense(1, "sigmoid")], 2
    )
    X, Y = columns(2, 4), targets_for("sigmoid", 1, 4)
    AL = model.forward(X, training=True)
    plain = gn.BinaryCrossEntropy().cost(AL, Y)
    # + lambd / (2 m) ||W1||^2 = 0.5 / 8 ||W1||^2
    expected = plain + 0.5 / 8 * np.sum(model.params["W1"] ** 2)
    assert model.compute_cost(AL, Y) == pytest.approx(expected, rel=1e-14)
