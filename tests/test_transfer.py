"""Transfer learning: copies, freezing, head replacement, learning-rate multipliers."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA_DIR, needs_data

import glassnet as gn
from glassnet import transfer

ROOT = Path(__file__).resolve().parents[1]


def _data(m=200, n=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1)
    return X, y


def _pretrained(dtype="float64"):
    """Dense-BatchNorm-relu-Dropout, Dense-tanh, Dense-softmax(3), trained a little."""
    model = gn.Sequential(
        [
            gn.Dense(8, "linear"),
            gn.BatchNorm(),
            gn.Activation("relu"),
            gn.Dropout(0.9),
            gn.Dense(5, "tanh"),
            gn.Dense(3, "softmax"),
        ]
    )
    X, y = _data()
    model.fit(X, y, epochs=3, optimizer="adam", rng=0, verbose=False, dtype=dtype)
    return model


def _shares_anything(a, b) -> bool:
    arrays_a = [*a.params.values(), *a.state.values()]
    arrays_b = [*b.params.values(), *b.state.values()]
    return any(np.shares_memory(x, y) for x in arrays_a for y in arrays_b)


def test_drop_layers_counts_dense_units_and_copies_weights():
    model = _pretrained()
    body = transfer.drop_layers(model, 1)
    assert [type(layer).__name__ for layer in body.layers] == [
        "Dense",
        "BatchNorm",
        "Activation",
        "Dropout",
        "Dense",
    ]
    assert body.n_out == 5
    first = transfer.drop_layers(model, 2)  # Dense + BatchNorm + relu + Dropout
    assert len(first.layers) == 4 and first.n_out == 8
    for key, value in first.get_weights().items():
        np.testing.assert_array_equal(value, model.get_weights()[key])
    whole = transfer.drop_layers(model, 0)
    X, _ = _data(20)
    np.testing.assert_array_equal(whole.predict_proba(X), model.predict_proba(X))
    with pytest.raises(ValueError, match="cannot drop 3 Dense layer"):
        transfer.drop_layers(model, 3)


def test_copies_are_independent_of_the_original():
    model = _pretrained()
    before = model.get_weights()
    new = transfer.replace_head(model, [gn.Dense(2, "softmax")], rng=1)
    assert not set(map(id, new.layers)) & set(map(id, model.layers))
    assert not _shares_anything(new, model)
    for key in ("W1", "gamma1", "running_mean1", "W2", "b2"):
        np.testing.assert_array_equal(new.get_weights()[key], before[key])
    transfer.unfreeze(new)
    X, y = _data(seed=3)
    new.fit(X, y % 2, epochs=3, optimizer="adam", rng=0, verbose=False)
    new.params["W1"][...] = 0
    for key, value in model.get_weights().items():
        np.testing.assert_array_equal(value, before[key])
    assert model.layers[0].trainable  # the original was not frozen


def test_frozen_body_is_bitwise_unchanged_and_head_trains():
    model = _pretrained()
    new = transfer.replace_head(
        model, [gn.Dense(4, "relu"), gn.Dense(2, "softmax")], rng=0
    )  # a seeded head: the test must not depend on a lucky draw
    assert [layer.trainable for layer in new.layers] == [False] * 5 + [True, True]
    body_before = {k: v.copy() for k, v in new.get_weights().items() if k[-1] in "12"}
    head_before = new.params["W3"].copy()
    X, y = _data(seed=4)
    history = new.fit(
        X,
        y % 2,
        epochs=5,
        batch_size=32,
        optimizer=gn.Adam(0.01),
        rng=0,
        verbose=False,
    )
    after = new.get_weights()
    for key, value in body_before.items():  # weights and running statistics
        assert np.array_equal(after[key], value), key
    assert not np.array_equal(after["W3"], head_before)
    assert history["cost"][-1] < history["cost"][0]  # the head learns


def test_fit_refuses_a_model_with_nothing_trainable():
    model = transfer.freeze(_pretrained())
    X, y = _data()
    with pytest.raises(ValueError, match="nothing to train"):
        model.fit(X, y, epochs=1, verbose=False)
    transfer.unfreeze(model, [-1])
    model.fit(X, y, epochs=1, verbose=False)  # the output layer trains again


def test_freeze_and_unfreeze_by_index_and_slice():
    model = _pretrained()
    transfer.freeze(model, [0, 1])
    assert [layer.trainable for layer in model.layers][:2] == [False, False]
    assert model.trainable_keys() == ["W2", "b2", "W3", "b3"]
    transfer.freeze(model, slice(-2, None))
    assert model.trainable_keys() == []
    transfer.unfreeze(model, 4)
    assert model.trainable_keys() == ["W2", "b2"]
    with pytest.raises(ValueError, match="out of range"):
        transfer.freeze(model, [6])
    with pytest.raises(TypeError, match="integers"):
        transfer.freeze(model, ["W1"])


def test_frozen_batchnorm_keeps_its_statistics_mode():
    model = _pretrained()
    batchnorm = model.layers[1]
    Z = np.random.default_rng(0).standard_normal((8, 50)) * 3 + 1
    unfrozen = batchnorm.forward(Z, training=True)
    running = {k: v.copy() for k, v in batchnorm.state.items()}
    transfer.freeze(model, [1])
    batchnorm.state["running_mean"][...] = running["running_mean"]
    batchnorm.state["running_var"][...] = running["running_var"]
    frozen = batchnorm.forward(Z, training=True)
    np.testing.assert_array_equal(frozen, unfrozen)  # still the batch statistics
    for key, value in running.items():  # ...but the running ones stay put
        np.testing.assert_array_equal(batchnorm.state[key], value)
    batchnorm.use_batch_statistics = False  # opt in to the pretrained statistics
    np.testing.assert_array_equal(
        batchnorm.forward(Z, training=True), batchnorm.forward(Z, training=False)
    )


def test_learning_rate_multiplier_scales_body_updates_under_gradient_descent():
    pretrained = _pretrained()
    X, y = _data(seed=5)

    def body_and_head_steps(multiplier, epochs):
        model = transfer.replace_head(
            pretrained, [gn.Dense(2, "softmax")], freeze=False, rng=7
        )
        for layer in model.layers:
            if isinstance(layer, gn.Dropout):
                layer.keep_prob = 1.0  # deterministic passes for the comparison
        transfer.set_learning_rate_multipliers(
            model, dict.fromkeys(range(len(model.layers) - 1), multiplier)
        )
        before = model.get_weights()
        model.fit(
            X,
            y % 2,
            epochs=epochs,
            batch_size=None,
            optimizer=gn.GradientDescent(0.1),
            shuffle=False,
            verbose=False,
        )
        after = model.get_weights()
        body = np.linalg.norm(after["W1"] - before["W1"])
        head = np.linalg.norm(after["W3"] - before["W3"])
        return body, head

    body_fast, head_fast = body_and_head_steps(1.0, epochs=1)
    body_slow, head_slow = body_and_head_steps(0.1, epochs=1)
    # one step from the same point: the same gradient, a tenth of the step
    assert body_fast / body_slow == pytest.approx(10, rel=1e-9)
    assert head_fast == pytest.approx(head_slow, rel=1e-12)
    body_fast, _ = body_and_head_steps(1.0, epochs=10)
    body_slow, _ = body_and_head_steps(0.1, epochs=10)
    assert 7 < body_fast / body_slow < 13  # roughly 10x over several steps


def test_multipliers_are_validated_and_copied():
    model = _pretrained()
    with pytest.raises(ValueError, match="learning rate multiplier"):
        transfer.set_learning_rate_multipliers(model, {0: -1.0})
    with pytest.raises(ValueError, match="out of range"):
        transfer.set_learning_rate_multipliers(model, {10: 0.5})
    transfer.set_learning_rate_multipliers(model, {0: 0.25, -1: 2})
    assert transfer.learning_rate_multipliers(model) == {
        0: 0.25,
        1: 1.0,
        4: 1.0,
        5: 2.0,
    }
    copy = transfer.drop_layers(model, 0)
    assert copy.layers[0].learning_rate_multiplier == 0.25


def test_mismatched_head_raises_a_clear_error():
    model = _pretrained()
    built_elsewhere = gn.Dense(3, "softmax")
    built_elsewhere.build(7, np.random.default_rng(0), np.float64)
    with pytest.raises(
        ValueError,
        match=r"new_layers\[0\].*built for 7 inputs but "
        r"receives 5",
    ):
        transfer.replace_head(model, [built_elsewhere])
    with pytest.raises(ValueError, match=r"new_layers\[1\].*receives 4"):
        transfer.replace_head(model, [gn.Dense(4, "relu"), built_elsewhere])
    with pytest.raises(TypeError, match="glassnet layer"):
        transfer.replace_head(model, ["Dense"])
    fits = gn.Dense(3, "softmax")
    fits.build(5, np.random.default_rng(0), np.float64)
    new = transfer.replace_head(model, [fits])
    np.testing.assert_array_equal(new.params["W3"], fits.params["W"])
    assert new.layers[-1] is not fits  # a built layer is copied, never shared


def test_replace_head_with_batchnorm_head_drops_the_redundant_bias():
    model = _pretrained(dtype="float32")
    new = transfer.replace_head(
        model, [gn.Dense(4), gn.BatchNorm(), gn.Dense(3, "softmax")], drop=2, rng=0
    )
    assert new.n_out == 3 and "b2" not in new.params and "gamma2" in new.params
    assert new.dtype == np.float32
    X, y = _data()
    new.fit(X, y, epochs=2, verbose=False)


@pytest.mark.slow  # the example on the course's MNIST: three seeds, two trainings each
@needs_data("mnist/mnist_5k.csv.gz")
def test_transfer_mnist_example_beats_training_from_scratch():
    spec = importlib.util.spec_from_file_location(
        "transfer_mnist", ROOT / "examples" / "transfer_mnist.py"
    )
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    results = example.run(data_dir=DATA_DIR, seeds=(0, 1, 2))
    assert results["pretrain_accuracy"] > 0.95
    assert len(results["per_seed"]) == 3
    mean = results["mean"]
    assert mean["fine_tuned"] > mean["scratch"]
    assert mean["scratch"] > 0.85  # a fair baseline, not a broken one
