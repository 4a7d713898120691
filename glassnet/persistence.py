"""Model files and checkpoints on top of the safe archive format of :mod:`glassnet.io`.

A model file is a glassnet archive whose manifest holds ``{"kind": "model",
"model": <Sequential config>}`` (plus, for a checkpoint, the optimizer's config and
step count, the History, the epoch and the rng state) and whose arrays are named
``param.W1``, ``state.running_mean2``, ``optimizer.v.W1``, ... Loading builds the
architecture from the closed layer registry only (no import by name, no pickle),
checks every array's shape and dtype against it, and raises
:class:`~glassnet.io.ModelFileError` for anything wrong.
"""

from __future__ import annotations

import numpy as np

from glassnet.io import ModelFileError, read_archive, write_archive

MODEL_KIND = "model"
CHECKPOINT_KIND = "checkpoint"


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
    saved with it, e.g. the preprocessing of a ``glassnet train`` run)."""
    shown = str(path)
    manifest, _, model = _read(path, limits)
    if manifest.get("kind") not in (MODEL_KIND, CHECKPOINT_KIND):
        raise ModelFileError(
            f"cannot load model file {shown!r}: kind {manifest.get('kind')!r} is not "
            "a glassnet model"
        )
    return model, manifest


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
