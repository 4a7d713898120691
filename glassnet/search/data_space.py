"""The default search space, scaled to the data, and its trial 0: the defaults.

``glassnet search`` without ``--space`` searches around ``glassnet train``'s own
defaults (one hidden layer of 100 ReLU units, Adam at 1e-3, mini-batches of 32,
200 epochs), with ranges that follow the data's kind and size, ``m`` the number of
training examples:

- widths and depth: tables, 16-100 units (m < 500), 32-128 (m < 5000), 64-256
  (m >= 5000), one or two hidden layers; images, 100-512 units, one or two layers;
- batch size: 8-64 (m < 500), 16-128 (m < 5000), 32-256 (m >= 5000), powers of two;
- regularization: tables, l2 in {0, 1e-4, 1e-3, 1e-2} ({0, 1e-3, 1e-2, 0.1} when
  m < 500); images, dropout keep_prob ~ U[0.5, 1], l2 in {0, 1e-4, 1e-3} and
  1-pixel shifts on or off;
- epochs: 200 (the default), or 50, 100 or 200 when m >= 5000;

and for every kind ``alpha = 10^r, r ~ U[-4, -2]`` (Adam's 1e-3 in the middle),
``1 - beta1 = 10^r, r ~ U[-2, log10 0.2]``, ReLU or tanh, and each trial's own early
stopping on the dev cost (patience 20 epochs) on or off.

:func:`default_trial` is trial 0 of such a search: every searched name at
``RunConfig``'s default (the fixed names, like ``data``, as the space fixes them)
and seed 0, which is ``glassnet train --data NAME`` exactly, so a search can only
find something better on the dev set than not searching.
"""

from __future__ import annotations

from glassnet.run_config import RunConfig
from glassnet.search.dimensions import (
    Choice,
    LogUniform,
    OneMinusLogUniform,
    PowersOfTwo,
    Uniform,
)

__all__ = ["FEW", "MANY", "data_profile", "default_trial", "space_for_data"]

FEW = 500  #: fewer training examples than this: small networks, strong l2
MANY = 5000  #: at least this many: wider networks, larger batches, fewer epochs
PATIENCE = 20  #: a trial's own early stopping on the dev cost, when drawn


def data_profile(prepared: dict) -> dict:
    """What the space is scaled to: ``{"examples", "features", "kind"}`` of the
    training split of :func:`glassnet.runs.prepare_data`'s result."""
    X_train = prepared["splits"]["train"][0]
    image = prepared["dataset"].image_shape is not None
    return {
        "examples": int(X_train.shape[0]),
        "features": int(X_train.shape[1]),
        "kind": "images" if image else "tables",
    }


def _size(examples: int) -> str:
    return "few" if examples < FEW else ("many" if examples >= MANY else "some")


def _widths(kind: str, size: str) -> list[str]:
    """Hidden layers to choose from; "100" (the default) is always one."""
    if kind == "images":
        deep = ["256,128", "512,256"] if size == "many" else ["256,128"]
        return ["100", "256", "512", *deep]
    return {
        "few": ["16", "32", "64", "100", "32,16", "64,32"],
        "some": ["32", "64", "100", "128", "64,32", "128,64"],
        "many": ["64", "100", "256", "128,64", "256,128"],
    }[size]


def space_for_data(profile: dict, data: str) -> dict:
    """The default space for data of ``profile`` (:func:`data_profile`), as a dict
    of names to dimensions or fixed values (the module docstring's table)."""
    size = _size(profile["examples"])
    batch = {"few": (8, 64), "some": (16, 128), "many": (32, 256)}[size]
    space = {
        "data": data,
        "layers": Choice(_widths(profile["kind"], size)),
        "learning_rate": LogUniform(1e-4, 1e-2),
        "batch_size": PowersOfTwo(*batch),
        "beta1": OneMinusLogUniform(0.8, 0.99),
        "activation": Choice(["relu", "tanh"]),
        "early_stopping": Choice([None, PATIENCE]),
        "epochs": Choice([50, 100, 200]) if size == "many" else 200,
    }
    if profile["kind"] == "images":
        space["keep_prob"] = Uniform(0.5, 1.0)
        space["l2"] = Choice([0.0, 1e-4, 1e-3])
        space["augment"] = Choice([False, True])
    else:
        strong = [0.0, 1e-3, 1e-2, 1e-1] if size == "few" else [0.0, 1e-4, 1e-3, 1e-2]
        space["l2"] = Choice(strong)
    return space


def default_trial(space) -> dict:
    """Trial 0: ``{"config": ..., "seed": 0}`` with every name of ``space`` at
    ``RunConfig``'s default, except the names the space fixes (``data``, or
    ``epochs`` given on the command line), which keep the space's value."""
    from glassnet.search.dimensions import Dimension

    defaults = RunConfig().to_dict()
    config = {}
    for name, entry in space.items():
        if not isinstance(entry, Dimension):
            config[name] = entry
        elif name == "layers":  # as the choice spells it
            config[name] = ",".join(str(units) for units in defaults["layers"])
        else:
            config[name] = defaults[name]
    return {"config": config, "seed": RunConfig().seed}
