"""Search spaces: where hyperparameters are drawn from, each on its own scale.

The dimensions (``Uniform``, ``IntUniform``, ``LogUniform``, ``OneMinusLogUniform``,
``PowersOfTwo``, ``Choice``) are defined in :mod:`glassnet.search.dimensions`.

A :class:`SearchSpace` maps hyperparameter names to dimensions or fixed values.
:func:`load_space` reads one from the ``[space]`` table of a TOML file::

    [space]
    learning_rate = {type="log_uniform", low=1e-4, high=1}
    layers = {type="choice", values=["64", "64,32"]}
    beta1 = {type="one_minus_log_uniform", low=0.9, high=0.999}
    batch_size = {type="powers_of_two", low=16, high=256}
    keep_prob = {type="uniform", low=0.5, high=1.0}
    hidden_units = {type="int_uniform", low=16, high=128}
    epochs = 20                                  # a plain value is fixed
    optimizer = {type="fixed", value="adam"}     # the same, spelled out

Other top-level tables of the file are left to other readers.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path

from glassnet.backend import resolve_rng
from glassnet.search.dimensions import (
    Dimension,
    _json_key,
    dimension_from_config,
)
from glassnet.validation import check_positive_int

__all__ = [
    "SearchSpace",
    "Grid",
    "grid_points",
    "load_space",
]


class SearchSpace(Mapping):
    """Hyperparameter names mapped to dimensions (sampled) or fixed values (copied).

    ``known_names`` (optional): the hyperparameters the objective understands; any
    other name raises ``ValueError`` listing them.
    """

    def __init__(self, dimensions: Mapping, known_names: Iterable[str] | None = None):
        if not isinstance(dimensions, Mapping):
            raise TypeError(
                "SearchSpace needs a mapping of names to dimensions; received "
                f"{type(dimensions).__name__}"
            )
        if not dimensions:
            raise ValueError("SearchSpace needs at least one hyperparameter")
        allowed = None if known_names is None else sorted(set(known_names))
        self._entries: dict = {}
        for name, entry in dimensions.items():
            if not isinstance(name, str) or not name:
                raise TypeError(f"hyperparameter names must be strings; got {name!r}")
            if allowed is not None and name not in allowed:
                raise ValueError(
                    f"unknown hyperparameter {name!r}; allowed names: "
                    f"{', '.join(allowed)}"
                )
            if not isinstance(entry, Dimension):
                _json_key(entry, f"{name} (a fixed value, not a dimension)")
                entry = json.loads(json.dumps(entry))  # as it will be journaled
            self._entries[name] = entry
        self.known_names = None if allowed is None else frozenset(allowed)

    def __getitem__(self, name):
        return self._entries[name]

    def __iter__(self):
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._entries!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, SearchSpace) and self.to_config() == other.to_config()

    __hash__ = None

    @property
    def dimensions(self) -> dict:
        """The sampled entries, ``name -> Dimension``."""
        return {k: v for k, v in self._entries.items() if isinstance(v, Dimension)}

    @property
    def fixed(self) -> dict:
        """The fixed entries, ``name -> value``."""
        return {k: v for k, v in self._entries.items() if not isinstance(v, Dimension)}

    def _assemble(self, columns: dict, n: int) -> list[dict]:
        return [
            {
                name: columns[name][i] if name in columns else copy.deepcopy(entry)
                for name, entry in self._entries.items()
            }
            for i in range(n)
        ]

    def sample(self, rng, n: int) -> list[dict]:
        """``n`` configurations; each dimension draws its ``n`` values in turn."""
        n = check_positive_int("n", n)
        rng = resolve_rng(rng)
        columns = {name: dim.sample(rng, n) for name, dim in self.dimensions.items()}
        return self._assemble(columns, n)

    def shrink(self, configs: Iterable[Mapping], fraction: float) -> SearchSpace:
        """Shrink every dimension around the values in the good ``configs``."""
        configs = list(configs)
        if not configs:
            raise ValueError("shrink needs at least one good configuration")
        entries = dict(self._entries)
        for name, dim in self.dimensions.items():
            entries[name] = dim.shrink([c[name] for c in configs], fraction)
        return self._replace(entries)

    def _replace(self, entries: dict) -> SearchSpace:
        return SearchSpace(entries, self.known_names)

    def to_config(self) -> dict:
        """``{name: dimension config or {"type": "fixed", "value": v}}`` (JSON)."""
        return {
            name: entry.to_config()
            if isinstance(entry, Dimension)
            else {"type": "fixed", "value": copy.deepcopy(entry)}
            for name, entry in self._entries.items()
        }

    @classmethod
    def from_config(
        cls, config: Mapping, known_names: Iterable[str] | None = None
    ) -> SearchSpace:
        """Read :meth:`to_config`'s dictionary (or a TOML ``[space]`` table); an
        entry of the wrong type or value is the file's error, a ValueError."""
        if not isinstance(config, Mapping):
            raise ValueError(f"a space config must be a table; received {config!r}")
        entries = {}
        for name, entry in config.items():
            try:
                if isinstance(entry, Mapping) and entry.get("type") == "fixed":
                    if set(entry) != {"type", "value"}:
                        raise ValueError(
                            "a 'fixed' entry needs exactly the keys ['type', 'value']"
                        )
                    entries[name] = entry["value"]
                elif isinstance(entry, Mapping):
                    entries[name] = dimension_from_config(entry)
                else:
                    entries[name] = entry
            except (TypeError, ValueError) as error:
                raise ValueError(f"hyperparameter {name!r}: {error}") from None
        return cls(entries, known_names)


class Grid(SearchSpace):
    """A grid over a space: ``points_per_dimension`` points per dimension, crossed.

    For comparison with random search (the notes: with many hyperparameters a grid
    tries only a few values of each, random search tries a new value every trial).
    ``sample(rng, n)`` returns all grid points in order when ``n`` is the grid size
    and a random subset (kept in grid order) when it is smaller.
    """

    def __init__(
        self,
        space: Mapping,
        points_per_dimension: int,
        known_names: Iterable[str] | None = None,
    ):
        if isinstance(space, SearchSpace):
            known_names = space.known_names if known_names is None else known_names
            space = dict(space)
        super().__init__(space, known_names)
        self.points_per_dimension = check_positive_int(
            "points_per_dimension", points_per_dimension
        )

    def __repr__(self) -> str:
        return f"Grid({self._entries!r}, {self.points_per_dimension})"

    @property
    def points(self) -> list[dict]:
        """Every grid point, the last dimension varying fastest."""
        axes = {
            name: dim.grid(self.points_per_dimension)
            for name, dim in self.dimensions.items()
        }
        columns = {name: [] for name in axes}
        for combination in itertools.product(*axes.values()):
            for name, value in zip(axes, combination, strict=True):
                columns[name].append(value)
        size = math.prod(len(v) for v in axes.values())
        return self._assemble(columns, size)

    def sample(self, rng, n: int) -> list[dict]:
        n = check_positive_int("n", n)
        points = self.points
        if n > len(points):
            raise ValueError(
                f"the grid has only {len(points)} points; received n={n} "
                "(ask for fewer trials or more points_per_dimension)"
            )
        if n == len(points):
            return points
        chosen = sorted(resolve_rng(rng).choice(len(points), size=n, replace=False))
        return [points[int(i)] for i in chosen]

    def _replace(self, entries: dict) -> Grid:
        return Grid(entries, self.points_per_dimension, self.known_names)


def grid_points(space: Mapping, points_per_dimension: int) -> list[dict]:
    """All points of ``Grid(space, points_per_dimension)``."""
    return Grid(space, points_per_dimension).points


def load_space(
    path: str | Path, known_names: Iterable[str] | None = None
) -> SearchSpace:
    """Read the ``[space]`` table of a TOML file (format in the module docstring)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    path = Path(path)
    with path.open("rb") as handle:
        try:
            document = tomllib.load(handle)
        except tomllib.TOMLDecodeError as error:
            raise ValueError(f"{path} is not valid TOML: {error}") from None
    if "space" not in document:
        raise ValueError(
            f"{path} has no [space] table; found tables: {sorted(document) or 'none'}"
        )
    return SearchSpace.from_config(document["space"], known_names)


def as_space(space) -> SearchSpace:
    """Accept a :class:`SearchSpace` or a plain mapping of names to dimensions."""
    if isinstance(space, SearchSpace):
        return space
    if isinstance(space, Mapping):
        return SearchSpace(space)
    raise TypeError(
        f"space must be a SearchSpace or a dict; received {type(space).__name__}"
    )
