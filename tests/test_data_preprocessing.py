"""Standardizer (training statistics only), one_hot and label encoding."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from glassnet.data import Standardizer, decode_labels, encode_labels, one_hot


def test_standardizer_uses_training_statistics_only():
    X_train = np.array([[1.0, 10.0], [3.0, 10.0], [5.0, 10.0]])
    X_dev = np.array([[7.0, 0.0], [9.0, 20.0]])
    scaler = Standardizer().fit(X_train)
    # mu = (3, 10); sigma = (sqrt(8/3), 0 -> 1 for the constant column)
    np.testing.assert_allclose(scaler.mean, [3.0, 10.0])
    np.testing.assert_allclose(scaler.std, [np.sqrt(8 / 3), 1.0])
    np.testing.assert_allclose(
        scaler.transform(X_dev),
        [[4 / np.sqrt(8 / 3), -10.0], [6 / np.sqrt(8 / 3), 10.0]],
    )
    # the dev set's own statistics would give mean 0; the training ones do not
    assert not np.allclose(scaler.transform(X_dev).mean(axis=0), 0)
    Z = scaler.fit_transform(X_train)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), [1, 0], atol=1e-12)


def test_standardizer_constant_column_up_to_round_off():
    X = np.full((3, 1), 0.1)  # mean(0.1, 0.1, 0.1) need not be exactly 0.1
    Z = Standardizer().fit_transform(X)
    np.testing.assert_allclose(Z, 0, atol=1e-12)


def test_standardizer_errors_dtype_and_images():
    scaler = Standardizer()
    with pytest.raises(RuntimeError, match="not fitted"):
        scaler.transform(np.ones((2, 2)))
    scaler.fit(np.arange(6.0).reshape(3, 2))
    with pytest.raises(ValueError, match=r"shape \(3,\) but .* shape \(2,\)"):
        scaler.transform(np.ones((2, 3)))
    assert scaler.transform(np.ones((2, 2), dtype=np.float32)).dtype == np.float32
    images = np.random.default_rng(0).random((5, 4, 4, 3))
    image_scaler = Standardizer().fit(images)
    assert image_scaler.mean.shape == (4, 4, 3)
    np.testing.assert_allclose(
        image_scaler.inverse_transform(image_scaler.transform(images)), images
    )
    with pytest.raises(TypeError, match="with_mean must be True or False"):
        Standardizer(with_mean=1)


def test_standardizer_config_and_state_round_trip(tmp_path):
    X = np.random.default_rng(1).normal(3, 2, size=(20, 4))
    scaler = Standardizer(with_mean=True).fit(X)
    config = json.loads(json.dumps(scaler.get_config()))
    np.savez(tmp_path / "state.npz", **scaler.state())
    with np.load(tmp_path / "state.npz", allow_pickle=False) as state:
        rebuilt = Standardizer.from_config(config, dict(state))
    np.testing.assert_array_equal(rebuilt.transform(X), scaler.transform(X))
    with pytest.raises(ValueError, match="pass its state"):
        Standardizer.from_config(config)
    with pytest.raises(ValueError, match="missing"):
        Standardizer().set_state({"mean": np.zeros(2)})
    unfitted = Standardizer.from_config(Standardizer().get_config())
    assert not unfitted.fitted and unfitted.state() == {}
    no_mean = Standardizer(with_mean=False).fit(X)
    np.testing.assert_allclose(no_mean.transform(X), X / X.std(axis=0))


@settings(max_examples=40, deadline=None)
@given(
    X=arrays(
        np.float64,
        st.tuples(st.integers(2, 20), st.integers(1, 5)),
        elements=st.floats(-1e3, 1e3),
    )
)
def test_standardized_training_data_has_zero_mean_unit_or_zero_std(X):
    scaler = Standardizer().fit(X)
    Z = scaler.transform(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-8)
    std = Z.std(axis=0)
    assert np.all((np.abs(std - 1) < 1e-6) | (std < 1e-6))
    np.testing.assert_allclose(scaler.inverse_transform(Z), X, atol=1e-8)


@settings(max_examples=40, deadline=None)
@given(labels=st.lists(st.integers(0, 9), min_size=1, max_size=30))
def test_one_hot_round_trip(labels):
    y = np.array(labels)
    Y = one_hot(y, num_classes=10)
    assert Y.shape == (len(y), 10)
    np.testing.assert_array_equal(Y.sum(axis=1), 1)
    np.testing.assert_array_equal(np.argmax(Y, axis=1), y)


def test_one_hot_shapes_and_bad_labels():
    np.testing.assert_array_equal(one_hot([2, 0]), [[0, 0, 1], [1, 0, 0]])
    np.testing.assert_array_equal(one_hot(np.array([[1, 0, 1]])), one_hot([1, 0, 1]))
    with pytest.raises(ValueError, match=r"in \[0, 3\); received label 3 at index 1"):
        one_hot([0, 3], num_classes=3)
    with pytest.raises(ValueError, match="received label -1 at index 0"):
        one_hot([-1, 0])
    with pytest.raises(ValueError, match="integer class labels; received 1.5"):
        one_hot([0.0, 1.5])
    with pytest.raises(ValueError, match="encode_labels"):
        one_hot(["a", "b"])
    with pytest.raises(ValueError, match="num_classes must be >= 1"):
        one_hot([0], num_classes=0)


def test_encode_and_decode_labels():
    codes, classes = encode_labels(["dog", "cat", "dog", "emu"])
    assert classes == ["cat", "dog", "emu"] and codes.tolist() == [1, 0, 1, 2]
    assert decode_labels(codes, classes).tolist() == ["dog", "cat", "dog", "emu"]
    # encoding new data with known classes keeps the given order
    codes, classes = encode_labels([3, 1], classes=[3, 2, 1])
    assert codes.tolist() == [0, 2] and classes == [3, 2, 1]
    with pytest.raises(ValueError, match="label 5 at index 1 is not one of"):
        encode_labels([1, 5], classes=[1, 2])
    with pytest.raises(ValueError, match=r"codes must be integers in \[0, 2\)"):
        decode_labels([0, 2], ["a", "b"])
    with pytest.raises(ValueError, match="NaN"):
        encode_labels([1.0, np.nan])
