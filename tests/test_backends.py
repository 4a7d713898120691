"""The same engine on other array backends: PyTorch tensors (CPU here, CUDA when
there is one) through array-api-compat. CI has no GPU: GPU tests skip cleanly.

Training runs on torch are marked ``slow``; the fast tier keeps the flat parameter
tensor, the float64 gradient checks, moving a model and the refusals."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

import glassnet as gn

torch = pytest.importorskip("torch")
pytest.importorskip("array_api_compat")

CUDA = torch.cuda.is_available()
gpu = pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")


def digits():
    data = load_digits()
    X = (data.data / 16).astype(np.float32)
    return X[:1200], data.target[:1200], X[1200:], data.target[1200:]


def network(**dense):
    return gn.Sequential(
        [gn.Dense(32, "relu", **dense), gn.Dense(16, "tanh"), gn.Dense(10, "softmax")]
    )


@pytest.mark.slow  # trains on torch (about 9 s)
def test_torch_backend_trains_digits_like_numpy():
    X, y, X_test, y_test = digits()
    accuracies = {}
    for backend in ("numpy", "torch"):
        model = network()
        model.build(64, rng=0, backend=backend, device="cpu")
        model.fit(X, y, epochs=15, optimizer=gn.Adam(3e-3), rng=1, verbose=False)
        accuracies[backend] = model.evaluate(X_test, y_test)["accuracy"]
        assert model.backend == backend
    assert accuracies["numpy"] > 0.9
    assert abs(accuracies["torch"] - accuracies["numpy"]) <= 0.01


def test_torch_parameters_live_in_one_flat_tensor():
    model = network().build(64, rng=0, backend="torch", device="cpu")
    assert isinstance(model.flat_params, torch.Tensor)
    W1 = model.params["W1"]
    assert (
        W1.untyped_storage().data_ptr()
        == model.flat_params.untyped_storage().data_ptr()
    )
    assert "backend torch" in model.summary(print_fn=None)


@pytest.mark.parametrize(
    "layers",
    [
        [gn.Dense(5, "relu"), gn.Dense(3, "softmax")],
        [gn.Dense(5, "tanh"), gn.Dense(1, "sigmoid")],
        [gn.Dense(5), gn.BatchNorm(), gn.Activation("relu"), gn.Dense(3, "softmax")],
        [gn.Dense(4, "leaky_relu"), gn.Dense(2, "linear")],
    ],
)
def test_float64_gradient_check_on_the_torch_backend(layers):
    rng = np.random.default_rng(0)
    model = gn.Sequential(layers).build(
        4, rng=1, dtype="float64", backend="torch", device="cpu"
    )
    n_out = model.n_out
    X = rng.standard_normal((4, 7))
    if model.output_activation == "softmax":
        Y = rng.integers(0, n_out, (1, 7)).astype(float)
    elif model.output_activation == "sigmoid":
        Y = rng.integers(0, 2, (1, 7)).astype(float)
    else:
        Y = rng.standard_normal((n_out, 7))
    result = gn.gradient_check(model, X, Y, regularizer=gn.L2(0.3))
    assert result.difference < 1e-7, result.table()


def test_moving_a_model_keeps_its_predictions_and_files_are_backend_free(tmp_path):
    X, y, X_test, _ = digits()
    model = network()
    model.fit(X, y, epochs=2, rng=0, verbose=False)
    expected = model.predict_proba(X_test)
    model.to("torch", device="cpu")
    np.testing.assert_allclose(
        model.predict_proba(X_test), expected, rtol=1e-5, atol=1e-6
    )
    model.fit(X, y, epochs=1, rng=0, verbose=False, optimizer=gn.Momentum(0.01))
    model.save(tmp_path / "m.glassnet")
    loaded = gn.load(tmp_path / "m.glassnet")
    assert loaded.backend == "numpy"
    np.testing.assert_allclose(
        loaded.predict_proba(X_test), model.predict_proba(X_test), rtol=1e-5, atol=1e-6
    )
    model.to("numpy")
    assert isinstance(model.params["W1"], np.ndarray)


@pytest.mark.slow  # trains on torch (about 4 s)
def test_fit_moves_data_and_draws_dropout_masks_on_the_backend():
    X, y, _, _ = digits()
    model = gn.Sequential(
        [gn.Dense(64, "relu"), gn.Dropout(0.5), gn.Dense(10, "softmax")]
    )
    history = model.fit(
        X,
        y,
        epochs=6,
        rng=0,
        verbose=False,
        backend="torch",
        device="cpu",
        metrics=["accuracy"],
        optimizer=gn.Adam(0.01),
    )
    assert model.backend == "torch"
    assert history["accuracy"][-1] > 0.8
    dropout = model.layers[1]
    A = torch.ones((200, 500), dtype=torch.float32)
    kept = dropout.forward(A, training=True)
    assert abs(float(kept.mean()) - 1.0) < 0.02  # inverted dropout keeps the mean
    assert abs(float((kept == 0).float().mean()) - 0.5) < 0.02


@pytest.mark.slow  # trains on torch (about 2 s)
def test_checkpoint_and_resume_on_the_torch_backend(tmp_path):
    X, y, _, _ = digits()
    path = tmp_path / "c.glassnet"
    common = dict(
        rng=0, verbose=False, backend="torch", device="cpu", optimizer=gn.Adam(1e-3)
    )
    network().fit(X, y, epochs=2, checkpoint=path, **common)
    resumed = network()
    resumed.fit(X, y, epochs=3, resume=path, **{**common, "optimizer": gn.Adam(1e-3)})
    straight = network()
    straight.fit(X, y, epochs=3, **{**common, "optimizer": gn.Adam(1e-3)})
    for key, value in straight.get_weights().items():
        np.testing.assert_allclose(
            resumed.get_weights()[key], value, rtol=1e-5, atol=1e-6
        )


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="unknown backend 'jax'"):
        network().build(64, backend="jax")


@pytest.mark.slow  # CUDA training
@gpu
def test_cuda_training_matches_the_cpu_within_float32_tolerance():
    X, y, X_test, y_test = digits()
    results = {}
    for device in ("cpu", "cuda"):
        model = network()
        model.build(64, rng=0, backend="torch", device=device)
        history = model.fit(
            X, y, epochs=5, optimizer=gn.Adam(1e-3), rng=1, verbose=False
        )
        results[device] = (history["cost"], model.predict_proba(X_test))
    np.testing.assert_allclose(results["cuda"][0], results["cpu"][0], rtol=1e-3)
    np.testing.assert_allclose(results["cuda"][1], results["cpu"][1], atol=1e-3)


def test_capture_needs_torch_on_cuda():
    X, y, _, _ = digits()
    with pytest.raises(ValueError, match="capture=True needs the torch backend"):
        network().fit(X, y, epochs=1, verbose=False, capture=True)


@pytest.mark.slow  # CUDA training
@gpu
def test_captured_steps_train_like_eager_steps_on_cuda():
    X, y, X_test, _ = digits()
    results = {}
    for capture in (False, True):
        model = network()
        model.build(64, rng=0, backend="torch", device="cuda")
        history = model.fit(
            X,
            y,
            epochs=4,
            batch_size=64,
            optimizer=gn.Adam(1e-3),
            rng=1,
            verbose=False,
            capture=capture,
            schedule=gn.InverseTime(1e-3, 0.5),
            metrics=["accuracy"],
        )
        results[capture] = (history, model.predict_proba(X_test))
    eager, captured = results[False][0], results[True][0]
    np.testing.assert_allclose(captured["cost"], eager["cost"], rtol=1e-4)
    assert captured["learning_rate"] == eager["learning_rate"]
    np.testing.assert_allclose(results[True][1], results[False][1], atol=1e-4)
