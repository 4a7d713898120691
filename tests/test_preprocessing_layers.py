"""The preprocessing layers (Flatten, Rescaling, Standardization), the model's class
list, the defaults that choose them (``networks.preprocessing_layers``) and model
files of the format before them (issue 19, point 1)."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from contracts import check_layer_contract, columns
from test_cli import assert_one_line_error, cli, ok

import glassnet as gn
from glassnet.layers import LAYER_TYPES, layer_from_config
from glassnet.layers.preprocessing import spread_statistics
from glassnet.networks import is_image_data, preprocessing_layers
from glassnet.persistence import MODEL_FORMAT


def _rows(m=40, n=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(m, n)) * [1, 10, 100, 0.01, 3] + [0, 5, -50, 2, 1e3]


# --------------------------------------------------------------------- Rescaling


def test_rescaling_forward_and_backward_by_hand():
    layer = gn.Rescaling(1 / 255)
    layer.build(3, 0, np.float64)
    A_prev = np.array([[0.0, 255.0], [51.0, 102.0], [255.0, 0.0]])
    A = layer.forward(A_prev, training=True)
    np.testing.assert_allclose(A, [[0, 1], [0.2, 0.4], [1, 0]], rtol=1e-15)
    np.testing.assert_allclose(
        layer.backward(np.ones((3, 2))), np.full((3, 2), 1 / 255)
    )
    shifted = gn.Rescaling(1 / 127.5, -1)
    shifted.build(3, 0, np.float64)
    np.testing.assert_allclose(shifted.forward(A_prev, False)[:, 0], [-1, -0.6, 1])


def test_rescaling_keeps_float32_and_refuses_bad_scales():
    layer = gn.Rescaling(1 / 255)
    layer.build(2, 0, np.float32)
    assert layer.forward(np.ones((2, 3), np.float32), False).dtype == np.float32
    for bad in (0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="scale"):
            gn.Rescaling(bad)


@pytest.mark.parametrize(
    "layer",
    [
        gn.Rescaling(0.5, 1.0),
        gn.Flatten(),
        gn.Standardization().adapt(np.random.default_rng(0).normal(size=(9, 4))),
    ],
    ids=["Rescaling", "Flatten", "Standardization"],
)
def test_preprocessing_layers_follow_the_layer_contract(layer):
    check_layer_contract(layer)
    assert layer.params == {} and layer.grads == {}


@pytest.mark.parametrize("kind", ["Rescaling", "Flatten", "Standardization"])
def test_backward_is_the_derivative_of_forward(kind):
    """dA_prev of sum(G * forward(A_prev)) by central differences, float64."""
    rng = np.random.default_rng(1)
    layer = {
        "Rescaling": gn.Rescaling(0.3, -2.0),
        "Flatten": gn.Flatten((2, 2, 1)),
        "Standardization": gn.Standardization().adapt(rng.normal(size=(7, 4)) * 3),
    }[kind]
    layer.build(4, 0, np.float64)
    A_prev, G = columns(4, 3, seed=2), columns(4, 3, seed=3)
    layer.forward(A_prev, training=True)
    analytic = layer.backward(G)
    numeric = np.zeros_like(A_prev)
    for index in np.ndindex(A_prev.shape):
        step = np.zeros_like(A_prev)
        step[index] = 1e-6
        plus = np.sum(G * layer.forward(A_prev + step, False))
        minus = np.sum(G * layer.forward(A_prev - step, False))
        numeric[index] = (plus - minus) / 2e-6
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


# --------------------------------------------------------------- Standardization


def test_standardization_is_the_notes_input_normalization():
    X = _rows()
    layer = gn.Standardization().adapt(X)
    model = gn.Sequential([layer]).build(5, dtype="float64")
    mu, spread = layer.statistics()
    np.testing.assert_allclose(mu[:, 0], X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(spread[:, 0], X.std(axis=0), rtol=1e-12)  # no floor hit
    Z = model.predict_proba(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), 1, rtol=1e-12)
    assert set(model.state) == {"mean0", "spread0"}
    assert model.params == {}


def test_the_floor_bounds_near_constant_features():
    """A border pixel, 0 on all training rows but one: sigma = 255 / sqrt(m) would
    turn a dev example's 255 into ~sqrt(m); the floor keeps it near 1 / floor."""
    m = 1000
    X = np.zeros((m, 3))
    X[0, 0] = 255.0  # near-constant
    X[:, 1] = np.random.default_rng(0).normal(size=m)  # ordinary
    X[:, 2] = 7.0  # constant
    mu, spread = spread_statistics(X, 0.1)
    assert spread[0] == pytest.approx(0.1 * (255 - 255 / m))  # the floor
    assert spread[0] > 255 / np.sqrt(m)  # larger than sigma
    assert spread[1] == pytest.approx(X[:, 1].std())  # untouched
    assert spread[2] == 1.0  # constant: divided by 1, not by 0
    layer = gn.Standardization().adapt(X)
    model = gn.Sequential([layer]).build(3, dtype="float64")
    assert np.abs(model.predict_proba(X)).max() <= 10 + 1e-9  # within 1 / floor
    dev = model.predict_proba(np.array([[255.0, 0.0, 8.0]]))[0]
    assert dev[0] < 10.1 and dev[2] == pytest.approx(1.0)
    unfloored = gn.Standardization(floor=0).adapt(X).statistics()[1][:, 0]
    assert unfloored[0] == pytest.approx(X[:, 0].std())


def test_standardization_adapt_before_or_after_build_and_errors():
    X = _rows()
    late = gn.Standardization()
    model = gn.Sequential([late, gn.Dense(2, "softmax")]).build(5, rng=0)
    with pytest.raises(RuntimeError, match=r"not adapted: call layer.adapt\(X_train\)"):
        model.predict(X)
    late.adapt(X)
    early = gn.Standardization().adapt(X)
    other = gn.Sequential([early, gn.Dense(2, "softmax")]).build(5, rng=0)
    np.testing.assert_array_equal(late.state["mean"], early.state["mean"])
    assert late.state["mean"].dtype == np.float32
    np.testing.assert_array_equal(other.predict_proba(X), model.predict_proba(X))
    with pytest.raises(ValueError, match="has 3 features per example but this"):
        late.adapt(X[:, :3])
    with pytest.raises(ValueError, match="adapted on 3 features"):
        gn.Sequential([gn.Standardization().adapt(X[:, :3])]).build(5)
    with pytest.raises(ValueError, match="floor"):
        gn.Standardization(floor=2)
    with pytest.raises(ValueError, match="NaN or infinity"):
        gn.Standardization().adapt(np.array([[1.0], [np.nan]]))


def test_standardization_trains_and_is_saved_in_the_model_file(tmp_path):
    X = _rows(m=200)
    y = (X[:, 0] + X[:, 1] / 10 > 0.5).astype(int)
    model = gn.Sequential(
        [gn.Standardization().adapt(X), gn.Dense(8, "relu"), gn.Dense(1, "sigmoid")]
    )
    model.fit(X, y, epochs=30, optimizer=gn.Adam(0.01), rng=0, verbose=False)
    assert model.evaluate(X, y)["accuracy"] > 0.9
    before = model.state["spread0"].copy()
    model.fit(X * 2, y, epochs=1, rng=0, verbose=False)
    np.testing.assert_array_equal(model.state["spread0"], before)  # not trained
    model.save(tmp_path / "m.glassnet")
    loaded = gn.load(tmp_path / "m.glassnet")
    assert loaded.layers[0].adapted
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(
        loaded.astype("float64").state["mean0"], model.state["mean0"]
    )


def test_standardization_runs_on_the_torch_backend():
    pytest.importorskip("torch")
    X = _rows()
    y = (X[:, 0] > 0).astype(int)
    model = gn.Sequential(
        [gn.Standardization().adapt(X), gn.Rescaling(0.5), gn.Dense(1, "sigmoid")]
    )
    model.fit(X, y, epochs=2, rng=0, verbose=False, backend="torch", device="cpu")
    on_torch = model.predict_proba(X)
    np.testing.assert_allclose(model.to("numpy").predict_proba(X), on_torch, 1e-6)


# ------------------------------------------------------------------------ Flatten


def test_flatten_takes_images_or_rows_in_c_order():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(30, 4, 3, 2)).astype(np.uint8)
    y = rng.integers(0, 3, size=30)
    model = gn.Sequential([gn.Flatten(), gn.Rescaling(1 / 255), gn.Dense(3, "softmax")])
    model.fit(images, y, epochs=2, rng=0, verbose=False)  # image_shape from X
    assert model.layers[0].image_shape == (4, 3, 2) and model.n_x == 24
    rows = images.reshape(30, -1)  # the notes' X.reshape(m, -1)
    np.testing.assert_array_equal(
        model.predict_proba(images), model.predict_proba(rows)
    )
    assert model.evaluate(images, y) == model.evaluate(rows, y)
    with pytest.raises(ValueError, match=r"shape \(3, 4, 2\) but the model's Flatten"):
        model.predict(images.transpose(0, 2, 1, 3))
    with pytest.raises(ValueError, match="Flatten expects images of shape"):
        gn.Sequential([gn.Flatten((2, 2))]).build(5)


def test_flatten_greyscale_without_channel_and_columns_of_images():
    grey = np.arange(2 * 3 * 3, dtype=float).reshape(2, 3, 3)
    layer = gn.Flatten((3, 3, 1))
    model = gn.Sequential([layer]).build(9, dtype="float64")
    np.testing.assert_array_equal(model.predict_proba(grey), grey.reshape(2, 9))
    columns_of_images = np.moveaxis(grey[..., None], 0, -1)  # (h, w, c, m)
    A = layer.forward(columns_of_images, training=True)
    np.testing.assert_array_equal(A, grey.reshape(2, 9).T)
    assert layer.backward(A).shape == (3, 3, 1, 2)
    with pytest.raises(ValueError, match="Flatten layer first"):
        gn.Sequential([gn.Dense(1)]).build(9).predict(grey)


def test_the_registry_rebuilds_every_preprocessing_layer():
    for layer in (gn.Flatten((2, 3, 1)), gn.Rescaling(0.5, 1), gn.Standardization(0)):
        record = json.loads(
            json.dumps({"type": type(layer).__name__, "config": layer.get_config()})
        )
        assert record["type"] in LAYER_TYPES
        rebuilt = layer_from_config(record)
        assert rebuilt.get_config() == layer.get_config()


# ------------------------------------------------------------------ the classes


def test_classes_name_the_outputs_in_predict_fit_and_evaluate(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 2))
    codes = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)
    names = np.array(["cat", "dog", "fox"])[codes]
    model = gn.Sequential(
        [gn.Dense(8, "relu"), gn.Dense(3, "softmax")], classes=["cat", "dog", "fox"]
    )
    model.fit(X, names, epochs=40, optimizer=gn.Adam(0.05), rng=0, verbose=False)
    predicted = model.predict(X)
    assert set(predicted) <= {"cat", "dog", "fox"}
    assert model.evaluate(X, names)["accuracy"] == np.mean(predicted == names) > 0.8
    np.testing.assert_array_equal(model.class_codes(names), codes)
    with pytest.raises(ValueError, match="label 'cow' is not one of the model's"):
        model.evaluate(X[:2], ["cat", "cow"])
    model.save(tmp_path / "m.glassnet")
    loaded = gn.load(tmp_path / "m.glassnet")
    assert loaded.classes == ["cat", "dog", "fox"]
    np.testing.assert_array_equal(loaded.predict(X), predicted)


def test_binary_classes_and_checks():
    X = np.linspace(-1, 1, 20)[:, None]
    y = np.where(X[:, 0] > 0, "yes", "no")
    model = gn.Sequential([gn.Dense(1, "sigmoid")], classes=["no", "yes"])
    model.fit(X, y, epochs=50, optimizer=gn.Adam(0.1), rng=0, verbose=False)
    assert list(model.predict(X[[0, -1]])) == ["no", "yes"]
    with pytest.raises(ValueError, match="3 classes for a sigmoid output that gives 2"):
        model.classes = ["a", "b", "c"]
    with pytest.raises(ValueError, match="distinct"):
        gn.Sequential([gn.Dense(2, "softmax")], classes=["a", "a"])
    with pytest.raises(ValueError, match="all text or all numbers"):
        gn.Sequential([gn.Dense(2, "softmax")], classes=["a", 1])
    with pytest.raises(ValueError, match="output is linear"):
        gn.Sequential([gn.Dense(2)], classes=[0, 1]).build(1)
    plain = gn.Sequential([gn.Dense(1, "sigmoid")]).build(1)
    assert plain.predict(X[:2]).dtype == np.int64  # no classes: the 0 / 1 as before


# --------------------------------------------------------------------- defaults


def test_image_data_is_rescaled_not_standardized():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(50, 28, 28)).astype(np.uint8)
    layers = preprocessing_layers(pixels)
    assert [type(la).__name__ for la in layers] == ["Flatten", "Rescaling"]
    assert layers[0].image_shape == (28, 28, 1) and layers[1].scale == 1 / 255
    flat = pixels.reshape(50, -1)
    assert is_image_data(flat)  # uint8
    as_float = flat.astype(np.float64)  # integers in [0, 255], 784 features
    assert is_image_data(as_float)
    [rescale] = preprocessing_layers(as_float)
    assert isinstance(rescale, gn.Rescaling) and rescale.scale == 1 / 255
    small = rng.integers(0, 17, size=(50, 64)).astype(float)  # digits: 0..16
    shaped = preprocessing_layers(small, (8, 8, 1))
    assert [type(la).__name__ for la in shaped] == ["Flatten", "Rescaling"]
    assert shaped[1].scale == 1 / small.max()
    unit = preprocessing_layers(small / 16, (8, 8, 1))  # already in [0, 1]
    assert [type(la).__name__ for la in unit] == ["Flatten"]


def test_tabular_data_is_standardized_with_the_floor():
    X = _rows()
    assert not is_image_data(X)
    [layer] = preprocessing_layers(X)
    assert isinstance(layer, gn.Standardization) and layer.floor == 0.1
    np.testing.assert_allclose(layer.statistics()[0][:, 0], X.mean(axis=0))
    counts = np.random.default_rng(0).integers(0, 90, size=(40, 6)).astype(float)
    assert not is_image_data(counts)  # a few integer columns: a table, not pixels
    negative = np.random.default_rng(0).normal(size=(10, 8, 8))
    assert not is_image_data(negative, (8, 8, 1))
    assert preprocessing_layers(X, standardize=False) == []


# ------------------------------------------------------ model files before D26


def _format_1(source, target, extra):
    """``source`` rewritten as glassnet wrote model files before the pipeline
    lived in the model: no model_format, no classes in the config, ``extra``."""
    with zipfile.ZipFile(source) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        manifest.pop("model_format", None)
        manifest["model"].pop("classes", None)
        manifest["extra"] = extra
        with zipfile.ZipFile(target, "w") as out:
            for name in archive.namelist():
                data = archive.read(name)
                out.writestr(
                    name, json.dumps(manifest) if name == "manifest.json" else data
                )
    return target


@pytest.fixture
def legacy_file(tmp_path):
    """A format-1 iris model: a bare network, and the standardizer and classes
    ``glassnet train`` saved beside it in the extra."""
    from sklearn.datasets import load_iris

    iris = load_iris()
    mean, std = iris.data.mean(axis=0), iris.data.std(axis=0)
    network = gn.Sequential([gn.Dense(8, "relu"), gn.Dense(3, "softmax")])
    network.fit((iris.data - mean) / std, iris.target, epochs=20, rng=0, verbose=False)
    network.save(tmp_path / "new.glassnet")
    extra = {
        "task": "multiclass",
        "classes": iris.target_names.tolist(),
        "feature_names": None,
        "run_config": {"data": "iris"},
        "standardizer": {"mean": mean.tolist(), "std": std.tolist()},
    }
    path = _format_1(tmp_path / "new.glassnet", tmp_path / "old.glassnet", extra)
    return path, network, iris, mean, std


def test_format_1_files_load_with_their_standardizer_and_classes(legacy_file):
    path, network, iris, mean, std = legacy_file
    model = gn.load(path)
    assert isinstance(model.layers[0], gn.Standardization)
    assert model.layers[0].floor == 0  # exactly the saved mean and std
    np.testing.assert_allclose(model.state["spread0"][:, 0], std, rtol=1e-7)
    assert model.classes == ["setosa", "versicolor", "virginica"]
    # the old CLI's answer: (x - mean) / std in float64, the network, the class name
    old = iris.target_names[network.predict((iris.data - mean) / std)]
    np.testing.assert_array_equal(model.predict(iris.data), old)


def test_format_1_files_predict_and_evaluate_as_before(legacy_file, tmp_path):
    path, network, iris, mean, std = legacy_file
    np.save(tmp_path / "rows.npy", iris.data)
    printed = ok(cli("predict", path, "rows.npy", cwd=tmp_path)).stdout.split()
    old = iris.target_names[network.predict((iris.data - mean) / std)]
    assert printed == old.tolist()
    table = ok(cli("evaluate", path, "--data", "iris", cwd=tmp_path)).stdout
    accuracy = float(table.splitlines()[1].split()[-1])
    expected = np.mean(network.predict((iris.data - mean) / std) == iris.target)
    assert accuracy == pytest.approx(expected, abs=5e-5)


def test_a_malformed_format_1_standardizer_is_refused_by_load(legacy_file, tmp_path):
    path, *_ = legacy_file
    broken = _format_1(path, tmp_path / "broken.glassnet", {"standardizer": [1]})
    with pytest.raises(gn.ModelFileError, match="'standardizer' must be an object"):
        gn.load(broken)
    line = assert_one_line_error(cli("predict", broken, "x.npy", cwd=tmp_path))
    assert "cannot use model file" in line and "standardizer" in line


def test_new_files_say_their_format(tmp_path):
    gn.Sequential([gn.Dense(1)]).build(2).save(tmp_path / "m.glassnet")
    with zipfile.ZipFile(tmp_path / "m.glassnet") as archive:
        assert json.loads(archive.read("manifest.json"))["model_format"] == MODEL_FORMAT


def test_format_1_files_read_uint8_pixels_as_their_training_did(tmp_path):
    """glassnet train of format 1 divided uint8 pixels of .npz files by 255 before
    its standardizer; evaluate did too, predict did not (the issue's 76 %). A
    format-1 file now reads them divided in both."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(60, 4, 4)).astype(np.uint8)
    labels = (images[:, :2].mean(axis=(1, 2)) > 127).astype(int)
    np.savez(tmp_path / "pictures.npz", X=images, y=labels)
    scaled = images.reshape(60, -1) / 255.0  # what the old loaders gave training
    mean, std = scaled.mean(axis=0), scaled.std(axis=0)
    network = gn.Sequential([gn.Dense(1, "sigmoid")])
    network.fit((scaled - mean) / std, labels, epochs=30, rng=0, verbose=False)
    network.save(tmp_path / "new.glassnet")
    extra = {
        "classes": [0, 1],
        "standardizer": {"mean": mean.tolist(), "std": std.tolist()},
    }
    path = _format_1(tmp_path / "new.glassnet", tmp_path / "old.glassnet", extra)
    expected = network.predict((scaled - mean) / std)
    printed = ok(cli("predict", path, "pictures.npz", cwd=tmp_path)).stdout.split()
    assert printed == [str(v) for v in expected]
    table = ok(cli("evaluate", path, "--data", "pictures.npz", cwd=tmp_path)).stdout
    accuracy = float(table.splitlines()[1].split()[-1])
    assert accuracy == pytest.approx(np.mean(expected == labels), abs=5e-5)
