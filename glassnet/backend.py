"""Array backend, dtype policy and random-number-generator resolution.

glassnet computes with NumPy by default. Every random draw goes through an explicit
``rng`` argument that accepts an ``int`` seed, a :class:`numpy.random.Generator` or a
:class:`numpy.random.RandomState`; the last one reproduces the course's
``np.random.seed(s); np.random.randn(...)`` draws exactly. Nothing here touches the
global NumPy random state.
"""

from __future__ import annotations

import numbers

import numpy as np

FLOAT_DTYPES = ("float32", "float64")
DEFAULT_DTYPE = "float32"

RandomLike = int | np.random.Generator | np.random.RandomState | None


def resolve_dtype(dtype) -> np.dtype:
    """Return the floating dtype named by ``dtype`` (``"float32"`` or ``"float64"``)."""
    if dtype is None:
        dtype = DEFAULT_DTYPE
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved is None or resolved.name not in FLOAT_DTYPES:
        raise ValueError(
            f"dtype must be one of {list(FLOAT_DTYPES)}; received dtype={dtype!r}"
        )
    return resolved


def resolve_rng(rng: RandomLike = None):
    """Turn ``rng`` into a generator object with ``standard_normal``/``random``.

    ``None`` gives a fresh, unseeded :class:`numpy.random.Generator`; an ``int`` seeds
    ``numpy.random.default_rng``; a ``Generator`` or ``RandomState`` is used as is
    (shared, so successive draws continue its stream).
    """
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, (np.random.Generator, np.random.RandomState)):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        if rng < 0:
            raise ValueError(f"rng seed must be >= 0; received rng={rng}")
        return np.random.default_rng(int(rng))
    raise TypeError(
        "rng must be None, an int seed, a numpy.random.Generator or a "
        f"numpy.random.RandomState; received {type(rng).__name__}"
    )


def spawn_rng(rng):
    """An independent child generator of ``rng`` (its own stream).

    A Generator spawns from its seed sequence without advancing its own stream; a
    RandomState draws the child's seed from its stream.
    """
    if isinstance(rng, np.random.Generator):
        return rng.spawn(1)[0]
    return np.random.RandomState(rng.randint(0, 2**31 - 1))


def uniform(rng, shape) -> np.ndarray:
    """Draw uniform [0, 1) numbers from either kind of generator (float64)."""
    if isinstance(rng, np.random.RandomState):
        return rng.rand(*shape)
    return rng.random(shape)


def standard_normal(rng, shape) -> np.ndarray:
    """Draw standard normal numbers from either kind of generator (float64)."""
    if isinstance(rng, np.random.RandomState):
        return rng.randn(*shape)
    return rng.standard_normal(shape)


def permutation(rng, m: int) -> np.ndarray:
    """A random permutation of ``range(m)`` from either kind of generator."""
    return rng.permutation(m)


def rng_state(rng) -> dict:
    """JSON-compatible state of a generator, for checkpoints."""
    if isinstance(rng, np.random.Generator):
        state = rng.bit_generator.state
        return {"kind": "Generator", "state": _jsonable(state)}
    if isinstance(rng, np.random.RandomState):
        name, keys, pos, has_gauss, cached = rng.get_state()
        return {
            "kind": "RandomState",
            "state": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)],
        }
    raise TypeError(f"cannot record the state of {type(rng).__name__}")


_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")
#: what a saved generator state may hold: small integer arrays (MT19937's key is the
#: largest, 624 words); anything else in a file is refused before it is allocated
_STATE_DTYPES = ("uint8", "uint32", "uint64", "int64")
_STATE_MAX_ITEMS = 1024


def rng_from_state(record):
    """Rebuild a generator from :func:`rng_state`'s record (from a file: every
    field's type and size is checked, ValueError naming what is wrong)."""
    if not isinstance(record, dict):
        raise ValueError(f"an rng state must be an object; received {record!r:.80}")
    kind = record.get("kind")
    try:
        if kind == "Generator":
            return _generator_from_state(record.get("state"))
        if kind == "RandomState":
            return _random_state_from_state(record.get("state"))
    except (TypeError, KeyError, OverflowError) as error:
        raise ValueError(f"malformed {kind} rng state: {error}") from None
    raise ValueError(f"unknown rng state kind {kind!r:.80}")


def _generator_from_state(state):
    if not isinstance(state, dict) or state.get("bit_generator") not in _BIT_GENERATORS:
        name = state.get("bit_generator") if isinstance(state, dict) else state
        raise ValueError(f"unknown bit generator {name!r:.80}")
    bit_generator = getattr(np.random, state["bit_generator"])()
    bit_generator.state = _unjsonable(state)
    return np.random.Generator(bit_generator)


def _random_state_from_state(state):
    if not (isinstance(state, list) and len(state) == 5):
        raise ValueError("a RandomState state is [name, keys, pos, has_gauss, cached]")
    name, keys, pos, has_gauss, cached = state
    if name != "MT19937" or not isinstance(keys, list) or len(keys) != 624:
        raise ValueError("a RandomState state holds MT19937 and a key of 624 words")
    if not all(isinstance(k, int) and 0 <= k < 2**32 for k in keys):
        raise ValueError("a RandomState key holds 32-bit unsigned integers")
    if not (_is_int(pos) and 0 <= pos <= 624 and has_gauss in (0, 1)):
        raise ValueError(f"RandomState pos {pos!r:.40} / has_gauss {has_gauss!r:.40}")
    rng = np.random.RandomState()
    rng.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    return rng


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _jsonable(value):
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, np.ndarray):
        return {"__array__": value.tolist(), "dtype": value.dtype.name}
    if isinstance(value, np.integer):
        return int(value)
    return value


def _unjsonable(value):
    if isinstance(value, dict):
        if "__array__" in value:
            items, dtype = value["__array__"], value.get("dtype")
            if dtype not in _STATE_DTYPES:
                raise ValueError(
                    f"an rng state array must be one of {', '.join(_STATE_DTYPES)}; "
                    f"received dtype {dtype!r:.80}"
                )
            if not isinstance(items, list) or len(items) > _STATE_MAX_ITEMS:
                raise ValueError(
                    f"an rng state array is a list of at most {_STATE_MAX_ITEMS} "
                    "numbers"
                )
            return np.asarray(items, dtype=dtype)
        return {key: _unjsonable(item) for key, item in value.items()}
    return value


# -- array backends --------------------------------------------------------------------
# The engine's kernels are written once against the array API: ``xp =
# get_namespace(array)`` gives NumPy for NumPy arrays, and array-api-compat's wrapped
# torch or cupy namespace for their arrays. The training fast path (buffers, ``out=``)
# is NumPy-only; on other backends the same kernels allocate (their device allocators
# make that cheap).

BACKENDS = ("numpy", "torch", "cupy")


def get_namespace(*arrays):
    """The array namespace of ``arrays`` (NumPy unless they are torch/cupy arrays)."""
    for array in arrays:
        if isinstance(array, np.ndarray) or np.isscalar(array) or array is None:
            continue
        import array_api_compat

        return array_api_compat.array_namespace(array)
    return np


def all_finite(array) -> bool:
    """Whether no element of ``array`` (any backend) is NaN or infinite.

    For NumPy a finite sum proves it in one pass without a boolean temporary (NaN
    and inf propagate into a sum); only a sum that is not finite (a NaN, an inf, or
    finite values whose sum overflows) takes the elementwise check.
    """
    if isinstance(array, np.ndarray):
        if array.dtype.kind in "biu":
            return True
        with np.errstate(over="ignore", invalid="ignore"):
            if np.isfinite(np.sum(array)):
                return True
        return bool(np.isfinite(array).all())
    xp = get_namespace(array)
    return bool(xp.all(xp.isfinite(array)))


def is_numpy(xp) -> bool:
    """True for the NumPy namespace (the fast path's home)."""
    return xp is np


def namespace_for(backend: str):
    """The namespace of a backend name: "numpy", "torch" or "cupy"."""
    if backend not in BACKENDS:
        raise ValueError(
            f"unknown backend {backend!r}; allowed: {', '.join(map(repr, BACKENDS))}"
        )
    if backend == "numpy":
        return np
    try:
        import array_api_compat  # noqa: F401
    except ImportError:
        raise ImportError(
            f"the {backend} backend needs array-api-compat: pip install "
            f"'glassnet[{backend}]'"
        ) from None
    try:
        if backend == "torch":
            from array_api_compat import torch as xp
        else:
            from array_api_compat import cupy as xp
    except ImportError:
        raise ImportError(
            f"the {backend} backend needs {backend} installed: pip install "
            f"'glassnet[{backend}]'"
        ) from None
    return xp


def backend_name(xp) -> str:
    """ "numpy", "torch" or "cupy" for a namespace."""
    if xp is np:
        return "numpy"
    name = xp.__name__.rsplit(".", 1)[-1]
    return name if name in BACKENDS else name


def default_device(backend: str):
    """The device a backend uses when none is named: CUDA when there is one."""
    if backend == "torch":
        import torch

        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if backend == "cupy":
        import cupy

        return cupy.cuda.Device()
    return None


def to_namespace(array, xp, device=None, dtype=None):
    """``array`` (NumPy or any backend) as an array of ``xp`` on ``device``."""
    if xp is np:
        return np.asarray(to_numpy(array), dtype=dtype)
    if get_namespace(array) is not xp:
        array = to_numpy(array)
    return xp.asarray(array, device=device, dtype=_dtype_of(xp, dtype))


def _dtype_of(xp, dtype):
    if dtype is None:
        return None
    return getattr(xp, np.dtype(dtype).name)


def to_numpy(array) -> np.ndarray:
    """A NumPy copy (or view) of an array from any backend."""
    if isinstance(array, np.ndarray):
        return array
    if hasattr(array, "detach"):  # torch
        return array.detach().cpu().numpy()
    if hasattr(array, "get"):  # cupy
        return array.get()
    return np.asarray(array)


def device_of(array):
    """The device an array lives on (None for NumPy)."""
    if isinstance(array, np.ndarray):
        return None
    import array_api_compat

    return array_api_compat.device(array)


def make_device_generator(xp, device, rng):
    """A generator on ``device`` seeded once from the NumPy generator ``rng``."""
    seed = int(
        rng.randint(0, 2**31 - 1)
        if isinstance(rng, np.random.RandomState)
        else rng.integers(0, 2**63 - 1)
    )
    if backend_name(xp) == "torch":
        import torch

        generator = torch.Generator(device=device)
        generator.manual_seed(seed)
        return generator
    import cupy

    return cupy.random.default_rng(seed)


def device_uniform(xp, generator, shape, dtype, device):
    """Uniform [0, 1) numbers of ``dtype`` on ``device`` from ``generator``."""
    if backend_name(xp) == "torch":
        import torch

        torch_dtype = getattr(torch, np.dtype(dtype).name)
        return torch.rand(shape, generator=generator, device=device, dtype=torch_dtype)
    return generator.random(shape, dtype=np.dtype(dtype))
