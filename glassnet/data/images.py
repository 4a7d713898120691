"""Load a folder of PNG/JPEG pictures as a labelled dataset (rows are examples).

Two layouts are understood:

* one sub-folder per class, ``root/cat/*.png``, ``root/non-cat/*.jpg`` (files may sit
  deeper inside a class folder); the sub-folder name is the label;
* a flat folder whose file names start with the label, ``cat_001.png``,
  ``dog-17.jpg``: the label is the text before the first ``_`` or ``-``.

Pictures are read with Pillow and converted to RGB, or kept as one grey channel when
every picture is greyscale. Files that cannot be decoded are skipped with a warning
that lists them.
"""

from __future__ import annotations

import numbers
import re
import warnings
from pathlib import Path

import numpy as np

from glassnet.data.datasets import Dataset

__all__ = ["load_image_folder", "IMAGE_EXTENSIONS"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
_GREY_MODES = ("L", "1")
_PREFIX = re.compile(r"^([^_-]+)[_-]")


def _is_image_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS


def _check_size(size):
    if size is None:
        return None
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        size = (size, size)
    try:
        h, w = size
    except (TypeError, ValueError):
        raise ValueError(
            f"size must be an int or a pair (height, width); received size={size!r}"
        ) from None
    for value in (h, w):
        if (
            not isinstance(value, numbers.Integral)
            or isinstance(value, bool)
            or (value < 1)
        ):
            raise ValueError(
                "size must hold positive integers (height, width); received "
                f"size={size!r}"
            )
    return int(h), int(w)


def _labelled_files(root: Path) -> list[tuple[Path, str]]:
    class_dirs = sorted(
        p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
    )
    with_images = [
        (d, sorted(f for f in d.rglob("*") if _is_image_file(f))) for d in class_dirs
    ]
    with_images = [(d, files) for d, files in with_images if files]
    loose = sorted(f for f in root.iterdir() if _is_image_file(f))
    if with_images:
        if loose:
            warnings.warn(
                f"{root} has class sub-folders, so the {len(loose)} image(s) directly "
                f"inside it are ignored: {', '.join(f.name for f in loose[:10])}"
                + (" ..." if len(loose) > 10 else ""),
                stacklevel=3,
            )
        return [(f, d.name) for d, files in with_images for f in files]
    if not loose:
        raise ValueError(
            f"{root} holds no {'/'.join(IMAGE_EXTENSIONS)} images, neither in class "
            "sub-folders (root/cat/*.png) nor directly (root/cat_001.png)"
        )
    unlabelled = [f.name for f in loose if not _PREFIX.match(f.name)]
    if unlabelled:
        raise ValueError(
            f"cannot read a label from the file name(s) {unlabelled[:10]} in {root}: "
            "name files <label>_<id>.png (or <label>-<id>.png) or put them in one "
            "sub-folder per class"
        )
    return [(f, _PREFIX.match(f.name).group(1)) for f in loose]


def _read(path: Path):
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            return image.copy()
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError):
        return None


def load_image_folder(
    path,
    *,
    size=None,
    flatten: bool = True,
    scale: bool = True,
) -> Dataset:
    """Read every PNG/JPEG under ``path`` into ``X`` with labels from the layout.

    ``size=(h, w)`` (or an int for square) resizes every picture bilinearly;
    without it all pictures must share one size. ``X`` is ``(m, h*w*c)`` rows in C
    order of ``(h, w, c)`` with ``flatten=True``, else ``(m, h, w, c)``; ``scale=True``
    divides the 0..255 pixel values by 255. ``c`` is 3 (RGB) or 1 when every picture
    is greyscale. ``classes`` are the sorted label names and ``y`` their codes.
    """
    root = Path(path)
    if not root.is_dir():
        raise ValueError(
            f"image folder {str(root)!r} does not exist or is not a folder"
        )
    size = _check_size(size)
    files = _labelled_files(root)
    images, labels, names, unreadable = [], [], [], []
    for file, label in files:
        image = _read(file)
        if image is None:
            unreadable.append(file)
            continue
        images.append(image)
        labels.append(label)
        names.append(file)
    if unreadable:
        listed = ", ".join(str(f.relative_to(root)) for f in unreadable)
        if not images:
            raise ValueError(
                f"none of the {len(unreadable)} image file(s) in {root} could be "
                f"read: {listed}"
            )
        warnings.warn(
            f"skipped {len(unreadable)} unreadable image file(s) in {root}: {listed}",
            stacklevel=2,
        )
    grey = all(image.mode in _GREY_MODES for image in images)
    mode = "L" if grey else "RGB"
    arrays = []
    for image in images:
        image = image.convert(mode)
        if size is not None and image.size != (size[1], size[0]):
            from PIL import Image

            image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
        arrays.append(np.asarray(image, dtype=np.uint8))
    shapes = {}
    for array, file in zip(arrays, names, strict=True):
        shapes.setdefault(array.shape[:2], []).append(file.name)
    if len(shapes) > 1:
        found = "; ".join(
            f"{h}x{w} (e.g. {', '.join(examples[:3])})"
            for (h, w), examples in sorted(shapes.items())
        )
        raise ValueError(
            f"images in {root} have different sizes (height x width): {found}; "
            "pass size=(height, width) to resize them"
        )
    X = np.stack(arrays)
    if grey:
        X = X[..., np.newaxis]
    image_shape = tuple(int(d) for d in X.shape[1:])
    X = X / 255.0 if scale else X.astype(np.float64)
    if flatten:
        X = X.reshape(len(X), -1)
    classes = sorted(set(labels))
    codes = np.array([classes.index(label) for label in labels], dtype=np.int64)
    return Dataset(
        X=X,
        y=codes,
        task="binary" if len(classes) <= 2 else "multiclass",
        classes=classes,
        name=root.name,
        description=f"{len(codes)} {'x'.join(map(str, image_shape))} images from "
        f"{root}",
        image_shape=image_shape,
    )
