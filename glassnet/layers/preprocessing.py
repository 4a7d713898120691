"""Input transforms as layers, so the model file is the whole pipeline.

The notes transform the inputs before the network (pixels divided by 255, features
"normalized" with the training mean and spread). Here those steps are layers at the
front of a ``Sequential``: they are fitted on training rows only, saved in the model
file with the weights, and run in every path (``predict``, ``evaluate``, the
estimators, every CLI command), so no prediction depends on state kept elsewhere.

Shapes follow the layer contract: ``A_prev (n, m)``, columns are examples. None of
these layers has trainable parameters; ``Standardization``'s ``mean`` and ``spread``
are non-trainable ``state`` (like batch norm's running statistics), saved with the
model, keyed ``mean0``, ``spread0`` before the first Dense layer.

* ``Flatten(image_shape)``: examples of shape ``(h, w, c)`` to feature columns of
  ``n = h*w*c`` entries in C order (the notes' ``X.reshape(m, -1).T``).
* ``Rescaling(scale, offset)``: ``A = scale * A_prev + offset`` (``scale = 1/255``
  takes 0..255 pixels to [0, 1]).
* ``Standardization(floor)``: ``X_norm = (X - mu) / max(sigma, floor)`` with ``mu``
  and ``sigma`` from ``adapt(X_train)``, the notes' input normalization with a floor
  on the spread so that near-constant features cannot explode.
"""

from __future__ import annotations

import math

import numpy as np

from glassnet.backend import device_of, get_namespace, to_namespace, to_numpy
from glassnet.layers.base import Layer, boolean, check_flag, number, sizes_or_none
from glassnet.validation import check_array, check_in_range

__all__ = [
    "Flatten",
    "Rescaling",
    "RunningMoments",
    "Standardization",
    "PREPROCESSING_TYPES",
]


def _check_image_shape(image_shape):
    if image_shape is None:
        return None
    try:
        shape = tuple(int(d) for d in image_shape)
    except (TypeError, ValueError):
        raise ValueError(
            f"image_shape must be a tuple of sizes like (28, 28, 1); received "
            f"{image_shape!r}"
        ) from None
    if not shape or any(d < 1 for d in shape) or list(shape) != list(image_shape):
        raise ValueError(
            f"image_shape must be positive integer sizes like (28, 28, 1); received "
            f"{image_shape!r}"
        )
    return shape


class Flatten(Layer):
    """``Flatten(image_shape=None)``: image-shaped examples to feature columns.

    At the row boundary (``fit``, ``predict``, ``evaluate``) a model whose first
    layers include a Flatten accepts examples ``X (m, h, w, c)`` (or ``(m, h, w)``
    for ``c = 1``) as well as rows ``X (m, h*w*c)``; :meth:`rows` reshapes them in C
    order, as the notes' ``X.reshape(X.shape[0], -1)``. In the engine::

        forward:  A (n, m) = A_prev reshaped, n = h*w*c     (A_prev (n, m) or the
                                                             columns (h, w, c, m))
        backward: dA_prev = dA reshaped to A_prev's shape

    ``image_shape`` is taken from the first image-shaped ``X`` when not given.
    """

    config_fields = {"image_shape": sizes_or_none, **Layer.config_fields}

    def __init__(self, image_shape=None, *, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        self.image_shape = _check_image_shape(image_shape)

    def planned_arrays(self, n_prev: int) -> tuple[int, dict, dict]:
        if self.image_shape is not None and math.prod(self.image_shape) != n_prev:
            raise ValueError(
                f"Flatten expects images of shape {self.image_shape} "
                f"({math.prod(self.image_shape)} features) but the model gives it "
                f"{n_prev} features"
            )
        return int(n_prev), {}, {}

    def build(self, n_prev: int, rng, dtype, *, initialize: bool = True) -> int:
        self.planned_arrays(n_prev)
        return super().build(n_prev, rng, dtype)

    def rows(self, X):
        """``X (m, h, w[, c])`` -> rows ``(m, h*w*c)`` in C order (rows unchanged)."""
        if getattr(X, "ndim", 2) <= 2:
            return X
        X = np.asarray(X)
        shape = tuple(int(d) for d in X.shape[1:])
        if self.image_shape is None:
            if self.built and math.prod(shape) != self.n_in:
                raise ValueError(
                    f"examples of shape {shape} have {math.prod(shape)} values but "
                    f"the model takes {self.n_in} features"
                )
            self.image_shape = shape if len(shape) > 2 else (*shape, 1)
        expected = self.image_shape
        if shape != expected and (*shape, 1) != expected:
            raise ValueError(
                f"X holds examples of shape {shape} but the model's Flatten takes "
                f"images of shape {expected} (or rows of {math.prod(expected)} "
                "features)"
            )
        return X.reshape(len(X), -1)

    def forward(self, A_prev, training: bool):
        m = A_prev.shape[-1]
        if A_prev.ndim == 2 and A_prev.shape[0] == self.n_out:
            A = A_prev
        elif math.prod(A_prev.shape[:-1]) == self.n_out:
            A = get_namespace(A_prev).reshape(A_prev, (self.n_out, m))
        else:
            raise ValueError(
                f"Flatten takes (n, m) columns with n = {self.n_out} (or images "
                f"(h, w, c, m)); received shape {tuple(A_prev.shape)}"
            )
        if training:
            self._cache = tuple(A_prev.shape)
        return A

    def backward(self, dA):
        shape = self._require_cache()
        return get_namespace(dA).reshape(dA, shape)

    def get_config(self) -> dict:
        shape = None if self.image_shape is None else list(self.image_shape)
        return {"image_shape": shape, **super().get_config()}

    def describe_shapes(self, index: int) -> list[str]:
        if self.image_shape is None:
            return [f"A[{index}]: (n[{index}], m), n[{index}] = {self.n_out}"]
        shape = " x ".join(map(str, self.image_shape))
        return [f"images {shape} -> (n[{index}], m) = ({self.n_out}, m)"]


class Rescaling(Layer):
    """``Rescaling(scale, offset=0.0)``: ``A = scale * A_prev + offset``.

    ``Rescaling(1/255)`` maps 0..255 pixels to [0, 1] (the notes' ``X / 255.``);
    ``Rescaling(1/127.5, -1)`` maps them to [-1, 1]. Backward:
    ``dA_prev = scale * dA``. Shapes: ``A_prev, A (n, m)``.
    """

    config_fields = {"scale": number, "offset": number, **Layer.config_fields}

    def __init__(self, scale: float, offset: float = 0.0, *, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        self.scale = float(check_in_range("scale", scale))
        self.offset = float(check_in_range("offset", offset))
        if self.scale == 0:
            raise ValueError("scale must be nonzero; received 0")

    def forward(self, A_prev, training: bool):
        A = A_prev * self.scale
        if self.offset:
            A += self.offset
        if training:
            self._cache = True
        return A

    def backward(self, dA):
        self._require_cache()
        return dA * self.scale

    def get_config(self) -> dict:
        return {"scale": self.scale, "offset": self.offset, **super().get_config()}

    def describe_shapes(self, index: int) -> list[str]:
        offset = f" + {self.offset:g}" if self.offset else ""
        return [f"A = {self.scale:.6g} * A_prev{offset}: ({self.n_out}, m)"]


def spread_statistics(X, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """``(mu, spread)`` of rows ``X (m, n)``, float64, each ``(n,)``::

        mu     = (1/m) sum_i x(i)
        sigma  = sqrt((1/m) sum_i (x(i) - mu)^2)
        spread = max(sigma, floor * max_i |x(i) - mu|)   (1 for a constant feature)

    The floor bounds every standardized training value by ``1 / floor`` in absolute
    value (10 spreads for the default 0.1): a feature that is nearly always one
    value (a rare one-hot category, a border pixel) is not divided by its tiny
    sigma, so a dev example where it differs stays a moderate number. Features whose
    training values lie within ``1/floor`` sigmas of the mean (every Gaussian-like
    feature of fewer than about 10^20 examples) are standardized exactly as in the
    notes. A feature equal on every training row (up to round-off) gets spread 1.
    """
    X = np.asarray(X, dtype=np.float64)
    mu = X.mean(axis=0)
    deviation = X - mu
    sigma = np.sqrt(np.mean(deviation * deviation, axis=0))
    largest = np.max(np.abs(deviation), axis=0) if len(X) else np.zeros_like(mu)
    spread = np.maximum(sigma, floor * largest)
    constant = largest <= 1e-10 * np.maximum(np.abs(mu), np.finfo(np.float64).tiny)
    return mu, np.where(constant | (spread == 0), 1.0, spread)


class RunningMoments:
    """Per-feature moments of rows seen block by block, in float64 (the streaming
    twin of :func:`spread_statistics`, for rows that stay on disk).

    Each block ``B (k, n)`` gives its count k, mean ``mu_B`` and squared
    deviations ``M2_B = sum_i (x(i) - mu_B)^2``; two sets of moments merge as
    Chan, Golub and LeVeque's pairwise update::

        m     = m_A + m_B,   delta = mu_B - mu_A
        mu    = mu_A + delta m_B / m
        M2    = M2_A + M2_B + delta^2 m_A m_B / m

    so ``sigma^2 = M2 / m`` agrees with the two-pass in-memory value to round-off
    (well within 1e-6 relative). ``minimum`` and ``maximum`` give the floor's
    largest deviation, ``max(maximum - mu, mu - minimum)``.
    """

    def __init__(self, n: int):
        self.count = 0
        self.mean = np.zeros(n)
        self.squares = np.zeros(n)
        self.minimum = np.full(n, np.inf)
        self.maximum = np.full(n, -np.inf)

    def add(self, rows) -> None:
        """Merge a block of rows ``(k, n)``."""
        rows = np.asarray(rows, dtype=np.float64)
        k = len(rows)
        if not k:
            return
        mean = rows.mean(axis=0)
        deviation = rows - mean
        squares = np.einsum("ij,ij->j", deviation, deviation)
        total = self.count + k
        delta = mean - self.mean
        self.mean += delta * (k / total)
        self.squares += squares + delta * delta * (self.count * k / total)
        self.count = total
        np.minimum(self.minimum, rows.min(axis=0), out=self.minimum)
        np.maximum(self.maximum, rows.max(axis=0), out=self.maximum)

    def spread_statistics(self, floor: float) -> tuple[np.ndarray, np.ndarray]:
        """``(mu, spread)`` as :func:`spread_statistics` defines them."""
        if not self.count:
            raise ValueError("no rows to measure: the data hold no examples")
        mu = self.mean.copy()
        sigma = np.sqrt(self.squares / self.count)
        largest = np.maximum(self.maximum - mu, mu - self.minimum)
        spread = np.maximum(sigma, floor * largest)
        constant = largest <= 1e-10 * np.maximum(np.abs(mu), np.finfo(np.float64).tiny)
        return mu, np.where(constant | (spread == 0), 1.0, spread)


class Standardization(Layer):
    """``Standardization(floor=0.1)``: the notes' input normalization, as a layer.

    ``adapt(X_train)`` (rows ``(m, n)``, training rows only) measures, per feature,
    ``mu`` and the spread ``max(sigma, floor)`` (:func:`spread_statistics`: the floor
    is ``floor`` times the feature's largest training deviation from ``mu``, so no
    training value is standardized beyond ``1 / floor``; ``floor=0`` divides by
    sigma alone, constant features by 1). Then, with ``mu, spread (n, 1)``::

        X_norm  = (X - mu) / max(sigma, floor)       A_prev, A: (n, m)
        dA_prev = dA / max(sigma, floor)

    ``mean`` and ``spread`` are the layer's non-trainable ``state`` (saved in the
    model file). The layer must be adapted before it runs; ``adapt`` may come
    before or after the model's ``build``.
    """

    state_names = ("mean", "spread")
    config_fields = {"floor": number, "adapted": boolean, **Layer.config_fields}

    def __init__(self, floor: float = 0.1, *, adapted=False, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        self.floor = float(check_in_range("floor", floor, 0, 1))
        #: True once mean and spread hold measured values (adapt, or a model file)
        self.adapted = check_flag("adapted", adapted)
        self._pending = None

    def adapt(self, X) -> Standardization:
        """Measure ``mu`` and the floored spread on training rows ``X (m, n)`` (or
        image-shaped examples, flattened in C order; or rows on disk,
        :mod:`glassnet.data.on_disk`, measured in one streaming pass by
        :class:`RunningMoments`); returns the layer."""
        if hasattr(X, "scan"):  # rows on disk: one streaming pass, kept
            scan = X.scan()
            if scan.bad is not None:
                row, feature, value = scan.bad
                raise ValueError(
                    f"X ({X.describe()}): example {row}, feature {feature} is "
                    f"{value}; clean or impute the data first"
                )
        else:
            X = check_array(X, name="X", ndim=(2, 3, 4))
            X = X.reshape(len(X), -1)
        if self.built and X.shape[1] != self.n_in:
            raise ValueError(
                f"X has {X.shape[1]} features per example but this Standardization "
                f"was built for {self.n_in}"
            )
        if hasattr(X, "scan"):
            mu, spread = X.scan().moments.spread_statistics(self.floor)
        else:
            mu, spread = spread_statistics(X, self.floor)
        self.set_statistics(mu, spread)
        return self

    def set_statistics(self, mean, spread) -> None:
        """Set ``mu`` and the spread directly (n values each; the spread > 0)."""
        mean = np.asarray(mean, dtype=np.float64).reshape(-1, 1)
        spread = np.asarray(spread, dtype=np.float64).reshape(-1, 1)
        if mean.shape != spread.shape:
            raise ValueError(
                f"mean and spread must have the same size; received {mean.size} and "
                f"{spread.size}"
            )
        if (
            not (np.isfinite(mean).all() and np.isfinite(spread).all())
            or (spread <= 0).any()
        ):
            raise ValueError("the mean and spread must be finite, the spread > 0")
        if self.built:
            if mean.shape[0] != self.n_in:
                raise ValueError(
                    f"{mean.shape[0]} statistics for a layer built for {self.n_in} "
                    "features"
                )
            for key, value in (("mean", mean), ("spread", spread)):
                target = self.state[key]
                target[...] = to_namespace(
                    value, get_namespace(target), device_of(target), self.dtype
                )
        else:
            self._pending = (mean, spread)
        self.adapted = True

    def planned_arrays(self, n_prev: int) -> tuple[int, dict, dict]:
        shape = (int(n_prev), 1)
        return int(n_prev), {}, {"mean": shape, "spread": shape}

    def build(self, n_prev: int, rng, dtype, *, initialize: bool = True) -> int:
        super().build(n_prev, rng, dtype)
        shape = (int(n_prev), 1)
        mean, spread = np.zeros(shape), np.ones(shape)
        if self._pending is not None:
            mean, spread = self._pending
            if mean.shape != shape:
                raise ValueError(
                    f"this Standardization was adapted on {mean.shape[0]} features "
                    f"but the model gives it {n_prev}"
                )
            self._pending = None
        self.state = {
            "mean": mean.astype(self.dtype),
            "spread": spread.astype(self.dtype),
        }
        return self.n_out

    def statistics(self) -> tuple[np.ndarray, np.ndarray]:
        """``(mu, spread)`` as NumPy columns ``(n, 1)``."""
        if self.built:
            return to_numpy(self.state["mean"]), to_numpy(self.state["spread"])
        if self._pending is None:
            raise RuntimeError("this Standardization is not adapted yet")
        return self._pending

    def forward(self, A_prev, training: bool):
        if not self.adapted:
            raise RuntimeError(
                "this Standardization layer is not adapted: call "
                "layer.adapt(X_train) with the training rows before fit or predict"
            )
        A = A_prev - self.state["mean"]
        A /= self.state["spread"]
        if training:
            self._cache = True
        return A

    def backward(self, dA):
        self._require_cache()
        return dA / self.state["spread"]

    def get_config(self) -> dict:
        return {"floor": self.floor, "adapted": self.adapted, **super().get_config()}

    def describe_shapes(self, index: int) -> list[str]:
        n = self.n_in
        return [
            f"mean[{index}]: (n[{index}], 1) = ({n}, 1)",
            f"spread[{index}]: (n[{index}], 1) = ({n}, 1)",
        ]


#: the preprocessing layer types (all of them appear in the closed registry)
PREPROCESSING_TYPES = (Flatten, Rescaling, Standardization)
