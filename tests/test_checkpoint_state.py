"""Resuming checks what it resumes: the whole architecture, and the training state
a checkpoint file holds (epoch, History, step count, rng records), with strict
types and sizes, before anything is built or allocated from it."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import glassnet as gn
from glassnet.io import ModelFileError, read_archive, write_archive


def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(60, 4)), rng.integers(0, 2, 60)


def network(activation="relu", keep_prob=0.9, units=6):
    return gn.Sequential(
        [
            gn.Dense(units, activation),
            gn.Dropout(keep_prob),
            gn.Dense(1, "sigmoid"),
        ]
    )


@pytest.fixture
def checkpoint(tmp_path):
    X, y = data()
    path = tmp_path / "run.ckpt"
    network().fit(
        X, y, epochs=2, optimizer="adam", checkpoint=path, rng=0, verbose=False
    )
    return path


def edited(checkpoint, tmp_path, edit):
    """A copy of the checkpoint whose manifest went through ``edit``."""
    manifest, arrays = read_archive(checkpoint)
    edit(manifest)
    path = tmp_path / "edited.ckpt"
    write_archive(path, manifest, arrays)
    return path


def resume(path, model=None, epochs=3):
    X, y = data()
    model = model or network()
    return model.fit(
        X, y, epochs=epochs, optimizer="adam", resume=path, rng=0, verbose=False
    )


@pytest.mark.parametrize(
    ("model", "named"),
    [
        (network(activation="tanh"), "activation"),
        (network(keep_prob=0.5), "keep_prob"),
        (network(units=7), "units"),
        (
            gn.Sequential([gn.Dense(6, "relu"), gn.Dense(1, "sigmoid")]),
            "3 layers in the checkpoint, 2 here",
        ),
    ],
    ids=["activation", "dropout", "units", "layers"],
)
def test_resuming_another_architecture_names_the_difference(checkpoint, model, named):
    with pytest.raises(ValueError, match="different architecture") as caught:
        resume(checkpoint, model)
    assert named in str(caught.value)


def test_resuming_the_same_architecture_goes_on(checkpoint):
    history = resume(checkpoint)
    assert history.epoch == [0, 1, 2]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: m["extra"].update(epoch=-5), "epoch -5"),
        (lambda m: m["extra"].update(epoch=1.7), "epoch 1.7"),
        (lambda m: m["extra"].update(epoch=True), "epoch True"),
        (lambda m: m["history"]["history"]["cost"].pop(), "ragged History"),
        (lambda m: m["extra"].update(layer_rngs="x"), "layer_rngs must be a list"),
        (lambda m: m["optimizer"]["meta"].update(t=-1), "step count t"),
        (lambda m: m["optimizer"]["meta"].update(t="7"), "step count t"),
        (
            lambda m: m["optimizer"]["meta"].update(learning_rate=float("inf")),
            "learning rate",
        ),
    ],
    ids=[
        "negative-epoch",
        "fractional-epoch",
        "boolean-epoch",
        "ragged-history",
        "layer-rngs",
        "negative-t",
        "text-t",
        "infinite-rate",
    ],
)
def test_a_checkpoints_training_state_is_checked(checkpoint, tmp_path, edit, message):
    path = edited(checkpoint, tmp_path, edit)
    with pytest.raises(ValueError, match=message):
        resume(path)


def test_an_rng_state_declaring_a_huge_dtype_allocates_nothing(checkpoint, tmp_path):
    def huge(manifest):
        state = manifest["extra"]["rng"]["state"]
        state["state"] = {"__array__": [1, 2], "dtype": "U400000000"}

    path = edited(checkpoint, tmp_path, huge)
    tracemalloc.start()
    try:
        with pytest.raises((ValueError, ModelFileError), match="U400000000"):
            resume(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20


def test_an_rng_state_of_the_wrong_shape_is_a_clear_error(checkpoint, tmp_path):
    def broken(manifest):
        manifest["extra"]["rng"] = {"kind": "RandomState", "state": ["MT19937", [1]]}

    with pytest.raises(ValueError, match="RandomState state"):
        resume(edited(checkpoint, tmp_path, broken))
