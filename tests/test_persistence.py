"""Model files and checkpoints: bitwise round trips, hostile manifests, lying shapes."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from contracts import PROPERTY
from hypothesis import given
from hypothesis import strategies as st

import glassnet as gn
from glassnet.io import ModelFileError, read_archive, write_archive
from glassnet.persistence import load_checkpoint, load_model, save_checkpoint


def _data(m=40, n=5, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, n)) * 3 + 1
    return X, rng.integers(0, classes, size=m)


def _bn_model(dtype):
    model = gn.Sequential(
        [
            gn.Dense(6),
            gn.BatchNorm(),
            gn.Activation("relu"),
            gn.Dropout(0.9),
            gn.Dense(4, "tanh", regularizer=gn.L2(0.1)),
            gn.Dense(3, "softmax"),
        ]
    )
    X, y = _data()
    model.fit(
        X,
        y,
        epochs=3,
        batch_size=8,
        optimizer=gn.Adam(0.01),
        rng=0,
        verbose=False,
        dtype=dtype,
    )
    return model, X


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_save_load_predict_is_bitwise(tmp_path, dtype):
    model, X = _bn_model(dtype)
    # the running statistics moved: the file must carry them
    assert not np.array_equal(model.state["running_mean1"], 0)
    path = tmp_path / "model.glassnet"
    model.save(path)
    loaded = gn.load(path)
    assert loaded.get_config() == model.get_config()
    assert loaded.dtype == np.dtype(dtype)
    for key, value in model.get_weights().items():
        again = loaded.get_weights()[key]
        assert again.dtype == value.dtype
        np.testing.assert_array_equal(again, value, err_msg=key)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    # the loaded model is a working model: its params are views of its flat buffer
    assert np.shares_memory(loaded.params["W1"], loaded.flat_params)


@PROPERTY
@given(
    units=st.lists(st.integers(1, 5), min_size=1, max_size=3),
    activation=st.sampled_from(["relu", "tanh", "sigmoid", "leaky_relu", "linear"]),
    output=st.sampled_from([(1, "sigmoid"), (3, "softmax"), (2, "linear")]),
    dtype=st.sampled_from(["float32", "float64"]),
    batchnorm=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_save_load_round_trip_property(
    units, activation, output, dtype, batchnorm, seed
):
    layers = []
    for n in units:
        layers.append(gn.Dense(n, activation))
        if batchnorm:
            layers.append(gn.BatchNorm())
    layers.append(gn.Dense(*output))
    model = gn.Sequential(layers).build(3, rng=seed, dtype=dtype)
    X = np.random.default_rng(seed).normal(size=(7, 3))
    if batchnorm:
        model.forward(X.T.astype(dtype), training=True)  # move the running stats
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.glassnet"
        model.save(path)
        loaded = gn.load(path)
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.flat_params, model.flat_params)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_saving_the_same_model_twice_gives_the_same_bytes(tmp_path):
    model = gn.Sequential([gn.Dense(3, "relu"), gn.Dense(1, "sigmoid")]).build(2, rng=0)
    model.save(tmp_path / "a")
    model.save(tmp_path / "b")
    assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes()


def test_the_file_holds_no_pickle(tmp_path):
    model, _ = _bn_model("float32")
    model.save(tmp_path / "m")
    raw = (tmp_path / "m").read_bytes()
    assert b"numpy.core.multiarray" not in raw and b"\x80\x04\x95" not in raw
    manifest, arrays = read_archive(tmp_path / "m")
    assert manifest["kind"] == "model"
    assert set(arrays) == {f"param.{k}" for k in model.params} | {
        f"state.{k}" for k in model.state
    }


# --- hostile and lying files -------------------------------------------------------


def _manifest_and_arrays(model):
    manifest = {"kind": "model", "model": model.get_config()}
    arrays = {f"param.{k}": v for k, v in model.params.items()}
    arrays.update({f"state.{k}": v for k, v in model.state.items()})
    return manifest, arrays


def _small_model():
    return gn.Sequential([gn.Dense(3, "relu"), gn.Dense(1, "sigmoid")]).build(4, rng=0)


@pytest.mark.parametrize(
    "kind",
    [
        "Lambda",
        "os.system",
        "builtins.eval",
        "glassnet.layers.Dense",
        "Sequential",
        None,
        3,
    ],
)
def test_an_unknown_layer_type_is_refused(tmp_path, kind):
    marker = tmp_path / "PLANTED"
    manifest, arrays = _manifest_and_arrays(_small_model())
    manifest["model"]["layers"][0] = {
        "type": kind,
        "config": {"command": f"touch {marker}", "units": 3},
    }
    path = tmp_path / "evil.glassnet"
    write_archive(path, manifest, arrays)
    with pytest.raises(ModelFileError, match=r"evil\.glassnet.*unknown layer type"):
        gn.load(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    "change",
    [
        lambda layer: layer["config"].update(units=-3),
        lambda layer: layer["config"].update(shell="rm -rf /"),
        lambda layer: layer["config"].update(activation="os.system"),
        lambda layer: layer["config"].update(initializer={"name": "__import__"}),
        lambda layer: layer.update(config="not a dict"),
    ],
    ids=[
        "negative-units",
        "unknown-option",
        "bad-activation",
        "bad-initializer",
        "config-not-object",
    ],
)
def test_an_invalid_layer_config_is_refused(tmp_path, change):
    manifest, arrays = _manifest_and_arrays(_small_model())
    change(manifest["model"]["layers"][0])
    write_archive(tmp_path / "bad", manifest, arrays)
    with pytest.raises(ModelFileError, match="invalid architecture"):
        gn.load(tmp_path / "bad")


def test_a_manifest_without_a_model_or_of_another_kind(tmp_path):
    model = _small_model()
    manifest, arrays = _manifest_and_arrays(model)
    write_archive(tmp_path / "a", {"kind": "model"}, arrays)
    with pytest.raises(ModelFileError, match="no model description"):
        gn.load(tmp_path / "a")
    write_archive(tmp_path / "b", {**manifest, "kind": "dataset"}, arrays)
    with pytest.raises(ModelFileError, match="'dataset'"):
        gn.load(tmp_path / "b")
    write_archive(
        tmp_path / "c",
        {**manifest, "model": {**manifest["model"], "n_x": None}},
        arrays,
    )
    with pytest.raises(ModelFileError, match="no input size"):
        gn.load(tmp_path / "c")


@pytest.mark.parametrize(
    "lie",
    [
        lambda a: a.update(
            {"param.W1": np.zeros((4, 3), dtype=np.float32)}
        ),  # transposed
        lambda a: a.update({"param.b2": np.zeros((1,), dtype=np.float32)}),
        lambda a: a.update({"param.W2": np.zeros((1, 3), dtype=np.float64)}),  # dtype
        lambda a: a.update({"param.W1": np.zeros((3, 4), dtype=np.int32)}),
        lambda a: a.pop("param.b1"),
        lambda a: a.update({"param.W3": np.zeros((1, 1), dtype=np.float32)}),
    ],
    ids=["transposed", "wrong-rank", "wrong-dtype", "int-dtype", "missing", "extra"],
)
def test_a_shape_lying_file_is_refused(tmp_path, lie):
    manifest, arrays = _manifest_and_arrays(_small_model())
    lie(arrays)
    write_archive(tmp_path / "liar", manifest, arrays)
    with pytest.raises(ModelFileError, match="liar"):
        gn.load(tmp_path / "liar")


def test_a_shape_lying_architecture_is_refused(tmp_path):
    # the manifest says 5 hidden units, the arrays were written for 3
    manifest, arrays = _manifest_and_arrays(_small_model())
    manifest["model"]["layers"][0]["config"]["units"] = 5
    write_archive(tmp_path / "liar", manifest, arrays)
    with pytest.raises(ModelFileError, match=r"param\.W1.*\(3, 4\).*\(5, 4\)"):
        gn.load(tmp_path / "liar")


def test_missing_and_damaged_files(tmp_path):
    with pytest.raises(ModelFileError, match="no such file"):
        gn.load(tmp_path / "nothing")
    (tmp_path / "junk").write_bytes(b"not a zip at all" * 10)
    with pytest.raises(ModelFileError):
        gn.load(tmp_path / "junk")


# --- checkpoints ------------------------------------------------------------------


@pytest.mark.parametrize(
    "optimizer",
    [
        gn.Adam(0.01),
        gn.Momentum(0.05, beta=0.8),
        gn.RMSprop(0.01),
        gn.GradientDescent(0.1),
    ],
    ids=["adam", "momentum", "rmsprop", "gd"],
)
def test_checkpoint_round_trip_resumes_bitwise(tmp_path, optimizer):
    X, y = _data(seed=1)
    model = gn.Sequential(
        [gn.Dense(5), gn.BatchNorm(), gn.Activation("relu"), gn.Dense(3, "softmax")]
    )
    history = model.fit(
        X,
        y,
        epochs=3,
        batch_size=16,
        optimizer=optimizer,
        metrics=["accuracy"],
        shuffle=False,
        rng=0,
        verbose=False,
    )
    path = tmp_path / "ckpt.glassnet"
    save_checkpoint(
        model,
        path,
        optimizer=optimizer,
        history=history,
        extra={"epoch": 3, "note": "halfway"},
    )
    restored = load_checkpoint(path)
    assert set(restored) == {"model", "optimizer", "history", "extra"}
    assert restored["extra"] == {"epoch": 3, "note": "halfway"}
    # the optimizer: same kind, config, step count and moments, bitwise
    again = restored["optimizer"]
    assert type(again) is type(optimizer)
    assert again.get_config() == optimizer.get_config()
    assert again.t == optimizer.t == 9
    meta, arrays = optimizer.get_state()
    meta2, arrays2 = again.get_state()
    assert meta2 == meta and set(arrays2) == set(arrays)
    for key in arrays:
        np.testing.assert_array_equal(arrays2[key], arrays[key], err_msg=key)
    # the history
    saved = restored["history"]
    assert saved.epoch == history.epoch
    assert saved.history == history.history
    assert saved.params["epochs"] == 3 and saved.params["optimizer"] == (
        optimizer.get_config()
    )
    # resuming is the same as never having stopped
    loaded = restored["model"]
    np.testing.assert_array_equal(loaded.flat_params, model.flat_params)
    h1 = model.fit(
        X, y, epochs=2, batch_size=16, optimizer=optimizer, shuffle=False, verbose=False
    )
    h2 = loaded.fit(
        X, y, epochs=2, batch_size=16, optimizer=again, shuffle=False, verbose=False
    )
    assert h1["cost"] == h2["cost"]
    for key, value in model.get_weights().items():
        np.testing.assert_array_equal(loaded.get_weights()[key], value, err_msg=key)


def test_checkpoint_without_optimizer_or_history(tmp_path):
    model = _small_model()
    save_checkpoint(model, tmp_path / "c")
    restored = load_checkpoint(tmp_path / "c")
    assert restored["optimizer"] is None
    assert len(restored["history"]) == 0
    # a checkpoint is also a model file
    np.testing.assert_array_equal(
        load_model(tmp_path / "c").flat_params, model.flat_params
    )


def test_a_model_file_is_not_a_checkpoint(tmp_path):
    _small_model().save(tmp_path / "m")
    with pytest.raises(ModelFileError, match="not a checkpoint"):
        load_checkpoint(tmp_path / "m")


def test_a_checkpoint_with_a_bad_optimizer_is_refused(tmp_path):
    model = _small_model()
    manifest, arrays = _manifest_and_arrays(model)
    manifest["kind"] = "checkpoint"
    manifest["optimizer"] = {
        "config": {"name": "os.system"},
        "meta": {"t": 1, "learning_rate": 1},
    }
    write_archive(tmp_path / "c", manifest, arrays)
    with pytest.raises(ModelFileError, match="invalid training state"):
        load_checkpoint(tmp_path / "c")
    manifest["optimizer"] = {
        "config": {"name": "adam"},
        "meta": {"t": 1, "learning_rate": 1},
    }
    arrays["optimizer.q.W1"] = np.zeros((3, 4), dtype=np.float32)
    write_archive(tmp_path / "d", manifest, arrays)
    with pytest.raises(ModelFileError, match="invalid training state"):
        load_checkpoint(tmp_path / "d")


@pytest.mark.parametrize(
    "lie",
    [
        lambda a: a.update({"optimizer.v.W1": np.zeros((1, 4), dtype=np.float32)}),
        lambda a: a.update({"optimizer.s.b2": np.zeros((3, 1), dtype=np.float32)}),
    ],
    ids=["v-W1-broadcastable", "s-b2-wrong"],
)
def test_a_checkpoint_whose_optimizer_state_lies_about_shapes_is_refused(tmp_path, lie):
    """Every array of a checkpoint is checked against the architecture, the
    optimizer's moments included: a moment whose shape disagrees with its parameter
    must not load (nor be silently broadcast when training resumes)."""
    X, y = _data(m=20, n=4, classes=2, seed=2)
    model = gn.Sequential([gn.Dense(3, "relu"), gn.Dense(1, "sigmoid")])
    optimizer = gn.Adam(0.01)
    model.fit(X, y, epochs=1, optimizer=optimizer, rng=0, verbose=False)
    save_checkpoint(model, tmp_path / "good", optimizer=optimizer)
    manifest, arrays = read_archive(tmp_path / "good")
    lie(arrays)
    write_archive(tmp_path / "liar", manifest, arrays)
    with pytest.raises(ModelFileError, match="liar"):
        load_checkpoint(tmp_path / "liar")


@pytest.mark.parametrize(
    "layers",
    [
        lambda: [
            gn.Dense(3, "relu"),
            gn.Dropout(np.float32(0.5)),
            gn.Dense(1, "sigmoid"),
        ],
        lambda: [
            gn.Dense(3, "relu", regularizer=gn.L2(np.float32(0.1))),
            gn.Dense(1, "sigmoid"),
        ],
        lambda: [
            gn.Dense(3, {"name": "leaky_relu", "slope": np.float32(0.1)}),
            gn.Dense(1, "sigmoid"),
        ],
        lambda: [
            gn.Dense(3),
            gn.BatchNorm(momentum=np.float32(0.9)),
            gn.Dense(1, "sigmoid"),
        ],
    ],
    ids=["keep_prob", "lambd", "slope", "momentum"],
)
def test_numpy_scalar_hyperparameters_save_and_load(tmp_path, layers):
    """Hyperparameters often come from NumPy (a search space samples them), and are
    stored as given; get_config must still be JSON, so the model can be saved."""
    model = gn.Sequential(layers()).build(2, rng=0)
    model.save(tmp_path / "m")
    loaded = gn.load(tmp_path / "m")
    X = np.random.default_rng(0).normal(size=(5, 2))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_numpy_scalar_learning_rate_checkpoints(tmp_path):
    X, y = _data(m=8, n=2, classes=2)
    model = gn.Sequential([gn.Dense(1, "sigmoid")])
    optimizer = gn.Adam(np.float32(0.01))
    history = model.fit(X, y, optimizer=optimizer, rng=0, verbose=False)
    save_checkpoint(model, tmp_path / "c", optimizer=optimizer, history=history)
    again = load_checkpoint(tmp_path / "c")["optimizer"]
    assert again.learning_rate == pytest.approx(0.01)
