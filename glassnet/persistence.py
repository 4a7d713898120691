"""Model files and checkpoints on top of the safe archive format of :mod:`glassnet.io`.

A model file is a glassnet archive whose manifest holds ``{"kind": "model",
"model": <Sequential config>}`` (plus, for a checkpoint, the optimizer's config and
step count, the History, the epoch and the rng state) and whose arrays are named
``param.W1``, ``state.running_mean2``, ``optimizer.v.W1``, ... Loading builds the
architecture from the closed layer registry only (no import by name, no pickle),
checks every array's shape and dtype against it, and raises
:class:`~glassnet.io.ModelFileError` for anything wrong.

The model is the whole pipeline (architecture D26): the preprocessing layers
(``Flatten``, ``Rescaling``, ``Standardization``, whose ``mean``/``spread`` are
``state.`` arrays) and the class list (``model.classes``, in the model's config)
are part of the model, and the manifest says ``"model_format": 2``. Files written
before (no ``model_format``) kept a standardizer and the classes in their
``extra``; reading one moves them into the model (:func:`upgrade_legacy_model`), so
it loads and predicts as before, and a malformed one is refused naming the entry.
"""

from __future__ import annotations

import math
import reprlib

import numpy as np

from glassnet.io import ModelFileError, read_archive, write_archive

MODEL_KIND = "model"
CHECKPOINT_KIND = "checkpoint"
#: 2: preprocessing layers and classes live in the model; 1 (no entry): a
#: standardizer and the classes were saved in the extra, outside the model
MODEL_FORMAT = 2


def _model_arrays(model) -> dict[str, np.ndarray]:
    return {  # NumPy copies, whatever the backend: files are backend-independent
        f"{'param' if k in model.params else 'state'}.{k}": v
        for k, v in model.get_weights().items()
    }


def save_model(model, path, *, checksums: bool = True, extra: dict | None = None):
    """Write ``model`` to ``path`` atomically (JSON manifest + .npy arrays)."""
    model._require_built()
    from glassnet import __version__

    manifest = {
        "kind": MODEL_KIND,
        "glassnet_version": __version__,
        "model_format": MODEL_FORMAT,
        "model": model.get_config(),
        "extra": extra or {},
    }
    write_archive(path, manifest, _model_arrays(model), checksums=checksums)


def save_checkpoint(model, path, *, optimizer=None, history=None, extra=None):
    """Write a training checkpoint: weights, optimizer state, History, ``extra``."""
    model._require_built()
    from glassnet import __version__

    arrays = _model_arrays(model)
    manifest = {
        "kind": CHECKPOINT_KIND,
        "glassnet_version": __version__,
        "model_format": MODEL_FORMAT,
        "model": model.get_config(),
        "extra": extra or {},
    }
    if optimizer is not None:
        meta, optimizer_arrays = optimizer.get_state()
        manifest["optimizer"] = {"config": optimizer.get_config(), "meta": meta}
        arrays.update({f"optimizer.{k}": v for k, v in optimizer_arrays.items()})
    if history is not None:
        manifest["history"] = history.to_dict()
        manifest["history_params"] = _jsonable(history.params)
    write_archive(path, manifest, arrays)


def _jsonable(value):
    import json

    return json.loads(json.dumps(value, default=repr))


def _architecture_check(built: dict):
    """A ``check_declared`` callback for :func:`read_archive`: it builds the
    architecture from the manifest (closed layer registry only) and refuses, before
    any array is read, a file whose declared arrays are not exactly what that
    architecture needs, so a huge declared array is never inflated. The model it
    built is left in ``built["model"]`` for the weights to be copied into."""

    def check(manifest: dict, declared: dict) -> None:
        from glassnet.model import Sequential

        config = manifest.get("model")
        if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
            raise ValueError("no model description")
        try:
            model = Sequential.from_config(config)
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise ValueError(f"invalid architecture ({error})") from None
        if not model.built:
            raise ValueError("no input size")
        expected = {f"param.{k}": v for k, v in model.params.items()}
        expected.update({f"state.{k}": v for k, v in model.state.items()})
        for name, (shape, dtype) in declared.items():
            if name.startswith("optimizer."):  # moments are shaped like their param
                target = model.params.get(name.split(".", 2)[-1])
            else:
                target = expected.get(name)
            if target is None:
                raise ValueError(f"unexpected array {name}")
            if tuple(shape) != target.shape or dtype != target.dtype.name:
                raise ValueError(
                    f"{name} is declared {dtype}{tuple(shape)} but the architecture "
                    f"needs {target.dtype}{target.shape}"
                )
        missing = sorted(set(expected) - set(declared))
        if missing:
            raise ValueError(f"missing {', '.join(missing)}")
        built["model"] = model

    return check


def _read(path, limits: dict):
    """``(manifest, arrays, model)``: the archive, checked against its architecture
    before any array is read, and that architecture holding the file's weights."""
    built: dict = {}
    manifest, arrays = read_archive(
        path, check_declared=_architecture_check(built), **limits
    )
    model = built["model"]
    model.set_weights(
        {
            name.split(".", 1)[1]: value
            for name, value in arrays.items()
            if not name.startswith("optimizer.")
        }
    )
    return manifest, arrays, model


def load_model(path, **limits):
    """Read a model file written by :func:`save_model` (or a checkpoint's model)."""
    return read_model_file(path, **limits)[0]


def read_model_file(path, **limits):
    """``(model, manifest)``: the model and its manifest (``extra`` holds what was
    saved with it, e.g. a ``glassnet train`` run's settings). A format-1 file's
    standardizer and classes are moved into the model (:func:`upgrade_legacy_model`)."""
    shown = str(path)
    manifest, _, model = _read(path, limits)
    if manifest.get("kind") not in (MODEL_KIND, CHECKPOINT_KIND):
        raise ModelFileError(
            f"cannot load model file {shown!r}: kind {manifest.get('kind')!r} is not "
            "a glassnet model"
        )
    problem = None
    try:
        model = upgrade_legacy_model(model, manifest.get("extra"))
    except ValueError as error:
        problem = str(error)
    if problem:
        raise ModelFileError(f"cannot use model file {shown!r}: {problem}")
    return model, manifest


def _is_list_of(value, types) -> bool:
    return isinstance(value, list) and all(
        isinstance(v, types) and not isinstance(v, bool) for v in value
    )


#: what each entry of a model file's extra may hold (None: not saved), and in
#: what words a malformed one is refused
EXTRA_ENTRIES = {
    "task": ("a task name", lambda v: isinstance(v, str)),
    "classes": (
        "a list of class labels",
        lambda v: _is_list_of(v, (str, int, float)) and len(v) > 0,
    ),
    "feature_names": ("a list of column names", lambda v: _is_list_of(v, str)),
    "run_config": ("an object of run settings", lambda v: isinstance(v, dict)),
    "standardizer": (
        "an object with lists mean and std",
        lambda v: (
            isinstance(v, dict)
            and _is_list_of(v.get("mean"), (int, float))
            and _is_list_of(v.get("std"), (int, float))
        ),
    ),
}


def extra_problem(extra, model, keys=None) -> str | None:
    """What is wrong with a model file's ``extra`` for ``model`` (its entries
    ``keys``, default all), or None."""
    if not isinstance(extra, dict):
        return f"its extra must be an object; received a {type(extra).__name__}"
    for key in EXTRA_ENTRIES if keys is None else keys:
        kind, test = EXTRA_ENTRIES[key]
        value = extra.get(key)
        if value is not None and not test(value):
            return f"its extra {key!r} must be {kind}; received {reprlib.repr(value)}"
    scaler = extra.get("standardizer")
    if scaler and (keys is None or "standardizer" in keys):
        sizes = {len(scaler["mean"]), len(scaler["std"])}
        if sizes != {model.n_x}:
            return (
                f"its standardizer has {sorted(sizes)} values but the model takes "
                f"{model.n_x} features"
            )
        if not all(math.isfinite(s) and s > 0 for s in scaler["std"]):
            return "its standardizer's std must be finite and positive"
    if keys is None or "classes" in keys:
        return classes_problem(extra.get("classes"), model)
    return None


def classes_problem(classes, model) -> str | None:
    """The class names must be one per softmax unit, or two for one sigmoid unit."""
    activation = model.output_activation
    if not classes or activation not in ("softmax", "sigmoid"):
        return None
    expected = model.n_out if activation == "softmax" else 2
    if activation == "sigmoid" and model.n_out > 1:
        return None  # multi-label outputs: one column per label
    if len(classes) != expected:
        return (
            f"it names {len(classes)} classes but its {activation} output gives "
            f"{expected}"
        )
    return None


def upgrade_legacy_model(model, extra):
    """A model file of format 1 as a model of format 2: the ``standardizer`` its
    extra carried (``glassnet train`` applied ``(x - mean) / std`` outside the
    model) becomes a leading ``Standardization`` layer with exactly that mean and
    std (no floor), and its extra's ``classes`` become ``model.classes`` (when the
    model has none). The model is returned unchanged when there is nothing to move;
    a malformed entry raises ValueError naming it."""
    from glassnet.layers import Standardization
    from glassnet.model import Sequential

    if not isinstance(extra, dict):
        return model
    problem = extra_problem(extra, model, keys=("standardizer", "classes"))
    if problem:
        raise ValueError(problem)
    classes = extra.get("classes")
    if classes and model.classes is None and model.output_activation != "linear":
        if model.output_activation == "softmax" or model.n_out == 1:
            model.classes = classes
    scaler = extra.get("standardizer")
    if not scaler or any(isinstance(l, Standardization) for l in model.layers):
        return model
    layer = Standardization(floor=0.0, name="standardizer")
    layer.set_statistics(scaler["mean"], scaler["std"])
    upgraded = Sequential(
        [layer, *model.layers], name=model.name, classes=model.classes
    )
    return upgraded.build(
        model.n_x, rng=0, dtype=model.dtype, backend=model.backend, device=model.device
    )


def load_checkpoint(path, **limits) -> dict:
    """Read a checkpoint: ``{"model", "optimizer", "history", "extra"}``."""
    from glassnet import optimizers
    from glassnet.callbacks import History

    shown = str(path)
    manifest, arrays, model = _read(path, limits)
    if manifest.get("kind") != CHECKPOINT_KIND:
        raise ModelFileError(f"cannot load checkpoint {shown!r}: not a checkpoint")
    optimizer = None
    record = manifest.get("optimizer")
    try:
        if record is not None:
            optimizer = optimizers.get(dict(record["config"]))
            prefix = "optimizer."
            moments = {
                k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)
            }
            # their shapes were checked against the parameters before reading
            optimizer.set_state(record["meta"], moments)
        history = History.from_dict(manifest.get("history", {}))
        history.params = manifest.get("history_params", {})
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise ModelFileError(
            f"cannot load checkpoint {shown!r}: invalid training state ({error})"
        ) from None
    return {
        "model": model,
        "optimizer": optimizer,
        "history": history,
        "extra": manifest.get("extra", {}),
    }


load = load_model
