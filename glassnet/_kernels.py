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
``AVAILABLE`` is False, ``UNAVAILABLE_REASON`` says why, and the callers run their
NumPy code. Inside ``with reference_only():`` (``fit(fast=False)``) nothing compiled
or threaded runs either: ``compiled_enabled()`` and ``usable()`` are False,
``matmul`` is ``np.matmul`` and ``gather_rows`` is ``np.take``.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import warnings

import numpy as np

#: why the compiled loops are unavailable (None when they are available)
UNAVAILABLE_REASON: str | None = None
#: the user turned them off (GLASSNET_NO_COMPILED): no warning about it
DISABLED_BY_USER = bool(os.environ.get("GLASSNET_NO_COMPILED"))

try:
    if DISABLED_BY_USER:
        raise ImportError("turned off by GLASSNET_NO_COMPILED=1")
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
except ImportError as error:  # not built (no C compiler at install) or disabled
    adam = bias_relu = flush = gradient_descent = momentum = rmsprop = None
    relu_backward = relu_backward_sum = None
    _fastops = None
    UNAVAILABLE_REASON = (
        str(error)
        if DISABLED_BY_USER
        else f"glassnet._fastops could not be imported ({error}); it is built at "
        "install where a C compiler exists"
    )

#: whether the compiled loops can be used
AVAILABLE = adam is not None


class PerformanceWarning(UserWarning):
    """glassnet runs a slower path than it could (the compiled loops are missing)."""


_warned = False


def warn_if_unavailable(stacklevel: int = 1) -> bool:
    """Warn (``PerformanceWarning``, once per process) that training runs the NumPy
    code because the compiled loops are missing, unless the user turned them off
    with GLASSNET_NO_COMPILED. Returns whether it warned now; ``stacklevel`` counts
    from the caller (1: the line that calls this)."""
    global _warned
    if UNAVAILABLE_REASON is None or DISABLED_BY_USER or _warned:
        return False
    _warned = True
    warnings.warn(
        f"glassnet's compiled loops are not available: {UNAVAILABLE_REASON}. "
        "Training runs the NumPy code: the same numbers, slower. Reinstall glassnet "
        "with a C compiler present; gn.show_config() shows what runs.",
        PerformanceWarning,
        stacklevel=stacklevel + 1,
    )
    return True


_REFERENCE = contextvars.ContextVar("glassnet_reference_only", default=False)


@contextlib.contextmanager
def reference_only():
    """Run the reference path inside: nothing compiled, no threads of glassnet.

    ``compiled_enabled()`` and ``usable()`` are False (so the optimizers, the ReLU
    passes and the flush run their NumPy code), ``matmul`` is ``np.matmul`` and a
    multiplication by the scale, ``gather_rows`` is ``np.take`` (checked indices),
    ``parallel()`` changes nothing. Nests, and is restored on exceptions; it holds
    for the current thread (a context variable), so a ``fit`` in another thread
    keeps its own path."""
    token = _REFERENCE.set(True)
    try:
        yield
    finally:
        _REFERENCE.reset(token)


def compiled_enabled() -> bool:
    """Whether compiled code may run here: the extension is available and we are
    not inside ``reference_only``."""
    return AVAILABLE and not _REFERENCE.get()


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def usable(*arrays) -> bool:
    """True when the compiled loops can take ``arrays``: NumPy, C-contiguous, one
    shape and one dtype (float32 or float64); False inside ``reference_only``."""
    if not compiled_enabled():
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
#: when there is none (another BLAS, an unchecked kernel, or no sgemm symbol)
_openblas = None
#: the cblas_sgemm symbol the extension found in it (None: products not split)
SGEMM_SYMBOL: str | None = None
#: why the products are not split across glassnet's threads (None: they are)
SGEMM_REASON: str | None = "not looked up yet"
#: the threads ``parallel`` shares; 1 outside it
_threads = 1
#: OpenBLAS's sgemm kernels (threadpoolctl's ``architecture``, lower case) whose
#: products give a band of rows the whole product's bits (bands start at multiples of
#: 48 rows, _products.c), and whether a band of columns keeps them too. Measured on
#: random shapes on both sides of the size limits (tests/test_products.py; a kernel
#: can be forced with OPENBLAS_CORETYPE): SkylakeX rows and columns, Haswell rows
#: only (its last columns depend on the whole width). Cooperlake and SapphireRapids
#: build on SkylakeX's sgemm kernel, Zen on Haswell's. Other kernels: no split.
_BANDED_KERNELS = {
    "skylakex": True,
    "cooperlake": True,
    "sapphirerapids": True,
    "haswell": False,
    "zen": False,
}


def _inside_numpy(filepath: str) -> bool:
    """Whether the library at ``filepath`` is NumPy's own (numpy.libs/ on Linux,
    numpy/.dylibs/ on macOS)."""
    site = os.path.dirname(os.path.dirname(np.__file__))
    try:
        top = os.path.relpath(filepath, site).split(os.sep)[0]
    except ValueError:  # another drive (Windows)
        return False
    return top in ("numpy", "numpy.libs")


def _numpy_openblas():
    """The OpenBLAS that NumPy calls, once its ``cblas_sgemm`` is loaded by the
    extension (looked up once); False without one.

    Of the OpenBLAS libraries loaded (SciPy may bring its own), NumPy's is the one
    inside NumPy's installation when there is one (its wheels bundle it). The
    extension looks the symbol up by name in that already loaded library; no
    address passes through Python."""
    global _openblas, SGEMM_SYMBOL, SGEMM_REASON
    if _openblas is not None:
        return _openblas
    _openblas = False
    if _fastops is None:
        SGEMM_REASON = "the compiled loops are not available"
        return _openblas
    from threadpoolctl import ThreadpoolController

    libraries = ThreadpoolController().select(internal_api="openblas")
    ranked = sorted(
        libraries.lib_controllers, key=lambda lib: not _inside_numpy(lib.filepath)
    )
    SGEMM_REASON = "NumPy's BLAS is not OpenBLAS"
    for library in ranked:
        kernel = str(getattr(library, "architecture", None) or "").lower()
        if kernel not in _BANDED_KERNELS:
            SGEMM_REASON = (
                f"OpenBLAS's {kernel or 'unknown'} kernel is not one whose bands "
                "are known to keep np.matmul's bits"
            )
            continue
        try:
            symbol = _fastops.load_sgemm(library.filepath, _BANDED_KERNELS[kernel])
        except OSError as error:
            SGEMM_REASON = str(error)
            continue
        if symbol is not None:
            SGEMM_SYMBOL, SGEMM_REASON, _openblas = symbol, None, library
            return _openblas
        SGEMM_REASON = f"no cblas_sgemm symbol in {library.filepath}"
    return _openblas


def _find_sgemm() -> bool:
    """Whether ``matmul`` can call NumPy's OpenBLAS sgemm directly."""
    return AVAILABLE and bool(_numpy_openblas())


def _cpus() -> int:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def planned_threads() -> int:
    """The threads ``parallel()`` would share here: min(BLAS limit, CPUs) when the
    compiled loops and NumPy's OpenBLAS sgemm are available, else 1."""
    if not compiled_enabled():
        return 1
    if _threads > 1:  # inside parallel(): BLAS is held to one thread meanwhile
        return _threads
    library = _numpy_openblas()
    return max(1, min(library.num_threads, _cpus())) if library else 1


def _free_cpus(cpus: int) -> int:
    """The CPUs not taken right now by threads of other processes: ``cpus`` less
    the running threads that ``/proc/loadavg`` counts, this one excluded (at least
    1); ``cpus`` where that count cannot be read."""
    try:
        with open("/proc/loadavg") as handle:
            running = int(handle.read().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return cpus
    return max(1, cpus - max(0, running - 1))


@contextlib.contextmanager
def _blas_threads(library, limit: int, threads: int):
    """Hold the BLAS to ``threads`` meanwhile (when it has more), then give its
    ``limit`` back."""
    if not library or threads >= limit:
        yield
        return
    library.set_num_threads(threads)
    try:
        yield
    finally:
        library.set_num_threads(limit)


@contextlib.contextmanager
def parallel():
    """Share glassnet's threads between the compiled loops and float32 products.

    As many threads as the user's limit on NumPy's BLAS (threadpoolctl's
    ``num_threads``), but no more than the CPUs the process may use, and no more
    than are free when it starts: a CPU busy with another process's thread would
    make every round wait for the thread it deschedules (``_free_cpus``; a
    neighbour that starts later is caught by the pool itself, which then runs its
    rounds on the calling thread, see ``glassnet/_pool.c``). BLAS is held to one
    thread meanwhile, so its idle workers do not spin on the cores these threads
    use, and given its limit back after; with one thread free, BLAS is held to one
    and the pool is not used. Without the extension, without OpenBLAS, or inside
    ``reference_only``, nothing changes."""
    global _threads
    library = _numpy_openblas() if compiled_enabled() else False
    limit = library.num_threads if library else 1
    # no more threads than CPUs to run them: the workers spin between rounds, so
    # two on one CPU take turns at every round (4 threads on 2 CPUs: 2.7x slower)
    cpus = _cpus()
    threads = min(limit, cpus, _free_cpus(cpus) if limit > 1 else 1)
    if _threads > 1 or threads <= 1:
        with _blas_threads(library, limit, 1 if _threads <= 1 else limit):
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


def _direct_product(A, B, out) -> bool:
    """Whether ``A @ B -> out`` can go to NumPy's sgemm directly: float32 matrices,
    A and B C- or F-contiguous, out C-contiguous and apart from both."""
    return (
        A.dtype == _F32
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
    )


def matmul(A, B, out, scale: float = 1.0):
    """out = scale (A @ B), with ``scale`` rounded to out's dtype as NumPy rounds a
    Python scalar; the bits of ``np.matmul(A, B, out=out); out *= scale``.

    float32 NumPy matrices (C- or F-contiguous, out C-contiguous and apart from
    both) go straight to NumPy's own OpenBLAS sgemm, split across glassnet's threads
    inside ``parallel``, with the scale applied to each band of out right after its
    product (one pass over out fewer); everything else, and everything inside
    ``reference_only``, is ``np.matmul``."""
    if compiled_enabled() and _direct_product(A, B, out) and _find_sgemm():
        _fastops.matmul(A, B, out, scale)
        return out
    np.matmul(A, B, out=out)
    if scale != 1.0:
        out *= scale
    return out


_INTP = np.dtype(np.intp)


def _row_numbers(index) -> np.ndarray:
    """``index`` as np.intp row numbers; TypeError for anything but integers (a
    float or boolean array is never read as row numbers). Integers of another width
    or byte order are converted exactly; values that do not fit in intp cannot be
    rows (IndexError)."""
    index = np.asarray(index)
    if index.dtype.kind not in "iu":
        raise TypeError(
            f"gather_rows: the indices must be integers; received dtype {index.dtype}"
        )
    if index.dtype == _INTP and index.dtype.isnative:
        return index
    if not np.can_cast(index.dtype, _INTP, "safe") and index.size:
        limits = np.iinfo(_INTP)
        low, high = int(index.min()), int(index.max())
        if low < limits.min or high > limits.max:
            bad = high if high > limits.max else low
            raise IndexError(f"gather_rows: index {bad} is out of bounds")
    return index.astype(_INTP)


def gather_rows(X, index, out):
    """out = X[index] along the rows, written into ``out`` (k, n) and returned;
    ``index`` (k,) integer row numbers, valid for X's m rows (the compiled copy and
    the reference raise IndexError; the plain NumPy path is used only for the
    checked permutations ``fit`` passes). Non-integer indices are refused
    (TypeError). Compiled (and shared by the threads inside ``parallel``) for
    C-contiguous NumPy arrays apart from each other, else ``np.take``."""
    index = _row_numbers(index)
    if not compiled_enabled() or not isinstance(X, np.ndarray):
        if _REFERENCE.get():  # the reference: NumPy's checked take
            return np.take(X, index, axis=0, out=out)
        return np.take(X, index, axis=0, out=out, mode="clip")
    if (
        X.ndim == 2
        and index.ndim == 1
        and index.flags.c_contiguous
        and X.flags.c_contiguous
        and out.flags.c_contiguous
        and out.dtype == X.dtype
        and not np.may_share_memory(out, X)
    ):
        _fastops.gather_rows(X, index, out)
        return out
    # mode="clip" (the callers pass valid rows): "raise" with out= gathers through
    # a temporary, twice the time
    return np.take(X, index, axis=0, out=out, mode="clip")
