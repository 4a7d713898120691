"""Pairwise squared distances computed in bounded row chunks (BLAS).

Shared by :mod:`glassnet.cluster.kmeans` and :mod:`glassnet.cluster.scores`. The
chunk size is ``glassnet.cluster._CHUNK_ENTRIES``, read at call time.
"""

from __future__ import annotations

import numpy as np

import glassnet.cluster as _package


def _row_chunks(m: int, width: int):
    """Yield ``slice`` objects covering ``range(m)`` so each block has bounded size."""
    step = max(1, _package._CHUNK_ENTRIES // max(1, width))
    for start in range(0, m, step):
        yield slice(start, min(start + step, m))


def _squared_distances(A, B, A_sq, B_sq) -> np.ndarray:
    """``||a||^2 - 2 a.b + ||b||^2`` for every pair of rows, clipped at 0 (BLAS)."""
    D = A @ B.T
    D *= -2
    D += A_sq[:, None]
    D += B_sq[None, :]
    np.maximum(D, 0, out=D)
    return D


def _row_norms_sq(X) -> np.ndarray:
    """Squared Euclidean norm of each row."""
    return np.einsum("ij,ij->i", X, X)
