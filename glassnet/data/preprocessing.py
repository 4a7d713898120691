"""Input standardization and label encoding (rows are examples).

The notes' "normalizing inputs": subtract the training mean and divide by the
training standard deviation, feature by feature,

    mu = (1/m) sum_i x(i),  sigma^2 = (1/m) sum_i (x(i) - mu)^2,  x := (x - mu) / sigma

so every feature has mean 0 and variance 1 on the training set. (The lecture slide
writes ``x / sigma^2``; the stated goal, sigma = 1, needs the division by sigma.)
Dev and test data are transformed with the *training* mu and sigma, never with their
own statistics, so all three sets go through the same map.
"""

from __future__ import annotations

import numbers

import numpy as np

from glassnet.validation import check_array

__all__ = ["Standardizer", "one_hot", "encode_labels", "decode_labels"]

# A column whose spread is this small relative to its mean is constant up to
# round-off (the mean of m equal floats need not equal them exactly).
_CONSTANT_RTOL = 1e-10


class Standardizer:
    """Feature-wise ``(x - mu) / sigma`` with statistics fitted on training rows only.

    ``fit(X)`` with ``X`` of shape ``(m, n)`` (or ``(m, h, w, c)``; statistics are then
    per pixel and channel) stores ``mean`` and ``std`` of shape ``X.shape[1:]``.
    Columns with zero variance get ``std = 1`` so they map to 0 instead of NaN.
    ``transform`` keeps a floating input dtype (float32 stays float32).

    ``get_config()`` is JSON-able and ``state()`` holds the arrays, so a fitted
    Standardizer is saved beside a model and rebuilt with
    ``Standardizer.from_config(config, state)``.
    """

    def __init__(self, *, with_mean: bool = True, with_std: bool = True):
        for name, value in (("with_mean", with_mean), ("with_std", with_std)):
            if not isinstance(value, bool):
                raise TypeError(f"{name} must be True or False; received {value!r}")
        self.with_mean = with_mean
        self.with_std = with_std
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None
        self.n_examples_seen: int = 0

    @property
    def fitted(self) -> bool:
        return self.mean is not None

    def fit(self, X) -> Standardizer:
        """Compute ``mu = mean(X, axis=0)`` and ``sigma = std(X, axis=0)`` (float64)."""
        X = check_array(X, name="X", ndim=(2, 3, 4))
        X64 = X.astype(np.float64, copy=False)
        mean = X64.mean(axis=0)
        std = X64.std(axis=0)
        constant = (std == 0) | (std <= _CONSTANT_RTOL * np.abs(mean))
        std = np.where(constant, 1.0, std)
        self.mean = mean if self.with_mean else np.zeros_like(mean)
        self.std = std if self.with_std else np.ones_like(std)
        self.n_examples_seen = int(X.shape[0])
        return self

    def _check_fitted_input(self, X, name: str) -> np.ndarray:
        if not self.fitted:
            raise RuntimeError(
                f"this Standardizer is not fitted yet; call fit(X_train) before {name}"
            )
        X = check_array(X, name="X", ndim=(2, 3, 4))
        if X.shape[1:] != self.mean.shape:
            raise ValueError(
                f"X has per-example shape {X.shape[1:]} but the Standardizer was "
                f"fitted on examples of shape {self.mean.shape}"
            )
        return X

    def transform(self, X) -> np.ndarray:
        """Return ``(X - mu) / sigma`` using the fitted training statistics."""
        X = self._check_fitted_input(X, "transform")
        dtype = X.dtype if X.dtype.kind == "f" else np.float64
        return ((X - self.mean) / self.std).astype(dtype, copy=False)

    def fit_transform(self, X) -> np.ndarray:
        """``fit(X)`` then ``transform(X)``; use on the training set only."""
        return self.fit(X).transform(X)

    def inverse_transform(self, X) -> np.ndarray:
        """Return ``X * sigma + mu``: undo :meth:`transform`."""
        X = self._check_fitted_input(X, "inverse_transform")
        dtype = X.dtype if X.dtype.kind == "f" else np.float64
        return (X * self.std + self.mean).astype(dtype, copy=False)

    def get_config(self) -> dict:
        """JSON-able settings (the arrays are in :meth:`state`)."""
        return {
            "with_mean": self.with_mean,
            "with_std": self.with_std,
            "fitted": self.fitted,
            "n_examples_seen": self.n_examples_seen,
        }

    def state(self) -> dict[str, np.ndarray]:
        """The fitted arrays ``{"mean": mu, "std": sigma}`` (empty when unfitted)."""
        if not self.fitted:
            return {}
        return {"mean": self.mean.copy(), "std": self.std.copy()}

    def set_state(self, state: dict) -> Standardizer:
        """Load arrays produced by :meth:`state`."""
        missing = {"mean", "std"} - set(state)
        if missing:
            raise ValueError(
                "Standardizer state needs arrays 'mean' and 'std'; missing "
                f"{sorted(missing)} in received keys {sorted(state)}"
            )
        mean = np.asarray(state["mean"], dtype=np.float64)
        std = np.asarray(state["std"], dtype=np.float64)
        if mean.shape != std.shape:
            raise ValueError(
                f"Standardizer state arrays disagree: mean has shape {mean.shape}, "
                f"std has shape {std.shape}"
            )
        if not (np.isfinite(mean).all() and np.isfinite(std).all()) or (std <= 0).any():
            raise ValueError("Standardizer state must be finite with std > 0")
        self.mean, self.std = mean, std
        return self

    @classmethod
    def from_config(cls, config: dict, state: dict | None = None) -> Standardizer:
        """Rebuild from :meth:`get_config` (and :meth:`state` when it was fitted)."""
        scaler = cls(
            with_mean=config.get("with_mean", True),
            with_std=config.get("with_std", True),
        )
        scaler.n_examples_seen = int(config.get("n_examples_seen", 0))
        if config.get("fitted", False):
            if state is None:
                raise ValueError(
                    "the config describes a fitted Standardizer; pass its state() "
                    "arrays too"
                )
            scaler.set_state(state)
        return scaler

    def __repr__(self) -> str:
        shape = None if self.mean is None else self.mean.shape
        return (
            f"Standardizer(with_mean={self.with_mean}, with_std={self.with_std}, "
            f"fitted_shape={shape})"
        )


def _as_label_vector(y, name: str = "y") -> np.ndarray:
    """Labels as a 1-D array; ``(m, 1)`` and the course's ``(1, m)`` are raveled."""
    y = np.asarray(y)
    if y.ndim == 2 and 1 in y.shape:
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D array of labels; received an array of shape "
            f"{y.shape}"
        )
    return y


def _integer_labels(y, name: str = "y") -> np.ndarray:
    y = _as_label_vector(y, name)
    if y.dtype.kind in "biu":
        return y.astype(np.int64)
    if y.dtype.kind == "f":
        bad = ~np.isfinite(y) | (y != np.round(y))
        if bad.any():
            index = int(np.argmax(bad))
            raise ValueError(
                f"{name} must hold integer class labels; received "
                f"{y[index].item()!r} at index {index}"
            )
        return y.astype(np.int64)
    raise ValueError(
        f"{name} must hold integer class labels; received dtype {y.dtype} "
        "(use encode_labels(y) to map other labels to 0..C-1)"
    )


def one_hot(y, num_classes: int | None = None, *, dtype=np.float64) -> np.ndarray:
    """Rows of indicator vectors: ``Y[i, y[i]] = 1``, shape ``(m, C)``.

    ``y`` holds integers in ``[0, C)`` (shape ``(m,)``, ``(m, 1)`` or ``(1, m)``);
    ``C = num_classes`` or ``max(y) + 1``. ``np.argmax(Y, axis=1)`` gives ``y`` back.
    """
    labels = _integer_labels(y)
    if num_classes is None:
        if labels.size == 0:
            raise ValueError("cannot infer num_classes from an empty y; pass it")
        num_classes = int(labels.max()) + 1
    elif not isinstance(num_classes, numbers.Integral) or isinstance(num_classes, bool):
        raise TypeError(
            f"num_classes must be an integer; received num_classes={num_classes!r}"
        )
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1; received {num_classes}")
    bad = (labels < 0) | (labels >= num_classes)
    if bad.any():
        index = int(np.argmax(bad))
        raise ValueError(
            f"labels must be integers in [0, {num_classes}); received label "
            f"{labels[index]} at index {index}"
        )
    Y = np.zeros((labels.size, int(num_classes)), dtype=dtype)
    Y[np.arange(labels.size), labels] = 1
    return Y


def encode_labels(y, classes=None) -> tuple[np.ndarray, list]:
    """Map arbitrary labels to codes ``0..C-1``; return ``(codes, classes)``.

    ``classes`` defaults to the sorted distinct labels, so ``classes[codes[i]] ==
    y[i]``. Passing a known ``classes`` list encodes new data the same way; a label
    not in it raises ``ValueError``.
    """
    y = _as_label_vector(y)
    if y.size and y.dtype.kind == "f" and not np.isfinite(y).all():
        raise ValueError("y contains NaN or infinity; labels must be finite")
    if classes is None:
        known, codes = np.unique(y, return_inverse=True)
        return codes.astype(np.int64).ravel(), known.tolist()
    known = np.asarray(list(classes))
    if known.ndim != 1 or known.size == 0:
        raise ValueError(f"classes must be a non-empty list; received {classes!r}")
    if len(np.unique(known)) != known.size:
        raise ValueError(f"classes must be distinct; received {list(classes)!r}")
    order = np.argsort(known, kind="stable")
    sorted_known = known[order]
    try:
        position = np.searchsorted(sorted_known, y)
    except TypeError:
        raise ValueError(
            f"labels of dtype {y.dtype} cannot be compared with classes "
            f"{list(classes)!r}"
        ) from None
    position = np.clip(position, 0, known.size - 1)
    found = sorted_known[position] == y
    if not np.all(found):
        index = int(np.argmin(found))
        raise ValueError(
            f"label {y[index].item()!r} at index {index} is not one of the known "
            f"classes {list(classes)!r}"
        )
    return order[position].astype(np.int64), list(classes)


def decode_labels(codes, classes) -> np.ndarray:
    """Inverse of :func:`encode_labels`: ``classes[codes]``."""
    codes = _integer_labels(codes, "codes")
    classes = list(classes)
    bad = (codes < 0) | (codes >= len(classes))
    if bad.any():
        index = int(np.argmax(bad))
        raise ValueError(
            f"codes must be integers in [0, {len(classes)}); received code "
            f"{codes[index]} at index {index}"
        )
    return np.asarray(classes)[codes]
