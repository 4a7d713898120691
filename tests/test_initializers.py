"""Initializers: the notes' (zeros, random, xavier, glorot, he) and Keras's
(glorot_uniform, glorot_normal, he_uniform, he_normal, lecun_normal): each one's
variance on a large layer and a hand-worked value; the model-wide initializer on
Sequential and ``glassnet train --initializer``."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from test_cli import cli, ok

import glassnet as gn
from glassnet import initializers

N, N_PREV = 400, 1000  # W (n[l], n[l-1]): 400,000 draws


def _variance(name):
    """Var(W) in the module docstring's table, for W (N, N_PREV)."""
    fan_in, fan_out = N_PREV, N
    return {
        "random": 0.01**2,
        "xavier": 1 / fan_in,
        "glorot": 2 / (fan_in + fan_out),
        "he": 2 / fan_in,
        "glorot_uniform": 2 / (fan_in + fan_out),
        "glorot_normal": 2 / (fan_in + fan_out),
        "he_uniform": 2 / fan_in,
        "he_normal": 2 / fan_in,
        "lecun_normal": 1 / fan_in,
    }[name]


@pytest.mark.parametrize("name", [n for n in initializers.NAMES if n != "zeros"])
def test_variance_on_a_large_layer(name):
    W = initializers.get(name)((N, N_PREV), np.random.default_rng(0))
    assert W.shape == (N, N_PREV) and W.dtype == np.float64
    # the sample variance of 400,000 draws is within 1 % of Var(W) (its relative
    # standard error is about sqrt(2/400000) = 0.2 %), and the mean is ~0
    assert W.var() == pytest.approx(_variance(name), rel=0.01)
    assert abs(W.mean()) < 5 * math.sqrt(_variance(name) / W.size)


@pytest.mark.parametrize(
    "name, limit",
    [
        ("glorot_uniform", math.sqrt(6 / (N_PREV + N))),
        ("he_uniform", math.sqrt(6 / N_PREV)),
    ],
)
def test_uniform_draws_fill_their_interval(name, limit):
    W = initializers.get(name)((N, N_PREV), np.random.default_rng(1))
    assert np.abs(W).max() <= limit
    assert np.abs(W).max() > 0.999 * limit


@pytest.mark.parametrize(
    "name, variance",
    [
        ("glorot_normal", 2 / (N_PREV + N)),
        ("he_normal", 2 / N_PREV),
        ("lecun_normal", 1 / N_PREV),
    ],
)
def test_truncated_normal_draws_stop_at_two_standard_deviations(name, variance):
    W = initializers.get(name)((N, N_PREV), np.random.default_rng(2))
    bound = 2 * math.sqrt(variance) / initializers.TRUNCATED_NORMAL_STDDEV
    assert np.abs(W).max() <= bound
    assert np.abs(W).max() > 0.99 * bound


def test_the_truncated_normal_constant_is_the_standard_deviation_at_two():
    from scipy.stats import truncnorm

    assert initializers.TRUNCATED_NORMAL_STDDEV == pytest.approx(
        truncnorm(-2, 2).std(), rel=1e-12
    )


class Scripted:
    """A generator whose draws are given: standard_normal and random (uniform)
    return the next values of the script."""

    def __init__(self, normal=(), uniform=()):
        self.normal, self.uniform = list(normal), list(uniform)

    def standard_normal(self, shape):
        return self._take(self.normal, shape)

    def random(self, shape):
        return self._take(self.uniform, shape)

    @staticmethod
    def _take(values, shape):
        size = int(np.prod(shape))
        taken = [values.pop(0) for _ in range(size)]
        return np.array(taken, dtype=np.float64).reshape(shape)


# W (n[l], n[l-1]) = (2, 3): fan_in 3, fan_out 2
HAND_WORKED = [
    # glorot_uniform: r = sqrt(6 / 5) = 1.0954451; u = 0.75 -> (2u - 1) r = 0.5477226
    ("glorot_uniform", {"uniform": [0.75] * 6}, 0.54772256),
    # he_uniform: r = sqrt(6 / 3) = 1.4142136; u = 0.75 -> 0.7071068
    ("he_uniform", {"uniform": [0.75] * 6}, 0.70710678),
    # glorot_normal: sqrt(2 / 5) / 0.87962566 = 0.63245553 / 0.87962566 = 0.71900532
    ("glorot_normal", {"normal": [1.0] * 6}, 0.71900532),
    # he_normal: sqrt(2 / 3) / 0.87962566 = 0.81649658 / 0.87962566 = 0.92823188
    ("he_normal", {"normal": [1.0] * 6}, 0.92823188),
    # lecun_normal: sqrt(1 / 3) / 0.87962566 = 0.57735027 / 0.87962566 = 0.65635906
    ("lecun_normal", {"normal": [1.0] * 6}, 0.65635906),
    # the notes': xavier 1 / sqrt(3) = 0.5773503; glorot sqrt(2 / 5) = 0.6324555;
    # he sqrt(2 / 3) = 0.8164966; random 0.01
    ("xavier", {"normal": [1.0] * 6}, 0.57735027),
    ("glorot", {"normal": [1.0] * 6}, 0.63245553),
    ("he", {"normal": [1.0] * 6}, 0.81649658),
    ("random", {"normal": [1.0] * 6}, 0.01),
]


@pytest.mark.parametrize("name, draws, value", HAND_WORKED)
def test_hand_worked_values(name, draws, value):
    W = initializers.get(name)((2, 3), Scripted(**draws))
    np.testing.assert_allclose(W, np.full((2, 3), value), rtol=1e-7)


def test_a_draw_beyond_two_is_drawn_again():
    # draws 3.0 and -2.5 are outside +-2: drawn again (0.5, then 1.0), in order
    rng = Scripted(normal=[1.0, 3.0, 1.0, -2.5, 1.0, 1.0, 0.5, 1.0])
    W = initializers.get("lecun_normal")((2, 3), rng)
    scale = math.sqrt(1 / 3) / initializers.TRUNCATED_NORMAL_STDDEV
    np.testing.assert_allclose(W / scale, [[1.0, 0.5, 1.0], [1.0, 1.0, 1.0]])
    assert rng.normal == []


def test_the_same_seed_gives_the_same_weights_for_both_kinds_of_rng():
    for name in ("glorot_uniform", "he_normal"):
        a = initializers.get(name)((5, 7), np.random.RandomState(3))
        b = initializers.get(name)((5, 7), np.random.RandomState(3))
        np.testing.assert_array_equal(a, b)
        c = initializers.get(name)((5, 7), np.random.default_rng(3))
        d = initializers.get(name)((5, 7), np.random.default_rng(3))
        np.testing.assert_array_equal(c, d)


def test_names_configs_and_unknown_names():
    for name in initializers.NAMES:
        initializer = initializers.get(name)
        assert initializer.name == name
        assert initializers.get(initializer.get_config()).name == name
    with pytest.raises(ValueError, match="'glorot_uniformm'"):
        initializers.get("glorot_uniformm")
    with pytest.raises(ValueError, match="does not take options"):
        initializers.get("he_normal", scale=3)


# --- the model-wide initializer -------------------------------------------------------


def test_a_model_wide_initializer_for_dense_layers_that_chose_none():
    model = gn.Sequential(
        [
            gn.Dense(50, "relu"),  # default he -> glorot_uniform
            gn.Dense(20, "tanh", initializer="zeros"),  # its own choice stays
            gn.Dense(3, "softmax"),  # default xavier -> glorot_uniform
        ],
        initializer="glorot_uniform",
    )
    names = [layer.initializer.name for layer in model.layers]
    assert names == ["glorot_uniform", "zeros", "glorot_uniform"]
    model.build(400, rng=0)
    W1 = model.params["W1"]
    assert np.abs(W1).max() <= math.sqrt(6 / 450)
    assert W1.var() == pytest.approx(2 / 450, rel=0.05)
    assert not model.params["W2"].any()
    # the layers' configs name what they used, so a saved model rebuilds as is
    rebuilt = gn.Sequential.from_config(model.get_config())
    assert [layer.initializer.name for layer in rebuilt.layers] == names


def test_without_a_model_wide_initializer_the_defaults_stay():
    model = gn.Sequential([gn.Dense(4, "relu"), gn.Dense(1, "sigmoid")])
    assert model.initializer is None
    assert [layer.initializer.name for layer in model.layers] == ["he", "xavier"]
    later = gn.Sequential(initializer="he_uniform")
    later.add(gn.Dense(4, "tanh"))
    assert later.layers[0].initializer.name == "he_uniform"
    with pytest.raises(ValueError, match="unknown initializer 'glorot_x'"):
        gn.Sequential([gn.Dense(2)], initializer="glorot_x")


def test_glassnet_train_initializer_reaches_every_dense_layer(tmp_path):
    ok(
        cli(
            "train",
            "--data",
            "iris",
            "--epochs",
            "1",
            "--initializer",
            "lecun_normal",
            "--out",
            tmp_path / "run",
            "--quiet",
        )
    )
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["initializer"] == "lecun_normal"
    model = gn.load(tmp_path / "run" / "model.glassnet")
    dense = [layer for layer in model.layers if isinstance(layer, gn.Dense)]
    assert len(dense) == 2
    assert {layer.initializer.name for layer in dense} == {"lecun_normal"}


def test_glassnet_train_refuses_an_unknown_initializer(tmp_path):
    outcome = cli("train", "--data", "iris", "--initializer", "glorot_uniformm")
    assert outcome.returncode == 2
    assert "glorot_uniform" in outcome.stderr  # the choices are listed


def test_a_config_file_with_an_unknown_initializer_is_refused():
    from glassnet.run_config import RunConfig

    with pytest.raises(ValueError, match="initializer"):
        RunConfig.from_dict({"initializer": "glorot_uniformm"})
    assert RunConfig.from_dict({"initializer": "he_uniform"}).initializer == (
        "he_uniform"
    )
