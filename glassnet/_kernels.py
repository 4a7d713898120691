"""Optional compiled loops for the training fast path (``glassnet/_fastops.c``).

The extension is built when glassnet is installed on a machine with a C compiler.
Each function is the NumPy code it replaces written as one loop over contiguous
memory, with the same floating-point operations in the same order (no fused
multiply-adds), so the results are bitwise equal (``tests/test_fastops.py``,
``tests/test_optimizers.py``), vectorized::

    gradient_descent(W, dW, alpha)                  the optimizers' updates over
    momentum(W, dW, v, beta, c, alpha)              the flat parameter buffer
    rmsprop(W, dW, s, beta2, c, alpha, eps)         (see their classes for the
    adam(W, dW, v, s, beta1, c1, beta2, c2, k1, alpha, k2, eps)   equations)
    flush(a, tiny)            a = 0 where |a| < tiny, in place (NaN stays)
    bias_relu(Z, b)           Z = max(Z + b, 0), Z (n, m), b (n, 1), in place
    relu_backward(dA, A)      dA = dA * (A > 0), in place
    relu_backward_sum(dA, A, db)   the same, and db = sum(dA, axis=1) (NumPy's
                              pairwise summation) in the same pass
    gather_rows(X, index, out)   out = X[index] (rows), into a reusable buffer
    matmul(A, B, out, scale)  out = scale (A @ B) (float32 through NumPy's own
                              sgemm, split across glassnet's threads inside
                              ``parallel``; else np.matmul)

They run on the calling thread, except inside ``with parallel():`` (``fit`` on float32
NumPy data), where the loops and the float32 products share glassnet's own threads
(``glassnet/_pool.c``), as many as the user's BLAS limit, while BLAS itself is held to
one thread. Each element is computed as on one thread, so the bits do not depend on
the number of threads; a product's are those of ``np.matmul`` with one BLAS thread
(``tests/test_products.py``; docs/architecture.md, D22).

The loops' arrays must be C-contiguous, must not overlap, and share one dtype,
float32 or float64. Without the extension, or with ``GLASSNET_NO_COMPILED=1``,
``AVAILABLE`` is False and the callers run their NumPy code.
"""

from __future__ import annotations

import contextlib
import ctypes
import os

import numpy as np

try:
    if os.environ.get("GLASSNET_NO_COMPILED"):
        raise ImportError("disabled by GLASSNET_NO_COMPILED")
    from glassnet import _fastops
    from glassnet._fastops import (
        adam,
        bias_relu,
        flush,
        gradient_descent,
        momentum,
        relu_backward,
        relu_backward_sum,
        rmsprop,
    )
except ImportError:  # not built (no C compiler at install) or disabled
    adam = bias_relu = flush = gradient_descent = momentum = rmsprop = None
    relu_backward = relu_backward_sum = None
    _fastops = None

#: whether the compiled loops can be used
AVAILABLE = adam is not None

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def usable(*arrays) -> bool:
    """True when the compiled loops can take ``arrays``: NumPy, C-contiguous, one
    shape and one dtype (float32 or float64)."""
    if not AVAILABLE:
        return False
    first = arrays[0]
    if not isinstance(first, np.ndarray) or first.dtype not in _FLOATS:
        return False
    return all(
        isinstance(a, np.ndarray)
        and a.flags.c_contiguous
        and a.dtype == first.dtype
        and a.shape == first.shape
        for a in arrays
    )


_F32 = np.dtype(np.float32)
#: NumPy's OpenBLAS (threadpoolctl's controller of it): None until looked up, False
#: when there is none (another BLAS, or no sgemm symbol) and nothing is split
_openblas = None
#: the threads ``parallel`` shares; 1 outside it
_threads = 1
_SGEMM_SYMBOLS = (  # NumPy's wheels: prefixed names, 64-bit integers
    ("scipy_cblas_sgemm64_", True),
    ("cblas_sgemm64_", True),
    ("scipy_cblas_sgemm", False),
    ("cblas_sgemm", False),
)


def _numpy_openblas():
    """The OpenBLAS that NumPy calls, its ``cblas_sgemm`` handed to the extension
    (looked up once); False without one.

    Of the OpenBLAS libraries loaded (SciPy may bring its own), NumPy's is the one
    inside NumPy's installation when there is one (its wheels bundle it)."""
    global _openblas
    if _openblas is None:
        _openblas = False
        from threadpoolctl import ThreadpoolController

        libraries = ThreadpoolController().select(internal_api="openblas")
        site = os.path.dirname(os.path.dirname(np.__file__))

        def inside_numpy(library) -> bool:  # numpy.libs/ (Linux), numpy/.dylibs/
            top = os.path.relpath(library.filepath, site).split(os.sep)[0]
            return top in ("numpy", "numpy.libs")

        ranked = sorted(
            libraries.lib_controllers, key=lambda lib: not inside_numpy(lib)
        )
        for library in ranked:
            handle = ctypes.CDLL(library.filepath)
            for name, ilp64 in _SGEMM_SYMBOLS:
                function = getattr(handle, name, None)
                if function is not None:
                    address = ctypes.cast(function, ctypes.c_void_p).value
                    _fastops.set_sgemm(address, ilp64)
                    _openblas = library
                    return _openblas
    return _openblas


def _find_sgemm() -> bool:
    """Whether ``matmul`` can call NumPy's OpenBLAS sgemm directly."""
    return AVAILABLE and bool(_numpy_openblas())


def _cpus() -> int:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@contextlib.contextmanager
def parallel():
    """Share glassnet's threads between the compiled loops and float32 products.

    As many threads as the user's limit on NumPy's BLAS (threadpoolctl's
    ``num_threads``), but no more than the CPUs the process may use; BLAS is held to
    one thread meanwhile, so its idle workers do not spin on the cores these threads
    use, and given its limit back after. With one thread, without the extension, or
    without OpenBLAS, nothing changes."""
    global _threads
    library = _numpy_openblas() if AVAILABLE else False
    limit = library.num_threads if library else 1
    # no more threads than CPUs to run them: the workers spin between rounds, so
    # two on one CPU take turns at every round (4 threads on 2 CPUs: 2.7x slower)
    threads = min(limit, _cpus())
    if threads <= 1 or _threads > 1:
        yield
        return
    try:
        _fastops.set_threads(threads)
    except OSError:  # the system refused a thread: BLAS keeps its own
        _fastops.set_threads(1)
        yield
        return
    library.set_num_threads(1)
    _threads = threads
    try:
        yield
    finally:
        _threads = 1
        _fastops.set_threads(1)
        library.set_num_threads(limit)


def matmul(A, B, out, scale: float = 1.0):
    """out = scale (A @ B), with ``scale`` rounded to out's dtype as NumPy rounds a
    Python scalar; the bits of ``np.matmul(A, B, out=out); out *= scale``.

    float32 NumPy matrices (C- or F-contiguous, out C-contiguous and apart from
    both) go straight to NumPy's own OpenBLAS sgemm, split across glassnet's threads
    inside ``parallel``, with the scale applied to each band of out right after its
    product (one pass over out fewer); everything else is ``np.matmul``."""
    if (
        AVAILABLE
        and A.dtype == _F32
        and B.dtype == _F32
        and out.dtype == _F32
        and A.ndim == 2
        and B.ndim == 2
        and min(A.shape[0], A.shape[1], B.shape[1]) > 1
        and (A.flags.c_contiguous or A.flags.f_contiguous)
        and (B.flags.c_contiguous or B.flags.f_contiguous)
        and out.flags.c_contiguous
        and out.shape == (A.shape[0], B.shape[1])
        and not np.may_share_memory(out, A)
        and not np.may_share_memory(out, B)
        and _find_sgemm()
    ):
        _fastops.matmul(A, B, out, scale)
        return out
    np.matmul(A, B, out=out)
    if scale != 1.0:
        out *= scale
    return out


def gather_rows(X, index, out):
    """out = X[index] along the rows, written into ``out`` (k, n); ``index`` must be
    valid row numbers (IndexError otherwise). Compiled (and shared by the threads
    inside ``parallel``) for C-contiguous NumPy arrays, else ``np.take``."""
    if (
        AVAILABLE
        and X.ndim == 2
        and X.flags.c_contiguous
        and out.flags.c_contiguous
        and out.dtype == X.dtype
        and index.dtype == np.intp
        and index.flags.c_contiguous
    ):
        _fastops.gather_rows(X, index, out)
        return out
    # mode="clip" (the callers pass valid rows): "raise" with out= gathers through
    # a temporary, twice the time
    return np.take(X, index, axis=0, out=out, mode="clip")
