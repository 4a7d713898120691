"""Data augmentation applied per mini-batch: ``augment(X_batch, rng) -> X_new``.

The training loop calls an augmentation on each training mini-batch (rows are
examples) with its random generator; the input is never modified, a new array comes
back. "Getting more data" cheaply, as in the notes' regularization chapter: flipped,
shifted or cropped pictures and noisy inputs.

* :class:`GaussianNoise` works on any rows: ``X + stddev * N(0, 1)``.
* :class:`RandomFlip`, :class:`RandomShift` and :class:`RandomCrop` work on images
  ``(m, h, w, c)`` (or ``(m, h, w)``), or on flattened rows ``(m, h*w*c)`` when given
  ``image_shape=(h, w, c)`` (C order, as the loaders flatten them).
* :class:`Compose` chains augmentations.

Each has ``get_config()``; :func:`augmentation_from_config` rebuilds one from
``{"class_name": ..., "config": ...}`` (see :func:`serialize`).
"""

from __future__ import annotations

import numbers

import numpy as np

from glassnet.backend import resolve_rng, standard_normal, uniform
from glassnet.validation import check_in_range

__all__ = [
    "Augmentation",
    "GaussianNoise",
    "RandomFlip",
    "RandomShift",
    "RandomCrop",
    "Compose",
    "serialize",
    "augmentation_from_config",
]


def _integers(generator, low: int, high: int, size: int) -> np.ndarray:
    """Uniform integers in ``[low, high]`` from either kind of generator."""
    if isinstance(generator, np.random.RandomState):
        return generator.randint(low, high + 1, size=size)
    return generator.integers(low, high + 1, size=size)


def _check_image_shape(image_shape):
    if image_shape is None:
        return None
    try:
        shape = tuple(image_shape)
    except TypeError:
        shape = ()
    if len(shape) not in (2, 3) or not all(
        isinstance(d, numbers.Integral) and not isinstance(d, bool) and d >= 1
        for d in shape
    ):
        raise ValueError(
            "image_shape must be (height, width, channels) positive integers; "
            f"received image_shape={image_shape!r}"
        )
    shape = tuple(int(d) for d in shape)
    return shape if len(shape) == 3 else (*shape, 1)


class Augmentation:
    """Base class: subclasses implement ``_apply(X, generator) -> new array``."""

    def __call__(self, X_batch, rng=None) -> np.ndarray:
        X = np.asarray(X_batch)
        if X.ndim < 1:
            raise ValueError(
                f"{type(self).__name__} needs a batch with one row per example; "
                "received a scalar"
            )
        return self._apply(X, resolve_rng(rng))

    def _apply(self, X, generator):  # pragma: no cover - abstract
        raise NotImplementedError

    def get_config(self) -> dict:
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class GaussianNoise(Augmentation):
    """Add independent noise ``N(0, stddev^2)`` to every entry: ``X + stddev * Z``.

    Keeps a floating dtype (float32 stays float32); integer input becomes float64.
    """

    def __init__(self, stddev: float):
        self.stddev = float(check_in_range("stddev", stddev, 0, None))

    def _apply(self, X, generator):
        dtype = X.dtype if X.dtype.kind == "f" else np.float64
        noise = standard_normal(generator, X.shape) * self.stddev
        return (X + noise).astype(dtype, copy=False)

    def get_config(self) -> dict:
        return {"stddev": self.stddev}


class _ImageAugmentation(Augmentation):
    """Reshape flattened rows to ``(m, h, w, c)`` and back around ``_images``."""

    def __init__(self, image_shape=None):
        self.image_shape = _check_image_shape(image_shape)

    def _apply(self, X, generator):
        name = type(self).__name__
        if X.ndim == 2:
            if self.image_shape is None:
                raise ValueError(
                    f"{name} needs images (m, h, w, c), or image_shape=(h, w, c) for "
                    f"flattened rows; received rows of shape {X.shape} and "
                    "image_shape=None"
                )
            if int(np.prod(self.image_shape)) != X.shape[1]:
                raise ValueError(
                    f"image_shape {self.image_shape} has "
                    f"{int(np.prod(self.image_shape))} values but the rows have "
                    f"{X.shape[1]}"
                )
            images = X.reshape((len(X), *self.image_shape))
            out = self._images(images, generator)
            return out.reshape(len(X), -1)
        if X.ndim == 3:
            return self._images(X[..., np.newaxis], generator)[..., 0]
        if X.ndim == 4:
            return self._images(X, generator)
        raise ValueError(
            f"{name} needs (m, h, w, c) images or flattened rows; received shape "
            f"{X.shape}"
        )

    def _config(self) -> dict:
        return {
            "image_shape": None if self.image_shape is None else list(self.image_shape)
        }


class RandomFlip(_ImageAugmentation):
    """Mirror each picture with probability ``probability``: left-right
    (``horizontal``) and/or upside-down (``vertical``), each decided separately."""

    def __init__(
        self,
        horizontal: bool = True,
        vertical: bool = False,
        *,
        probability: float = 0.5,
        image_shape=None,
    ):
        super().__init__(image_shape)
        for name, value in (("horizontal", horizontal), ("vertical", vertical)):
            if not isinstance(value, bool):
                raise TypeError(f"{name} must be True or False; received {value!r}")
        if not (horizontal or vertical):
            raise ValueError(
                "RandomFlip needs horizontal=True or vertical=True; received both False"
            )
        self.horizontal = horizontal
        self.vertical = vertical
        self.probability = float(check_in_range("probability", probability, 0, 1))

    def _images(self, images, generator):
        out = images.copy()
        m = len(images)
        if self.horizontal:
            flip = uniform(generator, (m,)) < self.probability
            out[flip] = out[flip][:, :, ::-1, :]
        if self.vertical:
            flip = uniform(generator, (m,)) < self.probability
            out[flip] = out[flip][:, ::-1, :, :]
        return out

    def get_config(self) -> dict:
        return {
            "horizontal": self.horizontal,
            "vertical": self.vertical,
            "probability": self.probability,
            **self._config(),
        }


def _crop_windows(padded, top, left, height: int, width: int) -> np.ndarray:
    """Gather window ``padded[i, top[i]:top[i]+height, left[i]:left[i]+width]``."""
    m = len(padded)
    rows = top[:, None] + np.arange(height)
    cols = left[:, None] + np.arange(width)
    return padded[np.arange(m)[:, None, None], rows[:, :, None], cols[:, None, :]]


def _pad(images, padding: int, fill_value: float):
    if padding == 0:
        return images
    width = ((0, 0), (padding, padding), (padding, padding), (0, 0))
    return np.pad(images, width, mode="constant", constant_values=fill_value)


class RandomShift(_ImageAugmentation):
    """Translate each picture by whole pixels ``dy, dx`` drawn uniformly from
    ``[-max_pixels, max_pixels]``; uncovered pixels take ``fill_value``; the size is
    kept."""

    def __init__(self, max_pixels: int, *, fill_value: float = 0.0, image_shape=None):
        super().__init__(image_shape)
        self.max_pixels = int(
            check_in_range("max_pixels", max_pixels, 0, None, integer=True)
        )
        self.fill_value = float(check_in_range("fill_value", fill_value))

    def _images(self, images, generator):
        m, h, w, _ = images.shape
        p = self.max_pixels
        padded = _pad(images, p, self.fill_value)
        top = p - _integers(generator, -p, p, m)
        left = p - _integers(generator, -p, p, m)
        return _crop_windows(padded, top, left, h, w)

    def get_config(self) -> dict:
        return {
            "max_pixels": self.max_pixels,
            "fill_value": self.fill_value,
            **self._config(),
        }


class RandomCrop(_ImageAugmentation):
    """Pad each picture by ``padding`` pixels of ``fill_value`` on every side, then cut
    a random ``size = (h, w)`` window (uniform position). ``RandomCrop(32,
    padding=4)`` on 32x32 pictures is the usual CIFAR augmentation."""

    def __init__(
        self, size, padding: int = 0, *, fill_value: float = 0.0, image_shape=None
    ):
        super().__init__(image_shape)
        if isinstance(size, numbers.Integral) and not isinstance(size, bool):
            size = (size, size)
        try:
            h, w = size
            ok = all(
                isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1
                for v in (h, w)
            )
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(
                "size must be a positive int or a pair (height, width); received "
                f"size={size!r}"
            )
        self.size = (int(h), int(w))
        self.padding = int(check_in_range("padding", padding, 0, None, integer=True))
        self.fill_value = float(check_in_range("fill_value", fill_value))

    def _images(self, images, generator):
        m, h, w, _ = images.shape
        ph, pw = h + 2 * self.padding, w + 2 * self.padding
        out_h, out_w = self.size
        if out_h > ph or out_w > pw:
            raise ValueError(
                f"RandomCrop size {self.size} is larger than the padded pictures "
                f"({ph}, {pw}) = ({h}, {w}) + 2 * padding {self.padding}"
            )
        padded = _pad(images, self.padding, self.fill_value)
        top = _integers(generator, 0, ph - out_h, m)
        left = _integers(generator, 0, pw - out_w, m)
        return _crop_windows(padded, top, left, out_h, out_w)

    def get_config(self) -> dict:
        return {
            "size": list(self.size),
            "padding": self.padding,
            "fill_value": self.fill_value,
            **self._config(),
        }


class Compose(Augmentation):
    """Apply ``augmentations`` in order, each with the same generator."""

    def __init__(self, augmentations):
        augmentations = list(augmentations)
        for index, item in enumerate(augmentations):
            if not callable(item):
                raise TypeError(
                    f"Compose needs callables augment(X, rng); item {index} is {item!r}"
                )
        self.augmentations = augmentations

    def _apply(self, X, generator):
        out = X
        for augment in self.augmentations:
            out = augment(out, generator)
        return out if out is not X else X.copy()

    def get_config(self) -> dict:
        return {"augmentations": [serialize(a) for a in self.augmentations]}

    @classmethod
    def from_config(cls, config: dict):
        return cls([augmentation_from_config(c) for c in config["augmentations"]])

    def __repr__(self) -> str:
        return f"Compose({self.augmentations!r})"


_CLASSES = {
    cls.__name__: cls
    for cls in (GaussianNoise, RandomFlip, RandomShift, RandomCrop, Compose)
}


def serialize(augmentation) -> dict:
    """JSON-able ``{"class_name": ..., "config": ...}`` for a built-in augmentation."""
    if not isinstance(augmentation, Augmentation):
        raise TypeError(
            "only glassnet augmentations can be serialized; received "
            f"{type(augmentation).__name__}"
        )
    return {
        "class_name": type(augmentation).__name__,
        "config": augmentation.get_config(),
    }


def augmentation_from_config(record: dict) -> Augmentation:
    """Rebuild an augmentation from :func:`serialize`'s record."""
    name = record.get("class_name") if isinstance(record, dict) else None
    if name not in _CLASSES:
        raise ValueError(f"unknown augmentation {name!r}; known: {sorted(_CLASSES)}")
    return _CLASSES[name].from_config(dict(record.get("config", {})))
