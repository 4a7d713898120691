"""Image folders: class sub-folders, file-name prefixes, sizes, unreadable files."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from glassnet.data import load_dataset, load_image_folder


def _save(path, array):
    """2-D arrays are saved as greyscale (mode L), (h, w, 3) as RGB."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(path)


def _rgb(value, h=4, w=5):
    array = np.zeros((h, w, 3), dtype=np.uint8)
    array[..., 0] = value
    array[0, 0] = (1, 2, 3)
    return array


def test_class_subfolders(tmp_path):
    _save(tmp_path / "cat" / "a.png", _rgb(10))
    _save(tmp_path / "cat" / "b.png", _rgb(20))
    _save(tmp_path / "dog" / "deeper" / "c.jpg", _rgb(200))
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    data = load_dataset(tmp_path)
    assert data.classes == ["cat", "dog"] and data.task == "binary"
    assert data.y.tolist() == [0, 0, 1]
    assert data.X.shape == (3, 4 * 5 * 3) and data.image_shape == (4, 5, 3)
    # lossless PNG: exact pixels, C order of (h, w, c), divided by 255
    np.testing.assert_array_equal(data.X[0], _rgb(10).reshape(-1) / 255.0)
    kept = load_image_folder(tmp_path, flatten=False, scale=False)
    assert kept.X.shape == (3, 4, 5, 3)
    np.testing.assert_array_equal(kept.X[1], _rgb(20))


def test_flat_folder_labels_from_prefix_and_greyscale(tmp_path):
    for name, value in (("cat_1.png", 0), ("cat-2.png", 50), ("dog_1.png", 255)):
        _save(tmp_path / name, np.full((3, 3), value))
    data = load_image_folder(tmp_path)
    assert data.classes == ["cat", "dog"] and data.image_shape == (3, 3, 1)
    assert data.y.tolist() == [0, 0, 1]
    # files are read in sorted name order: "cat-2" < "cat_1" < "dog_1"
    np.testing.assert_allclose(data.X[:, 0], [50 / 255, 0, 1])
    (tmp_path / "nolabel.png").write_bytes((tmp_path / "cat_1.png").read_bytes())
    with pytest.raises(ValueError, match=r"nolabel\.png.*<label>_<id>"):
        load_image_folder(tmp_path)


def test_mixed_modes_become_rgb_and_sizes_must_agree(tmp_path):
    _save(tmp_path / "a_1.png", np.full((4, 4), 90))
    _save(tmp_path / "b_1.png", _rgb(30, 6, 8))
    with pytest.raises(ValueError, match=r"different sizes.*4x4.*6x8.*size="):
        load_image_folder(tmp_path)
    data = load_image_folder(tmp_path, size=(2, 3))
    assert data.image_shape == (2, 3, 3) and data.X.shape == (2, 18)
    np.testing.assert_allclose(data.X[0], 90 / 255)  # grey -> equal RGB channels
    assert load_image_folder(tmp_path, size=5).image_shape == (5, 5, 3)
    assert load_dataset(tmp_path, size=(2, 2)).X.shape == (2, 12)
    with pytest.raises(TypeError, match=r"unknown option\(s\) \['label_column'\]"):
        load_dataset(tmp_path, label_column=0)
    with pytest.raises(ValueError, match="size must"):
        load_image_folder(tmp_path, size=(0, 3))


def test_corrupt_file_is_skipped_with_a_warning_listing_it(tmp_path):
    _save(tmp_path / "cat" / "good.png", _rgb(5))
    _save(tmp_path / "dog" / "good.png", _rgb(6))
    (tmp_path / "dog" / "broken.png").write_bytes(b"\x89PNG not really")
    (tmp_path / "dog" / "empty.jpg").write_bytes(b"")
    with pytest.warns(UserWarning, match=r"skipped 2 .*broken\.png.*empty\.jpg"):
        data = load_image_folder(tmp_path)
    assert data.n_examples == 2 and data.y.tolist() == [0, 1]


def test_all_corrupt_or_empty_folder_is_an_error(tmp_path):
    (tmp_path / "x_1.png").write_bytes(b"garbage")
    (tmp_path / "x_2.jpeg").write_bytes(b"garbage too")
    with pytest.raises(ValueError, match=r"none of the 2 .*x_1\.png"):
        load_image_folder(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="holds no"):
        load_image_folder(empty)
    with pytest.raises(ValueError, match="not a folder"):
        load_image_folder(tmp_path / "missing")
