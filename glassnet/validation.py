"""Checks at the public boundary, with messages that say what was received.

Every public entry point (``Model.fit``, the estimators, loaders, the CLI) validates
its input here once; the engine below trusts what it is given. All failures raise
``ValueError`` (or ``TypeError`` for a wrong kind of object) whose message names the
argument, the value received and what is allowed, e.g.
``keep_prob must be in (0, 1]; received keep_prob=1.5``.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable

import numpy as np

from glassnet.backend import all_finite


def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    return repr(value)


def check_array(
    X,
    *,
    name: str = "X",
    ndim: int | tuple[int, ...] = 2,
    dtype=None,
    allow_empty: bool = False,
    allow_nonfinite: bool = False,
    non_numeric_hint: str = "",
) -> np.ndarray:
    """Return ``X`` as a numeric NumPy array after checking rank, size and values.

    ``dtype`` (when given) is the floating dtype to convert to; otherwise integer and
    boolean inputs become float64 and floating inputs keep their dtype.
    ``non_numeric_hint`` ends the message for text entries (what to do instead).
    """
    if hasattr(X, "toarray") and not isinstance(X, np.ndarray):
        raise TypeError(
            f"{name} must be a dense array; received a sparse {type(X).__name__}"
        )
    try:
        array = np.asarray(X)
    except (TypeError, ValueError, OverflowError) as error:
        raise ValueError(f"{name} could not be read as an array: {error}") from None
    if array.dtype == object or array.dtype.kind in "USV":
        try:
            array = array.astype(np.float64)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(
                f"{name} must be numeric; received an array of dtype {array.dtype} "
                f"with non-numeric entries{non_numeric_hint}"
            ) from None
    if array.dtype.kind == "c":
        raise ValueError(
            f"{name} must be real-valued; received complex dtype {array.dtype}"
        )
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric; received dtype {array.dtype}")
    allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if array.ndim not in allowed:
        wanted = " or ".join(f"{d}-D" for d in allowed)
        hint = ""
        if array.ndim == 1 and 2 in allowed:
            hint = (
                " (reshape with X.reshape(-1, 1) for one feature or "
                "X.reshape(1, -1) for one example)"
            )
        raise ValueError(
            f"{name} must be {wanted}; received a {array.ndim}-D array of shape "
            f"{array.shape}{hint}"
        )
    if not allow_empty and array.size == 0:
        raise ValueError(f"{name} is empty; received an array of shape {array.shape}")
    if dtype is not None:
        array = array.astype(dtype, copy=False)
    elif array.dtype.kind in "biu" or array.dtype == np.float16:
        array = array.astype(np.float64)
    bad = None if allow_nonfinite or not array.size else first_nonfinite(array)
    if bad is not None:
        raise ValueError(
            f"{name} contains NaN or infinity (first at index {bad}: {array[bad]}); "
            "clean or impute the data first"
        )
    return array


def first_nonfinite(array: np.ndarray) -> tuple[int, ...] | None:
    """The index of the first NaN or infinite element of ``array``, or None (one
    pass, a sum, when every element is finite)."""
    if all_finite(array):
        return None
    return tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])


def check_consistent_length(*arrays, names: Iterable[str] = ()) -> int:
    """Check that every array has the same number of rows; return it."""
    names = list(names) or [f"array {i}" for i in range(len(arrays))]
    lengths = [len(a) for a in arrays]
    if len(set(lengths)) > 1:
        pairs = zip(names, lengths, strict=True)
        described = ", ".join(f"{n} has {k}" for n, k in pairs)
        raise ValueError(
            f"{' and '.join(names)} must have the same number of examples (rows); "
            f"received {described}"
        )
    return lengths[0]


def check_X_y(X, y, *, dtype=None, y_ndim=(1, 2), y_allow_nan=False):
    """Validate rows ``X (m, n)`` and targets ``y (m,)`` or ``(m, k)``."""
    X = check_array(X, name="X", ndim=2, dtype=dtype)
    if y is None:
        raise ValueError("y is required; received y=None")
    y = check_array(y, name="y", ndim=y_ndim, allow_nonfinite=y_allow_nan)
    check_consistent_length(X, y, names=("X", "y"))
    return X, y


def check_in_range(
    name: str,
    value,
    low=None,
    high=None,
    *,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
    integer: bool = False,
):
    """Check that a scalar hyperparameter lies in an interval; return it unchanged."""
    kind = "an integer" if integer else "a number"
    ok_type = isinstance(value, numbers.Integral if integer else numbers.Real)
    if not ok_type or isinstance(value, bool):
        raise TypeError(f"{name} must be {kind}; received {name}={value!r}")
    if not integer and not np.isfinite(value):
        raise ValueError(f"{name} must be finite; received {name}={value!r}")
    below = low is not None and (value < low if low_inclusive else value <= low)
    above = high is not None and (value > high if high_inclusive else value >= high)
    if below or above:
        left = ("[" if low_inclusive else "(") if low is not None else "("
        right = ("]" if high_inclusive else ")") if high is not None else ")"
        low_text = "-inf" if low is None else f"{low:g}"
        high_text = "inf" if high is None else f"{high:g}"
        raise ValueError(
            f"{name} must be in {left}{low_text}, {high_text}{right}; "
            f"received {name}={value!r}"
        )
    return int(value) if integer else float(value)


def check_positive_int(name: str, value) -> int:
    """Check an integer >= 1."""
    return int(check_in_range(name, value, 1, None, integer=True))


def check_choice(name: str, value, allowed: Iterable):
    """Check that ``value`` is one of ``allowed``."""
    allowed = list(allowed)
    if value not in allowed:
        raise ValueError(
            f"unknown {name} {value!r}; allowed: {', '.join(map(repr, allowed))}"
        )
    return value
