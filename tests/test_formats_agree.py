"""One answer everywhere (issue 19, point 2): for every input the CLI accepts,
``glassnet predict`` and ``glassnet evaluate`` agree exactly with each other and
with ``Sequential.predict`` in Python, on the same model and the same rows.

The rows are 8x8 greyscale digits as 0..255 pixels (scikit-learn's digits scaled
to 8 bits), labelled with words, saved the way users save them: ``np.savez`` of
uint8 rows, of uint8 images ``(m, 8, 8)`` and ``(m, 8, 8, 1)``, of float32 pixel
values, a CSV file with a header, an HDF5 file written with h5py, and a folder of
PNG files per class written with Pillow. Python reads each file as stored (no
scaling): the model holds its own Flatten and Rescaling layers.

The commands run in this process through ``glassnet.cli.main`` (tests/test_cli.py);
two real ``glassnet`` processes at the end are marked ``slow``.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_cli import cli, ok

import glassnet as gn

WORDS = np.array(
    ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
)
N_TRAIN, N_TEST = 700, 200
FORMATS = (
    "uint8.npz",
    "images.npz",
    "images4d.npz",
    "float.npz",
    "table.csv",
    "data.h5",
    "pictures",
)


def _digits():
    """Digits as uint8 pictures (m, 8, 8) of 0..255 and word labels, shuffled."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.round(digits.images * (255 / 16)).astype(np.uint8)
    order = np.random.default_rng(0).permutation(len(images))
    return images[order], WORDS[digits.target[order]]


def write_format(folder: Path, name: str, images, labels) -> Path:
    """``images`` (m, 8, 8) uint8 and word ``labels`` saved as users save them."""
    import h5py
    from PIL import Image

    path = folder / name
    m = len(images)
    if name == "uint8.npz":
        np.savez(path, X=images.reshape(m, -1), y=labels)
    elif name == "images.npz":
        np.savez(path, X=images, y=labels)
    elif name == "images4d.npz":
        np.savez(path, X=images[..., np.newaxis], y=labels)
    elif name == "float.npz":
        np.savez(path, X=images.reshape(m, -1).astype(np.float32), y=labels)
    elif name == "table.csv":
        with open(path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([*(f"pixel_{i}" for i in range(64)), "label"])
            for row, label in zip(images.reshape(m, -1), labels, strict=True):
                writer.writerow([*row.tolist(), label])
    elif name == "data.h5":
        with h5py.File(path, "w") as handle:
            handle["X"] = images
            handle["y"] = labels.astype("S")  # h5py stores text as bytes
    else:
        for i, (image, label) in enumerate(zip(images, labels, strict=True)):
            (path / label).mkdir(parents=True, exist_ok=True)
            Image.fromarray(image, mode="L").save(path / label / f"{i:04d}.png")
    return path


def rows_as_stored(path: Path):
    """``(X, labels)`` as Python reads the file, without any scaling, in the order
    the file holds them (an image folder: class folders, then file names, sorted)."""
    import h5py
    from PIL import Image

    if path.suffix == ".npz":
        with np.load(path) as archive:
            return archive["X"], archive["y"]
    if path.suffix == ".csv":
        with open(path, newline="") as handle:
            body = list(csv.reader(handle))[1:]
        return np.array([[float(v) for v in r[:-1]] for r in body]), np.array(
            [r[-1] for r in body]
        )
    if path.suffix == ".h5":
        with h5py.File(path, "r") as handle:
            return handle["X"][()], handle["y"][()].astype(str)
    files = sorted(path.glob("*/*.png"))
    images = np.stack([np.asarray(Image.open(f)) for f in files])
    return images, np.array([f.parent.name for f in files])


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Every format twice: training rows and test rows (the same rows in each)."""
    folder = tmp_path_factory.mktemp("formats")
    images, labels = _digits()
    train = (images[:N_TRAIN], labels[:N_TRAIN])
    test = (images[N_TRAIN : N_TRAIN + N_TEST], labels[N_TRAIN : N_TRAIN + N_TEST])
    for part, (X, y) in (("train", train), ("test", test)):
        (folder / part).mkdir()
        for name in FORMATS:
            write_format(folder / part, name, X, y)
    return folder


def _train(folder: Path, data: Path, out: str) -> Path:
    ok(cli("train", "--data", data, "--epochs", "8", "--quiet", "--out", out,
           cwd=folder))  # fmt: skip
    return folder / out / "model.glassnet"


@pytest.fixture(scope="module")
def image_model(files):
    """A model trained by ``glassnet train`` on uint8 images (m, 8, 8)."""
    return _train(files, files / "train" / "images.npz", "images_run")


def check_one_answer(model_file: Path, data: Path, cwd: Path):
    """predict, predict --proba and evaluate on ``data`` against Python's
    ``Sequential.predict`` / ``predict_proba`` / ``evaluate`` on the rows as stored.
    Returns the accuracy."""
    model = gn.load(model_file)
    X, labels = rows_as_stored(data)
    expected = [str(v) for v in model.predict(X)]
    predicted = ok(cli("predict", model_file, data, cwd=cwd)).stdout.splitlines()
    assert predicted == expected, data.name
    proba = ok(cli("predict", model_file, data, "--proba", cwd=cwd)).stdout
    assert proba.splitlines() == [
        ",".join(f"{v:.6g}" for v in row) for row in model.predict_proba(X)
    ], data.name
    accuracy = float(np.mean(np.array(predicted) == labels))
    scores = model.evaluate(X, labels)
    assert scores["accuracy"] == accuracy
    table = ok(cli("evaluate", model_file, "--data", data, cwd=cwd)).stdout
    row = next(line for line in table.splitlines() if line.startswith("data "))
    assert row.split() == [
        "data",
        str(len(labels)),
        f"{scores['cost']:.4f}",
        f"{accuracy:.4f}",
    ], (data.name, table)
    return accuracy


def test_the_model_file_is_the_whole_pipeline(image_model):
    model = gn.load(image_model)
    types = [type(layer).__name__ for layer in model.layers]
    assert types[:2] == ["Flatten", "Rescaling"], types  # images: no Standardization
    assert model.layers[0].image_shape == (8, 8, 1)
    assert model.layers[1].scale == pytest.approx(1 / 255)
    assert model.classes == sorted(WORDS.tolist())


@pytest.mark.parametrize("name", FORMATS)
def test_one_model_gives_one_answer_on_every_format(name, files, image_model):
    """The same test rows in every format: the same predictions, the same
    accuracy, from predict, evaluate and Python."""
    accuracy = check_one_answer(image_model, files / "test" / name, files)
    assert accuracy > 0.8
    reference = rows_as_stored(files / "test" / "images.npz")
    X, labels = rows_as_stored(files / "test" / name)
    model = gn.load(image_model)
    if name != "pictures":  # the folder holds the same rows in another order
        np.testing.assert_array_equal(labels, reference[1])
        np.testing.assert_array_equal(model.predict(X), model.predict(reference[0]))


@pytest.mark.parametrize("name", FORMATS)
def test_trained_on_each_format_one_answer_on_it(name, files):
    """``glassnet train --data FILE`` on each format, then the format loop on the
    test file of that format."""
    model_file = _train(files, files / "train" / name, f"run_{Path(name).stem}")
    model = gn.load(model_file)
    types = [type(layer).__name__ for layer in model.layers]
    assert "Standardization" not in types, types  # pixels are rescaled, not z-scored
    assert "Rescaling" in types, types
    accuracy = check_one_answer(model_file, files / "test" / name, files)
    assert accuracy > 0.8, name


def test_uint8_rows_scaled_once_in_every_path(files, image_model):
    """The issue's report: training and evaluate divided uint8 pixels by 255 and
    predict did not. Now no path divides them but the model, once."""
    data = files / "test" / "uint8.npz"
    model = gn.load(image_model)
    X, _ = rows_as_stored(data)
    assert X.dtype == np.uint8 and X.max() > 200
    by_hand = model.layers[2:]  # after Flatten and Rescaling
    A = (X.astype(np.float32) * np.float32(1 / 255)).T
    for layer in by_hand:
        A = layer.forward(A, training=False)
    np.testing.assert_array_equal(model.predict_proba(X), A.T)


def test_tabular_csv_trained_and_predicted_alike(tmp_path):
    """Tabular data (breast cancer, a CSV with a header and a text label column):
    standardized in the model; predict, evaluate and Python agree."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    names = [f"f{i}" for i in range(data.data.shape[1])]
    labels = np.asarray(data.target_names)[data.target]
    for file, rows in (("train.csv", slice(0, 400)), ("test.csv", slice(400, None))):
        with open(tmp_path / file, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([*names, "label"])
            for row, label in zip(data.data[rows], labels[rows], strict=True):
                writer.writerow([*(repr(float(v)) for v in row), label])
    model_file = _train(tmp_path, tmp_path / "train.csv", "run")
    model = gn.load(model_file)
    assert type(model.layers[0]).__name__ == "Standardization"
    assert model.classes == ["benign", "malignant"]
    accuracy = check_one_answer(model_file, tmp_path / "test.csv", tmp_path)
    assert accuracy > 0.9


def readme_library_example() -> str:
    """The Python block of the README's "The library" section."""
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text[text.index("## The library") :]
    start = section.index("```python") + len("```python")
    return section[start : section.index("```", start)]


def test_readme_library_example_saved_then_evaluated_by_the_cli(tmp_path, capsys):
    """Done-when of issue 19: the README's library example, saved, then
    ``glassnet evaluate digits.glassnet --data digits`` reports the accuracy the
    model has in Python on the same data."""
    here = os.getcwd()
    namespace: dict = {}
    try:
        os.chdir(tmp_path)
        exec(compile(readme_library_example(), "README.md", "exec"), namespace)
    finally:
        os.chdir(here)
    capsys.readouterr()
    model, data = namespace["model"], namespace["data"]
    assert isinstance(model.layers[0], gn.Standardization)
    python = model.evaluate(data.X, data.y)
    assert python["accuracy"] > 0.95
    table = ok(cli("evaluate", "digits.glassnet", "--data", "digits", cwd=tmp_path))
    row = next(ln for ln in table.stdout.splitlines() if ln.startswith("data "))
    assert row.split() == [
        "data",
        "1797",
        f"{python['cost']:.4f}",
        f"{python['accuracy']:.4f}",
    ]
    loaded = gn.load(tmp_path / "digits.glassnet")
    np.testing.assert_array_equal(loaded.predict(data.X), model.predict(data.X))


def _glassnet(*args, cwd) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "glassnet", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.slow
@pytest.mark.parametrize("name", ["uint8.npz", "pictures"])
def test_real_processes_agree_with_python(name, files, image_model):
    """Real ``glassnet predict`` and ``glassnet evaluate`` processes."""
    data = files / "test" / name
    model = gn.load(image_model)
    X, labels = rows_as_stored(data)
    predicted = _glassnet("predict", image_model, data, cwd=files).splitlines()
    assert predicted == [str(v) for v in model.predict(X)]
    table = _glassnet("evaluate", image_model, "--data", data, cwd=files)
    row = next(line for line in table.splitlines() if line.startswith("data "))
    assert float(row.split()[-1]) == pytest.approx(
        np.mean(np.array(predicted) == labels), abs=5e-5
    )
