"""Image folders: class sub-folders, file-name prefixes, sizes, unreadable files."""

from __future__ import annotations

import os

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


# --- issue 20: 16-bit pictures, the folder's bounds, the data budget


def test_16_bit_pictures_are_scaled_from_their_true_range(tmp_path):
    _save16 = lambda path, value: (  # noqa: E731
        path.parent.mkdir(parents=True, exist_ok=True),
        Image.fromarray(np.full((2, 4), value, dtype=np.uint16)).save(path),
    )
    _save16(tmp_path / "dark" / "a.png", 1000)
    _save16(tmp_path / "light" / "b.png", 40000)
    data = load_image_folder(tmp_path)
    assert data.image_shape == (2, 4, 1)
    np.testing.assert_allclose(data.X[:, 0], [1000 / 65535, 40000 / 65535])
    raw = load_image_folder(tmp_path, scale=False)
    assert raw.X.max() == 40000  # the stored values, not 255 (saturated white)
    # an 8-bit picture beside them joins the 16-bit scale: 255 stays white
    _save(tmp_path / "light" / "c.png", np.full((2, 4), 255))
    np.testing.assert_allclose(
        load_image_folder(tmp_path).X[:, 0], [1000 / 65535, 40000 / 65535, 1.0]
    )
    resized = load_image_folder(tmp_path, size=(1, 2), scale=False)
    assert resized.X.tolist()[1] == [40000.0, 40000.0]
    # with RGB pictures the 16-bit grey ones become three equal channels
    _save(tmp_path / "light" / "d.png", _rgb(255, 2, 4))
    rgb = load_image_folder(tmp_path, flatten=False)
    assert rgb.image_shape == (2, 4, 3)
    np.testing.assert_allclose(rgb.X[1, 0, 0], [40000 / 65535] * 3)


def test_links_out_of_the_folder_are_refused(tmp_path):
    from glassnet.data.budgets import DataFileError

    outside = tmp_path / "outside"
    _save(outside / "x.png", np.full((3, 3), 9))
    root = tmp_path / "pictures"
    _save(root / "cat" / "a.png", np.full((3, 3), 1))
    (root / "dog").symlink_to(outside, target_is_directory=True)
    with pytest.raises(DataFileError, match=r"1 symbolic link\(s\) lead out.*dog ->"):
        load_image_folder(root)
    (root / "dog").unlink()
    (root / "dog").mkdir()
    (root / "dog" / "x.png").symlink_to(outside / "x.png")
    with pytest.raises(DataFileError, match=r"dog/x\.png -> .*outside/x\.png"):
        load_image_folder(root)
    (root / "dog" / "x.png").unlink()
    (root / "dog" / "x.png").symlink_to(root / "cat" / "a.png")  # inside: read
    assert load_image_folder(root).y.tolist() == [0, 1]


def test_pictures_are_budgeted_from_their_headers(tmp_path):
    from glassnet.data.budgets import DataFileError

    for name in ("a_1.png", "b_1.png", "b_2.png"):
        _save(tmp_path / name, _rgb(7))  # 4 x 5 RGB
    with pytest.raises(DataFileError, match=r"a_1\.png declares 5x4 = 20 pixels"):
        load_image_folder(tmp_path, budget={"max_image_pixels": 19})
    with pytest.raises(DataFileError, match=r"b_2\.png the folder declares 60"):
        load_image_folder(tmp_path, budget={"max_total_pixels": 59})
    # 3 pictures of 60 uint8 values, plus their float64 copy: 1620 bytes
    with pytest.raises(DataFileError, match=r"needs 1620 bytes \(1.6 KiB\) in all"):
        load_image_folder(tmp_path, budget={"max_total_bytes": 1619})
    assert load_image_folder(tmp_path, budget={"max_total_bytes": 1620}).n_examples == 3


def test_pillow_decompression_bombs_are_budget_errors(tmp_path):
    import struct
    import zlib

    from glassnet.data.budgets import DataFileError

    def chunk(kind, data):
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 20000, 20000, 8, 0, 0, 0, 0)
    (tmp_path / "big_1.png").write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")
    )
    _save(tmp_path / "small_1.png", np.zeros((2, 2)))
    with pytest.raises(DataFileError, match=r"big_1\.png declares more pixels than"):
        load_image_folder(tmp_path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_named_like_a_picture_is_not_opened(tmp_path):
    _save(tmp_path / "cat" / "a.png", np.zeros((2, 2)))
    (tmp_path / "dog").mkdir()
    os.mkfifo(tmp_path / "dog" / "b.png")
    assert load_image_folder(tmp_path).classes == ["cat"]
