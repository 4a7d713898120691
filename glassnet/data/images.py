"""Load a folder of PNG/JPEG pictures as a labelled dataset (rows are examples).

Two layouts are understood:

* one sub-folder per class, ``root/cat/*.png``, ``root/non-cat/*.jpg`` (files may sit
  deeper inside a class folder); the sub-folder name is the label;
* a flat folder whose file names start with the label, ``cat_001.png``,
  ``dog-17.jpg``: the label is the text before the first ``_`` or ``-``.

Pictures are read with Pillow and converted to RGB, or kept as one grey channel when
every picture is greyscale. 16-bit greyscale pictures keep their 16 bits: a folder
holding one is read on the 0..65535 scale (8-bit pictures in it are multiplied by
257, so 255 stays white) and ``scale=True`` divides by 65535. Files that cannot be
decoded are skipped with a warning that lists them.

Only the folder is read: a symbolic link (a class folder or a picture) that leads
out of it is an error, and linked sub-folders are not walked. Every picture's size
is read from its header and checked against the data budget
(:mod:`glassnet.data.budgets`: pixels per picture, pixels in all, bytes of the
result) before any picture is decoded; pictures are then decoded one at a time.
"""

from __future__ import annotations

import numbers
import os
import re
import warnings
from pathlib import Path

import numpy as np

from glassnet.data.budgets import DataFileError, Meter
from glassnet.data.datasets import Dataset

__all__ = ["load_image_folder", "IMAGE_EXTENSIONS"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
_GREY_MODES = ("L", "1", "I;16", "I;16L", "I;16B", "I;16N", "I")
_DEEP_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")  # 16-bit greyscale
_PREFIX = re.compile(r"^([^_-]+)[_-]")
_UNREADABLE = (OSError, ValueError, SyntaxError, EOFError)


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


# ------------------------------------------------------------------ the files


class _Files:
    """The picture files of one folder, read without leaving it."""

    def __init__(self, root: Path):
        self.root = root
        self.real_root = root.resolve()
        self.outside: list[tuple[Path, Path]] = []

    def inside(self, path: Path) -> bool:
        """True when ``path`` (a link or not) resolves inside the folder; a link
        leading out of it is recorded in :attr:`outside`."""
        if not path.is_symlink():
            return True
        target = path.resolve()
        if target.is_relative_to(self.real_root):
            return True
        self.outside.append((path, target))
        return False

    def walk(self, folder: Path) -> list[Path]:
        """The picture files under ``folder``, sorted; linked sub-folders are not
        walked (they would lead out of the folder, or loop)."""
        found = []
        for current, folders, names in os.walk(folder, followlinks=False):
            for name in folders:
                self.inside(Path(current) / name)  # records links leading out
            for name in names:
                path = Path(current) / name
                if path.suffix.lower() in IMAGE_EXTENSIONS and self.inside(path):
                    if path.is_file():
                        found.append(path)
        return sorted(found)

    def check_outside(self) -> None:
        if not self.outside:
            return
        listed = "; ".join(
            f"{path.relative_to(self.root)} -> {target}"
            for path, target in self.outside[:10]
        ) + (" ..." if len(self.outside) > 10 else "")
        raise DataFileError(
            f"cannot read image folder {self.root}: {len(self.outside)} symbolic "
            f"link(s) lead out of it ({listed}); glassnet reads only the folder it "
            "was given: copy the pictures in, or load the folder they are in"
        )


def _labelled_files(root: Path) -> list[tuple[Path, str]]:
    files = _Files(root)
    class_dirs = sorted(
        p
        for p in root.iterdir()
        if p.is_dir() and not p.name.startswith(".") and files.inside(p)
    )
    with_images = [(d, files.walk(d)) for d in class_dirs]
    loose = sorted(
        f
        for f in root.iterdir()
        if f.suffix.lower() in IMAGE_EXTENSIONS and files.inside(f) and f.is_file()
    )
    files.check_outside()
    with_images = [(d, found) for d, found in with_images if found]
    if with_images:
        if loose:
            warnings.warn(
                f"{root} has class sub-folders, so the {len(loose)} image(s) directly "
                f"inside it are ignored: {', '.join(f.name for f in loose[:10])}"
                + (" ..." if len(loose) > 10 else ""),
                stacklevel=3,
            )
        return [(f, d.name) for d, found in with_images for f in found]
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


# ------------------------------------------------------------------ the pictures


def _open(path: Path, meter: Meter):
    """Pillow's lazy open (the header only); Pillow's own decompression-bomb error
    becomes the budget's."""
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            return Image.open(path)
        except Image.DecompressionBombError as error:
            raise meter.error(
                f"picture {path.name} declares more pixels than Pillow opens ({error})"
                "; raise PIL.Image.MAX_IMAGE_PIXELS and the budget's "
                "max_image_pixels if the picture is trusted"
            ) from None


def _header(path: Path, meter: Meter):
    """``((width, height), mode)`` from the picture's header, or None."""
    try:
        with _open(path, meter) as image:
            return image.size, image.mode
    except DataFileError:
        raise
    except _UNREADABLE:
        return None


def _deep_array(image, size) -> np.ndarray:
    """A 16-bit greyscale picture as uint16 (h, w), resized on its true range."""
    from PIL import Image

    values = np.asarray(image)
    if (
        values.dtype.kind == "i"
        and values.size
        and (values.min() < 0 or values.max() > 65535)
    ):
        raise ValueError("a 32-bit picture outside the 16-bit range")
    if size is not None and values.shape != size:
        resized = Image.fromarray(values.astype(np.float32), mode="F").resize(
            (size[1], size[0]), Image.Resampling.BILINEAR
        )
        values = np.clip(np.rint(np.asarray(resized)), 0, 65535)
    return values.astype(np.uint16)


def _decode(path: Path, meter: Meter, *, grey: bool, deep: bool, size):
    """The picture as an (h, w, c) array of the folder's kind (uint8, or uint16 on
    the 0..65535 scale when ``deep``), resized to ``size``; None if undecodable."""
    from PIL import Image

    try:
        with _open(path, meter) as image:
            image.load()
            if image.mode in _DEEP_MODES:
                values = _deep_array(image, size)
            else:
                image = image.convert("L" if grey else "RGB")
                if size is not None and image.size != (size[1], size[0]):
                    image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
                values = np.asarray(image, dtype=np.uint8)
                if deep:
                    values = values.astype(np.uint16) * 257
    except DataFileError:
        raise
    except _UNREADABLE:
        return None
    if values.ndim == 2:
        values = values[..., np.newaxis]
        if not grey:
            values = np.repeat(values, 3, axis=2)
    return values


def _common_size(headers, root: Path):
    shapes = {}
    for file, (width, height), _, _ in headers:
        shapes.setdefault((height, width), []).append(file.name)
    if len(shapes) > 1:
        found = "; ".join(
            f"{h}x{w} (e.g. {', '.join(examples[:3])})"
            for (h, w), examples in sorted(shapes.items())
        )
        raise ValueError(
            f"images in {root} have different sizes (height x width): {found}; "
            "pass size=(height, width) to resize them"
        )
    return next(iter(shapes))


def _report_unreadable(root: Path, unreadable, any_read: bool) -> None:
    if not unreadable:
        return
    listed = ", ".join(str(f.relative_to(root)) for f in unreadable)
    if not any_read:
        raise ValueError(
            f"none of the {len(unreadable)} image file(s) in {root} could be "
            f"read: {listed}"
        )
    warnings.warn(
        f"skipped {len(unreadable)} unreadable image file(s) in {root}: {listed}",
        stacklevel=3,
    )


def _read_headers(files, root: Path, meter: Meter):
    """``(file, (width, height), mode, label)`` of the pictures whose headers read,
    each counted against the budget, and the unreadable files."""
    headers, unreadable = [], []
    for file, label in files:
        found = _header(file, meter)
        if found is None:
            unreadable.append(file)
            continue
        (width, height), mode = found
        meter.image(str(file.relative_to(root)), width, height)
        headers.append((file, (width, height), mode, label))
    return headers, unreadable


def load_image_folder(
    path,
    *,
    size=None,
    flatten: bool = True,
    scale: bool = True,
    budget=None,
) -> Dataset:
    """Read every PNG/JPEG under ``path`` into ``X`` with labels from the layout.

    ``size=(h, w)`` (or an int for square) resizes every picture bilinearly;
    without it all pictures must share one size. ``X`` is ``(m, h*w*c)`` rows in C
    order of ``(h, w, c)`` with ``flatten=True``, else ``(m, h, w, c)``; ``scale=True``
    divides the 0..255 pixel values by 255 (0..65535 by 65535 in a folder with
    16-bit pictures). ``c`` is 3 (RGB) or 1 when every picture is greyscale.
    ``classes`` are the sorted label names and ``y`` their codes. ``budget`` (a
    :class:`~glassnet.data.budgets.DataBudget` or a dict of its limits) bounds the
    pixels per picture, the pixels in all and the bytes of ``X``.
    """
    root = Path(path)
    if not root.is_dir():
        raise ValueError(
            f"image folder {str(root)!r} does not exist or is not a folder"
        )
    size = _check_size(size)
    meter = Meter(root, budget)
    headers, unreadable = _read_headers(_labelled_files(root), root, meter)
    if not headers:
        _report_unreadable(root, sorted(unreadable), any_read=False)
    grey = all(mode in _GREY_MODES for _, _, mode, _ in headers)
    deep = any(mode in _DEEP_MODES for _, _, mode, _ in headers)
    shape = (*(size or _common_size(headers, root)), 1 if grey else 3)
    dtype = np.uint16 if deep else np.uint8
    meter.array("the pictures", (len(headers), *shape), dtype)
    stack = np.empty((len(headers), *shape), dtype=dtype)
    kept = []
    for index, (file, _, _, _) in enumerate(headers):
        values = _decode(file, meter, grey=grey, deep=deep, size=size)
        if values is None or values.shape != shape:
            unreadable.append(file)
        else:
            stack[index] = values
            kept.append(index)
    _report_unreadable(root, sorted(unreadable), any_read=bool(kept))
    X = stack[kept] if len(kept) < len(headers) else stack
    labels = [headers[i][3] for i in kept]
    image_shape = tuple(int(d) for d in X.shape[1:])
    top = 65535.0 if deep else 255.0
    X = X / top if scale else X.astype(np.float64)
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
