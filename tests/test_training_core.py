"""The training core: the notes' step, fit's reference path against its
accelerations, state that fit must not leave behind, and the complexity budget."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import glassnet as gn
from glassnet import _kernels
from glassnet.layers import Dense

ROOT = Path(__file__).resolve().parents[1]


def digits_split():
    data = gn.data.load_dataset("digits")
    X_train, X_dev, X_test, y_train, y_dev, y_test = gn.data.train_dev_test_split(
        data.X, data.y, rng=0
    )
    scaler = gn.data.Standardizer().fit(X_train)
    return (
        scaler.transform(X_train),
        scaler.transform(X_test),
        y_train,
        y_test,
    )


def readme_model():
    """The README's library example."""
    return gn.Sequential(
        [
            gn.Dense(64, "relu", initializer="he"),
            gn.Dropout(keep_prob=0.9),
            gn.Dense(10, "softmax"),
        ]
    )


def train_readme(fast, dtype="float32", epochs=20):
    X_train, X_test, y_train, y_test = digits_split()
    model = readme_model()
    history = model.fit(
        X_train,
        y_train,
        epochs=epochs,
        batch_size=64,
        optimizer=gn.Adam(1e-3),
        regularizer=gn.L2(1e-3),
        metrics=["accuracy"],
        rng=0,
        verbose=False,
        dtype=dtype,
        fast=fast,
    )
    return model, history, model.evaluate(X_test, y_test)["accuracy"]


# -- the notes' step, by hand ----------------------------------------------------


def test_one_train_step_is_the_notes_step_by_hand():
    """Logistic regression, 2 features, 2 examples, one gradient-descent step."""
    model = gn.Sequential([gn.Dense(1, "sigmoid", initializer="zeros")])
    model.build(2, rng=0, dtype="float64")
    X = np.array([[1.0, 2.0], [3.0, -1.0]])  # (n[0], m) = (2, 2)
    Y = np.array([[1.0, 0.0]])
    J = gn.train_step(model, X, Y, gn.GradientDescent(0.5), fast=False)
    # w = 0, b = 0: a = sigmoid(0) = 0.5 for both examples, J = log 2
    assert J == pytest.approx(np.log(2), abs=1e-15)
    # dZ = A - Y = [-0.5, 0.5]; dW = (1/2) dZ X^T = [(-0.5 + 1) / 2, (-1.5 - 0.5) / 2]
    np.testing.assert_allclose(model.grads["W1"], [[0.25, -1.0]], atol=1e-15)
    np.testing.assert_allclose(model.grads["b1"], [[0.0]], atol=1e-15)
    # W = W - 0.5 dW
    np.testing.assert_allclose(model.params["W1"], [[-0.125, 0.5]], atol=1e-15)


def test_the_regularizer_is_an_argument_of_the_step():
    model = gn.Sequential([gn.Dense(3, "tanh"), gn.Dense(1, "sigmoid")])
    model.build(4, rng=1, dtype="float64")
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(4, 5)), (rng.random((1, 5)) > 0.5).astype(float)
    AL = model.forward(X, training=True)
    plain = model.compute_cost(AL, Y)
    regularized = model.compute_cost(AL, Y, regularizer=gn.L2(0.7))
    W1, W2 = model.params["W1"], model.params["W2"]
    expected = 0.7 / (2 * 5) * (np.sum(W1**2) + np.sum(W2**2))
    assert regularized - plain == pytest.approx(expected, rel=1e-12)
    model.backward(AL, Y)
    dW1 = model.grads["W1"].copy()
    model.backward(AL, Y, regularizer=gn.L2(0.7))
    np.testing.assert_allclose(model.grads["W1"] - dW1, 0.7 / 5 * W1, rtol=1e-10)


# -- the two state leaks ---------------------------------------------------------


class Explodes(gn.callbacks.Callback):
    def on_batch_end(self, batch, logs=None):
        if batch == 1:
            raise RuntimeError("boom")


def test_a_callback_that_raises_leaves_no_shared_buffers_behind():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(64, 5)).astype(np.float32), rng.integers(0, 2, 64)
    model = gn.Sequential([gn.Dense(8, "relu"), gn.Dense(1, "sigmoid")])
    with pytest.raises(RuntimeError, match="boom"):
        model.fit(X, y, epochs=2, batch_size=16, callbacks=[Explodes()], verbose=False)
    assert not any(getattr(layer, "reuse_buffers", False) for layer in model.layers)
    first = model.forward(X.T, training=True)
    kept = first.copy()
    second = model.forward(X[::-1].T, training=True)
    assert first is not second and not np.shares_memory(first, second)
    np.testing.assert_array_equal(first, kept)


def test_fits_regularizer_does_not_stay_on_the_layers():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), rng.integers(0, 2, 40)
    model = gn.Sequential([gn.Dense(4, "tanh"), gn.Dense(1, "sigmoid")])
    model.fit(X, y, epochs=2, regularizer=gn.L2(5), verbose=False, dtype="float64")
    AL = model.forward(X.T)
    loss_only = gn.losses.get("binary_cross_entropy").cost(AL, y.reshape(1, -1))
    assert model.compute_cost(AL, y.reshape(1, -1)) == loss_only
    assert model.evaluate(X, y)["cost"] == pytest.approx(loss_only, rel=1e-12)
    # the layers keep no trace of fit's flags either
    for layer in model.layers:
        assert not hasattr(layer, "active_regularizer")
        assert not hasattr(layer, "need_input_gradient")


def test_validation_cost_carries_fits_regularizer_like_the_training_cost():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(50, 3)), rng.integers(0, 2, 50)
    model = gn.Sequential([gn.Dense(4, "tanh"), gn.Dense(1, "sigmoid")])
    history = model.fit(
        X,
        y,
        epochs=1,
        batch_size=None,
        optimizer=gn.GradientDescent(0.0),  # the weights stay put
        regularizer=gn.L2(3.0),
        validation_data=(X, y),
        verbose=False,
        dtype="float64",
        shuffle=False,
    )
    assert history["val_cost"][0] == pytest.approx(history["cost"][0], rel=1e-12)


# -- the reference path against the accelerations ---------------------------------


def test_reference_and_fast_paths_reach_the_same_accuracy_on_the_readme_example():
    _, fast_history, fast = train_readme(fast=True)
    _, reference_history, reference = train_readme(fast=False)
    assert fast > 0.9 and reference > 0.9
    assert fast == pytest.approx(reference, abs=0.01)
    assert fast_history.params["fast"] is True
    assert reference_history.params["fast"] is False


def test_reference_and_fast_paths_give_the_same_bits_in_float64():
    fast_model, fast_history, _ = train_readme(fast=True, dtype="float64", epochs=3)
    reference_model, reference_history, _ = train_readme(
        fast=False, dtype="float64", epochs=3
    )
    assert fast_history["cost"] == reference_history["cost"]
    for key, value in fast_model.get_weights().items():
        np.testing.assert_array_equal(value, reference_model.get_weights()[key])


def test_reference_and_fast_paths_give_the_same_bits_in_float32_on_one_thread():
    # glassnet's products are NumPy's on one BLAS thread, bit for bit (D22)
    with threadpool_limits(1):
        fast_model, _, _ = train_readme(fast=True, epochs=2)
        reference_model, _, _ = train_readme(fast=False, epochs=2)
    for key, value in fast_model.get_weights().items():
        np.testing.assert_array_equal(value, reference_model.get_weights()[key])


def test_the_reference_path_runs_nothing_compiled(monkeypatch):
    calls = []
    for name in ("adam", "bias_relu", "relu_backward_sum", "gather_rows", "matmul"):
        original = getattr(_kernels, name, None)
        if original is None:
            continue

        def spy(*args, _original=original, _name=name, **kwargs):
            if _kernels.compiled_enabled():
                calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(_kernels, name, spy)
    X_train, _, y_train, _ = digits_split()
    model = readme_model()
    model.fit(X_train, y_train, epochs=1, optimizer="adam", verbose=False, fast=False)
    assert calls == []
    model.fit(X_train, y_train, epochs=1, optimizer="adam", verbose=False)
    assert calls or not _kernels.AVAILABLE  # the spies see the fast path


OPTIMIZERS = [
    lambda: gn.GradientDescent(0.1),
    lambda: gn.Momentum(0.05, beta=0.8),
    lambda: gn.RMSprop(0.01, beta2=0.99),
    lambda: gn.Adam(0.01, beta1=0.85, beta2=0.995),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("make", OPTIMIZERS, ids=["gd", "momentum", "rmsprop", "adam"])
def test_every_acceleration_of_an_update_is_the_reference_bit_for_bit(make, dtype):
    """Three ways to run each update over a model's flat buffer (compiled loop,
    cache-sized blocks, the notes' reference per array) give the same bits over
    20 steps, with magnitudes from tiny to large and exact zeros."""
    rng = np.random.default_rng(0)
    shapes = {"W1": (300, 200), "b1": (300, 1), "W2": (10, 300), "b2": (10, 1)}

    def model_arrays():
        total = sum(int(np.prod(s)) for s in shapes.values())
        flat_W, flat_dW = np.zeros(total, dtype), np.zeros(total, dtype)
        params, grads, offset = {}, {}, 0
        for key, shape in shapes.items():
            size = int(np.prod(shape))
            params[key] = flat_W[offset : offset + size].reshape(shape)
            grads[key] = flat_dW[offset : offset + size].reshape(shape)
            offset += size
        return flat_W, flat_dW, params, grads

    initial = rng.normal(size=sum(int(np.prod(s)) for s in shapes.values()))
    gradients = [
        (rng.normal(size=initial.size) * 10.0 ** rng.integers(-30, 3, initial.size))
        * (rng.random(initial.size) > 0.1)
        for _ in range(20)
    ]
    results = {}
    for path in ("compiled", "blocked", "reference"):
        optimizer = make()
        optimizer.use_kernels = path == "compiled"
        if path == "blocked":
            optimizer.chunk_size = 4096  # several blocks over the buffer
        flat_W, flat_dW, params, grads = model_arrays()
        flat_W[...] = initial
        for dW in gradients:
            flat_dW[...] = dW
            optimizer.update(params, grads, reference=path == "reference")
        results[path] = flat_W.copy()
    np.testing.assert_array_equal(results["blocked"], results["reference"])
    np.testing.assert_array_equal(results["compiled"], results["reference"])


# -- the complexity budget ---------------------------------------------------------


def test_every_function_in_glassnet_is_within_complexity_15():
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (pip install -e '.[dev]')")
    result = subprocess.run(
        [ruff, "check", "--select", "C901", "glassnet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_check_and_format_are_clean():
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (pip install -e '.[dev]')")
    for command in (["check", "."], ["format", "--check", "."]):
        result = subprocess.run(
            [ruff, *command], cwd=ROOT, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_dense_layers_have_no_fit_flags_by_default():
    layer = Dense(3)
    assert layer.reuse_buffers is False
    assert sys.modules["glassnet.step"].train_step is gn.train_step
