"""Input checks behind :mod:`glassnet.estimators`: rows ``X`` and multi-label ``y``.

Rows go through scikit-learn's ``validate_data`` (``BaseEstimator._validate_data``
before scikit-learn 1.6) restricted to dense float64/float32 input, so the estimators
set ``n_features_in_`` and raise scikit-learn's errors. A 2-D ``y`` given to the
classifier is a multi-label indicator matrix ``(m, k)``: entries 0 or 1, with ``NaN``
or ``-1`` for a missing label (returned as NaN, which the multi-label loss skips).
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_array

from glassnet.targets import label_present

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _sk_validate_data
except ImportError:  # pragma: no cover - older scikit-learn

    def _sk_validate_data(estimator, X="no_validation", y="no_validation", **options):
        return estimator._validate_data(X, y, **options)


_FLOATS = [np.float64, np.float32]


def _validate(estimator, X, y="no_validation", **options):
    """scikit-learn's validate_data with dense float input only."""
    try:
        return _sk_validate_data(estimator, X, y, dtype=_FLOATS, **options)
    except OverflowError as error:  # Python ints beyond float64
        raise ValueError(
            f"input holds a number too large for float64: {error}"
        ) from None


def _is_multilabel(y) -> bool:
    """True when ``y`` is a dense 2-D array with more than one column."""
    if y is None or hasattr(y, "toarray"):
        return False
    try:
        shape = np.asarray(y).shape
    except (TypeError, ValueError):  # ragged input: let validation report it
        return False
    return len(shape) == 2 and shape[1] > 1


def _check_multilabel(y, n_rows: int) -> np.ndarray:
    """A 0/1 indicator matrix ``(m, k)`` in float64 with missing labels set to NaN."""
    Y = check_array(y, dtype=np.float64, ensure_all_finite="allow-nan", input_name="y")
    if len(Y) != n_rows:
        raise ValueError(
            f"X and y must have the same number of examples; received {n_rows} "
            f"and {len(Y)}"
        )
    given = Y[label_present(Y)]
    if ((given != 0) & (given != 1)).any():
        raise ValueError(
            "a 2-D y is read as a multi-label indicator matrix: entries must be 0 "
            "or 1 (NaN or -1 for a missing label); received values "
            f"{np.unique(given)[:8].tolist()}. Multi-output multi-class targets "
            "are not supported"
        )
    return np.where(label_present(Y), Y, np.nan)
