"""Model files and checkpoints on top of the safe archive format of :mod:`glassnet.io`.

A model file is a glassnet archive whose manifest holds ``{"kind": "model",
"model": <Sequential config>}`` (plus, for a checkpoint, the optimizer's config and
step count, the History, the epoch and the rng state) and whose arrays are named
``param.W1``, ``state.running_mean2``, ``optimizer.v.W1``, ... Loading makes the
layers from the closed layer registry only (no import by name, no pickle), each
setting of the type its layer writes (ints are ints, booleans are booleans), and
raises :class:`~glassnet.io.ModelFileError` naming the file for anything wrong.

What a file declares is checked before anything is allocated from it (architecture
D31): the shapes its architecture needs are computed from the layers' settings
(``Sequential.planned_arrays``) and compared with the arrays the archive declares;
what reading and building will take is held to the memory budget of
:func:`~glassnet.io.read_archive` (4 x the bytes of array data the file holds + 64
MiB, or ``max_memory=``), and a file may declare at most ``max_layers`` layers
(:data:`MAX_LAYERS`). Only then are the arrays read, checked to be finite (and
variances, spreads and second moments in range), and the model built without
drawing initial weights, holding the file's.

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
import re
import reprlib

import numpy as np

from glassnet.backend import rng_from_state
from glassnet.io import (
    ModelFileError,
    display_path,
    read_archive,
    shortened,
    write_archive,
)
from glassnet.validation import check_positive_int

MODEL_KIND = "model"
CHECKPOINT_KIND = "checkpoint"
#: 2: preprocessing layers and classes live in the model; 1 (no entry): a
#: standardizer and the classes were saved in the extra, outside the model
MODEL_FORMAT = 2


def _model_arrays(model) -> dict[str, np.ndarray]:
    params = model.params  # a new dict at each access: once, not once per key
    return {  # NumPy copies, whatever the backend: files are backend-independent
        f"{'param' if k in params else 'state'}.{k}": v
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


#: the most layers a model file may declare (``max_layers=`` allows more): each
#: costs time to check and build (about 0.2 ms), and glassnet's deepest networks
#: have tens
MAX_LAYERS = 1000
#: the settings of a model description (``Sequential.get_config``)
_MODEL_SETTINGS = (
    "name",
    "n_x",
    "dtype",
    "layers",
    "classes",
    "target_scale",
    "column_names",  # the input columns' names (D35), checked by Sequential
)


def _check_manifest(manifest: dict, kinds: tuple[str, ...]) -> None:
    """The manifest's own entries, with their types, before anything is made of
    it: a kind in ``kinds``, a model format this glassnet reads, and a
    checkpoint's extra and training records as objects of the right types (a
    model file's extra is checked where it is used: ``extra_problem``)."""
    kind = manifest.get("kind")
    if kind not in kinds:
        if kinds == (CHECKPOINT_KIND,) and kind == MODEL_KIND:
            raise ValueError("it is a model file, not a checkpoint")
        raise ValueError(f"kind {reprlib.repr(kind)} is not a glassnet model")
    version = manifest.get("model_format", 1)
    if type(version) is not int or version < 1:
        raise ValueError(
            f"model_format must be an integer >= 1; received {reprlib.repr(version)}"
        )
    if version > MODEL_FORMAT:
        raise ValueError(
            f"it was written by a newer glassnet (model_format {version}); this "
            f"glassnet reads model formats up to {MODEL_FORMAT}"
        )
    if kinds == (CHECKPOINT_KIND,) and type(manifest.get("extra", {})) is not dict:
        # (a model file's extra is checked where it is used, the CLI's words)
        raise ValueError(
            f"its extra must be an object; received {reprlib.repr(manifest['extra'])}"
        )
    for key, kind_name, test in (
        ("glassnet_version", "a text", lambda v: type(v) is str),
        ("history_params", "an object", lambda v: type(v) is dict),
        ("optimizer", "an object with objects config and meta", _optimizer_record),
        (
            "history",
            "an object with lists epoch and history",
            lambda v: type(v) is dict and _history_record(v),
        ),
    ):
        if key in manifest and not test(manifest[key]):
            raise ValueError(
                f"its {key} must be {kind_name}; received {reprlib.repr(manifest[key])}"
            )


def _optimizer_record(record) -> bool:
    if record is None:
        return True
    if not (
        type(record) is dict
        and set(record) == {"config", "meta"}
        and type(record["config"]) is dict
        and type(record["meta"]) is dict
    ):
        return False
    t = record["meta"].get("t")
    if type(t) is not int or not 0 <= t <= 2**53:
        raise ValueError(
            f"its optimizer's step count t must be an integer from 0 to 2**53; "
            f"received {reprlib.repr(t)}"
        )
    return True


def _is_number(value) -> bool:
    return value is None or type(value) in (int, float)


def _history_record(record) -> bool:
    """``{"epoch": [int, ...], "history": {name: [number or null, ...]}}``."""
    epochs, columns = record.get("epoch", []), record.get("history", {})
    return (
        set(record) <= {"epoch", "history"}
        and type(epochs) is list
        and all(type(e) is int for e in epochs)
        and type(columns) is dict
        and all(
            type(values) is list and all(_is_number(v) for v in values)
            for values in columns.values()
        )
    )


def _model_config(manifest: dict, max_layers: int) -> tuple[dict, int, np.dtype]:
    """``(config, n_x, dtype)`` of the model description, each setting of the
    type ``get_config`` writes (an input size ``"5"``, ``5.0`` or ``true`` is
    refused), and at most ``max_layers`` layers."""
    config = manifest.get("model")
    if type(config) is not dict or type(config.get("layers")) is not list:
        raise ValueError("no model description")
    unknown = sorted(set(config) - set(_MODEL_SETTINGS))
    if unknown:
        raise ValueError(
            f"the model description has no setting {reprlib.repr(unknown[0])}; "
            f"its settings: {', '.join(_MODEL_SETTINGS)}"
        )
    count = len(config["layers"])
    if count > max_layers:
        raise ValueError(
            f"it declares {count} layers; at most max_layers={max_layers} are loaded"
        )
    n_x = config.get("n_x")
    if n_x is None:
        raise ValueError("no input size")
    if type(n_x) is not int or n_x < 1:
        raise ValueError(
            f"invalid architecture (n_x must be an integer >= 1; received "
            f"{reprlib.repr(n_x)})"
        )
    dtype = config.get("dtype", "float32")
    if dtype not in ("float32", "float64") or type(dtype) is not str:
        raise ValueError(
            f"invalid architecture (dtype must be 'float32' or 'float64'; "
            f"received {reprlib.repr(dtype)})"
        )
    if type(config.get("name", "")) is not str:
        raise ValueError(
            f"invalid architecture (its name must be a text; received "
            f"{reprlib.repr(config['name'])})"
        )
    return config, n_x, np.dtype(dtype)


def _names(names: list[str]) -> str:
    """The first three of ``names``, and how many more."""
    shown = ", ".join(names[:3])
    return shown if len(names) <= 3 else f"{shown} and {len(names) - 3} more"


def _check_arrays_fit(declared: dict, expected: dict, params: dict, dtype) -> int:
    """Every declared array is one the architecture has (or an optimizer moment
    of one of its parameters), of its shape and dtype, and none is missing;
    returns the bytes of the moments."""
    moments = 0
    for name, (shape, kind) in declared.items():
        if name.startswith("optimizer."):  # moments are shaped like their param
            target = params.get(name.split(".", 2)[-1])
            moments += math.prod(shape) * dtype.itemsize
        else:
            target = expected.get(name)
        if target is None:
            raise ValueError(f"unexpected array {name}")
        if tuple(shape) != target or kind != dtype.name:
            raise ValueError(
                f"{name} is declared {kind}{tuple(shape)} but the architecture "
                f"needs {dtype.name}{target}"
            )
    missing = sorted(set(expected) - set(declared))
    if missing:
        raise ValueError(f"missing {_names(missing)}")
    return moments


def _architecture_check(built: dict, kinds: tuple[str, ...], max_layers: int):
    """A ``check_declared`` callback for :func:`read_archive`, run before any array
    is read or anything is built. It checks the manifest's entries and the model
    description with their types, makes the layers (closed registry only; nothing
    allocated), computes from their settings the shape of every array the
    architecture has (``Sequential.planned_arrays``) and refuses a file whose
    declared arrays are not exactly those. It returns what building the model
    will allocate (the flat parameter and gradient buffers, the state, the
    optimizer's copies of its moments), which ``read_archive`` holds to the
    memory budget. The unbuilt model is left in ``built``."""

    def check(manifest: dict, declared: dict) -> int:
        from glassnet.model import Sequential

        _check_manifest(manifest, kinds)
        config, n_x, dtype = _model_config(manifest, max_layers)
        try:
            model = Sequential.from_config(config, build=False)
            params, state = model.planned_arrays(n_x)
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise ValueError(f"invalid architecture ({error})") from None
        expected = {f"param.{k}": v for k, v in params.items()}
        expected.update({f"state.{k}": v for k, v in state.items()})
        moments = _check_arrays_fit(declared, expected, params, dtype)
        built.update(model=model, n_x=n_x, dtype=dtype)
        sizes = {k: math.prod(v) * dtype.itemsize for k, v in params.items()}
        state_bytes = sum(math.prod(v) for v in state.values()) * dtype.itemsize
        return 2 * sum(sizes.values()) + state_bytes + moments

    return check


#: arrays whose values have a range beyond being finite (name pattern, test, words)
_VALUE_RANGES = (
    (re.compile(r"state\.running_var\d+"), lambda a: a >= 0, "negative"),
    (re.compile(r"state\.spread\d+"), lambda a: a > 0, "zero or negative"),
    (re.compile(r"optimizer\.s\..+"), lambda a: a >= 0, "negative"),
)
_CHUNK = 2**20


def _value_problem(name: str, array: np.ndarray) -> str | None:
    """What is wrong with the values of array ``name`` (read from a file), or
    None: NaN or infinity anywhere, a variance, spread or second moment out of
    its range. Looked at in chunks of 2**20 values (no full-size temporary)."""
    flat = array.reshape(-1)
    ranges = [(test, words) for rule, test, words in _VALUE_RANGES if rule.match(name)]
    for start in range(0, flat.size, _CHUNK):
        chunk = flat[start : start + _CHUNK]
        bad = ~np.isfinite(chunk)
        if bad.any():
            index = start + int(np.argmax(bad))
            return (
                f"{name} holds {flat[index]} at index {index} (a model's values "
                "must be finite)"
            )
        for test, words in ranges:
            good = test(chunk)
            if not good.all():
                index = start + int(np.argmin(good))
                return f"{name} holds {words} value {flat[index]} at index {index}"
    return None


def _read(path, kinds: tuple[str, ...], max_layers: int, limits: dict):
    """``(manifest, optimizer_arrays, model)``: the archive, checked against its
    architecture before any array is read, its values checked once read, and
    that architecture built (no initial weights drawn) holding the file's
    weights; the optimizer's arrays are returned as read."""
    max_layers = check_positive_int("max_layers", max_layers)
    built: dict = {}
    check = _architecture_check(built, kinds, max_layers)
    manifest, arrays = read_archive(path, check_declared=check, **limits)
    shown = display_path(path)
    for name, array in arrays.items():
        problem = _value_problem(name, array)
        if problem:
            raise ModelFileError(f"cannot load model file {shown}: {problem}")
    model = built["model"]
    try:
        model.build(built["n_x"], rng=0, dtype=built["dtype"], initialize=False)
    except (ValueError, TypeError) as error:
        raise ModelFileError(
            f"cannot load model file {shown}: invalid architecture "
            f"({shortened(str(error))})"
        ) from None
    weights = {
        name.split(".", 1)[1]: arrays.pop(name)
        for name in list(arrays)
        if not name.startswith("optimizer.")
    }
    model.set_weights(weights)
    return manifest, arrays, model


def load_model(path, **limits):
    """Read a model file written by :func:`save_model` (or a checkpoint's model);
    ``limits`` as for :func:`read_model_file`."""
    return read_model_file(path, **limits)[0]


def read_model_file(path, *, max_layers: int = MAX_LAYERS, **limits):
    """``(model, manifest)``: the model and its manifest (``extra`` holds what was
    saved with it, e.g. a ``glassnet train`` run's settings). A format-1 file's
    standardizer and classes are moved into the model (:func:`upgrade_legacy_model`).

    Nothing the file declares can make this allocate more than the memory budget
    (``max_memory``, default 4 x the bytes of array data the file holds + 64 MiB;
    architecture D31) or build more than ``max_layers`` layers; ``limits`` are
    :func:`~glassnet.io.read_archive`'s (``max_memory``, ``max_array_bytes``,
    ...). Anything wrong raises :class:`~glassnet.io.ModelFileError` naming the
    file."""
    manifest, _, model = _read(path, (MODEL_KIND, CHECKPOINT_KIND), max_layers, limits)
    problem = None
    try:
        model = upgrade_legacy_model(model, manifest.get("extra"))
    except ValueError as error:
        problem = str(error)
    if problem:
        raise ModelFileError(
            f"cannot use model file {display_path(path)}: {shortened(problem)}"
        )
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


def _check_rng_records(extra: dict) -> None:
    """The rng records of a checkpoint's extra (``fit``'s and each Dropout
    layer's) rebuild generators: checked here, so that an error names the file
    (``glassnet.backend.rng_from_state`` checks every field before allocating)."""
    records = [extra["rng"]] if "rng" in extra else []
    if isinstance(extra.get("layer_rngs"), list):  # else resuming says so
        records += extra["layer_rngs"]
    for record in records:
        rng_from_state(record)


def load_checkpoint(path, *, max_layers: int = MAX_LAYERS, **limits) -> dict:
    """Read a checkpoint: ``{"model", "optimizer", "history", "extra"}`` (the
    budgets and ``limits`` as for :func:`read_model_file`)."""
    from glassnet import optimizers
    from glassnet.callbacks import History

    manifest, arrays, model = _read(path, (CHECKPOINT_KIND,), max_layers, limits)
    shown = display_path(path)
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
        _check_rng_records(manifest.get("extra", {}))
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise ModelFileError(
            f"cannot load checkpoint {shown}: invalid training state "
            f"({shortened(str(error))})"
        ) from None
    return {
        "model": model,
        "optimizer": optimizer,
        "history": history,
        "extra": manifest.get("extra", {}),
    }


load = load_model
