"""Clustering scores: the silhouette (chunked, bounded memory) and adjusted Rand.

Re-exported by :mod:`glassnet.cluster`.
"""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp

from glassnet.backend import RandomLike, permutation, resolve_rng
from glassnet.cluster._distances import _row_chunks, _row_norms_sq, _squared_distances
from glassnet.validation import check_array, check_consistent_length, check_in_range

__all__ = ["silhouette_score", "silhouette_samples", "adjusted_rand_score"]


def _check_labels(labels, name: str) -> np.ndarray:
    """A 1-D array of cluster labels of any kind (ints, strings, ...), no NaN."""
    array = np.asarray(labels)
    if array.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D (one label per example); received a {array.ndim}-D "
            f"array of shape {array.shape}"
        )
    if array.dtype.kind == "f" and np.isnan(array).any():
        raise ValueError(f"{name} contains NaN; every example needs a label")
    return array


def silhouette_samples(X, labels) -> np.ndarray:
    """Silhouette coefficient of each example: ``s_i = (b_i - a_i) / max(a_i, b_i)``.

    ``a_i`` is the mean Euclidean distance from ``x_i`` to the other members of its
    cluster, ``b_i`` the smallest mean distance to the members of another cluster.
    ``s_i = 0`` for an example alone in its cluster. ``X (m, n)``, ``labels (m,)``
    (any kind of label) with between 2 and ``m - 1`` distinct values. Distances are
    computed in row chunks of at most ``2**22`` entries, so memory stays bounded.
    """
    X = check_array(X, name="X", ndim=2, dtype=np.float64)
    labels = _check_labels(labels, "labels")
    check_consistent_length(X, labels, names=("X", "labels"))
    m = X.shape[0]
    _, y = np.unique(labels, return_inverse=True)
    y = y.reshape(-1)
    n_labels = int(y.max()) + 1
    if not 2 <= n_labels <= m - 1:
        raise ValueError(
            f"the silhouette needs between 2 and m - 1 = {m - 1} distinct labels; "
            f"received {n_labels} distinct labels for m={m} examples"
        )
    counts = np.bincount(y, minlength=n_labels)
    # Sparse indicator (m, K): distance rows times it give per-cluster sums.
    indicator = sp.csr_matrix(
        (np.ones(m), (np.arange(m), y)), shape=(m, n_labels)
    ).T.tocsr()
    Xc = X - X.mean(axis=0)
    x_sq = _row_norms_sq(Xc)
    a = np.empty(m)
    b = np.empty(m)
    for rows in _row_chunks(m, m):
        D = _squared_distances(Xc[rows], Xc, x_sq[rows], x_sq)
        np.sqrt(D, out=D)
        local = np.arange(D.shape[0])
        D[local, local + rows.start] = 0.0  # exact zero self-distance
        sums = np.asarray(indicator @ D.T).T  # (chunk, K)
        own = y[rows]
        own_size = counts[own]
        with np.errstate(divide="ignore", invalid="ignore"):
            a[rows] = sums[local, own] / np.maximum(own_size - 1, 1)
        means = sums / counts[None, :]
        means[local, own] = np.inf
        b[rows] = means.min(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = (b - a) / np.maximum(a, b)
    s[counts[y] == 1] = 0.0
    return np.nan_to_num(s)


def silhouette_score(
    X, labels, *, sample_size: int | None = None, rng: RandomLike = None
) -> float:
    """Mean silhouette coefficient over examples (see :func:`silhouette_samples`).

    With ``sample_size``, the score is computed on that many examples drawn without
    replacement (``rng.permutation(m)[:sample_size]``; a ``RandomState`` draws the
    same subset as scikit-learn's ``random_state``). Ranges from -1 (wrong clusters)
    to 1 (dense, well-separated clusters).
    """
    X = check_array(X, name="X", ndim=2, dtype=np.float64)
    labels = _check_labels(labels, "labels")
    m = check_consistent_length(X, labels, names=("X", "labels"))
    if sample_size is not None:
        if not isinstance(sample_size, numbers.Integral) or isinstance(
            sample_size, bool
        ):
            raise TypeError(
                f"sample_size must be an integer or None; received "
                f"sample_size={sample_size!r}"
            )
        sample_size = int(check_in_range("sample_size", sample_size, 2, m))
        chosen = permutation(resolve_rng(rng), m)[:sample_size]
        X, labels = X[chosen], labels[chosen]
    return float(np.mean(silhouette_samples(X, labels)))


def adjusted_rand_score(labels_true, labels_pred) -> float:
    """Rand index adjusted for chance, from the contingency table ``n_ij``.

    ``ARI = (sum_ij C(n_ij, 2) - E) / (0.5 (sum_i C(a_i, 2) + sum_j C(b_j, 2)) - E)``
    with ``E = sum_i C(a_i, 2) sum_j C(b_j, 2) / C(m, 2)``, ``a`` and ``b`` the
    row and column sums. 1 for identical partitions (up to renaming), about 0 for
    random ones, and it can be negative. Labels of any kind, both ``(m,)``.
    """
    labels_true = _check_labels(labels_true, "labels_true")
    labels_pred = _check_labels(labels_pred, "labels_pred")
    check_consistent_length(
        labels_true, labels_pred, names=("labels_true", "labels_pred")
    )
    if labels_true.size == 0:
        return 1.0
    _, true_ids = np.unique(labels_true, return_inverse=True)
    pred_ids, pred_inverse = np.unique(labels_pred, return_inverse=True)
    true_ids = true_ids.reshape(-1).astype(np.int64)
    pred_inverse = pred_inverse.reshape(-1).astype(np.int64)
    # Nonzero cells of the contingency table, without building the dense table.
    _, n_ij = np.unique(true_ids * len(pred_ids) + pred_inverse, return_counts=True)
    a = np.bincount(true_ids)
    b = np.bincount(pred_inverse)

    def pairs(counts) -> int:
        counts = counts.astype(np.int64)
        return int(np.sum(counts * (counts - 1) // 2))

    index = pairs(n_ij)
    pairs_true, pairs_pred = pairs(a), pairs(b)
    m = labels_true.size
    total = m * (m - 1) // 2
    # Work in exact integers: ARI = (total*index - pt*pp) / (total*(pt+pp)/2 - pt*pp)
    numerator = total * index - pairs_true * pairs_pred
    denominator = total * (pairs_true + pairs_pred) - 2 * pairs_true * pairs_pred
    if denominator == 0:
        return 1.0
    return float(2 * numerator / denominator)
