"""Per-mini-batch augmentations: shapes, laws, no in-place changes, configs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glassnet.data import (
    Compose,
    GaussianNoise,
    RandomCrop,
    RandomFlip,
    RandomShift,
    augmentation_from_config,
)
from glassnet.data.augmentation import serialize


def _images(m=6, h=5, w=4, c=3, seed=0):
    return np.random.default_rng(seed).random((m, h, w, c)).astype(np.float32)


@settings(max_examples=25, deadline=None)
@given(stddev=st.floats(0.01, 5.0), seed=st.integers(0, 2**16))
def test_gaussian_noise_has_mean_zero_and_the_given_spread(stddev, seed):
    X = np.full((400, 50), 3.0)
    noise = GaussianNoise(stddev)(X, np.random.default_rng(seed)) - X
    n = noise.size
    # the mean of n draws of N(0, s^2) lies within 5 s / sqrt(n) of 0
    assert abs(noise.mean()) < 5 * stddev / np.sqrt(n)
    assert abs(noise.std() / stddev - 1) < 0.05
    np.testing.assert_array_equal(X, 3.0)  # input untouched


def test_gaussian_noise_dtype_rng_kinds_and_validation():
    X = np.zeros((3, 2), dtype=np.float32)
    assert GaussianNoise(0.1)(X, 0).dtype == np.float32
    a = GaussianNoise(1.0)(X, np.random.RandomState(5))
    b = GaussianNoise(1.0)(X, np.random.RandomState(5))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(GaussianNoise(0.0)(X, 0), X)
    with pytest.raises(ValueError, match=r"stddev must be in \[0, inf\); received"):
        GaussianNoise(-0.5)


def test_flip_is_an_involution_and_mirrors_columns():
    X = _images()
    flip = RandomFlip(probability=1.0)
    once = flip(X, 0)
    np.testing.assert_array_equal(once, X[:, :, ::-1, :])
    np.testing.assert_array_equal(flip(once, 1), X)
    both = RandomFlip(horizontal=True, vertical=True, probability=1.0)
    np.testing.assert_array_equal(both(X, 0), X[:, ::-1, ::-1, :])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), probability=st.floats(0, 1))
def test_random_flip_twice_with_the_same_draws_is_identity(seed, probability):
    X = _images(m=8)
    flip = RandomFlip(horizontal=True, vertical=True, probability=probability)
    once = flip(X, np.random.default_rng(seed))
    np.testing.assert_array_equal(flip(once, np.random.default_rng(seed)), X)
    # every image is either unchanged or mirrored
    for original, out in zip(X, once, strict=True):
        assert any(
            np.array_equal(out, view)
            for view in (
                original,
                original[:, ::-1],
                original[::-1],
                original[::-1, ::-1],
            )
        )


def test_flattened_rows_need_image_shape():
    X = _images(m=4)
    rows = X.reshape(4, -1)
    before = rows.copy()
    out = RandomFlip(probability=1.0, image_shape=(5, 4, 3))(rows, 0)
    assert out.shape == rows.shape
    np.testing.assert_array_equal(out, X[:, :, ::-1, :].reshape(4, -1))
    np.testing.assert_array_equal(rows, before)
    with pytest.raises(ValueError, match=r"image_shape=\(h, w, c\) for flattened"):
        RandomFlip()(rows, 0)
    with pytest.raises(ValueError, match="has 30 values but the rows have 60"):
        RandomShift(1, image_shape=(5, 2, 3))(rows, 0)
    with pytest.raises(ValueError, match="image_shape must be"):
        RandomFlip(image_shape=(5, 0, 3))


def test_shift_moves_pixels_and_fills_with_zeros():
    X = np.zeros((50, 5, 5, 1))
    X[:, 2, 2, 0] = 1.0  # one bright pixel in the centre
    out = RandomShift(2)(X, 3)
    assert out.shape == X.shape
    positions = {tuple(np.argwhere(image[..., 0] == 1)[0]) for image in out}
    assert all(abs(r - 2) <= 2 and abs(c - 2) <= 2 for r, c in positions)
    assert len(positions) > 5  # shifts vary from image to image
    np.testing.assert_array_equal(out.sum(axis=(1, 2, 3)), 1)  # nothing lost
    np.testing.assert_array_equal(RandomShift(0)(X, 0), X)
    shifted = RandomShift(1, fill_value=-1.0)(np.ones((30, 3, 3, 1)), 0)
    assert (shifted == -1).any() and set(np.unique(shifted)) <= {-1.0, 1.0}
    with pytest.raises(ValueError, match="max_pixels must be in"):
        RandomShift(-1)


def test_crop_output_size_and_windows():
    X = _images(m=10, h=6, w=6, c=2)
    out = RandomCrop(4)(X, 0)
    assert out.shape == (10, 4, 4, 2)
    for original, window in zip(X, out, strict=True):  # each is a 4x4 window
        assert any(
            np.array_equal(original[i : i + 4, j : j + 4], window)
            for i in range(3)
            for j in range(3)
        )
    padded = RandomCrop((6, 6), padding=2)(X, 1)
    assert padded.shape == X.shape
    flat = RandomCrop(3, image_shape=(6, 6, 2))(X.reshape(10, -1), 0)
    assert flat.shape == (10, 3 * 3 * 2)
    with pytest.raises(ValueError, match="larger than the padded pictures"):
        RandomCrop(9, padding=1)(X, 0)
    with pytest.raises(ValueError, match="size must be"):
        RandomCrop((0, 2))


def test_compose_applies_in_order_and_configs_round_trip():
    X = _images(m=3)
    pipeline = Compose(
        [
            RandomFlip(probability=1.0),
            RandomShift(1, fill_value=0.5),
            RandomCrop((4, 3), padding=1),
            GaussianNoise(0.1),
        ]
    )
    out = pipeline(X, 7)
    assert out.shape == (3, 4, 3, 3) and out.dtype == np.float32
    record = json.loads(json.dumps(serialize(pipeline)))
    rebuilt = augmentation_from_config(record)
    np.testing.assert_array_equal(rebuilt(X, 7), out)
    assert rebuilt.get_config() == pipeline.get_config()
    with pytest.raises(TypeError, match="item 1"):
        Compose([GaussianNoise(1.0), "flip"])
    with pytest.raises(ValueError, match="unknown augmentation 'Blur'"):
        augmentation_from_config({"class_name": "Blur", "config": {}})
    unchanged = Compose([])(X, 0)
    np.testing.assert_array_equal(unchanged, X)
    assert unchanged is not X


def test_greyscale_batches_without_channel_axis():
    X = np.arange(2 * 3 * 4, dtype=float).reshape(2, 3, 4)
    out = RandomFlip(probability=1.0)(X, 0)
    np.testing.assert_array_equal(out, X[:, :, ::-1])
