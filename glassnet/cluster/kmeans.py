"""k-means clustering: k-means++ seeding and vectorised Lloyd iterations, in NumPy.

Minimises the inertia ``J = sum_i ||x_i - mu_{c_i}||^2`` over examples ``X (m, n)``
(rows are examples). :class:`KMeans` and :func:`kmeans_plusplus` are re-exported by
:mod:`glassnet.cluster`.
"""

from __future__ import annotations

import contextlib

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from glassnet.backend import RandomLike, permutation, resolve_rng, uniform
from glassnet.cluster._distances import _row_chunks, _row_norms_sq, _squared_distances
from glassnet.validation import (
    check_array,
    check_choice,
    check_in_range,
    check_positive_int,
)

__all__ = ["KMeans", "kmeans_plusplus"]

INIT_METHODS = ("k-means++", "random")

# Below this many multiply-adds per assignment step (m * n * k), BLAS runs on one
# thread: waking threads costs more than the product, and much more when the
# cores are busy (e.g. several fits running in parallel in a search).
_SMALL_WORK = 2**23


# --------------------------------------------------------------------------- helpers


def _blas_threads(work: int):
    """Context limiting BLAS to one thread when ``work`` is small, else a no-op."""
    if work < _SMALL_WORK:
        return threadpool_limits(limits=1, user_api="blas")
    return contextlib.nullcontext()


def _random_index(rng, m: int) -> int:
    """One index drawn uniformly from ``range(m)`` with either kind of generator."""
    return min(int(uniform(rng, (1,))[0] * m), m - 1)


def _assign(X, centers, x_sq):
    """Closest center of each row and the squared distance to it: ``(m,)``, ``(m,)``."""
    m = X.shape[0]
    c_sq = _row_norms_sq(centers)
    labels = np.empty(m, dtype=np.intp)
    min_sq = np.empty(m, dtype=X.dtype)
    for rows in _row_chunks(m, len(centers)):
        D = X[rows] @ centers.T
        D *= -2
        D += c_sq[None, :]
        best = np.argmin(D, axis=1)
        labels[rows] = best
        min_sq[rows] = D[np.arange(len(best)), best] + x_sq[rows]
    np.maximum(min_sq, 0, out=min_sq)
    return labels, min_sq


def _cluster_sums(X, labels, counts) -> np.ndarray:
    """Sum of the rows of each cluster, ``(k, n)``, via a sparse indicator product."""
    k, m = len(counts), X.shape[0]
    indptr = np.concatenate(([0], np.cumsum(counts)))
    order = np.argsort(labels, kind="stable")
    S = sp.csr_matrix((np.ones(m, dtype=X.dtype), order, indptr), shape=(k, m))
    return np.asarray(S @ X)


def _update_centers(X, labels, min_sq, centers) -> np.ndarray:
    """M-step: means of the clusters; an empty cluster takes a farthest example."""
    k = len(centers)
    counts = np.bincount(labels, minlength=k)
    sums = _cluster_sums(X, labels, counts)
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        # Re-seed each empty cluster with one of the examples farthest from their
        # current center, moving that example out of its old cluster's mean.
        farthest = np.argsort(min_sq, kind="stable")[::-1][: empty.size]
        for j, i in zip(empty, farthest, strict=True):
            old = labels[i]
            sums[old] -= X[i]
            counts[old] -= 1
            sums[j] = X[i]
            counts[j] = 1
    new_centers = centers.copy()
    filled = counts > 0
    new_centers[filled] = sums[filled] / counts[filled, None]
    return new_centers


def _lloyd(X, centers, x_sq, max_iter: int, tol: float):
    """Lloyd's algorithm from ``centers``; return ``(centers, n_iter)``.

    Stops when the labels no longer change or when the squared shift of the centers,
    ``sum_j ||mu_j^new - mu_j||^2``, is at most ``tol``.
    """
    labels_old = None
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        labels, min_sq = _assign(X, centers, x_sq)
        new_centers = _update_centers(X, labels, min_sq, centers)
        if labels_old is not None and np.array_equal(labels, labels_old):
            centers = new_centers
            break
        shift = float(np.sum((new_centers - centers) ** 2))
        centers = new_centers
        labels_old = labels
        if shift <= tol:
            break
    return centers, n_iter


def _kmeans_plusplus(X, k: int, x_sq, rng, n_local_trials: int):
    """Greedy k-means++ on already-validated data; return ``(centers, indices)``."""
    m = X.shape[0]
    centers = np.empty((k, X.shape[1]), dtype=X.dtype)
    indices = np.empty(k, dtype=np.intp)
    first = _random_index(rng, m)
    centers[0], indices[0] = X[first], first
    closest = _squared_distances(X[[first]], X, x_sq[[first]], x_sq)[0]
    potential = float(closest.sum(dtype=np.float64))
    for c in range(1, k):
        # Sample candidates with probability D(x)^2 / sum D^2, keep the one that
        # lowers the potential sum_i min(D(x_i)^2, ||x_i - candidate||^2) most.
        targets = uniform(rng, (n_local_trials,)) * potential
        cumulative = np.cumsum(closest, dtype=np.float64)
        candidates = np.searchsorted(cumulative, targets)
        np.minimum(candidates, m - 1, out=candidates)
        D = _squared_distances(X[candidates], X, x_sq[candidates], x_sq)
        np.minimum(closest, D, out=D)
        potentials = D.sum(axis=1, dtype=np.float64)
        best = int(np.argmin(potentials))
        potential = float(potentials[best])
        closest = D[best]
        centers[c], indices[c] = X[candidates[best]], candidates[best]
    return centers, indices


def _check_data(X, name: str = "X") -> np.ndarray:
    """Rows-are-examples float array (float32 stays float32, the rest float64)."""
    X = check_array(X, name=name, ndim=2)
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    return X


def _check_n_clusters(n_clusters, m: int) -> int:
    """``1 <= n_clusters <= m``, with a message naming both numbers."""
    k = check_positive_int("n_clusters", n_clusters)
    if k > m:
        raise ValueError(
            f"n_clusters={k} is larger than the number of examples m={m}; "
            f"use n_clusters <= {m}"
        )
    return k


# ---------------------------------------------------------------------------- KMeans


def kmeans_plusplus(
    X, n_clusters: int, *, n_local_trials: int | None = None, rng: RandomLike = None
):
    """Greedy k-means++ seeding; return ``(centers (k, n), indices (k,))``.

    The first center is an example drawn uniformly; each next one is the best of
    ``n_local_trials`` candidates drawn with probability ``D(x)^2 / sum_x D(x)^2``
    (``D(x)`` the distance to the closest center chosen so far), "best" meaning the
    lowest potential ``sum_i min(D(x_i)^2, ||x_i - candidate||^2)``.
    ``n_local_trials=None`` uses ``2 + floor(log k)`` as scikit-learn does;
    ``n_local_trials=1`` is plain k-means++. ``centers == X[indices]``.
    """
    X = _check_data(X)
    k = _check_n_clusters(n_clusters, X.shape[0])
    if n_local_trials is None:
        n_local_trials = 2 + int(np.log(k))
    n_local_trials = check_positive_int("n_local_trials", n_local_trials)
    generator = resolve_rng(rng)
    mean = X.mean(axis=0)
    Xc = X - mean
    with _blas_threads(X.size * n_local_trials):
        centers, indices = _kmeans_plusplus(
            Xc, k, _row_norms_sq(Xc), generator, n_local_trials
        )
    return centers + mean, indices


class KMeans:
    """k-means clustering with k-means++ seeding and Lloyd iterations.

    Minimises the inertia ``J = sum_i ||x_i - mu_{c_i}||^2`` over examples
    ``X (m, n)`` (rows are examples). Each of ``n_init`` runs seeds ``k`` centers
    (``init="k-means++"``: greedy k-means++, see :func:`kmeans_plusplus`;
    ``init="random"``: ``k`` distinct examples drawn uniformly; or an array
    ``(k, n)`` of starting centers, used for a single run) and then alternates

    - assignment: ``c_i = argmin_j ||x_i - mu_j||^2``, computed for all pairs at once
      as ``||x||^2 - 2 x.mu + ||mu||^2`` (one BLAS product);
    - update: ``mu_j = mean of {x_i : c_i = j}``; a cluster left empty is re-seeded
      with the example farthest from its center,

    until the labels stop changing, the squared center shift
    ``sum_j ||mu_j^new - mu_j||^2`` falls to ``tolerance * mean_feature_variance(X)``
    or ``max_iter`` iterations have run. The run with the lowest inertia is kept.

    To cluster what a trained network learned, fit on its hidden-layer activations:
    ``KMeans(10).fit(model.embed(X, layer=...))``.

    Hyperparameters are plain attributes, stored as given and validated in ``fit``;
    ``get_params`` / ``set_params`` read and write them.

    Attributes (after ``fit``): ``cluster_centers_ (k, n)``, ``labels_ (m,)``,
    ``inertia_`` (float), ``n_iter_`` (iterations of the kept run),
    ``n_features_in_``.

    ``rng`` (int, Generator or RandomState) drives the seeding; an int seed gives the
    same result on every ``fit``, a generator continues its stream.
    """

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        init="k-means++",
        n_init: int = 10,
        max_iter: int = 300,
        tolerance: float = 1e-4,
        rng: RandomLike = None,
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tolerance = tolerance
        self.rng = rng

    # -- parameters ---------------------------------------------------------------

    _PARAM_NAMES = ("n_clusters", "init", "n_init", "max_iter", "tolerance", "rng")

    def get_params(self, deep: bool = True) -> dict:
        """The hyperparameters as a dict (scikit-learn style)."""
        return {name: getattr(self, name) for name in self._PARAM_NAMES}

    def set_params(self, **params) -> KMeans:
        """Set hyperparameters by name; unknown names raise ``ValueError``."""
        for name, value in params.items():
            if name not in self._PARAM_NAMES:
                raise ValueError(
                    f"unknown parameter {name!r} for KMeans; allowed: "
                    f"{', '.join(self._PARAM_NAMES)}"
                )
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"KMeans({shown})"

    # -- fitting ------------------------------------------------------------------

    def _validated_init(self, n_features: int, k: int):
        """The init method name, or an explicit ``(k, n)`` array of centers."""
        init = self.init
        if isinstance(init, str):
            return check_choice("init", init, INIT_METHODS)
        centers = check_array(init, name="init", ndim=2)
        if centers.shape != (k, n_features):
            raise ValueError(
                f"init array must have shape (n_clusters, n_features) = "
                f"({k}, {n_features}); received shape {centers.shape}"
            )
        return centers

    def fit(self, X, y=None) -> KMeans:
        """Cluster the rows of ``X (m, n)``; ``y`` is ignored. Return ``self``."""
        X = _check_data(X)
        m, n = X.shape
        k = _check_n_clusters(self.n_clusters, m)
        n_init = check_positive_int("n_init", self.n_init)
        max_iter = check_positive_int("max_iter", self.max_iter)
        tolerance = check_in_range("tolerance", self.tolerance, 0, None)
        init = self._validated_init(n, k)
        generator = resolve_rng(self.rng)

        # Centering costs one pass and keeps ||x||^2 - 2 x.c + ||c||^2 accurate.
        mean = X.mean(axis=0)
        Xc = X - mean
        x_sq = _row_norms_sq(Xc)
        tol = float(np.mean(np.var(X, axis=0))) * tolerance
        n_local_trials = 2 + int(np.log(k))

        runs = 1 if isinstance(init, np.ndarray) else n_init
        best = None
        with _blas_threads(X.size * max(k, n_local_trials)):
            for _ in range(runs):
                if isinstance(init, np.ndarray):
                    start = init.astype(X.dtype) - mean
                elif init == "k-means++":
                    start, _ = _kmeans_plusplus(Xc, k, x_sq, generator, n_local_trials)
                else:
                    start = Xc[permutation(generator, m)[:k]]
                centers, n_iter = _lloyd(Xc, start, x_sq, max_iter, tol)
                _, min_sq = _assign(Xc, centers, x_sq)
                inertia = float(min_sq.sum(dtype=np.float64))
                if best is None or inertia < best[0]:
                    best = (inertia, centers, n_iter)

        _, centers, self.n_iter_ = best
        self.cluster_centers_ = centers + mean
        self.n_features_in_ = n
        # Final labels through the same path as predict, so predict(X) == labels_.
        self.labels_, min_sq = self._closest(X)
        self.inertia_ = float(min_sq.sum(dtype=np.float64))
        return self

    def fit_predict(self, X, y=None) -> np.ndarray:
        """Fit, then return ``labels_ (m,)``."""
        return self.fit(X).labels_

    # -- using a fitted model -------------------------------------------------------

    def _check_fitted_input(self, X) -> np.ndarray:
        if not hasattr(self, "cluster_centers_"):
            raise RuntimeError(
                "this KMeans instance is not fitted yet; call fit(X) before using it"
            )
        X = _check_data(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but KMeans was fitted with "
                f"{self.n_features_in_} features"
            )
        return X

    def _closest(self, X):
        """Labels and squared distances to the closest center, computed centered."""
        centers = self.cluster_centers_.astype(X.dtype, copy=False)
        shift = centers.mean(axis=0)
        Xc = X - shift
        return _assign(Xc, centers - shift, _row_norms_sq(Xc))

    def predict(self, X) -> np.ndarray:
        """Index of the closest center for each row of ``X (m, n)``: ``(m,)``."""
        X = self._check_fitted_input(X)
        return self._closest(X)[0]

    def transform(self, X) -> np.ndarray:
        """Euclidean distance from each row to each center: ``(m, k)``."""
        X = self._check_fitted_input(X)
        centers = self.cluster_centers_.astype(X.dtype, copy=False)
        shift = centers.mean(axis=0)
        Xc, C = X - shift, centers - shift
        D = _squared_distances(Xc, C, _row_norms_sq(Xc), _row_norms_sq(C))
        return np.sqrt(D, out=D)

    def fit_transform(self, X, y=None) -> np.ndarray:
        """Fit, then return distances to the centers ``(m, k)``."""
        return self.fit(X).transform(X)

    def score(self, X, y=None) -> float:
        """Negative inertia of ``X`` under the fitted centers (higher is better)."""
        X = self._check_fitted_input(X)
        return -float(self._closest(X)[1].sum(dtype=np.float64))
