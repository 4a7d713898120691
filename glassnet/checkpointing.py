"""Checkpoints of a training run and resuming from them (used by ``fit``).

A checkpoint (``fit(checkpoint=PATH)``) holds the weights and batch-norm statistics,
the optimizer's moments and step count, the History, the epoch, and the state of
every random stream: the fit loop's (shuffling, augmentation) and each Dropout
layer's own. Restoring all of them is what makes a resumed run bitwise equal to an
uninterrupted one. The file is written atomically by :mod:`glassnet.persistence`.
"""

from __future__ import annotations

from glassnet.backend import rng_from_state, rng_state
from glassnet.layers import Dropout


def _layer_rngs(model) -> list:
    """The Dropout layers' generators, in layer order."""
    return [layer.rng for layer in model.layers if isinstance(layer, Dropout)]


def write_checkpoint(model, path, optimizer, history, rng, epoch) -> None:
    from glassnet.persistence import save_checkpoint

    extra = {
        "epoch": epoch,
        "rng": rng_state(rng),
        "layer_rngs": [rng_state(r) for r in _layer_rngs(model)],
    }
    save_checkpoint(model, path, optimizer=optimizer, history=history, extra=extra)


def restore_checkpoint(model, path, dtype) -> dict:
    """Load a checkpoint; build ``model`` from it if needed and copy its weights."""
    from glassnet.persistence import load_checkpoint

    state = load_checkpoint(path)
    saved = state["model"]
    if not model.built:
        model.build(saved.n_x, rng=0, dtype=dtype or saved.dtype)
    if [r["type"] for r in model.get_config()["layers"]] != [
        r["type"] for r in saved.get_config()["layers"]
    ] or model.n_x != saved.n_x:
        raise ValueError(
            f"the checkpoint {str(path)!r} holds a different architecture than the "
            "model being trained; resume with the same layers"
        )
    model.set_weights(saved.get_weights())
    return state


def resume_state(model, optimizer, state, rng):
    """Restore optimizer moments, rng streams; return (first epoch, rng)."""
    extra = state["extra"]
    saved = state["optimizer"]
    if saved is not None and type(saved) is type(optimizer):
        learning_rate = optimizer.learning_rate
        meta, arrays = saved.get_state()
        optimizer.set_state(meta, arrays)
        optimizer.learning_rate = learning_rate
    if "rng" in extra:
        rng = rng_from_state(extra["rng"])
    for layer, record in zip(
        [layer for layer in model.layers if isinstance(layer, Dropout)],
        extra.get("layer_rngs", []),
        strict=False,
    ):
        layer.rng = rng_from_state(record)
    return int(extra.get("epoch", -1)) + 1, rng
