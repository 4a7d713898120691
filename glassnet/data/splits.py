"""Train / dev / test splits, the training-dev set and the mismatched-data split.

From the notes ("Structuring Machine Learning Projects"):

* small data (the "traditional" era, up to about 10^4-10^5 examples): train / dev /
  test = 60 / 20 / 20;
* big data (about 10^6 examples): 98 / 1 / 1, because 10,000 dev and 10,000 test
  examples are already enough to compare models and estimate the final error.

:func:`recommend_ratios` turns that into one rule: dev and test get
``min(0.2 * m, 10_000)`` examples each, training gets the rest. That is 60/20/20 up to
m = 50,000, 80/10/10 at 10^5, 98/1/1 at 10^6 and 99.8/0.1/0.1 at 10^7.

Dev and test must come from the same distribution, the one the system will meet.
When training data come from somewhere else (web pictures vs. the users' phone
pictures), :func:`mismatched_split` puts only target data in dev/test and carves a
*training-dev* set from the training distribution, so that the gaps

    training error -> training-dev error -> dev error

measure variance and data mismatch separately.

Every function takes ``rng`` (int seed, ``numpy.random.Generator`` or
``RandomState``) and returns new row-contiguous arrays; inputs are never changed.
"""

from __future__ import annotations

import numbers

import numpy as np

from glassnet.backend import permutation, resolve_rng
from glassnet.validation import check_consistent_length, check_in_range

__all__ = [
    "DEV_TEST_CAP",
    "recommend_ratios",
    "train_dev_test_split",
    "training_dev_split",
    "mismatched_split",
]

DEV_TEST_CAP = 10_000
SMALL_DATA_RATIOS = (0.6, 0.2, 0.2)


def recommend_ratios(m: int) -> tuple[float, float, float]:
    """Train/dev/test fractions for ``m`` examples (the notes' rule of thumb).

    ``n_dev = n_test = min(0.2 m, 10_000)``, ``n_train = m - n_dev - n_test``:
    60/20/20 for m <= 50,000, 98/1/1 at m = 10^6, smaller dev/test fractions beyond.
    """
    m = check_in_range("m", m, 1, None, integer=True)
    dev = min(SMALL_DATA_RATIOS[1], DEV_TEST_CAP / m)
    return (1.0 - 2 * dev, dev, dev)


def _check_ratios(ratios) -> tuple[float, float, float]:
    try:
        values = tuple(ratios)
    except TypeError:
        values = None
    if values is None or len(values) != 3:
        raise ValueError(
            "ratios must be three fractions (train, dev, test) such as "
            f"(0.6, 0.2, 0.2); received ratios={ratios!r}"
        )
    for name, value in zip(("train", "dev", "test"), values, strict=True):
        if not isinstance(value, numbers.Real) or isinstance(value, bool):
            raise TypeError(f"{name} ratio must be a number; received {value!r}")
        if not np.isfinite(value) or value < 0:
            raise ValueError(
                f"each ratio must be >= 0; received {name} ratio {value!r} in "
                f"ratios={ratios!r}"
            )
    if abs(sum(values) - 1.0) > 1e-6:
        raise ValueError(
            f"ratios must sum to 1; received ratios={ratios!r} (sum {sum(values):g})"
        )
    return tuple(float(v) for v in values)


def _rows(X, y):
    X = np.asarray(X)
    y = np.asarray(y)
    for name, array in (("X", X), ("y", y)):
        if array.ndim == 0:
            raise ValueError(f"{name} must have one row per example; received a scalar")
    check_consistent_length(X, y, names=("X", "y"))
    return X, y


def _counts(m: int, ratios) -> tuple[int, int, int]:
    n_dev = int(round(ratios[1] * m))
    n_test = int(round(ratios[2] * m))
    if n_dev + n_test > m:
        n_test = m - n_dev
    return m - n_dev - n_test, n_dev, n_test


def _strata(y: np.ndarray) -> np.ndarray:
    """Class code per row; one-hot / multi-label rows are strata by their pattern."""
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim == 1:
        if y.dtype.kind == "f" and (
            not np.isfinite(y).all() or (y != np.round(y)).any()
        ):
            raise ValueError(
                "stratify=True needs class labels; y holds non-integer values "
                "(regression targets cannot be stratified)"
            )
        return np.unique(y, return_inverse=True)[1].ravel()
    return np.unique(y, axis=0, return_inverse=True)[1].ravel()


def _augment(B, allowed, remainder, start, load, caps) -> bool:
    """Give class ``start`` one more row in some split, moving other classes'
    round-ups between splits along an augmenting path if needed."""
    n_splits = B.shape[1]
    direct = [
        s
        for s in range(n_splits)
        if allowed[start, s] and not B[start, s] and load[s] < caps[s]
    ]
    if direct:  # the common case: a split still has room
        s = max(direct, key=lambda k: remainder[start, k])
        B[start, s] = 1
        load[s] += 1
        return True
    parent = {}
    queue = []
    for s in range(n_splits):
        if allowed[start, s] and not B[start, s]:
            parent[s] = (None, start)
            queue.append(s)
    while queue:
        s = queue.pop(0)
        if load[s] < caps[s]:
            load[s] += 1
            while True:  # class c moves its round-up from `previous` to s
                previous, c = parent[s]
                B[c, s] = 1
                if previous is None:
                    return True
                B[c, previous] = 0
                s = previous
        for c in np.flatnonzero(B[:, s]):
            for s2 in range(n_splits):
                if s2 not in parent and allowed[c, s2] and not B[c, s2]:
                    parent[s2] = (s, c)
                    queue.append(s2)
    return False


def _round_table(shares: np.ndarray, row_totals, col_totals) -> np.ndarray:
    """Round a (classes, splits) table of shares to integers, each entry the floor or
    ceiling of its share, keeping every class total and every split size exact.

    Such a rounding exists because all row and column sums are integers; it is found
    as a flow: floors first, then one round-up per missing unit, routed along
    augmenting paths.
    """
    floor = np.floor(shares + 1e-9).astype(np.int64)
    remainder = shares - floor
    need_row = np.asarray(row_totals, dtype=np.int64) - floor.sum(axis=1)
    caps = np.asarray(col_totals, dtype=np.int64) - floor.sum(axis=0)
    for allowed in (remainder > 1e-9, np.ones_like(remainder, dtype=bool)):
        B = np.zeros_like(floor)
        load = np.zeros_like(caps)
        complete = all(
            _augment(B, allowed, remainder, c, load, caps)
            for c in np.flatnonzero(need_row > 0)
            for _ in range(int(need_row[c]))
        )
        if complete:
            return floor + B
    raise RuntimeError("stratified split sizes could not be allocated")


def _split_indices(m, ratios, generator, strata):
    n_train, n_dev, n_test = _counts(m, ratios)
    if strata is None:
        order = permutation(generator, m)
        return (
            order[:n_train],
            order[n_train : n_train + n_dev],
            order[n_train + n_dev :],
        )
    by_class = np.argsort(strata, kind="stable")
    sizes = np.bincount(strata)
    sizes = sizes[sizes > 0]
    members = np.split(by_class, np.cumsum(sizes)[:-1])
    totals = np.array([n_train, n_dev, n_test])
    table = _round_table(sizes[:, None] * totals[None, :] / m, sizes, totals)
    parts = ([], [], [])
    for index, (_, k_dev, k_test) in zip(members, table, strict=True):
        shuffled = index[permutation(generator, len(index))]
        k_train = len(index) - k_dev - k_test
        parts[0].append(shuffled[:k_train])
        parts[1].append(shuffled[k_train : k_train + k_dev])
        parts[2].append(shuffled[k_train + k_dev :])
    result = []
    for chunks in parts:
        joined = np.concatenate(chunks)
        result.append(joined[permutation(generator, len(joined))])
    return tuple(result)


def train_dev_test_split(X, y, *, ratios=None, rng=None, stratify: bool = False):
    """Shuffle rows and cut them into train / dev / test sets.

    ``ratios = (train, dev, test)`` fractions, each >= 0, summing to 1; ``None``
    uses :func:`recommend_ratios` for ``m = len(X)``. Sizes are
    ``n_dev = round(dev m)``, ``n_test = round(test m)`` and the rest train.
    ``stratify=True`` keeps each class's share the same in all three sets (the
    sizes stay exactly as above). Every set is shuffled.

    Returns ``(X_train, X_dev, X_test, y_train, y_dev, y_test)``.
    """
    X, y = _rows(X, y)
    m = len(X)
    ratios = recommend_ratios(max(m, 1)) if ratios is None else _check_ratios(ratios)
    if not isinstance(stratify, bool):
        raise TypeError(f"stratify must be True or False; received {stratify!r}")
    generator = resolve_rng(rng)
    strata = _strata(y) if stratify else None
    train, dev, test = _split_indices(m, ratios, generator, strata)
    return X[train], X[dev], X[test], y[train], y[dev], y[test]


def _count_from_size(size, m: int, name: str) -> int:
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        return int(check_in_range(name, size, 0, m, integer=True))
    if isinstance(size, numbers.Real) and not isinstance(size, bool):
        check_in_range(name, size, 0, 1)
        return int(round(size * m))
    raise TypeError(
        f"{name} must be a fraction in [0, 1] or a number of examples; received "
        f"{name}={size!r}"
    )


def training_dev_split(X_train, y_train, *, size=0.1, rng=None, stratify=False):
    """Hold out a *training-dev* set: same distribution as training, not trained on.

    ``size`` is a fraction of the training rows (default 0.1) or a number of rows.
    Its error sits between training error (the gap is variance) and dev error (the
    gap is data mismatch). Returns ``(X_train, X_train_dev, y_train, y_train_dev)``.
    """
    X_train, y_train = _rows(X_train, y_train)
    m = len(X_train)
    n = _count_from_size(size, m, "size")
    fraction = n / m if m else 0.0
    X_a, X_b, _, y_a, y_b, _ = train_dev_test_split(
        X_train,
        y_train,
        ratios=(1.0 - fraction, fraction, 0.0),
        rng=rng,
        stratify=stratify,
    )
    return X_a, X_b, y_a, y_b


def mismatched_split(
    X_source,
    y_source,
    X_target,
    y_target,
    *,
    rng=None,
    target_in_train=0,
    train_dev_size=None,
):
    """Splits for training data that differ from the data the system will serve.

    Dev and test come only from the *target* distribution (the data you care
    about), half and half. ``target_in_train`` target examples (a count, or a
    fraction of the target rows) go to training first; training is then all
    ``source`` rows plus those. A *training-dev* set of ``train_dev_size`` rows
    (count or fraction of the training rows; default: as many as the dev set, at
    most half the training rows) is carved from the shuffled training rows.

    The notes' example: 200,000 web pictures (source) and 10,000 phone pictures
    (target) with ``target_in_train=5000`` give train = 200,000 web + 5,000 phone,
    dev = 2,500 phone, test = 2,500 phone (minus the training-dev rows from train).

    Returns ``{"train": (X, y), "train_dev": (X, y), "dev": (X, y), "test": (X, y)}``.
    """
    X_source, y_source = _rows(X_source, y_source)
    X_target, y_target = _rows(X_target, y_target)
    if X_source.shape[1:] != X_target.shape[1:]:
        raise ValueError(
            f"source and target examples must have the same shape; received "
            f"{X_source.shape[1:]} and {X_target.shape[1:]}"
        )
    if y_source.shape[1:] != y_target.shape[1:]:
        raise ValueError(
            f"y_source and y_target must have the same per-example shape; received "
            f"{y_source.shape[1:]} and {y_target.shape[1:]}"
        )
    generator = resolve_rng(rng)
    m_target = len(X_target)
    n_to_train = _count_from_size(target_in_train, m_target, "target_in_train")
    order = permutation(generator, m_target)
    to_train, held = order[:n_to_train], order[n_to_train:]
    n_dev = (len(held) + 1) // 2
    dev, test = held[:n_dev], held[n_dev:]
    X_pool = np.concatenate([X_source, X_target[to_train]])
    y_pool = np.concatenate([y_source, y_target[to_train]])
    m_pool = len(X_pool)
    if train_dev_size is None:
        n_train_dev = min(len(dev), m_pool // 2)
    else:
        n_train_dev = _count_from_size(train_dev_size, m_pool, "train_dev_size")
    shuffled = permutation(generator, m_pool)
    train_dev, train = shuffled[:n_train_dev], shuffled[n_train_dev:]
    return {
        "train": (X_pool[train], y_pool[train]),
        "train_dev": (X_pool[train_dev], y_pool[train_dev]),
        "dev": (X_target[dev], y_target[dev]),
        "test": (X_target[test], y_target[test]),
    }
