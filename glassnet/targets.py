"""Labels at the public boundary -> target arrays for the output layer, and back.

============================  ==================================  ===================
output layer                  y accepted (rows)                   Y (rows) for the loss
============================  ==================================  ===================
1 sigmoid unit                (m,) or (m, 1), values 0/1          (m, 1)
k sigmoid units (multi-label) (m, k), 0/1, NaN or -1 = missing    (m, k)
C softmax units               (m,) integers 0..C-1                (m, 1) integer codes
                              or (m, C) one-hot / probabilities   (m, C)
linear (regression)           (m,) or (m, k)                      (m, 1) or (m, k)
============================  ==================================  ===================

A regression model with a :class:`TargetScale` (``model.target_scale``, fitted on
the training targets by ``model.adapt_targets(y_train)``) trains and is scored on
standardized targets ``(y - mu) / s``, and its predictions come back in the user's
units, ``mu + s a[L]`` (architecture D29).
"""

from __future__ import annotations

import numpy as np

from glassnet.backend import get_namespace


def label_present(Y):
    """True where a multi-label entry is given: not NaN and not -1 (the two ways
    to mark a missing label), for any backend's array. The multi-label loss, its
    metrics and the estimators' checks all read missing labels through this."""
    return get_namespace(Y).isfinite(Y) & (Y != -1)


def _describe_values(y, bad=None) -> str:
    """The distinct labels, and the offending ones when ``bad`` marks them."""

    def listing(values):
        values = np.unique(values)
        shown = ", ".join(f"{v:g}" for v in values[:8])
        return f"[{shown}{', ...' if values.size > 8 else ''}]"

    text = listing(y[np.isfinite(y)] if y.dtype.kind == "f" else y.ravel())
    if bad is not None and bad.any():
        text += f" (outside the range: {listing(y[bad])})"
    return text


class TargetScale:
    """A regression model's targets in the units it trains on, and back (D29).

    Fitted on the training targets only (:meth:`from_targets`), per output ``j``::

        mu_j = (1/m) sum_i y_j(i)
        s_j  = sqrt((1/m) sum_i (y_j(i) - mu_j)^2)     (1 where it is 0)

    ``fit`` and ``evaluate`` use ``y_std = (y - mu) / s`` (:meth:`standardize`) as
    the output layer's targets, so the cost is in these standardized units;
    ``predict`` returns ``y_hat = mu + s a[L]`` (:meth:`restore`), in the units of
    ``y``. It is part of the model's config (``{"mean": [...], "spread": [...]}``)
    and of its file, like the class list of a classifier.
    """

    def __init__(self, mean, spread):
        mean = np.asarray(mean, dtype=np.float64).reshape(-1)
        spread = np.asarray(spread, dtype=np.float64).reshape(-1)
        if mean.size == 0 or mean.shape != spread.shape:
            raise ValueError(
                "a target scale needs one mean and one spread per output; received "
                f"{mean.size} mean(s) and {spread.size} spread(s)"
            )
        if not (np.isfinite(mean).all() and np.isfinite(spread).all()):
            raise ValueError("a target scale's mean and spread must be finite")
        if not (spread > 0).all():
            raise ValueError(
                f"a target scale's spread must be positive; received {spread.tolist()}"
            )
        self.mean, self.spread = mean, spread

    @classmethod
    def from_targets(cls, y) -> TargetScale:
        """The mean and spread of the training targets ``y`` ``(m,)`` or ``(m, k)``
        (a constant output gets spread 1: its targets are only centred)."""
        column = np.asarray(y)
        if column.dtype.kind not in "biuf":
            raise ValueError(
                f"targets must be numeric values; received dtype {column.dtype}"
            )
        column = column.astype(np.float64).reshape(len(column), -1)
        if column.shape[0] == 0 or not np.isfinite(column).all():
            raise ValueError("the targets must be finite values, at least one")
        spread = column.std(axis=0)
        return cls(column.mean(axis=0), np.where(spread > 0, spread, 1.0))

    @property
    def n_outputs(self) -> int:
        return self.mean.size

    def standardize(self, Y) -> np.ndarray:
        """``(Y - mu) / s`` in float64, for targets ``Y (m, k)`` in the user's units."""
        return (np.asarray(Y, dtype=np.float64) - self.mean) / self.spread

    def restore(self, A) -> np.ndarray:
        """``mu + s A`` in float64, for outputs ``A (m, k)`` in standardized units."""
        return self.mean + self.spread * np.asarray(A, dtype=np.float64)

    def get_config(self) -> dict:
        return {"mean": self.mean.tolist(), "spread": self.spread.tolist()}

    @classmethod
    def from_config(cls, config) -> TargetScale:
        if isinstance(config, TargetScale):
            return config
        if not isinstance(config, dict) or set(config) != {"mean", "spread"}:
            raise ValueError(
                "a target scale is an object with lists mean and spread; received "
                f"{config!r}"
            )
        values = (config["mean"], config["spread"])
        if not all(
            isinstance(v, list)
            and all(isinstance(x, int | float) and not isinstance(x, bool) for x in v)
            for v in values
        ):
            raise ValueError(
                f"a target scale's mean and spread must be lists of numbers; "
                f"received {config!r}"
            )
        return cls(*values)

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, TargetScale)
            and np.array_equal(self.mean, other.mean)
            and np.array_equal(self.spread, other.spread)
        )

    __hash__ = None

    def __repr__(self) -> str:
        return f"TargetScale(mean={self.mean.tolist()}, spread={self.spread.tolist()})"


#: what to do with text labels, for the checks of ``y`` in fit, evaluate and here
TEXT_LABELS_HINT = (
    ". Encode string labels as integers first (glassnet.data.encode_labels), or use "
    "glassnet.estimators.GlassClassifier, which takes them"
)


def prepare_targets(model, y) -> np.ndarray:
    """Row-major targets ``(m, k)`` in the model's dtype, checked against the output."""
    activation, n_out = model.output_activation, model.n_out
    y = np.asarray(y)
    if y.dtype.kind not in "biuf":
        raise ValueError(
            f"y must be numeric labels or values; received dtype {y.dtype}"
            f"{TEXT_LABELS_HINT}"
        )
    y = y.astype(np.float64, copy=False)
    column = y.reshape(-1, 1) if y.ndim == 1 else y
    if activation != "sigmoid" or n_out == 1:
        if not np.isfinite(column).all():
            raise ValueError("y contains NaN or infinity; clean the labels first")
    if activation == "softmax":
        if column.shape[1] == 1:
            bad = (column != np.round(column)) | (column < 0) | (column >= n_out)
            if bad.any():
                raise ValueError(
                    f"labels outside the output layer's range: it has {n_out} softmax "
                    f"units, so labels must be integers 0..{n_out - 1}; received "
                    f"labels {_describe_values(column, bad)}"
                )
        elif column.shape[1] != n_out:
            raise ValueError(
                f"one-hot y must have {n_out} columns for {n_out} softmax units; "
                f"received shape {y.shape}"
            )
    elif activation == "sigmoid":
        if column.shape[1] != n_out:
            raise ValueError(
                f"the output layer has {n_out} sigmoid unit(s), so y needs {n_out} "
                f"column(s); received shape {y.shape}"
            )
        missing = ~np.isfinite(column) | (column == -1)
        if n_out == 1:
            missing[...] = False
        bad = ~missing & ((column < 0) | (column > 1))
        if bad.any():
            raise ValueError(
                "labels outside the output layer's range: sigmoid outputs take labels "
                f"0 or 1 (or probabilities in [0, 1]); received labels "
                f"{_describe_values(column, bad)}"
            )
    elif column.shape[1] != n_out:
        raise ValueError(
            f"the output layer has {n_out} unit(s), so y needs {n_out} column(s); "
            f"received shape {y.shape}"
        )
    scale = getattr(model, "target_scale", None)
    if scale is not None and activation == "linear":
        column = scale.standardize(column)  # the units the model trains in (D29)
    with np.errstate(over="ignore"):
        targets = column.astype(model.dtype)
    overflow = np.isfinite(column) & ~np.isfinite(targets)
    if overflow.any():
        raise ValueError(
            f"y holds values too large for {model.dtype} (e.g. "
            f"{column[overflow][0]:g}); rescale the targets or use dtype='float64'"
        )
    return targets


def labels_from_targets(model, Y) -> np.ndarray:
    """The class labels behind row-major targets (for metrics); for a regression
    model with a target scale, the values in the user's units (``mu + s Y``)."""
    activation = model.output_activation
    if activation == "softmax":
        return Y[:, 0].astype(np.int64) if Y.shape[1] == 1 else np.argmax(Y, axis=1)
    if activation == "sigmoid":
        labels = (Y > 0.5).astype(np.int64)
        return labels[:, 0] if labels.shape[1] == 1 else labels
    return values_in_user_units(model, Y)


def values_in_user_units(model, A) -> np.ndarray:
    """Row-major linear outputs or targets ``(m, k)`` in the user's units: through
    the model's target scale when it has one; ``(m,)`` for one output."""
    scale = getattr(model, "target_scale", None)
    if scale is not None:
        A = scale.restore(A)
    return A[:, 0] if A.shape[1] == 1 else A
