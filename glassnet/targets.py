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
    """The class labels behind row-major targets (for metrics)."""
    activation = model.output_activation
    if activation == "softmax":
        return Y[:, 0].astype(np.int64) if Y.shape[1] == 1 else np.argmax(Y, axis=1)
    if activation == "sigmoid":
        labels = (Y > 0.5).astype(np.int64)
        return labels[:, 0] if labels.shape[1] == 1 else labels
    return Y[:, 0] if Y.shape[1] == 1 else Y
