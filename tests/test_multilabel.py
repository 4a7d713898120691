"""Multi-label / multi-task outputs: k sigmoid units, missing labels (NaN or -1)."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet.estimators import GlassClassifier
from glassnet.metrics import multilabel_report


def _model(n_x=4, k=3, dtype="float64", seed=0):
    model = gn.Sequential([gn.Dense(5, "tanh"), gn.Dense(k, "sigmoid")])
    return model.build(n_x, rng=seed, dtype=dtype)


def _columns(m=7, n_x=4, k=3, seed=0):
    """Engine layout X (n_x, m), Y (k, m) with NaN and -1 missing labels."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_x, m))
    Y = (rng.random((k, m)) > 0.5).astype(np.float64)
    Y[0, 1] = np.nan
    Y[2, 3] = -1
    Y[1, 4] = np.nan
    Y[1, 5] = -1
    return X, Y


def _gradients(model, X, Y):
    AL = model.forward(X, training=True)
    model.backward(AL, Y)
    return {k: v.copy() for k, v in model.grads.items()}


def test_multilabel_loss_is_inferred_for_several_sigmoid_units():
    assert isinstance(_model().default_loss(), gn.MultiLabel)
    assert isinstance(_model(k=1).default_loss(), gn.BinaryCrossEntropy)
    assert not isinstance(_model(k=1).default_loss(), gn.MultiLabel)


def test_gradient_check_passes_with_missing_labels():
    model = _model()
    X, Y = _columns()
    result = gn.gradient_check(model, X, Y)
    assert result.passed, result.table()
    assert result.difference < 1e-7


def test_gradient_check_with_regularization_and_batchnorm():
    model = gn.Sequential(
        [gn.Dense(5), gn.BatchNorm(), gn.Activation("relu"), gn.Dense(3, "sigmoid")]
    ).build(4, rng=1, dtype="float64")
    X, Y = _columns(m=9, seed=1)
    result = gn.gradient_check(model, X, Y, regularizer=gn.L2(0.3))
    assert result.passed, result.table()


def test_a_missing_label_contributes_exactly_zero():
    model = _model()
    X, Y = _columns()
    reference = _gradients(model, X, Y)
    # whatever "value" a missing label is given, nothing changes: NaN <-> -1
    swapped = Y.copy()
    swapped[0, 1], swapped[2, 3] = -1, np.nan
    for key, value in _gradients(model, X, swapped).items():
        np.testing.assert_array_equal(value, reference[key])
    # a missing label gives the same gradients as a label equal to the output
    # itself, where dZ = a - y is exactly 0
    AL = model.forward(X, training=False)
    at_output = Y.copy()
    for j, i in ((0, 1), (2, 3), (1, 4), (1, 5)):
        at_output[j, i] = AL[j, i]
    loss = gn.BinaryCrossEntropy()
    AL = model.forward(X, training=True)
    model.backward(AL, at_output, loss)
    for key, value in model.grads.items():
        np.testing.assert_allclose(value, reference[key], rtol=1e-12, atol=1e-15)


def test_missing_labels_add_nothing_to_the_cost():
    model = _model()
    X, Y = _columns()
    AL = model.forward(X, training=False)
    present = np.isfinite(Y) & (Y != -1)
    y, a = Y[present], AL[present]
    expected = -np.sum(y * np.log(a) + (1 - y) * np.log(1 - a)) / X.shape[1]
    assert model.compute_cost(AL, Y) == pytest.approx(expected, rel=1e-12)


def _multilabel_problem(m=400, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, 5))
    Y = np.stack(
        [X[:, 0] > 0, X[:, 1] - X[:, 2] > 0, (X[:, 3] > 0) ^ (X[:, 4] > 0)], axis=1
    ).astype(np.float64)
    Y_missing = Y.copy()
    Y_missing[rng.random(Y.shape) < 0.25] = np.nan
    Y_missing[rng.random(Y.shape) < 0.05] = -1
    return X, Y, Y_missing


def test_fit_on_a_small_multilabel_problem_with_missing_labels():
    X, Y, Y_missing = _multilabel_problem()
    model = gn.Sequential([gn.Dense(16, "relu"), gn.Dense(3, "sigmoid")])
    history = model.fit(
        X,
        Y_missing,
        epochs=60,
        batch_size=32,
        optimizer=gn.Adam(0.01),
        rng=0,
        verbose=False,
        validation_data=(X[:100], Y_missing[:100]),
    )
    assert np.isfinite(history["cost"]).all() and np.isfinite(history["val_cost"]).all()
    assert history["cost"][-1] < 0.5 * history["cost"][0]
    predicted = model.predict(X)
    assert predicted.shape == (400, 3)
    report = multilabel_report(Y, predicted)
    assert report[0] > 0.95 and report[1] > 0.95
    assert report[2] > 0.8  # XOR needs the hidden layer


def test_per_task_report_on_held_out_data_skips_missing_labels():
    X, Y, Y_missing = _multilabel_problem(m=600, seed=1)
    clf = GlassClassifier(
        hidden_layer_sizes=(16,), epochs=60, learning_rate=0.01, random_state=0
    ).fit(X[:400], Y_missing[:400])
    predicted = clf.predict(X[400:])
    held_out = Y_missing[400:]
    report = multilabel_report(held_out, predicted)
    assert set(report) == {0, 1, 2}
    for j, value in report.items():
        present = np.isfinite(held_out[:, j]) & (held_out[:, j] != -1)
        expected = np.mean(predicted[present, j] == held_out[present, j])
        assert value == pytest.approx(expected)
        assert value > 0.8
    f1 = multilabel_report(held_out, predicted, metric="f1")
    assert all(0.7 < value <= 1 for value in f1.values())
