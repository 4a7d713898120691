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


def rng_from_state(record: dict):
    """Rebuild a generator from :func:`rng_state`'s record."""
    kind = record.get("kind")
    if kind == "Generator":
        state = record["state"]
        bit_generator_cls = getattr(np.random, state["bit_generator"], None)
        if bit_generator_cls is None or state["bit_generator"] not in (
            "PCG64",
            "PCG64DXSM",
            "MT19937",
            "Philox",
            "SFC64",
        ):
            raise ValueError(f"unknown bit generator {state['bit_generator']!r}")
        bit_generator = bit_generator_cls()
        bit_generator.state = _unjsonable(state)
        return np.random.Generator(bit_generator)
    if kind == "RandomState":
        name, keys, pos, has_gauss, cached = record["state"]
        rng = np.random.RandomState()
        rng.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
        return rng
    raise ValueError(f"unknown rng state kind {kind!r}")


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
            return np.asarray(value["__array__"], dtype=value["dtype"])
        return {key: _unjsonable(item) for key, item in value.items()}
    return value
