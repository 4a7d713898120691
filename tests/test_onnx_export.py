"""ONNX export (glassnet/onnx_export.py, glassnet/cli/export.py; architecture D32).

Every exported graph is checked by ``onnx.checker`` and run by a real onnxruntime
``InferenceSession`` (CPUExecutionProvider) on rows, and its outputs are compared
with the glassnet model's own ``predict_proba`` (``predict`` for a regression
model): within 1e-5 in float32 and 1e-12 in float64, with identical class
predictions. The fast tier trains tiny models for a few epochs on generated data;
the slow tier trains with the real ``glassnet train`` command and exports with the
real ``glassnet export`` command.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import glassnet as gn
from glassnet.activations import Activation as ActivationFunction
from glassnet.errors import MissingDependencyError
from glassnet.layers import Layer
from glassnet.onnx_export import (
    ACTIVATION_EXPORTS,
    IR_VERSION,
    LAYER_EXPORTS,
    OPSET,
    ExportError,
)

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from conftest import needs_data  # noqa: E402

#: how close onnxruntime's outputs must be to glassnet's, per dtype
TOLERANCE = {"float32": 1e-5, "float64": 1e-12}
HIDDEN_ACTIVATIONS = [
    "relu",
    {"name": "leaky_relu", "slope": 0.2},
    "tanh",
    "sigmoid",
    "linear",
    "softmax",
]


def session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def run_onnx(path, X, dtype="float32") -> np.ndarray:
    """onnxruntime's output for ``X``, fed in the export's dtype."""
    runner = session(path)
    (name,) = [i.name for i in runner.get_inputs()]
    return runner.run(None, {name: np.asarray(X, dtype=dtype)})[0]


def metadata(path) -> dict:
    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


def classes_of(probabilities: np.ndarray, model) -> np.ndarray:
    """argmax of a softmax output, a > 0.5 for sigmoid units (predict's rule)."""
    if model.output_activation == "softmax":
        return probabilities.argmax(axis=1)
    return (probabilities > 0.5).astype(int)


def assert_matches(path, model, X, dtype):
    """onnxruntime on ``X`` agrees with ``model.predict_proba``: values within the
    dtype's tolerance, identical classes; with 1 row and 37 rows (dynamic
    batch) too."""
    expected = model.predict_proba(X)
    actual = run_onnx(path, X, dtype)
    assert actual.dtype == np.dtype(dtype)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=0, atol=TOLERANCE[dtype])
    np.testing.assert_array_equal(
        classes_of(actual, model), classes_of(expected, model)
    )
    for rows in (X[:1], X[:37]):
        part = run_onnx(path, rows, dtype)
        assert part.shape == (len(rows), expected.shape[1])
        np.testing.assert_allclose(
            part, expected[: len(rows)], rtol=0, atol=TOLERANCE[dtype]
        )


def blobs(m=240, n=6, classes=3, seed=0):
    """Rows of ``n`` features (mean 5, spread 3: standardization matters) and
    labels 0..classes-1 that depend on them."""
    rng = np.random.default_rng(seed)
    X = 5 + 3 * rng.standard_normal((m, n))
    score = X[:, 0] - X[:, 1] + 0.5 * X[:, 2]
    y = np.digitize(score, np.quantile(score, np.linspace(0, 1, classes + 1)[1:-1]))
    return X, y


def every_layer_model(activation, n_x, *, outputs=3, output="softmax"):
    """Standardization, Dense with ``activation``, Dropout, Dense -> BatchNorm ->
    Activation(``activation``), the output layer: every tabular layer kind."""
    return gn.Sequential(
        [
            gn.Standardization(),
            gn.Dense(8, activation),
            gn.Dropout(0.7),
            gn.Dense(5),
            gn.BatchNorm(),
            gn.Activation(activation),
            gn.Dense(outputs, output),
        ]
    )


def fitted(model, X, y, dtype, epochs=4):
    for layer in model.layers:
        if isinstance(layer, gn.Standardization):
            layer.adapt(X.reshape(len(X), -1))
    model.fit(X, y, epochs=epochs, batch_size=32, rng=0, verbose=False, dtype=dtype)
    return model


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "activation",
    HIDDEN_ACTIVATIONS,
    ids=lambda a: a if isinstance(a, str) else a["name"],
)
def test_every_layer_and_activation_matches_predict_proba(tmp_path, activation, dtype):
    X, y = blobs()
    model = fitted(every_layer_model(activation, X.shape[1]), X, y, dtype)
    batch_norm = model.layers[4]
    # trained running statistics, not the initial zeros and ones
    assert np.abs(batch_norm.state["running_mean"]).max() > 1e-3
    assert np.abs(batch_norm.state["running_var"] - 1).max() > 1e-3
    path = model.to_onnx(tmp_path / "model.onnx")
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    assert_matches(path, model, X, dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sigmoid_outputs_binary_and_multi_label(tmp_path, dtype):
    X, y = blobs(classes=2)
    binary = fitted(
        every_layer_model("relu", X.shape[1], outputs=1, output="sigmoid"), X, y, dtype
    )
    assert_matches(binary.to_onnx(tmp_path / "binary.onnx"), binary, X, dtype)
    labels = np.stack([y, (X[:, 3] > 5).astype(int)], axis=1)
    multi = fitted(
        every_layer_model("tanh", X.shape[1], outputs=2, output="sigmoid"),
        X,
        labels,
        dtype,
    )
    assert_matches(multi.to_onnx(tmp_path / "multi.onnx"), multi, X, dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "image_shape, scale, offset", [((6, 5, 1), 1 / 255, 0), ((4, 3, 3), 1 / 127.5, -1)]
)
def test_image_models_take_images(tmp_path, image_shape, scale, offset, dtype):
    """Flatten and Rescaling: the graph takes the images the model takes,
    (m, h, w) for one channel, (m, h, w, c) otherwise, flattened in C order."""
    rng = np.random.default_rng(1)
    X = rng.integers(0, 256, size=(120, *image_shape)).astype(np.float64)
    y = (X.reshape(120, -1)[:, :5].mean(axis=1) > 127).astype(int)
    if image_shape[-1] == 1:
        X = X[..., 0]
    model = gn.Sequential(
        [
            gn.Flatten(image_shape),
            gn.Rescaling(scale, offset),
            gn.Dense(6, "relu"),
            gn.Dense(2, "softmax"),
        ]
    )
    fitted(model, X, y, dtype, epochs=3)
    path = model.to_onnx(tmp_path / "images.onnx")
    (graph_input,) = session(path).get_inputs()
    assert graph_input.shape == ["batch", *X.shape[1:]]
    assert_matches(path, model, X, dtype)
    rows = model.to_onnx(tmp_path / "rows.onnx", rows=True)
    assert session(rows).get_inputs()[0].shape == ["batch", int(np.prod(image_shape))]
    assert_matches(rows, model, X.reshape(len(X), -1), dtype)


def test_float32_model_exported_in_float64(tmp_path):
    """dtype="float64" converts the weights: the graph agrees with the model's
    float64 copy to 1e-12, and with the float32 model to 1e-5."""
    X, y = blobs()
    model = fitted(every_layer_model("relu", X.shape[1]), X, y, "float32")
    path = model.to_onnx(tmp_path / "model64.onnx", dtype="float64")
    assert session(path).get_inputs()[0].type == "tensor(double)"
    assert_matches(path, model.astype("float64"), X, "float64")
    np.testing.assert_allclose(
        run_onnx(path, X, "float64"), model.predict_proba(X), rtol=0, atol=1e-5
    )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("outputs", [1, 2])
def test_regression_outputs_predict_in_units_of_y(tmp_path, outputs, dtype):
    """A linear output with a target scale: the graph gives ``model.predict``'s
    values, mu + s a[L], in the units of y ((m,) for one output)."""
    X, _ = blobs()
    rng = np.random.default_rng(2)
    y = 150 + 70 * np.tanh(X[:, :outputs] - 5) + rng.normal(0, 5, (len(X), outputs))
    y = y[:, 0] if outputs == 1 else y
    model = gn.Sequential(
        [gn.Standardization(), gn.Dense(8, "tanh"), gn.Dense(outputs)]
    ).adapt_targets(y)
    fitted(model, X, y, dtype, epochs=5)
    path = model.to_onnx(tmp_path / "regression.onnx")
    assert session(path).get_outputs()[0].name == "predictions"
    expected = model.predict(X)
    actual = run_onnx(path, X, dtype)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=TOLERANCE[dtype], atol=0)
    assert metadata(path)["prediction_rule"].startswith("values")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("output, units", [("softmax", 3), ("sigmoid", 1)])
def test_saturated_outputs_stay_finite_and_agree(tmp_path, output, units, dtype):
    """Logits in the thousands: softmax and sigmoid saturate to 0 and 1 in both
    glassnet and the graph, without NaN or inf."""
    X, _ = blobs()
    model = gn.Sequential([gn.Dense(units, output)])
    model.build(X.shape[1], rng=0, dtype=dtype)
    rng = np.random.default_rng(4)
    model.set_weights(
        {
            "W1": 300 * rng.standard_normal((units, X.shape[1])),
            "b1": 1000 * rng.standard_normal((units, 1)),
        }
    )
    path = model.to_onnx(tmp_path / "saturated.onnx")
    actual = run_onnx(path, X, dtype)
    assert np.isfinite(actual).all()
    assert (np.abs(model.predict_proba(X) - 0.5) > 0.49).mean() > 0.9  # saturated
    assert_matches(path, model, X, dtype)


def test_metadata_and_graph_settings(tmp_path):
    X, y = blobs()
    names = np.array(["setosa", "versicolor", "virginica"])
    model = gn.Sequential([gn.Dense(4, "relu"), gn.Dense(3, "softmax")])
    model.classes = list(names)
    model.fit(X, names[y], epochs=2, rng=0, verbose=False)
    path = model.to_onnx(tmp_path / "model.onnx")
    proto = onnx.load(str(path))
    assert proto.ir_version == IR_VERSION == 8
    assert [(o.domain, o.version) for o in proto.opset_import] == [("", OPSET)]
    assert OPSET == 17
    info = metadata(path)
    assert json.loads(info["classes"]) == list(names)
    assert info["glassnet_version"] == gn.__version__
    assert info["input_layout"].startswith("rows X (batch, 6) float32")
    assert info["output"] == "probabilities (batch, 3) float32"
    assert info["prediction_rule"].startswith("argmax")
    output = session(path).get_outputs()[0]
    assert (output.name, output.shape) == ("probabilities", ["batch", 3])
    # a deployer maps argmax to the labels and gets predict's labels
    probabilities = run_onnx(path, X)
    labels = np.asarray(json.loads(info["classes"]))[probabilities.argmax(axis=1)]
    np.testing.assert_array_equal(labels, model.predict(X))


def test_the_tables_cover_glassnets_activations_and_layers():
    """Every activation exports, and every layer of issue 22 (a layer type added
    later and not in the table is refused by name, as a custom one below)."""
    assert set(ACTIVATION_EXPORTS) == set(gn.activations.NAMES)
    exported = {cls.__name__ for cls in LAYER_EXPORTS}
    assert exported <= set(gn.layers.LAYER_TYPES)
    assert exported == {
        "Dense", "Activation", "BatchNorm", "Dropout", "Flatten", "Rescaling",
        "Standardization",
    }  # fmt: skip


def _swish(Z):
    return Z / (1 + np.exp(-Z))


def test_custom_activation_is_refused_naming_the_layer(tmp_path):
    custom = ActivationFunction("swish", _swish, None)
    model = gn.Sequential([gn.Dense(4, custom), gn.Dense(1, "sigmoid")])
    model.build(3, rng=0)
    with pytest.raises(ExportError) as caught:
        model.to_onnx(tmp_path / "model.onnx")
    message = str(caught.value)
    assert "layer 0 (Dense)" in message and "'swish'" in message
    assert "relu, leaky_relu, tanh, sigmoid, softmax, linear" in message
    assert not (tmp_path / "model.onnx").exists()
    # a custom function under a built-in name is not exported as the built-in
    impostor = ActivationFunction("relu", _swish, None)
    model = gn.Sequential([gn.Dense(2), gn.Activation(impostor)])
    model.build(3, rng=0)
    with pytest.raises(ExportError, match=r"layer 1 \(Activation\)"):
        model.to_onnx(tmp_path / "model.onnx")


class Doubling(Layer):
    """A layer of the user's own: A = 2 A_prev."""

    def forward(self, A_prev, training):
        return 2 * A_prev


def test_unknown_layer_and_batch_statistics_are_refused(tmp_path):
    model = gn.Sequential([gn.Dense(4, "relu"), Doubling(), gn.Dense(1, "sigmoid")])
    model.build(3, rng=0)
    with pytest.raises(ExportError, match=r"layer 1 \(Doubling\).*'Doubling'"):
        model.to_onnx(tmp_path / "model.onnx")
    model = gn.Sequential(
        [gn.Dense(4), gn.BatchNorm(use_batch_statistics=True), gn.Dense(1, "sigmoid")]
    )
    model.build(3, rng=0)
    with pytest.raises(ExportError, match=r"layer 1 \(BatchNorm\).*other rows"):
        model.to_onnx(tmp_path / "model.onnx")
    with pytest.raises(ExportError, match="not built"):
        gn.Sequential([gn.Dense(1)]).to_onnx(tmp_path / "model.onnx")
    model.layers[1].use_batch_statistics = None  # running statistics: exports
    with pytest.raises(ValueError, match="dtype must be one of"):
        model.to_onnx(tmp_path / "model.onnx", dtype="float16")
    assert not (tmp_path / "model.onnx").exists()


def test_export_command_in_process_on_a_format_1_file(tmp_path, capsys):
    """A model file from before the pipeline was in the model (format 1: a bare
    network, the standardizer in the extra) is upgraded on reading, so the graph
    standardizes the rows as stored, like ``glassnet predict``; nothing to warn."""
    import zipfile

    from glassnet.cli import main

    X, y = blobs()
    mean, std = X.mean(axis=0), X.std(axis=0)
    network = gn.Sequential([gn.Dense(6, "relu"), gn.Dense(3, "softmax")])
    network.fit((X - mean) / std, y, epochs=3, rng=0, verbose=False)
    network.save(tmp_path / "new.glassnet")
    with zipfile.ZipFile(tmp_path / "new.glassnet") as archive:
        with zipfile.ZipFile(tmp_path / "old.glassnet", "w") as old:
            for name in archive.namelist():
                data = archive.read(name)
                if name == "manifest.json":
                    manifest = json.loads(data)
                    manifest.pop("model_format", None)
                    manifest["extra"] = {
                        "task": "multiclass",
                        "standardizer": {"mean": mean.tolist(), "std": std.tolist()},
                    }
                    data = json.dumps(manifest)
                old.writestr(name, data)
    out = tmp_path / "old.onnx"
    assert main(["export", str(tmp_path / "old.glassnet"), "--onnx", str(out)]) == 0
    printed = capsys.readouterr()
    assert "warning" not in printed.err
    assert printed.out.splitlines()[1] == "input:  rows X (batch, 6) float32"
    assert_matches(out, gn.load(tmp_path / "old.glassnet"), X, "float32")
    np.testing.assert_allclose(
        run_onnx(out, X), network.predict_proba((X - mean) / std), atol=1e-5
    )


def test_without_the_onnx_package_the_error_names_the_extra(tmp_path, monkeypatch):
    model = gn.Sequential([gn.Dense(1, "sigmoid")])
    model.build(3, rng=0)
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx raises ImportError
    with pytest.raises(MissingDependencyError, match=r'pip install "glassnet\[onnx\]"'):
        model.to_onnx(tmp_path / "model.onnx")


# -- the real commands ------------------------------------------------------------


def glassnet(*args, cwd) -> subprocess.CompletedProcess:
    """A real ``glassnet ARGS`` process in ``cwd``."""
    return subprocess.run(
        [sys.executable, "-m", "glassnet", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def ok(proc):
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def train_and_export(tmp_path, data, *train_options, export_options=()):
    """``glassnet train --data DATA`` then ``glassnet export RUN --onnx``; returns
    the loaded model, the ONNX path and export's output."""
    run = tmp_path / "run"
    ok(glassnet("train", "--data", data, "--out", run, "--seed", "0", "--quiet",
                *train_options, cwd=tmp_path))  # fmt: skip
    out = tmp_path / "model.onnx"
    proc = ok(glassnet("export", run, "--onnx", out, *export_options, cwd=tmp_path))
    assert proc.stdout.startswith(f"wrote {out} (ONNX opset 17)")
    return gn.load(run / "model.glassnet"), out, proc.stdout


@pytest.mark.slow
def test_cli_digits_with_batch_norm_and_dropout(tmp_path):
    """digits (8x8 pictures stored as rows of 0..16): the model rescales them, so
    the graph takes the (m, 8, 8) images."""
    from glassnet.runs import load_stored

    model, path, printed = train_and_export(
        tmp_path, "digits", "--layers", "16", "--epochs", "4", "--batchnorm",
        "--keep-prob", "0.8",
    )  # fmt: skip
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds[:2] == ["Flatten", "Rescaling"]
    assert {"Dense", "BatchNorm", "Activation", "Dropout"} <= set(kinds)
    assert "input:  images X (batch, 8, 8) float32" in printed
    assert "classes: 0, 1, 2" in printed
    X = load_stored("digits").X
    assert_matches(path, model, X.reshape(-1, 8, 8), "float32")


@pytest.mark.slow
def test_cli_png_image_folder(tmp_path):
    """An image folder of RGB PNGs written with Pillow: the graph takes the
    images (m, 8, 8, 3) as Pillow reads them, uint8 values fed as float32; with
    --rows, the rows glassnet stores."""
    from PIL import Image

    from glassnet.runs import load_stored

    rng = np.random.default_rng(3)
    files = []
    for label, base in (("dark", 60), ("light", 190)):
        (tmp_path / "pictures" / label).mkdir(parents=True)
        for i in range(20):
            pixels = np.clip(base + rng.normal(0, 40, (8, 8, 3)), 0, 255)
            files.append(tmp_path / "pictures" / label / f"{i}.png")
            Image.fromarray(pixels.astype(np.uint8)).save(files[-1])
    model, path, printed = train_and_export(
        tmp_path, tmp_path / "pictures", "--layers", "8", "--epochs", "5"
    )
    assert "input:  images X (batch, 8, 8, 3) float32" in printed
    assert "classes: dark, light" in printed
    images = np.stack([np.asarray(Image.open(file)) for file in files])
    assert images.shape == (40, 8, 8, 3) and images.dtype == np.uint8
    assert_matches(path, model, images, "float32")
    stored = load_stored(tmp_path / "pictures").X
    rows = tmp_path / "rows.onnx"
    ok(glassnet("export", tmp_path / "run", "--onnx", rows, "--rows", cwd=tmp_path))
    assert_matches(rows, model, stored, "float32")


@pytest.mark.slow
@needs_data("mnist/mnist_5k.csv.gz")
def test_cli_mnist_float64(tmp_path):
    """The course's mnist rows (0..255), exported in float64: the graph takes
    (m, 28, 28) images."""
    from glassnet.runs import load_stored

    model, path, printed = train_and_export(
        tmp_path, "mnist", "--layers", "16", "--epochs", "1", "--dtype", "float64",
        export_options=("--dtype", "float64"),
    )  # fmt: skip
    assert "input:  images X (batch, 28, 28) float64" in printed
    X = load_stored("mnist").X.reshape(-1, 28, 28)
    assert_matches(path, model, X, "float64")


@pytest.mark.slow
def test_cli_diabetes_regression(tmp_path):
    from glassnet.runs import load_stored

    model, path, printed = train_and_export(
        tmp_path, "diabetes", "--layers", "8", "--epochs", "5"
    )
    assert "output: predictions (batch,) float32; values" in printed
    X = load_stored("diabetes").X
    expected = model.predict(X)
    np.testing.assert_allclose(run_onnx(path, X), expected, rtol=1e-5, atol=0)


@pytest.mark.slow
def test_cli_refusals_are_one_line_with_status_2(tmp_path):
    model = gn.Sequential(
        [gn.Dense(4), gn.BatchNorm(use_batch_statistics=True), gn.Dense(1, "sigmoid")]
    )
    model.build(3, rng=0)
    model.save(tmp_path / "batch.glassnet")
    proc = glassnet("export", "batch.glassnet", "--onnx", "out.onnx", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("glassnet: error: cannot export layer 1 (BatchNorm)")
    assert proc.stderr.count("\n") == 1 and not (tmp_path / "out.onnx").exists()
    # a model with a custom Python activation saves, but no glassnet reads it
    # back (the activation is code, not in the file): the same one line
    custom = gn.Sequential(
        [gn.Dense(4, ActivationFunction("swish", _swish, None)), gn.Dense(1)]
    )
    custom.build(3, rng=0)
    custom.save(tmp_path / "swish.glassnet")
    proc = glassnet("export", "swish.glassnet", "--onnx", "out.onnx", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "unknown activation 'swish'" in proc.stderr
    assert not (tmp_path / "out.onnx").exists()
