"""Dimensions: the range of one hyperparameter, each on its own scale.

The notes' rule for choosing ranges: sample uniformly on the scale on which the
hyperparameter acts.

- ``Uniform(a, b)``: ``x ~ U[a, b]`` (e.g. the number of units, read as a float).
- ``IntUniform(a, b)``: ``x`` uniform over the integers ``a, a + 1, ..., b``.
- ``LogUniform(a, b)``: ``alpha = 10^r`` with ``r ~ U[log10 a, log10 b]``; for the
  learning rate ``alpha in [1e-4, 1]``, ``r ~ U[-4, 0]``, so each decade
  ``[1e-4, 1e-3], ..., [0.1, 1]`` gets the same share of the samples.
- ``OneMinusLogUniform(a, b)``: for the averaging constants ``beta``:
  ``1 - beta = 10^r`` with ``r ~ U[log10(1 - b), log10(1 - a)]``; for
  ``beta in [0.9, 0.999]``, ``r ~ U[-3, -1]``, so ``[0.9, 0.99]`` and
  ``[0.99, 0.999]`` (averages over ~10-100 and ~100-1000 steps) are equally likely.
- ``PowersOfTwo(a, b)``: ``x = 2^k`` with ``k`` uniform over the integers
  ``log2 a, ..., log2 b`` (mini-batch sizes).
- ``Choice([...])``: one of the listed values, each equally likely.

Every dimension has ``sample(rng, n)``, ``grid(n)`` (``n`` evenly spaced points on
its own scale), ``shrink(values, fraction)`` for coarse-to-fine search and
``to_config()`` / :func:`dimension_from_config` for JSON.

``shrink`` works on the dimension's own scale ``u`` (``u = x``, ``log10 x``,
``log10(1 - x)`` or ``log2 x``): the new range is the smallest interval holding the
good values, widened by ``fraction / 2`` of the current width on each side, clipped
to the current range (so never outside the original one). With ``fraction = 0.25``
and all good values equal, the new range is a quarter of the old one (on that scale).
``Choice.shrink`` keeps the listed values that appear among the good values.

Search spaces over several dimensions are in :mod:`glassnet.search.spaces`.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterable, Mapping

import numpy as np

from glassnet.backend import resolve_rng
from glassnet.validation import check_in_range, check_positive_int

__all__ = [
    "Dimension",
    "Uniform",
    "IntUniform",
    "LogUniform",
    "OneMinusLogUniform",
    "PowersOfTwo",
    "Choice",
    "dimension_from_config",
]


def _draw_integers(rng, low: int, high: int, n: int) -> np.ndarray:
    """Integers uniform on ``[low, high]`` (inclusive) from either generator kind."""
    if isinstance(rng, np.random.RandomState):
        return rng.randint(low, high + 1, size=n)
    return rng.integers(low, high, size=n, endpoint=True)


def _json_key(value, what: str = "value") -> str:
    """Canonical JSON of ``value``; ``TypeError`` naming ``what`` if it has none."""
    try:
        return json.dumps(value, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError):
        raise TypeError(
            f"{what} must be JSON values (str, finite number, bool, None, lists or "
            f"dicts of them); received {value!r}"
        ) from None


def _check_fraction(fraction) -> float:
    return float(check_in_range("fraction", fraction, 0, 1, low_inclusive=False))


class Dimension:
    """One hyperparameter's range: ``sample``, ``grid``, ``shrink``, ``to_config``."""

    type_name = ""
    scale = "linear"

    def sample(self, rng, n: int) -> list:
        """Draw ``n`` values (plain Python objects) with the generator ``rng``."""
        raise NotImplementedError

    def grid(self, n: int) -> list:
        """``n`` evenly spaced points on the dimension's own scale."""
        raise NotImplementedError

    def shrink(self, values: Iterable, fraction: float) -> Dimension:
        """A narrower dimension around ``values`` (see the module docstring)."""
        raise NotImplementedError

    def to_config(self) -> dict:
        """JSON-compatible description, read back by :func:`dimension_from_config`."""
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: Mapping) -> Dimension:
        """Rebuild a dimension from :meth:`to_config`'s dictionary."""
        return dimension_from_config(config)

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and self.to_config() == other.to_config()

    __hash__ = None


class _Interval(Dimension):
    """A numeric range ``[low, high]``, sampled uniformly in ``u = to_scale(x)``."""

    integer = False

    def __init__(self, low, high):
        self.low = self._check("low", low)
        self.high = self._check("high", high)
        empty = self.low > self.high if self.integer else self.low >= self.high
        if empty:
            relation = "low <= high" if self.integer else "low < high"
            raise ValueError(
                f"{type(self).__name__} needs {relation}; received an empty or "
                f"inverted range low={low!r}, high={high!r}"
            )

    def _check(self, name: str, value):
        return float(check_in_range(name, value))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.low!r}, {self.high!r})"

    def to_scale(self, values) -> np.ndarray:
        return np.asarray(values, dtype=np.float64)

    def from_scale(self, u) -> np.ndarray:
        return np.asarray(u, dtype=np.float64)

    def _scale_bounds(self) -> tuple[float, float]:
        ends = self.to_scale([self.low, self.high])
        return float(min(ends)), float(max(ends))

    def _values(self, u) -> list:
        return [float(v) for v in np.clip(self.from_scale(u), self.low, self.high)]

    def _rebuild(self, u_low: float, u_high: float) -> Dimension:
        low, high = sorted(self._values([u_low, u_high]))
        return type(self)(low, high)

    def sample(self, rng, n: int) -> list:
        n = check_positive_int("n", n)
        return self._values(resolve_rng(rng).uniform(*self._scale_bounds(), size=n))

    def grid(self, n: int) -> list:
        n = check_positive_int("n", n)
        return self._values(np.linspace(*self._scale_bounds(), n))

    def shrink(self, values: Iterable, fraction: float) -> Dimension:
        fraction = _check_fraction(fraction)
        values = [float(v) for v in values]
        if not values:
            raise ValueError("shrink needs at least one good value; received none")
        u_low, u_high = self._scale_bounds()
        u = np.clip(self.to_scale(values), u_low, u_high)
        pad = fraction * (u_high - u_low) / 2
        new_low = max(u_low, float(u.min()) - pad)
        new_high = min(u_high, float(u.max()) + pad)
        if (new_low, new_high) == (u_low, u_high):
            return self
        try:
            return self._rebuild(new_low, new_high)
        except ValueError:  # too narrow to represent: stay put
            return self

    def to_config(self) -> dict:
        return {"type": self.type_name, "low": self.low, "high": self.high}


class Uniform(_Interval):
    """``x ~ U[low, high]``."""

    type_name = "uniform"


class LogUniform(_Interval):
    """``alpha = 10^r`` with ``r ~ U[log10 low, log10 high]``; ``0 < low < high``."""

    type_name = "log_uniform"
    scale = "log"

    def _check(self, name: str, value):
        value = check_in_range(name, value)
        if value <= 0:
            raise ValueError(
                f"LogUniform needs a positive range (log10 of {name} must exist); "
                f"received {name}={value!r}"
            )
        return float(value)

    def to_scale(self, values) -> np.ndarray:
        return np.log10(np.asarray(values, dtype=np.float64))

    def from_scale(self, u) -> np.ndarray:
        return 10.0 ** np.asarray(u, dtype=np.float64)


class OneMinusLogUniform(_Interval):
    """``1 - beta = 10^r`` with ``r ~ U[log10(1 - high), log10(1 - low)]``.

    Needs ``0 <= low < high < 1``: ``beta = 1`` would put ``log10 0`` in the range.
    """

    type_name = "one_minus_log_uniform"
    scale = "one_minus_log"

    def _check(self, name: str, value):
        value = check_in_range(name, value)
        if not 0 <= value < 1:
            raise ValueError(
                "OneMinusLogUniform needs 0 <= low < high < 1 (log10(1 - beta) must "
                f"exist); received {name}={value!r}"
            )
        return float(value)

    def to_scale(self, values) -> np.ndarray:
        return np.log10(1.0 - np.asarray(values, dtype=np.float64))

    def from_scale(self, u) -> np.ndarray:
        return 1.0 - 10.0 ** np.asarray(u, dtype=np.float64)


class IntUniform(_Interval):
    """``x`` uniform over the integers ``low, ..., high`` (both included)."""

    type_name = "int_uniform"
    integer = True

    def _check(self, name: str, value):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return int(check_in_range(name, value, integer=True))

    def from_scale(self, u) -> np.ndarray:
        return np.asarray(u, dtype=np.int64)

    def _values(self, u) -> list:
        return [int(v) for v in self.from_scale(u)]

    def sample(self, rng, n: int) -> list:
        n = check_positive_int("n", n)
        k_low, k_high = (int(round(v)) for v in self._scale_bounds())
        return self._values(_draw_integers(resolve_rng(rng), k_low, k_high, n))

    def grid(self, n: int) -> list:
        n = check_positive_int("n", n)
        return self._values(np.unique(np.rint(np.linspace(*self._scale_bounds(), n))))

    def _rebuild(self, u_low: float, u_high: float) -> Dimension:
        low, high = self._values([math.floor(u_low + 1e-9), math.ceil(u_high - 1e-9)])
        return type(self)(low, high)


class PowersOfTwo(IntUniform):
    """``x = 2^k`` with ``k`` uniform over the integers ``log2 low, ..., log2 high``."""

    type_name = "powers_of_two"
    scale = "log2"

    def _check(self, name: str, value):
        value = super()._check(name, value)
        if value < 1 or value & (value - 1):
            raise ValueError(
                f"PowersOfTwo needs powers of two (1, 2, 4, ...); "
                f"received {name}={value!r}"
            )
        return value

    def to_scale(self, values) -> np.ndarray:
        return np.log2(np.asarray(values, dtype=np.float64))

    def from_scale(self, u) -> np.ndarray:
        return 2 ** np.asarray(u, dtype=np.int64)


class Choice(Dimension):
    """One of ``values``, each with probability ``1 / len(values)``."""

    type_name = "choice"
    scale = "categorical"

    def __init__(self, values: Iterable):
        if isinstance(values, (str, bytes, Mapping)) or not isinstance(
            values, Iterable
        ):
            raise TypeError(
                f"Choice needs a list of values; received values={values!r}"
            )
        values = list(values)
        if not values:
            raise ValueError("Choice needs at least one value; received values=[]")
        encoded = [_json_key(value, "Choice values") for value in values]
        duplicates = sorted({e for e in encoded if encoded.count(e) > 1})
        if duplicates:
            raise ValueError(
                f"Choice values must be distinct; received duplicates {duplicates}"
            )
        self.values = tuple(json.loads(json.dumps(v)) for v in values)  # as journaled

    def __repr__(self) -> str:
        return f"Choice({list(self.values)!r})"

    def sample(self, rng, n: int) -> list:
        n = check_positive_int("n", n)
        picks = _draw_integers(rng, 0, len(self.values) - 1, n)
        return [copy.deepcopy(self.values[int(i)]) for i in picks]

    def grid(self, n: int) -> list:
        """All values (a categorical dimension has no in-between points)."""
        check_positive_int("n", n)
        return [copy.deepcopy(v) for v in self.values]

    def shrink(self, values: Iterable, fraction: float) -> Choice:
        """Keep the values seen among the good ``values`` (``fraction`` unused)."""
        _check_fraction(fraction)
        seen = {_json_key(value) for value in values}
        kept = [value for value in self.values if _json_key(value) in seen]
        return Choice(kept) if kept and len(kept) < len(self.values) else self

    def to_config(self) -> dict:
        return {"type": self.type_name, "values": copy.deepcopy(list(self.values))}


_TYPES = {
    cls.type_name: cls
    for cls in (Uniform, IntUniform, LogUniform, OneMinusLogUniform, PowersOfTwo)
}


def dimension_from_config(config: Mapping) -> Dimension:
    """Build a dimension from ``{"type": "log_uniform", "low": ..., "high": ...}``.

    Types: ``uniform``, ``int_uniform``, ``log_uniform``, ``one_minus_log_uniform``,
    ``powers_of_two`` (keys ``low``, ``high``) and ``choice`` (key ``values``).
    """
    if not isinstance(config, Mapping):
        raise TypeError(f"a dimension config must be a table; received {config!r}")
    config = dict(config)
    kind = config.pop("type", None)
    allowed = sorted([*_TYPES, "choice"])
    if kind not in allowed:
        raise ValueError(
            f"unknown dimension type {kind!r}; allowed: {', '.join(allowed)}"
        )
    wanted = {"values"} if kind == "choice" else {"low", "high"}
    if set(config) != wanted:
        raise ValueError(
            f"a {kind!r} dimension needs exactly the keys {sorted(wanted)}; "
            f"received {sorted(config)}"
        )
    if kind == "choice":
        return Choice(config["values"])
    return _TYPES[kind](config["low"], config["high"])
