"""model.fit on rows: History, mini-batches, shuffling, schedules, callbacks, guard,
and the boundary checks with messages that name what was received."""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits

import glassnet as gn


def blobs(m=60, seed=0):
    """Two separable Gaussian blobs in 2-D, labels 0/1 (rows are examples)."""
    rng = np.random.default_rng(seed)
    y = np.arange(m) % 2
    X = rng.normal(scale=0.5, size=(m, 2)) + np.where(y[:, None] == 1, 2.0, -2.0)
    return X, y


def net(dtype="float64", rng=0, hidden="tanh", n_x=2):
    model = gn.Sequential([gn.Dense(4, hidden), gn.Dense(1, "sigmoid")])
    return model.build(n_x, rng=rng, dtype=dtype)


def clone(model):
    twin = gn.Sequential.from_config(model.get_config())
    twin.set_weights(model.get_weights())
    return twin


def manual_epoch(model, optimizer, X, Y, batch_size, order=None):
    """One epoch written out: forward, cost, backward, update per mini-batch.
    Returns the epoch cost sum_t cost_t m_t / m."""
    if order is not None:
        X, Y = X[order], Y[order]
    m = X.shape[0]
    total = 0.0
    for start in range(0, m, batch_size):
        Xb, Yb = X[start : start + batch_size], Y[start : start + batch_size]
        AL = model.forward(Xb.T, training=True)
        total += model.compute_cost(AL, Yb.T) * Xb.shape[0]
        model.backward(AL, Yb.T)
        optimizer.update(model.params, model.grads)
    return total / m


FIT = {"verbose": False, "rng": 0}


# --- History ----------------------------------------------------------------------


def test_history_keys_and_lengths():
    X, y = blobs()
    model = net()
    history = model.fit(
        X,
        y,
        epochs=4,
        batch_size=16,
        optimizer=gn.Adam(0.05),
        metrics=["accuracy"],
        validation_data=blobs(20, seed=1),
        **FIT,
    )
    assert isinstance(history, gn.History)
    assert history.epoch == [0, 1, 2, 3] and len(history) == 4
    for key in (
        "cost",
        "learning_rate",
        "accuracy",
        "val_cost",
        "val_accuracy",
        "grad_norm_W1",
        "grad_norm_W2",
    ):
        assert len(history[key]) == 4, key
        assert all(np.isfinite(history[key])), key
    assert "grad_norm_b1" not in history.history
    assert history["learning_rate"] == [0.05] * 4
    assert history.params["epochs"] == 4 and history.params["batch_size"] == 16
    assert history.params["optimizer"]["name"] == "adam"
    assert history.params["loss"] == "binary_cross_entropy"


def test_history_without_metrics_or_validation():
    X, y = blobs()
    history = net().fit(X, y, epochs=2, **FIT)
    assert "accuracy" not in history.history
    assert "val_cost" not in history.history


def test_validation_logs_match_evaluate_after_the_last_epoch():
    X, y = blobs()
    X_val, y_val = blobs(24, seed=5)
    model = net()
    history = model.fit(
        X,
        y,
        epochs=3,
        optimizer=gn.Adam(0.02),
        metrics=["accuracy"],
        validation_data=(X_val, y_val),
        **FIT,
    )
    scores = model.evaluate(X_val, y_val)
    assert history["val_cost"][-1] == pytest.approx(scores["cost"], rel=1e-12)
    assert history["val_accuracy"][-1] == scores["accuracy"]


def test_grad_norm_is_the_last_mini_batch_gradient():
    X, y = blobs()
    model = net()
    history = model.fit(X, y, epochs=2, batch_size=25, **FIT)
    assert history["grad_norm_W1"][-1] == pytest.approx(
        np.linalg.norm(model.grads["W1"]), rel=1e-12
    )


# --- learning --------------------------------------------------------------------


def test_cost_decreases_on_a_separable_problem():
    X, y = blobs(80)
    model = net(dtype="float32")
    history = model.fit(X, y, epochs=30, batch_size=16, optimizer=gn.Adam(0.05), **FIT)
    cost = history["cost"]
    assert cost[-1] < 0.2 * cost[0]
    assert all(
        b <= a * 1.05 for a, b in zip(cost[:-1], cost[1:], strict=True)
    )  # roughly monotone
    assert model.evaluate(X, y)["accuracy"] == 1.0
    assert (model.predict(X) == y).all()


@pytest.mark.parametrize(
    "batch_size, m", [(1, 7), (4, 10), (3, 9), (None, 10), (50, 10)]
)
def test_fit_is_the_written_out_loop(batch_size, m):
    """batch_size 1 (stochastic), a partial last batch (10 = 4 + 4 + 2), full batch."""
    X, y = blobs(m, seed=3)
    model = net()
    twin = clone(model)
    history = model.fit(
        X,
        y,
        epochs=3,
        batch_size=batch_size,
        shuffle=False,
        optimizer=gn.GradientDescent(0.3),
        **FIT,
    )
    optimizer = gn.GradientDescent(0.3)
    Y = y.reshape(-1, 1).astype(np.float64)
    expected = [manual_epoch(twin, optimizer, X, Y, batch_size or m) for _ in range(3)]
    np.testing.assert_allclose(history["cost"], expected, rtol=1e-12)
    np.testing.assert_allclose(
        model.flat_params, twin.flat_params, rtol=1e-12, atol=1e-15
    )
    assert history.params["batch_size"] == min(batch_size or m, m)


def _targets(kind, m, seed=0):
    """(y for fit, Y rows for the written-out loop) for an output kind."""
    rng = np.random.default_rng(seed)
    if kind == "softmax":
        y = rng.integers(0, 3, size=m)
        return y, y.reshape(-1, 1).astype(np.float64)
    if kind == "multi_label":
        Y = (rng.random((m, 2)) < 0.5).astype(np.float64)
        Y[::3, 0] = np.nan
        return Y, Y
    if kind == "regression":
        Y = rng.normal(size=(m, 2))
        return Y, Y
    y = (rng.random(m) < 0.5).astype(int)
    return y, y.reshape(-1, 1).astype(np.float64)


OUTPUTS = {
    "binary": lambda: gn.Dense(1, "sigmoid"),
    "softmax": lambda: gn.Dense(3, "softmax"),
    "multi_label": lambda: gn.Dense(2, "sigmoid"),
    "regression": lambda: gn.Dense(2),
}


@pytest.mark.parametrize("output", list(OUTPUTS))
@pytest.mark.parametrize(
    "hidden",
    [
        "sigmoid",
        "tanh",
        "relu",
        "leaky_relu",
        "linear",
        "softmax",
        "batchnorm",
        "dropout1",
    ],
)
def test_fit_matches_the_written_out_loop_for_every_layer_and_output(hidden, output):
    """The fit loop (with whatever fast paths it takes) computes exactly what
    forward / compute_cost / backward / update compute one mini-batch at a time."""
    m = 11
    X = np.random.default_rng(1).normal(size=(m, 3))
    y, Y = _targets(output, m)
    if hidden == "batchnorm":
        layers = [gn.Dense(4), gn.BatchNorm(), gn.Activation("relu")]
    elif hidden == "dropout1":
        layers = [gn.Dense(4, "relu"), gn.Dropout(1.0)]
    else:
        layers = [
            gn.Dense(
                4,
                {"name": hidden, **({"slope": 0.1} if hidden == "leaky_relu" else {})},
            )
        ]
    model = gn.Sequential([*layers, gn.Dense(5, "tanh"), OUTPUTS[output]()])
    model.build(3, rng=2, dtype="float64")
    twin = clone(model)
    history = model.fit(
        X, y, epochs=2, batch_size=4, shuffle=False, optimizer=gn.Momentum(0.1), **FIT
    )
    optimizer = gn.Momentum(0.1)
    expected = [manual_epoch(twin, optimizer, X, Y, 4) for _ in range(2)]
    np.testing.assert_allclose(history["cost"], expected, rtol=1e-12)
    for key, value in twin.get_weights().items():
        np.testing.assert_allclose(
            model.get_weights()[key], value, rtol=1e-12, atol=1e-14, err_msg=key
        )
    # after fit the model is an ordinary model again: predictions are fresh arrays
    a = model.predict_proba(X)
    b = model.predict_proba(X)
    assert not np.shares_memory(a, b)
    np.testing.assert_array_equal(a, twin.predict_proba(X))


def test_forward_after_fit_does_not_reuse_buffers():
    X, y = blobs(20)
    model = net()
    model.fit(X, y, epochs=1, batch_size=10, **FIT)
    A1 = model.forward(X[:10].T, training=True)
    kept = A1.copy()
    A2 = model.forward(X[10:].T, training=True)
    assert not np.shares_memory(A1, A2)
    np.testing.assert_array_equal(A1, kept)


def test_full_batch_cost_is_the_course_cost_before_the_update():
    X, y = blobs(12)
    model = net()
    AL = model.forward(X.T, training=False)
    before = gn.BinaryCrossEntropy().cost(AL, y.reshape(1, -1))
    history = model.fit(
        X, y, epochs=1, batch_size=None, optimizer=gn.GradientDescent(1.0), **FIT
    )
    assert history["cost"][0] == pytest.approx(before, rel=1e-12)


# --- shuffling ------------------------------------------------------------------------


def test_shuffle_false_equals_the_identity_order_callable():
    X, y = blobs(30)
    a, b = net(), net()
    calls = []

    def identity(epoch, m):
        calls.append((epoch, m))
        return np.arange(m)

    ha = a.fit(X, y, epochs=3, batch_size=8, shuffle=False, **FIT)
    hb = b.fit(X, y, epochs=3, batch_size=8, shuffle=identity, **FIT)
    assert calls == [(0, 30), (1, 30), (2, 30)]
    assert ha["cost"] == hb["cost"]
    np.testing.assert_array_equal(a.flat_params, b.flat_params)


def test_a_callable_order_is_followed():
    X, y = blobs(12, seed=2)
    model = net()
    twin = clone(model)
    orders = [np.random.default_rng(e).permutation(12) for e in range(3)]
    history = model.fit(
        X,
        y,
        epochs=3,
        batch_size=5,
        shuffle=lambda e, m: orders[e],
        optimizer=gn.Momentum(0.2),
        **FIT,
    )
    optimizer = gn.Momentum(0.2)
    Y = y.reshape(-1, 1).astype(np.float64)
    expected = [manual_epoch(twin, optimizer, X, Y, 5, orders[e]) for e in range(3)]
    np.testing.assert_allclose(history["cost"], expected, rtol=1e-12)
    np.testing.assert_allclose(model.flat_params, twin.flat_params, rtol=1e-12)


@pytest.mark.parametrize(
    "order, problem",
    [
        (np.arange(11), "shape"),
        (np.arange(12.0), "dtype float64"),
        (np.arange(1, 13), "values from 1 to 12"),
        (np.arange(-1, 11), "values from -1 to 10"),
        (np.r_[0, np.arange(11)], "repeated indices"),
    ],
)
def test_a_bad_order_callable_is_refused(order, problem):
    X, y = blobs(12)
    with pytest.raises(ValueError, match=r"permutation of range\(12\)") as error:
        net().fit(X, y, shuffle=lambda e, m: order, **FIT)
    assert problem in str(error.value) and "epoch 0" in str(error.value)


def test_shuffling_is_reproducible_from_rng_and_changes_the_run():
    X, y = blobs(40)
    runs = [
        net().fit(X, y, epochs=3, batch_size=8, verbose=False, rng=seed)["cost"]
        for seed in (5, 5, 6)
    ]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_training_accuracy_is_right_when_shuffling():
    """With learning_rate 0 nothing changes, so each epoch's training accuracy must
    equal the accuracy of the (fixed) model on the training set, shuffled or not."""
    X, y = blobs(200, seed=7)
    y = y.copy()
    y[::3] = 1 - y[::3]  # noisy labels: the accuracy is far from 0 and 1
    model = net(rng=1)
    expected = float(np.mean(model.predict(X) == y))
    for shuffle in (False, True):
        history = model.fit(
            X,
            y,
            epochs=3,
            batch_size=32,
            shuffle=shuffle,
            optimizer=gn.GradientDescent(0.0),
            metrics=["accuracy"],
            **FIT,
        )
        assert history["accuracy"] == pytest.approx([expected] * 3), (
            f"shuffle={shuffle}"
        )


# --- schedules ------------------------------------------------------------------------


def test_epoch_schedule_is_recorded_per_epoch():
    X, y = blobs(30)
    schedule = gn.InverseTime(0.2, decay_rate=1.0)
    history = net().fit(
        X, y, epochs=4, batch_size=10, optimizer="gd", schedule=schedule, **FIT
    )
    assert history["learning_rate"] == pytest.approx([0.2 / (1 + e) for e in range(4)])
    assert history.params["schedule"]["name"] == "inverse_time"


def test_step_schedule_sees_the_step_count():
    X, y = blobs(30)  # 3 mini-batches of 10 per epoch
    seen = []

    def schedule(epoch, step):
        seen.append((epoch, step))
        return 0.1 / math.sqrt(step + 1)

    optimizer = gn.GradientDescent(0.1)
    history = net().fit(
        X, y, epochs=3, batch_size=10, optimizer=optimizer, schedule=schedule, **FIT
    )
    assert seen == [(e, 3 * e + b) for e in range(3) for b in range(3)]
    # each epoch records the rate of its first mini-batch
    assert history["learning_rate"] == pytest.approx(
        [0.1 / math.sqrt(3 * e + 1) for e in range(3)]
    )
    assert optimizer.learning_rate == pytest.approx(0.1 / math.sqrt(9))
    assert optimizer.t == 9


def test_scheduled_training_is_the_written_out_loop():
    X, y = blobs(20, seed=4)
    model = net()
    twin = clone(model)
    schedule = gn.Exponential(0.5, base=0.5)
    model.fit(
        X,
        y,
        epochs=3,
        batch_size=None,
        shuffle=False,
        schedule=schedule,
        optimizer=gn.GradientDescent(0.5),
        **FIT,
    )
    Y = y.reshape(-1, 1).astype(np.float64)
    for epoch in range(3):
        manual_epoch(twin, gn.GradientDescent(0.5 * 0.5**epoch), X, Y, 20)
    np.testing.assert_allclose(model.flat_params, twin.flat_params, rtol=1e-12)


# --- EarlyStopping ------------------------------------------------------------------


class Scripted(gn.Callback):
    """Writes a scripted ``score`` into the logs and records each epoch's weights."""

    def __init__(self, script):
        self.script = script
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        logs["score"] = self.script[epoch]
        self.weights.append(self.model.get_weights())


@pytest.mark.parametrize(
    "script, epochs, best, ran",
    [
        ([5.0, 3.0, 4.0, 6.0, 1.0, 0.5], 6, 1, 4),  # triggers at epoch 3
        ([5.0, 3.0, 4.0], 3, 1, 3),  # training ends without triggering
        ([5.0, 4.0, 3.0], 3, 2, 3),  # the last epoch is the best
    ],
)
def test_early_stopping_restores_the_best_weights(script, epochs, best, ran):
    X, y = blobs(30)
    model = net()
    scripted = Scripted(script)
    stopper = gn.EarlyStopping("score", patience=2, mode="min")
    history = model.fit(
        X,
        y,
        epochs=epochs,
        batch_size=10,
        optimizer=gn.Adam(0.05),
        callbacks=[scripted, stopper],
        **FIT,
    )
    assert len(history) == ran
    assert stopper.best_epoch == best and stopper.best == script[best]
    for key, value in model.get_weights().items():
        np.testing.assert_array_equal(value, scripted.weights[best][key], err_msg=key)
    if ran < epochs:
        assert stopper.stopped_epoch == ran - 1


def test_early_stopping_without_restoring_keeps_the_last_weights():
    X, y = blobs(30)
    model = net()
    scripted = Scripted([5.0, 3.0, 4.0, 6.0])
    stopper = gn.EarlyStopping("score", patience=2, restore_best_weights=False)
    model.fit(
        X,
        y,
        epochs=4,
        batch_size=10,
        optimizer=gn.Adam(0.05),
        callbacks=[scripted, stopper],
        **FIT,
    )
    for key, value in model.get_weights().items():
        np.testing.assert_array_equal(value, scripted.weights[-1][key])


def test_early_stopping_on_val_cost_needs_validation_data():
    X, y = blobs(30)
    with pytest.raises(ValueError, match="val_cost"):
        net().fit(X, y, epochs=2, callbacks=[gn.EarlyStopping()], **FIT)
    assert gn.EarlyStopping("val_accuracy").mode == "max"
    assert gn.EarlyStopping("val_cost").mode == "min"


# --- the divergence guard -------------------------------------------------------------


@pytest.fixture(scope="module")
def raw_digits():
    digits = load_digits()  # pixels 0..16, not standardized
    return digits.data, digits.target


def _diverge(model, raw_digits):
    X, y = raw_digits
    start = model.get_weights() if model.built else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(gn.DivergenceError) as info:
            model.fit(
                X, y, epochs=5, batch_size=64, optimizer=gn.GradientDescent(10), **FIT
            )
    return info.value, start


def test_divergence_raises_with_epoch_and_layer(raw_digits):
    model = gn.Sequential([gn.Dense(32, "leaky_relu"), gn.Dense(10, "softmax")])
    model.build(64, rng=0)
    error, start = _diverge(model, raw_digits)
    message = str(error)
    assert f"epoch {error.epoch}" in message
    assert error.layer in message and any(k in error.layer for k in model.params)
    assert isinstance(error.history, gn.History)
    assert len(error.history) == error.epoch
    for key, value in model.params.items():
        assert np.isfinite(value).all(), key
    if error.epoch == 0:  # the weights from the start of that epoch were kept
        for key, value in model.params.items():
            np.testing.assert_array_equal(value, start[key])
    assert np.isfinite(model.predict_proba(raw_digits[0][:20])).all()


def test_divergence_leaves_batchnorm_statistics_finite(raw_digits):
    """The guard promises "the model keeps the last finite weights": that includes
    the running statistics that predict() uses, not only the trained parameters."""
    model = gn.Sequential(
        [
            gn.Dense(32, "leaky_relu"),
            gn.Dense(16, "leaky_relu"),
            gn.BatchNorm(),
            gn.Dense(10, "softmax"),
        ]
    )
    model.build(64, rng=0)
    error, start = _diverge(model, raw_digits)
    for key, value in model.get_weights().items():
        assert np.isfinite(value).all(), f"{key} is not finite after {error}"
    assert np.isfinite(model.predict_proba(raw_digits[0][:20])).all()


def test_nan_guard_off_lets_nan_through(raw_digits):
    X, y = raw_digits
    model = gn.Sequential([gn.Dense(32, "leaky_relu"), gn.Dense(10, "softmax")])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        history = model.fit(
            X,
            y,
            epochs=1,
            batch_size=64,
            nan_guard=False,
            optimizer=gn.GradientDescent(10),
            **FIT,
        )
    assert not np.isfinite(model.flat_params).all() or not np.isfinite(
        history["cost"][0]
    )


# --- bad input: messages name what was received --------------------------------------


def _xy(m=10, n=2):
    rng = np.random.default_rng(0)
    return rng.normal(size=(m, n)), np.arange(m) % 2


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_X(bad):
    X, y = _xy()
    X[3, 1] = bad
    with pytest.raises(ValueError, match=r"X contains NaN or infinity.*\(3, 1\)"):
        net().fit(X, y, **FIT)


def test_nonfinite_X_is_found_when_infinities_of_both_signs_cancel_in_a_sum():
    X, y = _xy()
    X[2, 0], X[5, 1] = np.inf, -np.inf  # the sum is NaN, not inf
    with pytest.raises(ValueError, match=r"X contains NaN or infinity.*\(2, 0\)"):
        net().fit(X, y, **FIT)


def test_finite_X_whose_sum_overflows_is_accepted():
    from glassnet.validation import check_array

    X = np.full((10, 2), 3e38, dtype=np.float32)  # finite; the float32 sum is inf
    assert check_array(X) is X


def test_one_dimensional_X():
    with pytest.raises(
        ValueError,
        match=r"X must be 2-D; received a 1-D array of "
        r"shape \(10,\)",
    ):
        gn.Sequential([gn.Dense(1, "sigmoid")]).fit(np.zeros(10), np.zeros(10), **FIT)


def test_three_dimensional_X():
    with pytest.raises(ValueError, match=r"received a 3-D array of shape \(10, 2, 2\)"):
        net().fit(np.zeros((10, 2, 2)), np.zeros(10), **FIT)


def test_X_and_y_lengths_differ():
    X, y = _xy()
    with pytest.raises(ValueError, match="X has 10, y has 9"):
        net().fit(X, y[:9], **FIT)


def test_empty_X():
    with pytest.raises(
        ValueError,
        match=r"X is empty; received an array of shape "
        r"\(0, 2\)",
    ):
        gn.Sequential([gn.Dense(1, "sigmoid")]).fit(
            np.zeros((0, 2)), np.zeros(0), **FIT
        )
    with pytest.raises(ValueError, match="X is empty"):
        net().fit(np.zeros((0, 2)), np.zeros(0), **FIT)


def test_wrong_number_of_features():
    X, y = _xy(n=3)
    with pytest.raises(ValueError, match="3 features.*built for 2"):
        net().fit(X, y, **FIT)


def test_label_outside_a_softmax_range():
    X = np.random.default_rng(0).normal(size=(11, 4))
    y = np.arange(11)  # labels 0..10: label 10 for 10 units
    model = gn.Sequential([gn.Dense(10, "softmax")])
    with pytest.raises(ValueError, match=r"10 softmax units.*0\.\.9") as info:
        model.fit(X, y, **FIT)
    # the message names the offending label, not just the first few valid ones
    received = str(info.value).split("received", 1)[1]
    assert re.search(r"\b10\b", received), str(info.value)
    with pytest.raises(ValueError, match="labels outside"):
        model.fit(X, -np.ones(11), **FIT)
    with pytest.raises(ValueError, match="labels outside"):
        model.fit(X, np.full(11, 1.5), **FIT)


def test_label_outside_a_sigmoid_range():
    X, y = _xy()
    y[4] = 2  # label 2 for one sigmoid unit
    with pytest.raises(
        ValueError,
        match=r"labels outside.*0 or 1.*received labels "
        r"\[0, 1, 2\]",
    ):
        net().fit(X, y, **FIT)


def test_nan_labels_for_a_single_output():
    X, _ = _xy()
    y = np.zeros(10)
    y[2] = np.nan
    with pytest.raises(ValueError, match="y contains NaN"):
        net().fit(X, y, **FIT)


def test_text_labels_say_how_to_encode_them():
    X, y = _xy()
    words = np.where(y == 1, "cat", "dog")
    hint = (
        r"with non-numeric entries\. Encode string labels .*encode_labels.*GlassClass"
    )
    model = net()
    with pytest.raises(ValueError, match=hint):
        model.fit(X, words, **FIT)
    model.fit(X, y, **FIT)
    with pytest.raises(ValueError, match=hint):
        model.evaluate(X, words)
    with pytest.raises(ValueError, match=hint):
        model.fit(X, y, validation_data=(X, words), **FIT)


def test_callbacks_must_be_a_list_of_callbacks():
    X, y = _xy()
    with pytest.raises(TypeError, match=r"a list of Callback objects; received 3"):
        net().fit(X, y, callbacks=3, **FIT)
    with pytest.raises(TypeError, match=r"received one History: wrap it as \[History"):
        net().fit(X, y, callbacks=gn.callbacks.History(), **FIT)
    with pytest.raises(TypeError, match=r"callbacks\[1\] must be a glassnet.callbacks"):
        net().fit(X, y, callbacks=[gn.callbacks.History(), print], **FIT)
    net().fit(X, y, callbacks=(gn.callbacks.History(),), **FIT)  # any iterable


def test_a_dtype_other_than_the_built_models_is_refused_not_ignored():
    X, y = _xy()
    model = net(dtype="float32")
    model.fit(X, y, dtype="float32", **FIT)
    with pytest.raises(ValueError, match=r"dtype='float64' applies when fit builds"):
        model.fit(X, y, dtype="float64", **FIT)
    assert model.dtype == np.float32
    fresh = gn.Sequential([gn.Dense(1, "sigmoid")])
    fresh.fit(X, y, dtype="float64", **FIT)  # fit builds it: the dtype applies
    assert fresh.dtype == np.float64


def test_unknown_names():
    X, y = _xy()
    with pytest.raises(ValueError, match="unknown optimizer 'adamw'"):
        net().fit(X, y, optimizer="adamw", **FIT)
    with pytest.raises(ValueError, match="unknown initializer 'kaiming'"):
        gn.Dense(3, initializer="kaiming")
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        gn.Dense(3, "swish")
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        net().fit(X, y, loss="hinge", **FIT)
    with pytest.raises(ValueError, match="'f2'"):
        net().fit(X, y, metrics=["f2"], **FIT)


@pytest.mark.parametrize(
    "option, value", [("epochs", 0), ("batch_size", 0), ("batch_size", -5)]
)
def test_bad_counts(option, value):
    X, y = _xy()
    with pytest.raises(ValueError, match=f"received {option}={value}"):
        net().fit(X, y, **{option: value}, **FIT)


def test_every_layer_frozen_is_refused():
    X, y = _xy()
    model = gn.Sequential([gn.Dense(1, "sigmoid", trainable=False)])
    with pytest.raises(ValueError, match="nothing to train"):
        model.fit(X, y, **FIT)


# --- other outputs --------------------------------------------------------------------


def test_multi_label_training_with_missing_labels():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    Y = (X[:, :2] > 0).astype(float)
    Y[::4, 0] = np.nan
    Y[1::5, 1] = -1
    model = gn.Sequential([gn.Dense(6, "relu"), gn.Dense(2, "sigmoid")])
    history = model.fit(X, Y, epochs=20, batch_size=10, optimizer=gn.Adam(0.05), **FIT)
    assert all(np.isfinite(history["cost"]))
    assert history["cost"][-1] < history["cost"][0]
    assert history.params["loss"] == "multi_label"


def test_softmax_one_hot_and_integer_labels_train_the_same():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 4))
    y = rng.integers(0, 3, size=30)
    runs = []
    for labels in (y, np.eye(3)[y]):
        model = gn.Sequential([gn.Dense(5, "relu"), gn.Dense(3, "softmax")])
        model.build(4, rng=0, dtype="float64")
        runs.append(model.fit(X, labels, epochs=3, batch_size=8, **FIT)["cost"])
    np.testing.assert_allclose(runs[0], runs[1], rtol=1e-12)


def test_regression_training():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 2))
    y = X @ np.array([1.5, -2.0]) + 0.5
    model = gn.Sequential([gn.Dense(1)])
    history = model.fit(
        X, y, epochs=60, batch_size=None, optimizer=gn.GradientDescent(0.3), **FIT
    )
    assert history["cost"][-1] < 1e-6
    np.testing.assert_allclose(model.params["W1"], [[1.5, -2.0]], atol=1e-3)
    assert "accuracy" not in model.evaluate(X, y)
