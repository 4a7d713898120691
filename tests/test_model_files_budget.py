"""Memory and time budgets on every load of a model file or checkpoint (issue 20,
points 2, 6 and 10; architecture D31), in process.

A model file is checked against what it declares before anything is built: the
shapes its architecture needs are computed from the layer settings
(``Sequential.planned_arrays``, nothing allocated) and compared with the arrays
the archive holds; the model is then built without drawing initial weights.
Nothing a file declares may take more than the memory budget, 4 x the bytes of
array data the file holds + 64 MiB unless ``max_memory=`` says otherwise, nor
more than ``max_layers`` (1000) layers. Settings have strict types, values must
be finite, and every error names the file in a line of reasonable length. The
same hostile files, each in a child process with its time, peak memory and
opened files measured, are tests/test_hostile_models.py.
"""

from __future__ import annotations

import json
import tracemalloc
import zipfile
import zlib

import numpy as np
import pytest
from hostile_model_files import (
    HEAVY,
    LOADS,
    cases,
    deep_model,
    every_layer,
    given_to_loader,
    handmade_zip,
    many_layers,
    nested,
    npy_bytes,
    outcome,
    small,
    verdict,
    zipped,
)

import glassnet as gn
from glassnet import _archive_checks as checks
from glassnet.io import ModelFileError, read_archive, write_archive
from glassnet.persistence import MAX_LAYERS, load_checkpoint, load_model


def peak_of(function) -> int:
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# --- the architecture is planned, not built ---------------------------------------


ARCHITECTURES = {
    "dense": lambda: [gn.Dense(3, "relu"), gn.Dense(1, "sigmoid")],
    "batch-norm-after-linear": lambda: [
        gn.Dense(4),  # its bias is dropped: beta takes its role
        gn.BatchNorm(),
        gn.Activation("relu"),
        gn.Dense(4, "tanh", use_bias=False),
        gn.BatchNorm(),
        gn.Dense(2, "softmax"),
    ],
    "preprocessing": lambda: [
        gn.Flatten((2, 3)),
        gn.Rescaling(1 / 255),
        gn.Standardization(),
        gn.Dense(5, "relu"),
        gn.Dropout(0.5),
        gn.Dense(1),
    ],
    "every-layer": lambda: every_layer().layers,
}


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_planned_arrays_are_what_build_creates(name):
    layers = ARCHITECTURES[name]()
    config = gn.Sequential(layers).get_config()
    n_x = 4 if name == "every-layer" else 6
    planned = gn.Sequential.from_config(config, build=False).planned_arrays(n_x)
    fresh = gn.Sequential.from_config({**config, "n_x": n_x}, build=False)
    fresh.build(n_x, rng=0)
    assert planned[0] == {k: tuple(v.shape) for k, v in fresh.params.items()}
    assert planned[1] == {k: tuple(v.shape) for k, v in fresh.state.items()}


def test_planning_a_huge_architecture_allocates_nothing():
    model = gn.Sequential([gn.Dense(10**6, "relu"), gn.BatchNorm(), gn.Dense(10**6)])
    planned = {}
    peak = peak_of(lambda: planned.update(p=model.planned_arrays(10**6)))
    params, state = planned["p"]
    assert params["W2"] == (10**6, 10**6) and state["running_var1"] == (10**6, 1)
    assert peak < 2**16


def test_a_built_layer_keeps_planning_its_own_shapes():
    layer = gn.Flatten((2, 2))
    with pytest.raises(ValueError, match=r"Flatten expects images of shape \(2, 2\)"):
        gn.Sequential([layer, gn.Dense(1)]).planned_arrays(5)


def test_building_without_initial_weights_draws_nothing():
    rng = np.random.default_rng(7)
    before = rng.bit_generator.state
    model = gn.Sequential([gn.Dense(4, "relu"), gn.BatchNorm(), gn.Dense(2, "softmax")])
    model.build(3, rng=rng, initialize=False)
    assert rng.bit_generator.state == before
    assert not model.flat_params[: 4 * 3 + 4].any()  # W1, b1: zeros
    assert np.array_equal(model.params["gamma1"], np.ones((4, 1)))
    reference = gn.Sequential(
        [gn.Dense(4, "relu"), gn.BatchNorm(), gn.Dense(2, "softmax")]
    ).build(3, rng=0)
    assert list(model.params) == list(reference.params)


def test_loading_draws_no_initial_weights(tmp_path, monkeypatch):
    model = every_layer()
    model.save(tmp_path / "m.glassnet")

    def refuse(self, shape, rng):
        raise AssertionError("loading drew initial weights")

    for initializer in {type(layer.initializer) for layer in model.layers[3::4]}:
        monkeypatch.setattr(initializer, "__call__", refuse)
    monkeypatch.setattr(gn.initializers.He, "__call__", refuse)
    monkeypatch.setattr(gn.initializers.Xavier, "__call__", refuse)
    loaded = gn.load(tmp_path / "m.glassnet")
    rows = np.random.default_rng(0).normal(size=(5, 4))
    np.testing.assert_array_equal(loaded.predict_proba(rows), model.predict_proba(rows))


def test_a_file_declaring_gigabytes_is_refused_before_anything_is_built(
    tmp_path, monkeypatch
):
    manifest = {"kind": "model", "model": small().get_config()}
    manifest["model"]["n_x"] = 15000
    manifest["model"]["layers"][0]["config"]["units"] = 15000
    arrays = {f"param.{k}": v for k, v in small().params.items()}
    write_archive(tmp_path / "tiny.glassnet", manifest, arrays)
    assert (tmp_path / "tiny.glassnet").stat().st_size < 3000

    def build(*args, **kwargs):
        raise AssertionError("the model was built")

    monkeypatch.setattr(gn.Sequential, "build", build)

    def refused():
        with pytest.raises(ModelFileError, match=r"needs float32\(15000, 15000\)"):
            gn.load(tmp_path / "tiny.glassnet")

    assert peak_of(refused) < 2**20


# --- the memory budget ---------------------------------------------------------------


def deflated_model(folder, units: int):
    """``Dense(units)`` on ``units`` inputs, W1 an honest deflate stream of zeros."""
    config = gn.Sequential([gn.Dense(units, "relu")]).get_config()
    config.update(n_x=units, dtype="float32")
    config["layers"][0]["config"]["units"] = units
    manifest = {"kind": "model", "model_format": 2, "model": config, "extra": {}}
    members = {"arrays/param.b1.npy": npy_bytes(np.zeros((units, 1), np.float32))}
    path = folder / "deflated.glassnet"
    path.write_bytes(
        zipped(manifest, members, {"param.W1": ((units, units), units * units * 4)})
    )
    return path


def test_the_default_budget_is_four_times_the_arrays_held_plus_64_mib(tmp_path):
    path = deflated_model(tmp_path, 4096)  # 64 MiB of W1 in about 70 kB
    with zipfile.ZipFile(path) as archive:
        held = sum(
            i.compress_size for i in archive.infolist() if i.filename != "manifest.json"
        )
    budget = 4 * held + 64 * 2**20
    errors = []

    def refuse():
        with pytest.raises(ModelFileError) as caught:
            gn.load(path)
        errors.append(str(caught.value))

    assert peak_of(refuse) < 2**22
    message = errors[0]
    assert str(path) in message
    assert "64.0 MiB as declared" in message  # the arrays
    assert "128.0 MiB" in message  # the flat parameter and gradient buffers
    assert f"memory budget of {checks.describe_bytes(budget)}" in message
    assert f"4 x the {checks.describe_bytes(held)} of array data" in message
    assert "max_memory=" in message


def test_max_memory_sets_the_budget_both_ways(tmp_path):
    path = deflated_model(tmp_path, 1024)  # 4 MiB of W1: loads within the default
    model = gn.load(path)
    assert model.params["W1"].shape == (1024, 1024) and not model.params["W1"].any()
    with pytest.raises(ModelFileError, match=r"above the memory budget max_memory="):
        gn.load(path, max_memory=8 * 2**20)  # W1, and W1 and dW1 in the buffers
    with pytest.raises(ModelFileError, match="max_memory=1000"):
        load_model(tmp_path / "deflated.glassnet", max_memory=1000)
    assert gn.load(path, max_memory=13 * 2**20).n_x == 1024
    with pytest.raises(ValueError, match="max_memory"):
        gn.load(path, max_memory=0)


def test_a_checkpoint_counts_its_moments(tmp_path):
    X = np.random.default_rng(0).normal(size=(20, 256))
    y = np.arange(20) % 2
    model = gn.Sequential([gn.Dense(256, "relu"), gn.Dense(1, "sigmoid")])
    path = tmp_path / "run.ckpt"
    model.fit(X, y, epochs=1, optimizer="adam", checkpoint=path, verbose=False)
    params = 4 * (256 * 256 + 256 + 256 + 1)  # W1 b1 W2 b2
    # read: params + 2 moments; built: 2 buffers + the optimizer's moment copies
    needed = 3 * params + 2 * params + 2 * params
    state = load_checkpoint(path, max_memory=needed + 2**20)
    assert state["optimizer"].t == 1
    with pytest.raises(ModelFileError, match="memory budget"):
        load_checkpoint(path, max_memory=needed - 2**16)


JSON_SHAPES = {
    "empty-objects": [{}] * 50_000,
    "empty-lists": [[]] * 50_000,
    "short-strings": [f"{i:x}"[-2:] + chr(65 + i % 26) for i in range(50_000)],
    "numbers": [i / 7 for i in range(50_000)],
    "large-integers": [10**12 + i for i in range(50_000)],
    "many-keys": {f"k{i}": i for i in range(30_000)},
    "nested": nested(400),
    "non-ascii": ["é€😀" * 3] * 20_000,
    "one-long-string": "x" * 2**20,
    "records": [{"type": "Activation", "config": {"activation": "relu"}}] * 10_000,
}


@pytest.mark.parametrize("shape", JSON_SHAPES)
def test_the_manifest_estimate_bounds_what_parsing_takes(shape):
    document = {"format": "glassnet", "format_version": 1, "arrays": {}}
    document["payload"] = JSON_SHAPES[shape]
    raw = json.dumps(document, ensure_ascii=False).encode()
    estimate = checks.parsed_json_bytes(raw)
    result = []
    peak = peak_of(lambda: result.append(checks.parse_manifest(raw, 1)))
    assert result[0][0]["payload"] == JSON_SHAPES[shape]
    assert peak <= estimate, (peak, estimate)


def test_a_manifest_beyond_the_budget_is_refused_unparsed(tmp_path, monkeypatch):
    manifest = {"kind": "model", "model": small().get_config(), "extra": {}}
    manifest["extra"]["x"] = [{}] * (2**20)
    arrays = {f"param.{k}": v for k, v in small().params.items()}
    write_archive(tmp_path / "m.glassnet", manifest, arrays)

    def parse(*args):
        raise AssertionError("parsed")

    monkeypatch.setattr(checks, "parse_manifest", parse)
    with pytest.raises(ModelFileError, match=r"parsing its manifest\.json \("):
        gn.load(tmp_path / "m.glassnet")


# --- layers ------------------------------------------------------------------------


def test_at_most_max_layers_layers(tmp_path):
    assert MAX_LAYERS == 1000
    made = many_layers(1200, minimal=False)(tmp_path)
    with pytest.raises(ModelFileError, match="1202 layers; at most max_layers=1000"):
        gn.load(made.path)
    assert len(gn.load(made.path, max_layers=1202).layers) == 1202


def test_a_300_layer_model_loads(tmp_path):
    made = deep_model(300)(tmp_path)
    assert len(gn.load(made.path).layers) == 300


# --- strict settings in the Python API too --------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: gn.Dense(3, use_bias="false"),
        lambda: gn.Dense(3, use_bias=1),
        lambda: gn.Dense(3, trainable="no"),
        lambda: gn.BatchNorm(use_batch_statistics="false"),
        lambda: gn.Standardization(adapted="yes"),
        lambda: gn.Activation("relu", trainable=None),
    ],
)
def test_flags_are_booleans(make):
    with pytest.raises(TypeError, match="must be True or False"):
        make()


def test_numpy_booleans_are_booleans():
    layer = gn.Dense(3, use_bias=np.False_, trainable=np.True_)
    assert layer.use_bias is False and layer.trainable is True
    assert gn.BatchNorm(use_batch_statistics=np.True_).use_batch_statistics is True


# --- paths and messages ---------------------------------------------------------------


def test_bytes_that_are_a_file_are_not_a_path(tmp_path):
    small().save(tmp_path / "m.glassnet")
    contents = (tmp_path / "m.glassnet").read_bytes()
    with pytest.raises(TypeError, match="look like a file's contents") as caught:
        gn.load(contents)
    assert len(str(caught.value)) < 300
    with pytest.raises(TypeError, match="look like a file's contents"):
        load_checkpoint(contents * 30)
    with pytest.raises(TypeError, match="str or os.PathLike; received a int"):
        gn.load(3)
    with pytest.raises(TypeError, match="NUL"):
        gn.load(contents.decode("latin-1"))
    as_bytes = str(tmp_path / "m.glassnet").encode()
    assert gn.load(as_bytes).n_x == 4  # a short bytes name is a name


def test_a_long_name_is_shortened_in_the_message(tmp_path):
    name = str(tmp_path / ("x" * 62_000))
    with pytest.raises(ModelFileError, match=r"a name of 6\d{4} characters") as caught:
        gn.load(name)
    assert len(str(caught.value)) < 400


def test_read_archive_takes_the_same_paths(tmp_path):
    write_archive(tmp_path / "a", {"k": 1}, {})
    assert read_archive(str(tmp_path / "a").encode())[0] == {"k": 1}
    with pytest.raises(TypeError):
        read_archive((tmp_path / "a").read_bytes())


def test_a_handmade_zip_helper_writes_a_readable_archive(tmp_path):
    raw = json.dumps({"format": "glassnet", "format_version": 1, "arrays": {}})
    data = raw.encode()
    path = tmp_path / "z"
    path.write_bytes(
        handmade_zip([("manifest.json", data, 0, zlib.crc32(data), len(data))])
    )
    assert read_archive(path) == ({}, {})


# --- every light hostile case, in process --------------------------------------

LIGHT = [name for name in cases() if name not in HEAVY]


@pytest.fixture(scope="module")
def light_cases(tmp_path_factory):
    folder = tmp_path_factory.mktemp("light")
    every = cases()
    made = {}
    for name in LIGHT:
        (folder / name).mkdir()
        made[name] = (every[name], every[name].make(folder / name))
    return made


def test_every_light_hostile_file_fails_clearly_in_process(light_cases):
    """The cases of tests/hostile_model_files.py but the heavy ones (those are in
    tests/test_hostile_models.py, in child processes): the expected clear error
    naming the file, or the model that was saved."""
    failures = []
    for name, (case, made) in light_cases.items():
        result = outcome(case.action, given_to_loader(case, made), case.network)
        problem = verdict(case, made, result)
        if problem:
            failures.append(f"{name}: {problem}")
    assert not failures, "\n".join(failures)
    assert sum(case.expect == LOADS for case, _ in light_cases.values()) >= 8
