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

import importlib.util
import os

MIN_SIZE = 65536


def _numba_installed() -> bool:
    if os.environ.get("GLASSNET_NO_NUMBA"):
        return False
    return importlib.util.find_spec("numba") is not None


#: whether the compiled kernels can be used (numba installed and not disabled);
#: numba itself is imported only when a kernel first runs
AVAILABLE = _numba_installed()
_compiled = None


def __getattr__(name):
    """The kernels (gradient_descent, momentum, rmsprop, adam), compiled lazily."""
    global _compiled
    if name not in ("gradient_descent", "momentum", "rmsprop", "adam"):
        raise AttributeError(name)
    if _compiled is None:
        _compiled = _compile()
    return _compiled[name]


def _compile() -> dict:
    import numba
    import numpy as np

    if "NUMBA_THREADING_LAYER" not in os.environ:
        # numba's own thread pool: OpenMP's spin-waiting threads fight OpenBLAS's
        # for the cores between the matrix products (measured 3x slower steps)
        numba.config.THREADING_LAYER = "workqueue"
    jit = numba.njit(parallel=True, fastmath=False, cache=True, nogil=True)

    @jit
    def gradient_descent(W, dW, alpha):  # pragma: no cover - compiled
        for i in numba.prange(W.size):
            W[i] = W[i] - dW[i] * alpha

    @jit
    def momentum(W, dW, v, beta, c, alpha):  # pragma: no cover - compiled
        for i in numba.prange(W.size):
            vi = v[i] * beta + dW[i] * c
            v[i] = vi
            W[i] = W[i] - vi * alpha

    @jit
    def rmsprop(W, dW, s, beta2, c, alpha, eps):  # pragma: no cover - compiled
        for i in numba.prange(W.size):
            g = dW[i]
            si = s[i] * beta2 + (g * g) * c
            s[i] = si
            W[i] = W[i] - (g * alpha) / (np.sqrt(si) + eps)

    @jit
    def adam(W, dW, v, s, beta1, c1, beta2, c2, k1, alpha, k2, eps):  # pragma: no cover
        for i in numba.prange(W.size):
            g = dW[i]
            vi = v[i] * beta1 + g * c1
            si = s[i] * beta2 + (g * g) * c2
            v[i] = vi
            s[i] = si
            W[i] = W[i] - ((vi / k1) * alpha) / (np.sqrt(si / k2) + eps)

    return {
        "gradient_descent": gradient_descent,
        "momentum": momentum,
        "rmsprop": rmsprop,
        "adam": adam,
    }
