"""Tables as they come: missing values and text categories, as layers (D40).

A table with text categories and empty cells cannot be the engine's numbers, so
these two layers act where ``Flatten`` acts for images: at the row boundary.
``Sequential.as_rows`` hands the raw table (a :class:`~glassnet.data.columns.Table`,
a DataFrame, a dict of columns, or a 2-D array of the columns in the model's
order) to each of them in turn, and the engine receives numbers::

    raw table --Imputation.rows--> filled columns + was-missing columns
              --CategoryEncoding.rows--> X (m, n[0]) numbers
              --Standardization (the engine, as for every table)--> ...

In the engine (``forward`` / ``backward``) both are the identity on
``A (n[0], m)``. Both are fitted on the training rows only (``adapt``) and
saved in the model file as settings (text bounded in number and length, checked
on reading; no arrays, no pickles), so ``predict``, ``evaluate``, the
estimators and every CLI command apply the same encoding from the file alone.

* ``Imputation(columns)``: takes the model's columns by name (or position) from
  the table, drops the ignored ones, fills an empty numeric cell with the
  training median and an empty categorical cell with the most frequent training
  value, and appends ``"age (was missing)"`` (1 where the cell was empty) for
  every column that had an empty cell in training.
* ``CategoryEncoding(columns, max_categories=20)``: numeric columns pass through;
  a categorical column becomes one-hot columns ``"sex=female"``, ``"sex=male"``
  for its ``max_categories`` most frequent training values, and one more,
  ``"sex=(other)"``, for the rarer values pooled together and for every value
  never seen in training; when no training value was pooled, that slot never
  learned anything, so a never-seen value is encoded as the column's training
  average instead (each slot its training frequency: zero after the
  ``Standardization``), with a warning naming it.
"""

from __future__ import annotations

import reprlib
import warnings
from collections import Counter

import numpy as np

from glassnet.errors import caller_stacklevel
from glassnet.layers.base import Layer, integer

__all__ = [
    "CategoryEncoding",
    "Imputation",
    "export_table_onnx",
    "table_inputs",
    "MAX_CATEGORIES",
    "MAX_COLUMNS",
    "MAX_TEXT",
    "TABLE_TYPES",
    "table_layers",
]

#: at most this many columns in a table layer's settings (a model file's bound)
MAX_COLUMNS = 10_000
#: at most this many categories kept per column (``max_categories``' upper bound)
MAX_CATEGORIES = 1000
#: at most this many characters in a column name or a category
MAX_TEXT = 200
#: the default number of categories kept per column
DEFAULT_MAX_CATEGORIES = 20

OTHER = "(other)"
WAS_MISSING = " (was missing)"


def _bounded_text(value) -> bool:
    return type(value) is str and len(value) <= MAX_TEXT


def _records(value, keys: dict) -> str | None:
    """None when ``value`` is a list of at most MAX_COLUMNS objects with exactly
    ``keys`` (each tested by its function), else what it should have been."""
    expected = (
        f"a list of at most {MAX_COLUMNS} objects with keys {', '.join(keys)} "
        f"(texts at most {MAX_TEXT} characters)"
    )
    if type(value) is not list or len(value) > MAX_COLUMNS:
        return expected
    for record in value:
        if type(record) is not dict or set(record) != set(keys):
            return expected
        if not all(test(record[key]) for key, test in keys.items()):
            return expected
    names = [record["name"] for record in value]
    if len(set(names)) != len(names):
        return expected + ", each name once"
    return None


def _fill(value) -> bool:
    if value is None or _bounded_text(value):
        return True
    return type(value) in (int, float) and np.isfinite(value)


_IMPUTATION_KEYS = {
    "name": _bounded_text,
    "role": lambda v: v in ("numeric", "categorical", "ignored"),
    "fill": _fill,
    "indicator": lambda v: type(v) is bool,
}


def _categories(value) -> bool:
    if value is None:
        return True
    return (
        type(value) is list
        and len(value) <= MAX_CATEGORIES
        and all(_bounded_text(v) and v != OTHER for v in value)
        and len(set(value)) == len(value)
    )


def _frequencies(value) -> bool:
    if value is None:
        return True
    return (
        type(value) is list
        and len(value) <= MAX_CATEGORIES + 1
        and all(type(v) in (int, float) and 0 <= v <= 1 for v in value)
    )


_ENCODING_KEYS = {
    "name": _bounded_text,
    "categories": _categories,
    "pooled": lambda v: type(v) is int and v >= 0,
    "frequencies": _frequencies,
}


def imputation_columns(value) -> str | None:
    return _records(value, _IMPUTATION_KEYS)


def encoding_columns(value) -> str | None:
    return _records(value, _ENCODING_KEYS)


def _as_table(X, names: list[str], used: list[str]):
    """``X`` as a :class:`~glassnet.data.columns.Table`: a Table, a DataFrame or a
    dict by column name; a 2-D array by position, its columns ``names`` (all the
    model's columns) or ``used`` (without the ignored ones)."""
    from glassnet.data.columns import Table

    if isinstance(X, Table):
        return X
    if isinstance(X, dict) or (hasattr(X, "columns") and not isinstance(X, np.ndarray)):
        return Table.from_frame(X)
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(
            f"a table's rows must be 2-D (m, columns); received shape {X.shape}"
        )
    for candidates in (names, used):
        if X.shape[1] == len(candidates):
            return Table.from_rows(candidates, X)
    also = "" if len(used) == len(names) else f" (or {len(used)} without the ignored)"
    raise ValueError(
        f"X has {X.shape[1]} columns but the model takes the table columns "
        f"{reprlib.repr(names)}: {len(names)}{also}; pass them in that order, or a "
        "table / DataFrame with those column names"
    )


def _select(table, wanted: list[str]) -> list[np.ndarray]:
    """The columns ``wanted`` of ``table`` by name; a missing one is named."""
    missing = [name for name in wanted if name not in table.names]
    if missing:
        raise ValueError(
            f"the table has no column {', '.join(map(repr, missing[:5]))}"
            f"{' and more' if len(missing) > 5 else ''}, which the model takes; "
            f"its columns: {reprlib.repr(table.names)}"
        )
    return [table.column(name) for name in wanted]


class _TableLayer(Layer):
    """The identity in the engine; the work happens in ``rows`` (the boundary)."""

    def forward(self, A_prev, training: bool):
        if training:
            self._cache = True
        return A_prev

    def backward(self, dA):
        self._require_cache()
        return dA


class Imputation(_TableLayer):
    """``Imputation(columns)``: empty cells filled with training values, plus a
    was-missing column, at the row boundary (the identity in the engine).

    ``columns`` lists the model's table columns in order, each
    ``{"name", "role", "fill", "indicator"}``: role ``numeric`` (filled with the
    training median), ``categorical`` (the most frequent training value) or
    ``ignored`` (dropped); ``indicator`` adds the column ``"name (was missing)"``
    (1 where the cell was empty, else 0), set for the columns that had an empty
    cell in training. :meth:`adapt` measures them on a training table::

        fill_j = median_i x_j(i)  (numeric)    most frequent x_j(i)  (categorical)
        x_j(i) <- fill_j where empty;          r_j(i) = 1 where empty, else 0
    """

    config_fields = {"columns": imputation_columns, **Layer.config_fields}

    def __init__(self, columns=None, *, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        problem = imputation_columns(columns) if columns is not None else None
        if problem:
            raise ValueError(f"Imputation columns must be {problem}")
        for record in columns or ():
            problem = _fill_problem(record)
            if problem:
                raise ValueError(f"Imputation column {record['name']!r}: {problem}")
        self.columns = None if columns is None else [dict(c) for c in columns]

    @property
    def adapted(self) -> bool:
        return self.columns is not None

    def _require_adapted(self) -> list[dict]:
        if self.columns is None:
            raise RuntimeError(
                "this Imputation layer is not adapted: call layer.adapt(table, "
                "roles) with the training table first"
            )
        return self.columns

    def adapt(self, X, roles) -> Imputation:
        """Measure the fills on a training table ``X`` (a Table, DataFrame or rows
        in the order of ``roles``); ``roles`` is a list of
        :class:`~glassnet.data.columns.ColumnRole` (or ``{name: role}``)."""
        from glassnet.data.columns import numeric_values, text_values

        roles = _role_pairs(roles)
        names = [name for name, _ in roles]
        used = [name for name, role in roles if role != "ignored"]
        _check_names(names)
        table = _as_table(X, names, used)
        columns = []
        for (name, role), values in zip(roles, _select(table, names), strict=True):
            record = {"name": name, "role": role, "fill": None, "indicator": False}
            if role == "numeric":
                values = numeric_values(values, name)
                present = values[~np.isnan(values)]
                record["fill"] = float(np.median(present)) if len(present) else 0.0
                record["indicator"] = len(present) < len(values)
            elif role == "categorical":
                values = text_values(values)
                present = [v for v in values.tolist() if v is not None]
                record["fill"] = _most_frequent(present)[:MAX_TEXT]
                record["indicator"] = len(present) < len(values)
            columns.append(record)
        self.columns = columns
        return self

    @property
    def input_names(self) -> list[str]:
        """Every table column the model was trained with, ignored ones included."""
        return [c["name"] for c in self._require_adapted()]

    @property
    def used_names(self) -> list[str]:
        return [c["name"] for c in self._require_adapted() if c["role"] != "ignored"]

    def output_roles(self) -> list[tuple[str, str]]:
        """``(name, role)`` of the columns :meth:`rows` gives: the used columns,
        then the was-missing columns (numeric)."""
        columns = self._require_adapted()
        kept = [(c["name"], c["role"]) for c in columns if c["role"] != "ignored"]
        flags = [
            (c["name"] + WAS_MISSING, "numeric") for c in columns if c["indicator"]
        ]
        return kept + flags

    def rows(self, X):
        """The raw table ``X`` -> a Table of the used columns, filled, and the
        was-missing columns."""
        from glassnet.data.columns import Table, numeric_values, text_values

        columns = self._require_adapted()
        table = _as_table(X, self.input_names, self.used_names)
        used = [c for c in columns if c["role"] != "ignored"]
        names, values, flags = [], [], []
        for record, column in zip(
            used, _select(table, [c["name"] for c in used]), strict=True
        ):
            name = record["name"]
            if record["role"] == "numeric":
                column = numeric_values(column, name)
                empty = np.isnan(column)
            else:
                column = text_values(column)
                empty = np.fromiter((v is None for v in column), bool, len(column))
            if empty.any():
                column = column.copy()
                column[empty] = record["fill"]
            names.append(name)
            values.append(column)
            if record["indicator"]:
                flags.append((name + WAS_MISSING, empty.astype(np.float64)))
        for name, flag in flags:
            names.append(name)
            values.append(flag)
        return Table(names, values)

    def get_config(self) -> dict:
        columns = None if self.columns is None else [dict(c) for c in self.columns]
        return {"columns": columns, **super().get_config()}

    def describe_shapes(self, index: int) -> list[str]:
        columns = self.columns or []
        used = sum(c["role"] != "ignored" for c in columns)
        flags = sum(c["indicator"] for c in columns)
        return [
            f"table of {len(columns)} columns -> {used} used (empty cells filled) "
            f"+ {flags} was-missing"
        ]


def _check_names(names: list[str]) -> None:
    """The model file's bounds (at most MAX_COLUMNS columns, names of at most
    MAX_TEXT characters), checked before training rather than on reading."""
    if len(names) > MAX_COLUMNS:
        raise ValueError(
            f"a table for the table layers has at most {MAX_COLUMNS} columns; "
            f"received {len(names)}"
        )
    long = [name for name in names if len(name) > MAX_TEXT]
    if long:
        raise ValueError(
            f"column names have at most {MAX_TEXT} characters in a model file; "
            f"received {reprlib.repr(long[0])} ({len(long[0])}); rename the column"
        )


def _fill_problem(record: dict) -> str | None:
    """A numeric column's fill is a number, a categorical one's a text; an ignored
    column has none, and no was-missing column."""
    fill, role = record["fill"], record["role"]
    received = f"; received {reprlib.repr(fill)}"
    if role == "numeric" and type(fill) not in (int, float):
        return "a numeric column is filled with a number" + received
    if role == "categorical" and type(fill) is not str:
        return "a categorical column is filled with a text" + received
    if role == "ignored" and (fill is not None or record["indicator"]):
        return "an ignored column has no fill and no was-missing column"
    return None


def _most_frequent(values: list[str]) -> str:
    """The most frequent text (ties: the first in sorted order); ``"(missing)"``
    when there is none."""
    if not values:
        return "(missing)"
    counts = Counter(values)
    return min(counts, key=lambda v: (-counts[v], v))


def _role_pairs(roles) -> list[tuple[str, str]]:
    """``(name, role)`` pairs of ColumnRoles, pairs, or ``{name: role}``."""
    if isinstance(roles, dict):
        return [(str(name), role) for name, role in roles.items()]
    return [
        (role.name, role.role) if hasattr(role, "role") else tuple(role)
        for role in roles
    ]


class CategoryEncoding(_TableLayer):
    """``CategoryEncoding(columns, max_categories=20)``: one-hot categories at the
    row boundary (the identity in the engine, ``A (n[0], m)``).

    ``columns`` lists the input columns in order, each ``{"name", "categories",
    "pooled", "frequencies"}``; ``categories`` None passes a numeric column
    through, a list of k texts gives the k + 1 columns ``name=c_1 .. name=c_k,
    name=(other)``::

        x(i) -> e_c   (c the index of x(i) among the categories; k, the
                       (other) slot, for a pooled value, and for a never-seen
                       one when some training value was pooled)
        x(i) -> f     (a never-seen value when none was pooled: f_c the
                       training frequency of category c, the one-hot mean)

    :meth:`adapt` keeps each column's ``max_categories`` most frequent training
    values (``pooled`` counts the rarer ones, which share the (other) slot) and
    their frequencies ``f`` (k + 1 of them, the last the (other) slot's). After
    the ``Standardization`` (mean f_c per slot) ``f`` is exactly 0: a value the
    network never saw counts as the average one, not as an untrained slot.
    """

    config_fields = {
        "columns": encoding_columns,
        "max_categories": integer,
        **Layer.config_fields,
    }

    def __init__(
        self,
        columns=None,
        max_categories: int = DEFAULT_MAX_CATEGORIES,
        *,
        name=None,
        trainable=True,
    ):
        super().__init__(name=name, trainable=trainable)
        if type(max_categories) is not int or not 1 <= max_categories <= MAX_CATEGORIES:
            raise ValueError(
                f"max_categories must be an integer in [1, {MAX_CATEGORIES}]; "
                f"received {max_categories!r}"
            )
        self.max_categories = max_categories
        problem = encoding_columns(columns) if columns is not None else None
        if problem:
            raise ValueError(f"CategoryEncoding columns must be {problem}")
        for c in columns or ():
            categories, frequencies = c["categories"], c["frequencies"]
            if categories is not None and len(categories) > max_categories:
                raise ValueError(
                    f"column {c['name']!r} keeps more categories than "
                    f"max_categories={max_categories}"
                )
            expected = None if categories is None else len(categories) + 1
            if (frequencies is None) != (expected is None) or (
                expected is not None and len(frequencies) != expected
            ):
                raise ValueError(
                    f"column {c['name']!r} needs one frequency per category and one "
                    f"for {OTHER} ({expected}); received {reprlib.repr(frequencies)}"
                )
        self.columns = None if columns is None else [dict(c) for c in columns]

    def _require_adapted(self) -> list[dict]:
        if self.columns is None:
            raise RuntimeError(
                "this CategoryEncoding layer is not adapted: call layer.adapt(table, "
                "roles) with the training table first"
            )
        return self.columns

    def adapt(self, X, roles) -> CategoryEncoding:
        """Keep each categorical column's most frequent training values; ``X`` a
        Table (e.g. :meth:`Imputation.rows` of the training table) or rows in
        the order of ``roles`` (``(name, role)`` pairs or ``{name: role}``)."""
        from glassnet.data.columns import text_values

        pairs = [(n, r) for n, r in _role_pairs(roles) if r != "ignored"]
        names = [name for name, _ in pairs]
        _check_names(names)
        table = _as_table(X, names, names)
        columns = []
        for (name, role), values in zip(pairs, _select(table, names), strict=True):
            record = {"name": name, "categories": None, "pooled": 0}
            record["frequencies"] = None
            if role == "categorical":
                present = [v for v in text_values(values).tolist() if v is not None]
                counts = Counter(present)
                order = sorted(counts, key=lambda v: (-counts[v], v))
                kept = order[: self.max_categories]
                record["categories"] = [v[:MAX_TEXT] for v in kept]
                record["pooled"] = max(len(order) - self.max_categories, 0)
                m = max(len(present), 1)
                rest = sum(counts[v] for v in order[self.max_categories :])
                record["frequencies"] = [counts[v] / m for v in kept] + [rest / m]
                if len(set(record["categories"])) != len(record["categories"]) or (
                    OTHER in record["categories"]
                ):
                    raise ValueError(
                        f"column {name!r}: categories must be distinct in their first "
                        f"{MAX_TEXT} characters and none may be {OTHER!r}"
                    )
            columns.append(record)
        self.columns = columns
        return self

    @property
    def width(self) -> int:
        """n[0]: the number of encoded columns."""
        return sum(
            1 if c["categories"] is None else len(c["categories"]) + 1
            for c in self._require_adapted()
        )

    @property
    def feature_names(self) -> list[str]:
        """The encoded columns' names: ``"age"``, ``"sex=male"``, ``"sex=(other)"``."""
        names = []
        for c in self._require_adapted():
            if c["categories"] is None:
                names.append(c["name"])
            else:
                names.extend(f"{c['name']}={v}" for v in [*c["categories"], OTHER])
        return names

    def planned_arrays(self, n_prev: int) -> tuple[int, dict, dict]:
        if self.columns is not None and int(n_prev) != self.width:
            raise ValueError(
                f"CategoryEncoding gives {self.width} encoded columns but the model "
                f"takes {n_prev} features"
            )
        return int(n_prev), {}, {}

    def build(self, n_prev: int, rng, dtype, *, initialize: bool = True) -> int:
        self.planned_arrays(n_prev)
        return super().build(n_prev, rng, dtype)

    def rows(self, X) -> np.ndarray:
        """A table (by name) or rows (in order) -> ``X (m, n[0])`` float64."""
        from glassnet.data.columns import numeric_values, text_values

        columns = self._require_adapted()
        names = [c["name"] for c in columns]
        table = _as_table(X, names, names)
        selected = _select(table, names)
        out = np.zeros((len(table), self.width))
        start = 0
        for record, values in zip(columns, selected, strict=True):
            categories = record["categories"]
            if categories is None:
                out[:, start] = numeric_values(values, record["name"])
                start += 1
                continue
            _one_hot(record, text_values(values).tolist(), out[:, start:])
            start += len(categories) + 1
        return out

    def get_config(self) -> dict:
        columns = None if self.columns is None else [dict(c) for c in self.columns]
        return {
            "columns": columns,
            "max_categories": self.max_categories,
            **super().get_config(),
        }

    def describe_shapes(self, index: int) -> list[str]:
        columns = self.columns or []
        kinds = sum(c["categories"] is not None for c in columns)
        return [
            f"{len(columns)} columns ({kinds} categorical, one-hot) -> "
            f"(n[{index}], m) = ({self.width if self.columns else '?'}, m)"
        ]


def _one_hot(record: dict, texts: list, block: np.ndarray) -> None:
    """Write column ``record``'s one-hot rows of ``texts`` into ``block``
    ``(m, >= k + 1)``: a kept category its slot, a pooled value the (other)
    slot, a never-seen one the (other) slot or, when nothing was pooled in
    training, the training frequencies (with a warning naming the values)."""
    categories = record["categories"]
    lookup = {v: c for c, v in enumerate(categories)}
    k = len(categories)
    codes = np.fromiter(  # a category is kept to its first MAX_TEXT characters
        (lookup.get(v if v is None else v[:MAX_TEXT], k) for v in texts),
        np.int64,
        len(texts),
    )
    block[np.arange(len(texts)), codes] = 1.0
    unseen = codes == k
    if record["pooled"] == 0 and unseen.any():
        block[unseen, : k + 1] = record["frequencies"]
        values = sorted({str(v) for v, new in zip(texts, unseen, strict=True) if new})
        warnings.warn(
            f"column {record['name']!r} holds {reprlib.repr(values)}, not seen in "
            "training: encoded as the column's training average (its category "
            "frequencies)",
            stacklevel=caller_stacklevel(),  # the user's line, not glassnet's
        )


def export_table_onnx(model, path, dtype=None):
    """Write a model with table layers as an ONNX file taking one input per
    column it uses: ``(batch, 1)`` numbers (NaN empty) or stripped strings (``""``
    empty), named as the columns; the table layers as ``IsNaN`` / ``Where``,
    ai.onnx.ml ``LabelEncoder`` and ``OneHot`` nodes in front of the rows graph
    of :func:`glassnet.onnx_export.build_onnx` (``model.to_onnx`` calls this).
    ``dtype`` "float32" or "float64" (default: the model's); returns the path.
    Needs ``pip install "glassnet[onnx]"``."""
    from glassnet.layers._table_onnx import export_table_onnx as export

    return export(model, path, dtype)


def table_inputs(model, X, dtype=None) -> dict:
    """The inputs of :func:`export_table_onnx`'s graph for a raw table ``X`` (a
    Table, DataFrame, dict of columns, or rows of the model's columns):
    ``{column: (m, 1) array}`` for ``onnxruntime.InferenceSession.run``."""
    from glassnet.layers._table_onnx import table_inputs as inputs

    return inputs(model, X, dtype)


#: the table layer types (both in the closed registry of model files)
TABLE_TYPES = (Imputation, CategoryEncoding)


def table_layers(table, roles=None, *, max_categories: int = DEFAULT_MAX_CATEGORIES):
    """``([Imputation, CategoryEncoding], X)``: the table layers adapted on a
    training ``table`` (a :class:`~glassnet.data.columns.Table`, a pandas or
    polars DataFrame, or a dict of columns), and its encoded rows ``X (m, n[0])``
    (for the ``Standardization`` after them). ``roles``: a list of
    :class:`~glassnet.data.columns.ColumnRole` or ``{name: role}`` for some
    columns (the others inferred, :func:`~glassnet.data.columns.infer_roles`)."""
    from glassnet.data.columns import Table, infer_roles

    if isinstance(table, dict) or (
        hasattr(table, "columns") and not isinstance(table, np.ndarray | Table)
    ):
        table = Table.from_frame(table)
    elif not isinstance(table, Table):  # rows, in the order of the roles given
        if roles is None or isinstance(roles, dict):
            raise TypeError(
                "table_layers takes a table with column names (a Table, a pandas or "
                "polars DataFrame, a dict of columns), or rows with the list of "
                f"every column's role; received {type(table).__name__}"
            )
        table = Table.from_rows([name for name, _ in _role_pairs(roles)], table)
    if roles is None or isinstance(roles, dict):
        roles = infer_roles(table, roles)
    imputation = Imputation().adapt(table, roles)
    filled = imputation.rows(table)
    encoding = CategoryEncoding(max_categories=max_categories).adapt(
        filled, imputation.output_roles()
    )
    return [imputation, encoding], encoding.rows(filled)
