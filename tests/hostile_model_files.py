"""Hostile model files and checkpoints, and the legitimate variants beside them
(issue 20, points 2, 6, 7 and 10), for tests/test_hostile_models.py (each loaded in
a child process) and tests/test_model_files_budget.py (in process).

:func:`cases` gives ``{name: Case}``. A case's ``make(folder)`` writes its file and
returns a :class:`Made`: the path, what the loader is handed (the path, its bytes,
another name) and, for a legitimate file, what loading it must give. ``action``
says how it is loaded:

- ``load``: ``gn.load(path)``; a loaded model reports ``predict_proba`` on
  :func:`check_rows`;
- ``checkpoint``: ``load_checkpoint(path)``; the same, plus the optimizer's step
  count and the History's length;
- ``resume``: ``Sequential.fit(..., resume=path)`` of the network in ``network``
  (layer records) on :func:`resume_data`, 3 epochs in all;
- ``load_bytes``: ``gn.load(<the file's bytes>)``; ``load_name``: ``gn.load`` of
  another name (``Made.given``).

``expect`` is a regular expression the error message must match, or
:data:`LOADS`. The sizes are chosen to be hostile: declarations of gigabytes in
kilobytes, manifests that parse to hundreds of megabytes, tens of thousands of
layers, every setting of every layer with a value of the wrong type.
"""

from __future__ import annotations

import io
import json
import math
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import glassnet as gn
from glassnet.io import read_archive, write_archive
from glassnet.layers import LAYER_TYPES, base
from glassnet.persistence import load_checkpoint

LOADS = "<loads>"
N_CHECK = 5


@dataclass
class Made:
    path: Path
    given: object = None  # what gn.load is handed when it is not the path
    expected: dict = field(default_factory=dict)  # for a legitimate file


@dataclass
class Case:
    make: object
    expect: str
    action: str = "load"
    network: list | None = None  # layer records, for "resume"


# --- models and their parts -------------------------------------------------------


def check_rows(n_x: int) -> np.ndarray:
    """The rows a loaded model is asked to predict (the same in every process)."""
    return np.random.default_rng(0).normal(size=(N_CHECK, n_x))


def resume_data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(60, 4)), rng.integers(0, 2, 60)


def small(dtype="float32"):
    layers = [gn.Dense(3, "relu"), gn.Dense(1, "sigmoid")]
    return gn.Sequential(layers).build(4, rng=0, dtype=dtype)


def every_layer():
    """A model with every layer type, each setting away from its default."""
    dense = gn.Dense(
        5,
        {"name": "leaky_relu", "slope": 0.2},
        initializer={"name": "random", "scale": 0.1},
        regularizer=gn.L2(0.01),
        name="hidden",
    )
    dense.learning_rate_multiplier = 0.5
    layers = [
        gn.Flatten((2, 2)),
        gn.Rescaling(0.5, 0.25),
        gn.Standardization(floor=0.1),
        dense,
        gn.BatchNorm(0.8, 1e-3, use_batch_statistics=None),
        gn.Activation("relu"),
        gn.Dropout(0.8),
        gn.Dense(3, "softmax", use_bias=True),
    ]
    model = gn.Sequential(layers, classes=["a", "b", "c"])
    layers[2].adapt(np.random.default_rng(1).normal(size=(20, 4)) * 3 + 1)
    model.build(4, rng=0)
    model.forward(check_rows(4).T.astype(np.float32), training=True)  # move stats
    return model


def resume_network(activation="relu"):
    return gn.Sequential(
        [gn.Dense(6, activation), gn.Dropout(0.9), gn.Dense(1, "sigmoid")]
    )


def network_records(model) -> list:
    return [
        {"type": type(layer).__name__, "config": layer.get_config()}
        for layer in model.layers
    ]


def parts(model) -> tuple[dict, dict]:
    """The manifest and arrays ``save_model`` writes for ``model``."""
    manifest = {
        "kind": "model",
        "glassnet_version": gn.__version__,
        "model_format": 2,
        "model": model.get_config(),
        "extra": {},
    }
    params = model.params
    arrays = {
        f"{'param' if key in params else 'state'}.{key}": value
        for key, value in model.get_weights().items()
    }
    return manifest, arrays


def expected_of(model) -> dict:
    return {"n_x": model.n_x, "predict": model.predict_proba(check_rows(model.n_x))}


def saved(model, extra_expected=None):
    def make(folder: Path) -> Made:
        path = folder / "model.glassnet"
        model.save(path)
        return Made(path, expected={**expected_of(model), **(extra_expected or {})})

    return make


def edited(model_maker, edit, arrays_edit=None):
    """A file of ``model_maker()``'s model whose manifest went through ``edit``
    (and arrays through ``arrays_edit``)."""

    def make(folder: Path) -> Made:
        model = model_maker()
        manifest, arrays = parts(model)
        edit(manifest)
        if arrays_edit is not None:
            arrays_edit(arrays)
        path = folder / "model.glassnet"
        write_archive(path, manifest, arrays)
        return Made(path, expected=expected_of(model))  # for a legitimate edit

    return make


def layer_edit(index: int, key: str, value):
    def edit(manifest):
        manifest["model"]["layers"][index]["config"][key] = value

    return edit


def model_edit(key, value):
    def edit(manifest):
        manifest["model"][key] = value

    return edit


def top_edit(key, value):
    def edit(manifest):
        manifest[key] = value

    return edit


def array_edit(name, change):
    def edit(arrays):
        arrays[name] = change(np.array(arrays[name], copy=True))

    return edit


def poke(index, value):
    def change(array):
        array.reshape(-1)[index] = value
        return array

    return change


# --- raw zip members ----------------------------------------------------------------


def npy_header(shape, descr="<f4") -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": descr, "fortran_order": False, "shape": tuple(shape)}
    )
    return buffer.getvalue()


def deflated_zeros(count: int, prefix: bytes) -> bytes:
    """A raw deflate stream of ``prefix`` then ``count`` zero bytes (a multiple
    of 1 MiB), made in milliseconds."""

    def piece(data: bytes) -> bytes:
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        return compressor.compress(data) + compressor.flush(zlib.Z_FULL_FLUSH)

    final = zlib.compressobj(9, zlib.DEFLATED, -15).flush()
    return piece(prefix) + piece(bytes(2**20)) * (count // 2**20) + final


def handmade_zip(entries) -> bytes:
    """A zip written byte by byte: ``(name, data, method, crc, size)`` entries,
    so headers may lie and members may be deflate streams made by hand."""
    body, directory = bytearray(), bytearray()
    for name, data, method, crc, size in entries:
        encoded = name.encode()
        common = (0, method, 0, 33, crc, len(data), size, len(encoded))
        directory += struct.pack(
            "<4s6H3L5H2L", b"PK\x01\x02", 20, 20, *common, 0, 0, 0, 0, 0, len(body)
        )
        directory += encoded
        body += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, *common, 0)
        body += encoded + data
    count = len(entries)
    end = struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(directory), len(body), 0
    )
    return bytes(body + directory + end)


def npy_bytes(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=array.dtype == object)
    return buffer.getvalue()


def zipped(manifest: dict, members: dict, deflated: dict) -> bytes:
    """A glassnet archive whose ``deflated`` members (name -> (shape, bytes of
    zeros)) are honest deflate streams of zeros; ``members`` are stored."""
    document = {"format": "glassnet", "format_version": 1, **manifest, "arrays": {}}
    for name, (shape, _) in deflated.items():
        document["arrays"][name] = {"shape": list(shape), "dtype": "float32"}
    for member, data in members.items():
        name = member[len("arrays/") : -len(".npy")]
        header = np.lib.format.read_array_header_1_0(io.BytesIO(data[8:]))
        document["arrays"][name] = {"shape": list(header[0]), "dtype": "float32"}
    raw = json.dumps(document).encode()
    entries = [("manifest.json", raw, 0, zlib.crc32(raw), len(raw))]
    for member, data in members.items():
        entries.append((member, data, 0, zlib.crc32(data), len(data)))
    for name, (shape, nbytes) in deflated.items():
        header = npy_header(shape)
        stream = deflated_zeros(nbytes, header)
        crc, mebibyte = zlib.crc32(header), bytes(2**20)
        for _ in range(nbytes // 2**20):
            crc = zlib.crc32(mebibyte, crc)
        entries.append((f"arrays/{name}.npy", stream, 8, crc, len(header) + nbytes))
    return handmade_zip(entries)


# --- declared sizes ---------------------------------------------------------------


def declares_dense(units: int, n_x: int):
    """A file of ``small()``'s arrays whose manifest declares ``Dense(units)`` on
    ``n_x`` inputs (2.5 kB declaring gigabytes)."""

    def edit(manifest):
        manifest["model"]["n_x"] = n_x
        manifest["model"]["layers"][0]["config"]["units"] = units

    return edited(small, edit)


def honest_deflated_dense(units: int, kind="model", optimizer=False):
    """``Dense(units)`` on ``units`` inputs, every array present and honestly
    declared, the large ones deflate streams of zeros: a small file that holds
    (once inflated) a model hundreds of MiB large."""

    def make(folder: Path) -> Made:
        model = gn.Sequential([gn.Dense(units, "relu"), gn.Dense(1, "sigmoid")])
        config = model.get_config()
        config.update(n_x=units, dtype="float32")
        config["layers"][0]["config"]["units"] = units
        manifest = {"kind": kind, "model_format": 2, "model": config, "extra": {}}
        nbytes = units * units * 4
        deflated = {"param.W1": ((units, units), nbytes)}
        members = {
            "arrays/param.b1.npy": npy_bytes(np.zeros((units, 1), np.float32)),
            "arrays/param.W2.npy": npy_bytes(np.zeros((1, units), np.float32)),
            "arrays/param.b2.npy": npy_bytes(np.zeros((1, 1), np.float32)),
        }
        if optimizer:
            manifest["optimizer"] = {
                "config": {"name": "adam", "learning_rate": 0.001},
                "meta": {"t": 1, "learning_rate": 0.001},
            }
            for slot in ("v", "s"):
                deflated[f"optimizer.{slot}.W1"] = ((units, units), nbytes)
        path = folder / "model.glassnet"
        path.write_bytes(zipped(manifest, members, deflated))
        return Made(path)

    return make


def moment_declared(shape, deflate=True):
    """A checkpoint whose Adam moment for W1 declares ``shape``."""

    def make(folder: Path) -> Made:
        good = checkpoint_file(folder / "good")
        manifest, arrays = read_archive(good)
        del arrays["optimizer.v.W1"]
        members = {f"arrays/{k}.npy": npy_bytes(v) for k, v in arrays.items()}
        nbytes = math.prod(shape) * 4
        deflated = {"optimizer.v.W1": (shape, nbytes)} if deflate else {}
        path = folder / "model.glassnet"
        path.write_bytes(zipped(manifest, members, deflated))
        return Made(path)

    return make


def small_members(folder: Path) -> dict:
    """small()'s model file, written as glassnet writes it, as its members
    ``{name: bytes}`` (for a case to edit)."""
    manifest, arrays = parts(small())
    path = folder / "good.glassnet"
    write_archive(path, manifest, arrays)
    with zipfile.ZipFile(path) as archive:
        return {i.filename: archive.read(i) for i in archive.infolist()}


def rezipped(folder: Path, members: dict) -> Made:
    """``members`` written as an ordinary zip, ``folder / "model.glassnet"``."""
    target = folder / "model.glassnet"
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return Made(target)


def header_declares(count: int):
    """W1's manifest entry and .npy header declare ``count`` elements."""

    def make(folder: Path) -> Made:
        members = small_members(folder)
        document = json.loads(members["manifest.json"])
        document["arrays"]["param.W1"] = {"shape": [count], "dtype": "float32"}
        members["manifest.json"] = json.dumps(document).encode()
        members["arrays/param.W1.npy"] = npy_header((count,))
        return rezipped(folder, members)

    return make


def lying_zip_bomb(folder: Path) -> Made:
    """W1's zip header declares its true 64 bytes; the stream inflates to 1 GiB."""
    members = small_members(folder)
    entries = []
    for name, data in members.items():
        if name == "arrays/param.W1.npy":
            bomb = deflated_zeros(2**30, npy_header((3, 4)))
            entries.append((name, bomb, 8, zlib.crc32(data), len(data)))
        else:
            entries.append((name, data, 0, zlib.crc32(data), len(data)))
    target = folder / "model.glassnet"
    target.write_bytes(handmade_zip(entries))
    return Made(target)


def pickle_payload(folder: Path) -> Made:
    """W1 as an object array holding a pickle that would write a file."""
    members = small_members(folder)
    members["arrays/param.W1.npy"] = npy_bytes(np.array([Path("x"), None], object))
    return rezipped(folder, members)


# --- layers and JSON ----------------------------------------------------------------


def many_layers(count: int, minimal: bool):
    """``count`` Activation layers between small()'s two Dense layers; minimal
    records (``{"type": "Activation"}``, not even a layer) keep the manifest
    small enough for the layer cap to be what refuses it."""
    if minimal:
        record = {"type": "Activation"}
    else:
        record = {"type": "Activation", "config": gn.Activation("relu").get_config()}
        record["config"]["name"] = "a long layer name, as a hostile file may give"

    def edit(manifest):
        layers = manifest["model"]["layers"]
        manifest["model"]["layers"] = [layers[0], *[record] * count, layers[1]]

    return edited(small, edit)


def deep_model(count: int):
    """A legitimate network of ``count`` Dense layers."""

    def make(folder: Path) -> Made:
        layers = [gn.Dense(2, "relu") for _ in range(count - 1)]
        model = gn.Sequential([*layers, gn.Dense(1, "sigmoid")]).build(3, rng=0)
        return saved(model)(folder)

    return make


def nested(depth: int):
    value: object = 0
    for _ in range(depth):
        value = [value]
    return value


def raw_manifest_edit(text_edit):
    """small()'s file with its manifest.json text edited (invalid JSON allowed)."""

    def make(folder: Path) -> Made:
        members = small_members(folder)
        members["manifest.json"] = text_edit(members["manifest.json"])
        return rezipped(folder, members)

    return make


def deeply_nested_text(raw: bytes) -> bytes:
    depth = 100_000
    return raw.replace(
        b'"extra": {}', b'"extra": {"x": ' + b"[" * depth + b"]" * depth + b"}"
    )


def duplicate_key(raw: bytes) -> bytes:
    return raw.replace(b'"extra": {}', b'"extra": {}, "extra": {"x": 1}')


def not_utf8(raw: bytes) -> bytes:
    return raw.replace(b'"extra": {}', b'"extra": {"x": "\xff\xfe"}')


def big_extra(value):
    def edit(manifest):
        manifest["extra"] = {"x": value}

    return edited(small, edit)


# --- wrong types in every setting ----------------------------------------------------

#: values of the wrong type for each kind of setting (glassnet.layers.base)
WRONG_TYPES = {
    base.integer: ["4", 4.0, 4.5, True, None, [4]],
    base.boolean: ["false", 0, 1, None],
    base.number: ["0.5", True, None, [0.5], float("nan"), float("inf")],
    base.text_or_none: [5, True, ["a"], {"a": 1}, nested(50)],
    base.boolean_or_none: ["false", 0, 1],
    base.named_options: [
        5,
        None,
        ["relu"],
        {"name": 5},
        {"name": "leaky_relu", "slope": "0.1"},
    ],
    base.regularizer_or_none: [
        "l2",
        {"name": "l2", "lambd": "0.1"},
        {"name": "l2", "lambd": 0.1, "x": 1},
        {"lambd": 0.1},
    ],
    base.sizes_or_none: [[2.0, 2], "2,2", [True, 2], [[2], 2], 4],
}

#: values of the right type out of the setting's range: (layer index, key,
#: value, what the message says)
OUT_OF_RANGE = [
    (0, "image_shape", [], r"layer 0: image_shape must be positive"),
    (0, "image_shape", [0, 4], r"layer 0: image_shape must be positive"),
    (0, "image_shape", [3, 3], r"Flatten expects images of shape \(3, 3\)"),
    (1, "scale", 0, r"layer 1: scale must be nonzero"),
    (2, "floor", 2.0, r"layer 2: floor must be in \[0, 1\]"),
    (3, "units", 0, r"layer 3: units must be in \[1, inf\)"),
    (3, "units", -3, r"layer 3: units must be in"),
    (3, "activation", {"name": "leaky_relu", "slope": 1.5}, r"slope must be in"),
    (3, "activation", "os.system", r"unknown activation 'os\.system'"),
    (3, "initializer", {"name": "__import__"}, r"unknown initializer '__import__'"),
    (3, "initializer", {"name": "random", "scale": -1}, r"scale must be in"),
    (3, "regularizer", {"name": "l2", "lambd": -1}, r"lambd must be in"),
    (3, "regularizer", {"name": "eval", "lambd": 1}, r"regularizer must be None"),
    (3, "learning_rate_multiplier", -1, r"learning_rate_multiplier must be a"),
    (4, "momentum", 1, r"layer 4: momentum must be in \[0, 1\)"),
    (4, "epsilon", 0, r"layer 4: epsilon must be in \(0, inf\)"),
    (6, "keep_prob", 0, r"layer 6: keep_prob must be in \(0, 1\]"),
    (6, "keep_prob", 1.5, r"layer 6: keep_prob must be in"),
]


def setting_cases() -> dict[str, Case]:
    """Every setting of every layer of every_layer(), with each wrong type and
    the out-of-range values: an error naming the layer and the setting."""
    config = every_layer().get_config()
    cases = {}
    for index, record in enumerate(config["layers"]):
        kind = record["type"]
        for key in record["config"]:
            checker = LAYER_TYPES[kind].config_fields[key]
            for number, value in enumerate(WRONG_TYPES[checker]):
                name = f"type-{index}-{kind}-{key}-{number}"
                expect = (
                    rf"invalid architecture \(layer {index}: {kind} setting '{key}' "
                    "must be"
                )
                cases[name] = Case(
                    edited(every_layer, layer_edit(index, key, value)), expect
                )
    for index, key, value, says in OUT_OF_RANGE:
        name = f"range-{index}-{key}-{json.dumps(value)}"
        expect = rf"invalid architecture \(.*{says}"
        cases[name] = Case(edited(every_layer, layer_edit(index, key, value)), expect)
    cases["record-unknown-key"] = Case(
        edited(every_layer, lambda m: m["model"]["layers"][3].update(eval="1")),
        r"layer 3: a layer record holds 'type' and 'config' only",
    )
    cases["record-no-config"] = Case(
        edited(every_layer, lambda m: m["model"]["layers"][3].pop("config")),
        r"layer 3: Dense: .*missing 1 required positional argument: 'units'",
    )
    cases["record-unknown-setting"] = Case(
        edited(every_layer, layer_edit(3, "shell", "rm -rf /")),
        r"layer 3: Dense has no setting 'shell'",
    )
    return cases


def model_setting_cases() -> dict[str, Case]:
    wrong = {
        "n_x": (["4", 4.0, True, 0, -4, [4]], r"n_x must be an integer >= 1"),
        "dtype": (["float16", 32, None, "object"], r"dtype must be 'float32'"),
        "name": ([5, ["a"]], r"its name must be a text"),
        "layers": (["x", {}], r"no model description"),
        "classes": (
            ["abc", [["a"]], [True, False, True], ["a", "a", "b"], ["a", "b"]],
            r"invalid architecture \(.*classes",
        ),
        "shell": (["rm -rf /"], r"the model description has no setting 'shell'"),
        "target_scale": (
            [{"mean": [0.5] * 100_000, "spread": "x"}, "x", {"mean": [], "x": []}],
            r"invalid architecture \(a target scale",
        ),
    }
    cases = {}
    for key, (values, expect) in wrong.items():
        for number, value in enumerate(values):
            cases[f"model-{key}-{number}"] = Case(
                edited(every_layer, model_edit(key, value)), expect
            )
    cases["model-no-layers"] = Case(
        edited(every_layer, model_edit("layers", [])), r"needs at least one layer"
    )
    cases["model-target-scale-on-softmax"] = Case(
        edited(every_layer, model_edit("target_scale", {"mean": [0], "spread": [1]})),
        r"invalid architecture \(a target scale applies to a linear",
    )
    cases["model-no-input-size"] = Case(
        edited(every_layer, model_edit("n_x", None)), r"no input size"
    )
    top = {
        "kind": ([5, "dataset", None], r"kind .* is not a glassnet model"),
        "model_format": (["2", 2.0, True, 0], r"model_format must be an integer"),
        "glassnet_version": ([5], r"its glassnet_version must be a text"),
        "model": (["Sequential", None, []], r"no model description"),
    }
    for key, (values, expect) in top.items():
        for number, value in enumerate(values):
            cases[f"manifest-{key}-{number}"] = Case(
                edited(small, top_edit(key, value)), expect
            )
    cases["manifest-future-model-format"] = Case(
        edited(small, top_edit("model_format", 99)), r"newer glassnet \(model_format 99"
    )
    return cases


# --- values and shapes ---------------------------------------------------------------


def value_cases() -> dict[str, Case]:
    nan, inf = float("nan"), float("inf")
    values = {
        "W1-nan": (small, "param.W1", poke(0, nan), r"param\.W1 holds nan at index 0"),
        "b1-inf": (small, "param.b1", poke(1, inf), r"param\.b1 holds inf at index 1"),
        "W2-minus-inf": (small, "param.W2", poke(2, -inf), r"param\.W2 holds -inf"),
        "gamma-nan": (every_layer, "param.gamma1", poke(0, nan), r"gamma1 holds nan"),
        "running-var-negative": (
            every_layer,
            "state.running_var1",
            poke(3, -1.0),
            r"running_var1 holds negative value -1\.0 at index 3",
        ),
        "running-mean-nan": (
            every_layer,
            "state.running_mean1",
            poke(0, nan),
            r"running_mean1 holds nan",
        ),
        "spread-zero": (
            every_layer,
            "state.spread0",
            poke(2, 0.0),
            r"spread0 holds zero or negative value 0\.0 at index 2",
        ),
        "mean-inf": (every_layer, "state.mean0", poke(1, inf), r"mean0 holds inf"),
    }
    cases = {
        name: Case(edited(model, lambda m: None, array_edit(key, change)), expect)
        for name, (model, key, change, expect) in values.items()
    }
    cases["finite-extremes-load"] = Case(extreme_values, LOADS)
    return cases


def extreme_values(folder: Path) -> Made:
    model = small()
    model.params["W1"][0, 0] = 3e38
    model.params["W1"][0, 1] = -3e38
    model.params["W1"][1, 0] = 1e-45  # the smallest float32 subnormal
    return saved(model)(folder)


def shape_cases() -> dict[str, Case]:
    f32 = np.float32
    lies = {
        "W1-transposed": ("param.W1", np.zeros((4, 3), f32), r"param\.W1 is declared"),
        "b1-wrong-rank": ("param.b1", np.zeros(3, f32), r"param\.b1 is declared"),
        "W1-float64": ("param.W1", np.zeros((3, 4)), r"declared float64\(3, 4\)"),
        "W1-int32": ("param.W1", np.zeros((3, 4), np.int32), r"declared int32"),
        "extra-array": (
            "param.W9",
            np.zeros((1, 1), f32),
            r"unexpected array param\.W9",
        ),
        "extra-state": ("state.mean1", np.zeros((3, 1), f32), r"unexpected array"),
    }
    cases = {}
    for name, (key, value, expect) in lies.items():
        cases[f"shape-{name}"] = Case(
            edited(small, lambda m: None, lambda a, k=key, v=value: a.update({k: v})),
            expect,
        )
    cases["shape-missing-b2"] = Case(
        edited(small, lambda m: None, lambda a: a.pop("param.b2")),
        r"missing param\.b2",
    )
    cases["shape-state-wrong"] = Case(
        edited(
            every_layer,
            lambda m: None,
            lambda a: a.update({"state.running_mean1": np.zeros((5, 2), f32)}),
        ),
        r"state\.running_mean1 is declared float32\(5, 2\)",
    )
    cases["shape-architecture-lies"] = Case(
        edited(small, layer_edit(0, "units", 5)),
        r"param\.W1 is declared float32\(3, 4\) but the architecture needs "
        r"float32\(5, 4\)",
    )
    cases["shape-many-missing"] = Case(
        many_dense_declared(500), r"missing param\.W1, param\.W10, param\.W100 and "
    )
    return cases


def many_dense_declared(count: int):
    """``count`` Dense layers declared, with no array at all."""

    def edit(manifest):
        record = manifest["model"]["layers"][0]
        manifest["model"]["layers"] = [record] * count

    def drop(arrays):
        arrays.clear()

    return edited(small, edit, drop)


# --- checkpoints --------------------------------------------------------------------


def checkpoint_file(folder: Path, activation="relu", size=None) -> Path:
    """A real checkpoint of :func:`resume_network` after 2 epochs of Adam."""
    folder.mkdir(parents=True, exist_ok=True)
    X, y = resume_data()
    model = resume_network(activation)
    if size is not None:
        model = gn.Sequential([gn.Dense(size, "relu"), gn.Dense(1, "sigmoid")])
        X = np.random.default_rng(0).normal(size=(60, size))
    path = folder / "run.ckpt"
    model.fit(X, y, epochs=2, optimizer="adam", checkpoint=path, rng=0, verbose=False)
    return path


def checkpoint_made(folder: Path, path: Path) -> Made:
    state = gn.persistence.load_checkpoint(path)
    expected = expected_of(state["model"])
    expected.update(t=state["optimizer"].t, epochs=len(state["history"].epoch))
    return Made(path, expected=expected)


def good_checkpoint(size=None):
    def make(folder: Path) -> Made:
        return checkpoint_made(folder, checkpoint_file(folder / "run", size=size))

    return make


def checkpoint_edit(edit, arrays_edit=None):
    def make(folder: Path) -> Made:
        manifest, arrays = read_archive(checkpoint_file(folder / "good"))
        edit(manifest)
        if arrays_edit is not None:
            arrays_edit(arrays)
        path = folder / "edited.ckpt"
        write_archive(path, manifest, arrays)
        return Made(path)

    return make


def extra_edit(**changes):
    def edit(manifest):
        manifest["extra"].update(changes)

    return edit


def meta_edit(**changes):
    def edit(manifest):
        manifest["optimizer"]["meta"].update(changes)

    return edit


def huge_rng_dtype(manifest):
    manifest["extra"]["rng"]["state"]["state"] = {
        "__array__": [1, 2],
        "dtype": "U400000000",
    }


def other_architecture(folder: Path) -> Made:
    return Made(checkpoint_file(folder / "tanh", activation="tanh"))


def many_moment_slots(arrays):
    for number in range(500):
        arrays[f"optimizer.v{number}.W1"] = arrays["optimizer.v.W1"]


def checkpoint_cases() -> dict[str, Case]:
    network = network_records(resume_network())
    resume = {
        "epoch-negative": (extra_edit(epoch=-5), r"epoch -5"),
        "epoch-fraction": (extra_edit(epoch=1.7), r"epoch 1\.7"),
        "epoch-boolean": (extra_edit(epoch=True), r"epoch True"),
        "history-ragged": (
            lambda m: m["history"]["history"]["cost"].pop(),
            r"ragged History",
        ),
        "history-text": (
            lambda m: m["history"]["history"].update(cost=["x", "y"]),
            r"its history must be",
        ),
        "history-fractional-epochs": (
            lambda m: m["history"].update(epoch=[0.5, 1.5]),
            r"its history must be",
        ),
        "layer-rngs": (extra_edit(layer_rngs="x"), r"layer_rngs must be a list"),
        "rng-huge-dtype": (huge_rng_dtype, r"U400000000"),
        "rng-kind": (extra_edit(rng={"kind": "os.system"}), r"rng state kind"),
        "t-negative": (meta_edit(t=-1), r"step count t"),
        "t-text": (meta_edit(t="7"), r"step count t"),
        "t-beyond-float": (meta_edit(t=10**400), r"step count t"),
        "rate-infinite": (meta_edit(learning_rate=float("inf")), r"learning rate"),
        "optimizer-config-text": (
            lambda m: m["optimizer"]["config"].update(learning_rate="0.1"),
            r"learning_rate must be a number",
        ),
        "optimizer-record": (
            lambda m: m.update(optimizer={"config": "adam"}),
            r"its optimizer must be",
        ),
        "extra-list": (
            lambda m: m.update(extra=[1]),
            r"its extra must be an object",
        ),
        "history-params-list": (
            lambda m: m.update(history_params=[1]),
            r"its history_params must be an object",
        ),
    }
    cases = {
        f"checkpoint-{name}": Case(checkpoint_edit(edit), expect, "resume", network)
        for name, (edit, expect) in resume.items()
    }
    cases["checkpoint-other-architecture"] = Case(
        other_architecture,
        r"different architecture .*layer 0 \(Dense\): activation",
        "resume",
    )
    cases["checkpoint-other-architecture"].network = network
    cases["checkpoint-resumes"] = Case(
        checkpoint_edit(lambda m: None), LOADS, "resume", network
    )
    loads = {
        "moment-nan": (
            array_edit("optimizer.v.W1", poke(0, float("nan"))),
            r"optimizer\.v\.W1 holds nan",
        ),
        "second-moment-negative": (
            array_edit("optimizer.s.W2", poke(1, -1e-3)),
            r"optimizer\.s\.W2 holds negative value",
        ),
        "moment-transposed": (
            lambda a: a.update({"optimizer.v.W1": a["optimizer.v.W1"].T.copy()}),
            r"optimizer\.v\.W1 is declared float32\(4, 6\)",
        ),
        "moment-of-no-parameter": (
            lambda a: a.update({"optimizer.v.W99": a["optimizer.v.W1"]}),
            r"unexpected array optimizer\.v\.W99",
        ),
        "moment-float64": (
            lambda a: a.update({"optimizer.v.W1": a["optimizer.v.W1"].astype(float)}),
            r"optimizer\.v\.W1 is declared float64",
        ),
        "500-moment-slots": (many_moment_slots, r"invalid training state .*no state"),
    }
    for name, (arrays_edit, expect) in loads.items():
        cases[f"checkpoint-{name}"] = Case(
            checkpoint_edit(lambda m: None, arrays_edit), expect, "checkpoint"
        )
    cases["checkpoint-huge-moment-declared"] = Case(
        moment_declared((8192, 8192)),
        r"optimizer\.v\.W1 is declared float32\(8192, 8192\) but the architecture "
        r"needs float32\(6, 4\)",
        "checkpoint",
    )
    cases["checkpoint-huge-model-and-moments-deflated"] = Case(
        honest_deflated_dense(4096, kind="checkpoint", optimizer=True),
        r"needs up to .*above the memory budget",
        "checkpoint",
    )
    cases["checkpoint-is-a-model-file"] = Case(
        saved(small()), r"it is a model file, not a checkpoint", "checkpoint"
    )
    cases["checkpoint-loads"] = Case(good_checkpoint(), LOADS, "checkpoint")
    cases["checkpoint-16MiB-model-loads"] = Case(
        good_checkpoint(size=2048), LOADS, "checkpoint"
    )
    return cases


# --- paths ---------------------------------------------------------------------------


def contents_as_path(folder: Path) -> Made:
    made = saved(small())(folder)
    made.given = "bytes"
    return made


def long_name(folder: Path) -> Made:
    made = saved(small())(folder)
    made.given = str(folder / ("x" * 62_000))
    return made


def legacy_file(folder: Path) -> Made:
    """A format-1 file: no model_format, the standardizer in the extra."""
    model = small()
    manifest, arrays = parts(model)
    del manifest["model_format"]
    mean, std = [0.5, -1.0, 2.0, 0.0], [1.0, 2.0, 0.5, 3.0]
    manifest["extra"] = {"standardizer": {"mean": mean, "std": std}}
    path = folder / "model.glassnet"
    write_archive(path, manifest, arrays)
    rows = check_rows(4).astype(np.float32)
    rows = (rows - np.float32(mean)) / np.float32(std)
    expected = {"n_x": 4, "predict": model.predict_proba(rows), "rtol": 1e-6}
    return Made(path, expected=expected)


def compressed(folder: Path) -> Made:
    model = every_layer()
    manifest, arrays = parts(model)
    path = folder / "model.glassnet"
    write_archive(path, manifest, arrays, compress=True)
    return Made(path, expected=expected_of(model))


def large_model(folder: Path) -> Made:
    """48 MiB of float32 weights: loads within 400 MB (about 3 x its arrays)."""
    model = gn.Sequential([gn.Dense(3072, "relu"), gn.Dense(2, "softmax")])
    return saved(model.build(4096, rng=0))(folder)


# --- all of them ----------------------------------------------------------------


def cases() -> dict[str, Case]:
    found = {
        # declared sizes: kilobytes declaring gigabytes
        "dense-15000-on-15000": Case(
            declares_dense(15000, 15000),
            r"param\.W1 is declared float32\(3, 4\) but the architecture needs "
            r"float32\(15000, 15000\)",
        ),
        "dense-60000-on-60000": Case(
            declares_dense(60000, 60000), r"needs float32\(60000, 60000\)"
        ),
        "dense-10**9-units": Case(
            declares_dense(10**9, 4), r"needs float32\(1000000000, 4\)"
        ),
        "n_x-10**12": Case(
            declares_dense(3, 10**12), r"needs float32\(3, 1000000000000\)"
        ),
        "header-10**12-elements": Case(header_declares(10**12), r"max_array_bytes"),
        "deflated-256MiB-model": Case(
            honest_deflated_dense(8192), r"needs up to .*above the memory budget"
        ),
        "lying-zip-bomb": Case(lying_zip_bomb, r"damaged|CRC|more data"),
        "pickle-payload": Case(pickle_payload, r"dtype|pickle|object"),
        # layers
        "60000-layers": Case(
            many_layers(60_000, minimal=False),
            r"parsing its manifest\.json \(\d+ bytes\) needs up to .* memory budget",
        ),
        "60000-minimal-layers": Case(
            many_layers(60_000, minimal=True), r"60002 layers; at most max_layers=1000"
        ),
        "1001-layers": Case(deep_model(1001), r"1001 layers; at most max_layers=1000"),
        "1000-layers-load": Case(deep_model(1000), LOADS),
        # JSON
        "json-nested-100000": Case(
            raw_manifest_edit(deeply_nested_text), r"not valid JSON"
        ),
        "json-nested-500-in-extra-loads": Case(big_extra(nested(500)), LOADS),
        # (written with indent=1, so about 7 bytes an object, 8 a number)
        "json-14MiB-of-empty-objects": Case(
            big_extra([{}] * (2 * 2**20)),
            r"parsing its manifest\.json .* memory budget",
        ),
        "json-14MiB-of-numbers": Case(
            big_extra([0.25] * (14 * 2**20 // 8)),
            r"parsing its manifest\.json .* memory budget",
        ),
        "json-2MiB-of-numbers-loads": Case(big_extra([0.25] * (2**18)), LOADS),
        "json-duplicate-key": Case(
            raw_manifest_edit(duplicate_key), r"repeats the key"
        ),
        "json-not-utf8": Case(raw_manifest_edit(not_utf8), r"not UTF-8"),
        # paths
        "path-is-the-contents": Case(contents_as_path, r"look like a file's contents"),
        "path-62000-characters": Case(long_name, r"a name of \d+ characters"),
        "path-a-directory": Case(lambda f: Made(f), r"it is a directory"),
        # legitimate variants
        "small-float32-loads": Case(saved(small()), LOADS),
        "small-float64-loads": Case(saved(small("float64")), LOADS),
        "every-layer-loads": Case(saved(every_layer()), LOADS),
        "compressed-loads": Case(compressed, LOADS),
        "legacy-format-1-loads": Case(legacy_file, LOADS),
        "48MiB-model-loads": Case(large_model, LOADS),
    }
    found["path-is-the-contents"].action = "load_bytes"
    found["path-62000-characters"].action = "load_name"
    for group in (
        setting_cases(),
        model_setting_cases(),
        value_cases(),
        shape_cases(),
        checkpoint_cases(),
    ):
        found.update(group)
    return found


# --- loading a case, and judging what came of it ----------------------------------


def act(action: str, given, network=None) -> dict:
    """Load ``given`` as ``action`` says; what was loaded, as JSON values."""
    if action == "checkpoint":
        state = load_checkpoint(given)
        t = None if state["optimizer"] is None else state["optimizer"].t
        return report(state["model"], t=t, epochs=len(state["history"].epoch))
    if action == "resume":
        X, y = resume_data()
        model = gn.Sequential.from_config({"layers": network}, build=False)
        history = model.fit(
            X, y, epochs=3, optimizer="adam", resume=given, rng=0, verbose=False
        )
        return {"epochs": history.epoch}
    return report(gn.load(given))


def report(model, **more) -> dict:
    rows = check_rows(model.n_x)
    return {"n_x": model.n_x, "predict": model.predict_proba(rows).tolist(), **more}


def outcome(action: str, given, network=None) -> dict:
    """``{"loaded": ...}`` or ``{"error": type name, "message": ...}``."""
    try:
        return {"loaded": act(action, given, network)}
    except Exception as error:
        return {"error": type(error).__name__, "message": str(error)}


def given_to_loader(case: Case, made: Made):
    if case.action == "load_bytes":
        return made.path.read_bytes()
    return made.given if isinstance(made.given, str) else made.path


#: the kinds of a clear error, by action (a MemoryError, a KeyError, a
#: RecursionError ... is not one)
ERROR_TYPES = {
    "load": {"ModelFileError"},
    "checkpoint": {"ModelFileError"},
    "resume": {"ModelFileError", "ValueError"},
    "load_bytes": {"TypeError"},
    "load_name": {"ModelFileError"},
}
MESSAGE_CHARACTERS = 1000


def verdict(case: Case, made: Made, result: dict) -> str | None:
    """What is wrong with ``result`` (see :func:`outcome`) for ``case``, or None:
    a legitimate file must load as saved; a hostile one must give a clear error
    of the expected kind, matching the case, naming the file, in one line of at
    most 1000 characters."""
    if case.expect == LOADS:
        if "error" in result:
            return f"a legitimate file was refused: {result['message'][:300]}"
        return loaded_problem(case, made, result["loaded"])
    if "error" not in result:
        return "a hostile file loaded"
    message = result["message"]
    if result["error"] not in ERROR_TYPES[case.action]:
        return f"{result['error']} is not a clear error: {message[:300]}"
    if not re.search(case.expect, message):
        return f"the message does not match {case.expect!r}: {message[:600]}"
    if len(message) > MESSAGE_CHARACTERS or "\n" in message:
        return f"the message is {len(message)} characters long or several lines"
    named = case.action not in ("load_bytes", "load_name")
    if named and repr(str(made.path)) not in message:
        return f"the message does not name the file: {message[:300]}"
    return None


def loaded_problem(case: Case, made: Made, loaded: dict) -> str | None:
    if case.action == "resume":
        return None if loaded["epochs"] == [0, 1, 2] else f"resumed to {loaded}"
    expected = made.expected
    if loaded["n_x"] != expected["n_x"]:
        return f"n_x {loaded['n_x']} != {expected['n_x']}"
    predicted = np.array(loaded["predict"])
    rtol = expected.get("rtol", 0)
    if not np.allclose(predicted, expected["predict"], rtol=rtol, atol=0):
        return "the loaded model predicts other values than the saved one"
    for key in ("t", "epochs"):
        if key in expected and loaded[key] != expected[key]:
            return f"{key} {loaded[key]} != {expected[key]}"
    return None


#: the cases whose files take long to make or to load (large arrays, megabytes
#: of manifest, a thousand layers): the subprocess test only
HEAVY = {
    "48MiB-model-loads",
    "checkpoint-16MiB-model-loads",
    "json-14MiB-of-empty-objects",
    "json-14MiB-of-numbers",
    "60000-layers",
    "60000-minimal-layers",
    "1000-layers-load",
    "1001-layers",
    "deflated-256MiB-model",
    "checkpoint-huge-model-and-moments-deflated",
    "checkpoint-huge-moment-declared",
    "lying-zip-bomb",
}
