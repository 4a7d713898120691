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


def _layer_difference(ours: dict, theirs: dict) -> str | None:
    """The first setting two layer records differ in, in words, or None."""
    if ours["type"] != theirs["type"]:
        return f"a {theirs['type']} layer in the checkpoint, a {ours['type']} here"
    mine, saved = ours.get("config", {}), theirs.get("config", {})
    for key in sorted(set(mine) | set(saved)):
        if key in _TUNABLE:
            continue
        if mine.get(key) != saved.get(key):
            return f"{key} {saved.get(key)!r} in the checkpoint, {mine.get(key)!r} here"
    return None


#: what may change when a run goes on from a checkpoint (the weights are the same)
_TUNABLE = ("name", "trainable", "learning_rate_multiplier")


def check_same_architecture(model, saved, path) -> None:
    """Refuse a checkpoint of another architecture, naming the first difference:
    input size, number of layers, and each layer's type and settings (units,
    activation, initializer, bias, regularizer, batch norm, dropout)."""
    ours, theirs = model.get_config(), saved.get_config()
    problem = None
    if model.n_x != saved.n_x:
        problem = f"{saved.n_x} input features in the checkpoint, {model.n_x} here"
    elif len(ours["layers"]) != len(theirs["layers"]):
        problem = (
            f"{len(theirs['layers'])} layers in the checkpoint, "
            f"{len(ours['layers'])} here"
        )
    else:
        for index, (mine, other) in enumerate(
            zip(ours["layers"], theirs["layers"], strict=True)
        ):
            difference = _layer_difference(mine, other)
            if difference is not None:
                problem = f"layer {index} ({mine['type']}): {difference}"
                break
    if problem is not None:
        raise ValueError(
            f"the checkpoint {str(path)!r} holds a different architecture than the "
            f"model being trained: {problem}; resume with the same layers"
        )


def restore_checkpoint(model, path, dtype) -> dict:
    """Load a checkpoint; build ``model`` from it if needed and copy its weights."""
    from glassnet.persistence import load_checkpoint

    state = load_checkpoint(path)
    saved = state["model"]
    if not model.built:
        model.build(saved.n_x, rng=0, dtype=dtype or saved.dtype)
    check_same_architecture(model, saved, path)
    _check_training_state(state, path)
    model.set_weights(saved.get_weights())
    return state


def _check_training_state(state, path) -> None:
    """The epoch, the History and the rng records of a checkpoint, checked before
    anything is resumed from them (a file could hold anything)."""
    extra = state["extra"]
    epoch = extra.get("epoch", -1)
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < -1:
        raise ValueError(
            f"the checkpoint {str(path)!r} records epoch {epoch!r:.40}; an epoch is "
            "an integer >= 0"
        )
    history = state["history"]
    lengths = {len(values) for values in history.history.values()}
    if lengths - {len(history.epoch)}:
        raise ValueError(
            f"the checkpoint {str(path)!r} holds a ragged History (columns of "
            f"{sorted(lengths)} values for {len(history.epoch)} epochs)"
        )
    if not isinstance(extra.get("layer_rngs", []), list):
        raise ValueError(f"the checkpoint {str(path)!r}: layer_rngs must be a list")


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
