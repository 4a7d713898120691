"""Optional compiled optimizer updates (``pip install glassnet[fast]`` adds numba).

Each kernel is the optimizer's update written as one loop over the flat parameter
buffer, with the same floating-point operations in the same order as the NumPy
``_step`` (no fast-math, so no contracted multiply-adds): the results are bitwise
equal (``tests/test_optimizers.py`` checks it). The loop runs on all cores
(``numba.prange``; ``NUMBA_NUM_THREADS`` limits it) in one pass over memory instead
of a dozen NumPy passes, on numba's "workqueue" thread pool unless
``NUMBA_THREADING_LAYER`` says otherwise. Without numba, or with
``GLASSNET_NO_NUMBA=1``, the NumPy path runs; small buffers (below ``MIN_SIZE``)
always take it, since starting the threads costs more than the work.
"""

from __future__ import annotations

import os

MIN_SIZE = 65536

try:  # an optional dependency
    if os.environ.get("GLASSNET_NO_NUMBA"):
        raise ImportError("disabled by GLASSNET_NO_NUMBA")
    import numba

    if "NUMBA_THREADING_LAYER" not in os.environ:
        # numba's own thread pool: OpenMP's spin-waiting threads fight OpenBLAS's
        # for the cores between the matrix products (measured 3x slower steps)
        numba.config.THREADING_LAYER = "workqueue"
except ImportError:
    numba = None

AVAILABLE = numba is not None

if AVAILABLE:
    import numpy as np

    _jit = numba.njit(parallel=True, fastmath=False, cache=True, nogil=True)

    @_jit
    def gradient_descent(W, dW, alpha):  # pragma: no cover - compiled
        for i in numba.prange(W.size):
            W[i] = W[i] - dW[i] * alpha

    @_jit
    def momentum(W, dW, v, beta, c, alpha):  # pragma: no cover - compiled
        for i in numba.prange(W.size):
            vi = v[i] * beta + dW[i] * c
            v[i] = vi
            W[i] = W[i] - vi * alpha

    @_jit
    def rmsprop(W, dW, s, beta2, c, alpha, eps):  # pragma: no cover - compiled
        for i in numba.prange(W.size):
            g = dW[i]
            si = s[i] * beta2 + (g * g) * c
            s[i] = si
            W[i] = W[i] - (g * alpha) / (np.sqrt(si) + eps)

    @_jit
    def adam(W, dW, v, s, beta1, c1, beta2, c2, k1, alpha, k2, eps):  # pragma: no cover
        for i in numba.prange(W.size):
            g = dW[i]
            vi = v[i] * beta1 + g * c1
            si = s[i] * beta2 + (g * g) * c2
            v[i] = vi
            s[i] = si
            W[i] = W[i] - ((vi / k1) * alpha) / (np.sqrt(si / k2) + eps)
