"""Column roles of a table: numeric, categorical or ignored (architecture D40).

A table as it comes (a CSV file, a Parquet file, a DataFrame) is held here in one
plain form, :class:`Table`: column names and one value array per column, numbers
as float64 (an empty cell NaN) and text as an object array of stripped strings
(an empty cell None). Every reader produces it, and :func:`infer_roles` decides
each column's role from its values alone:

* ``numeric``: every non-empty value reads as a number;
* ``categorical``: some value is text (``"male"``, ``"S"``);
* ``ignored``: an identifier (text whose values are all distinct, or whole numbers
  that count the rows, each once: ``1, 2, ..., m`` in any order), or a constant
  (one value, empty cells aside), which can teach the network nothing.

Roles given by name (``--categorical``, ``--numeric``, ``--ignore``, or a run's
``column_roles``) win over the inferred ones; a numeric column made categorical
has its numbers as categories (``3`` is ``"3"``). The roles decide the model's
table layers (:mod:`glassnet.layers.table`): the missing-value layer fills empty
cells (and adds a was-missing column), the categorical layer one-hot encodes.
"""

from __future__ import annotations

import math
import reprlib
from dataclasses import dataclass

import numpy as np

__all__ = [
    "ROLES",
    "ColumnRole",
    "Table",
    "category_text",
    "describe_roles",
    "infer_roles",
    "numeric_values",
    "parse_text_column",
    "read_table",
    "text_values",
]

ROLES = ("numeric", "categorical", "ignored")
#: the fewest rows for "all values distinct" to mark an identifier
MIN_IDENTIFIER_ROWS = 10
#: columns named per role in the printed roles (the rest counted)
SHOWN_PER_ROLE = 12


def parse_text_column(texts) -> np.ndarray:
    """CSV fields of one column (a list of str) -> float64 (empty -> NaN) when every
    non-empty field reads as a number, else an object array of stripped text
    (empty -> None)."""
    stripped = [text.strip() for text in texts]
    try:
        return np.array([t if t else "nan" for t in stripped], dtype=np.float64)
    except ValueError:
        pass
    if all(_reads_as_number(t) for t in stripped if t):  # "1e5", " 3 "
        return np.array([float(t) if t else np.nan for t in stripped])
    values = np.empty(len(stripped), dtype=object)
    values[:] = [t if t else None for t in stripped]
    return values


def _reads_as_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _is_missing(value) -> bool:
    """None, NaN, blank text, and pandas' NA / NaT (checked by type name, so
    pandas is never imported here)."""
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    if isinstance(value, str):
        return not value.strip()
    return False


def category_text(value) -> str | None:
    """One cell as a category: text stripped, a whole number without ``.0``
    (``3.0`` is ``"3"``), other numbers as Python writes them; None when empty."""
    if _is_missing(value):
        return None
    if isinstance(value, bytes | np.bytes_):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


def text_values(values) -> np.ndarray:
    """A column as categories: an object array of text, None where empty."""
    values = np.asarray(values)
    out = np.empty(len(values), dtype=object)
    if values.dtype.kind == "f":
        whole = np.isfinite(values) & (values == np.round(values))
        for i, (value, is_whole) in enumerate(zip(values.tolist(), whole, strict=True)):
            out[i] = (
                None
                if value != value
                else (str(int(value)) if is_whole else repr(value))
            )
        return out
    cells = values.tolist()
    plain = all(cell is None or type(cell) is str for cell in cells)
    keys = cells if plain else [(type(c), c) for c in cells]  # True, 1, 1.0 apart
    try:  # each distinct cell converted once (tables repeat their categories)
        texts = dict.fromkeys(keys)
    except TypeError:  # an unhashable cell: one at a time
        out[:] = [category_text(cell) for cell in cells]
        return out
    for key in texts:
        texts[key] = category_text(key if plain else key[1])
    out[:] = [texts[key] for key in keys]
    return out


def numeric_values(values, name: str) -> np.ndarray:
    """A column as float64 numbers, NaN where empty; a text that is not a number
    is a ValueError naming the column and the value."""
    values = np.asarray(values)
    if values.dtype.kind in "biuf":
        return values.astype(np.float64)
    out = np.empty(len(values))
    for i, value in enumerate(values.tolist()):
        if _is_missing(value):
            out[i] = np.nan
            continue
        try:
            out[i] = float(value.strip() if isinstance(value, str) else value)
        except (TypeError, ValueError):
            raise ValueError(
                f"column {name!r} is numeric but holds {reprlib.repr(value)} (row "
                f"{i}); give it a number or an empty cell, or make the column "
                "categorical"
            ) from None
    return out


class Table:
    """Column names and one value array per column, the rows of a table as it
    comes (numbers float64 with NaN where empty, text an object array with None
    where empty). ``len(table)`` is the number of rows ``m``."""

    def __init__(self, names, columns):
        names = [str(name) for name in names]
        columns = [np.asarray(column) for column in columns]
        if len(names) != len(columns):
            raise ValueError(
                f"a table needs one name per column; received {len(names)} names "
                f"and {len(columns)} columns"
            )
        if len(set(names)) != len(names):
            repeated = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"a table names each column once; repeated: {repeated}")
        sizes = {len(column) for column in columns}
        if len(sizes) > 1 or any(column.ndim != 1 for column in columns):
            raise ValueError(
                "a table's columns must be 1-D and of one length; received lengths "
                f"{sorted(sizes)}"
            )
        self.names = names
        self.columns = columns

    @classmethod
    def from_rows(cls, names, X) -> Table:
        """The columns of a 2-D array (numbers, text or objects) ``X (m, n)``."""
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"a table's rows must be 2-D (m, n); received {X.shape}")
        return cls(names, [_plain_column(X[:, j]) for j in range(X.shape[1])])

    @classmethod
    def from_frame(cls, frame) -> Table:
        """A pandas or polars DataFrame (or a dict of columns) by column name."""
        names = [
            str(name)
            for name in (frame.keys() if isinstance(frame, dict) else frame.columns)
        ]
        keys = list(frame.keys()) if isinstance(frame, dict) else list(frame.columns)
        return cls(names, [_plain_column(np.asarray(frame[key])) for key in keys])

    def __len__(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    def column(self, name: str) -> np.ndarray:
        return self.columns[self.names.index(name)]

    def take(self, rows) -> Table:
        """The rows ``rows`` (indices or a mask), as a new table."""
        return Table(self.names, [column[rows] for column in self.columns])

    def to_rows(self) -> np.ndarray:
        """``(m, n)``: float64 when every column holds numbers, else objects."""
        if all(column.dtype.kind == "f" for column in self.columns):
            return np.column_stack(self.columns) if self.columns else np.empty((0, 0))
        rows = np.empty((len(self), len(self.columns)), dtype=object)
        for j, column in enumerate(self.columns):
            rows[:, j] = column
        return rows


def _plain_column(values) -> np.ndarray:
    """float64 (NaN empty) for numbers and numbers-with-gaps; else objects, text
    stripped, empty cells None."""
    values = np.asarray(values)
    if values.dtype.kind in "biuf":
        return values.astype(np.float64)
    cells = values.tolist()
    if all(
        _is_missing(v) or (isinstance(v, int | float) and not isinstance(v, bool))
        for v in cells
    ):
        return np.array([np.nan if _is_missing(v) else float(v) for v in cells])
    out = np.empty(len(cells), dtype=object)
    out[:] = [
        category_text(v) if isinstance(v, str | bytes) or _is_missing(v) else v
        for v in cells
    ]
    return out


@dataclass
class ColumnRole:
    """One column's role, why, and how many of its cells are empty."""

    name: str
    role: str
    reason: str
    missing: int = 0

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "role": self.role,
            "reason": self.reason,
            "missing": self.missing,
        }


def _inferred(name: str, column: np.ndarray) -> ColumnRole:
    """The role of one column from its values."""
    m = len(column)
    if column.dtype.kind == "f":
        present = column[~np.isnan(column)]
        missing = m - len(present)
        distinct = np.unique(present)
        if len(distinct) <= 1:
            return ColumnRole(name, "ignored", "constant", missing)
        whole = bool(np.all(distinct == np.round(distinct)))
        if (
            whole
            and not missing
            and m >= MIN_IDENTIFIER_ROWS
            and len(distinct) == m
            and distinct[-1] - distinct[0] == m - 1
        ):
            return ColumnRole(name, "ignored", f"identifier: counts the {m} rows", 0)
        return ColumnRole(name, "numeric", "numbers", missing)
    texts = [v for v in column.tolist() if v is not None]
    missing = m - len(texts)
    distinct = len(set(texts))
    if distinct <= 1:
        return ColumnRole(name, "ignored", "constant", missing)
    if distinct == len(texts) and len(texts) >= MIN_IDENTIFIER_ROWS:
        return ColumnRole(
            name, "ignored", f"identifier: all {distinct} values distinct", missing
        )
    return ColumnRole(name, "categorical", f"text, {distinct} values", missing)


def infer_roles(table: Table, given: dict | None = None) -> list[ColumnRole]:
    """Each column's :class:`ColumnRole`, inferred from its values, except those
    ``given`` by name (``{"sex": "categorical", ...}``: the user's choice wins).
    A given name that is not a column, or a role that is not one of
    :data:`ROLES`, is a ValueError naming it; so is ``numeric`` for a column of
    text that does not read as numbers."""
    given = dict(given or {})
    for name, role in given.items():
        if name not in table.names:
            raise ValueError(
                f"column roles name {name!r}, which is not a column; columns: "
                f"{', '.join(table.names)}"
            )
        if role not in ROLES:
            raise ValueError(
                f"the role of column {name!r} must be one of {', '.join(ROLES)}; "
                f"received {role!r}"
            )
    roles = []
    for name, column in zip(table.names, table.columns, strict=True):
        role = _inferred(name, column)
        chosen = given.get(name)
        if chosen is not None and chosen != role.role:
            if chosen == "numeric":
                numeric_values(column, name)  # text that is not a number fails here
            role = ColumnRole(name, chosen, "given", role.missing)
        roles.append(role)
    return roles


def read_table(path, *, budget=None) -> Table | np.ndarray:
    """The raw table of a CSV (or ``.csv.gz``) or Parquet file for a model with
    table layers (``glassnet predict``): a :class:`Table` by the header's names
    (the model takes its columns by name; others, such as the label, are left),
    or, for a CSV file without a header, the rows ``(m, n)`` as objects, taken in
    order."""
    from pathlib import Path

    from glassnet.data.csv_files import read_rows

    if Path(path).suffix.lower() in (".parquet", ".pq"):
        from glassnet.data.parquet_files import read_parquet_table

        return read_parquet_table(path, budget=budget)
    header, body, lines = read_rows(path, budget=budget)
    width = len(header) if header else len(body[0])
    for row, line in zip(body, lines, strict=True):
        if len(row) != width:
            raise ValueError(
                f"{path}: line {line} has {len(row)} fields but the first line has "
                f"{width}"
            )
    columns = [parse_text_column([row[j] for row in body]) for j in range(width)]
    if header:
        return Table(header, columns)
    return Table([str(j) for j in range(width)], columns).to_rows()


def describe_roles(roles) -> str:
    """Lines for the CLI: one per role, its columns with why and empty cells, e.g.
    ``columns: categorical sex (text, 2 values), port (text, 3 values, 2 empty)``."""
    lines = []
    for kind in ROLES:
        chosen = [role for role in roles if role.role == kind]
        if not chosen:
            continue
        parts = []
        for role in chosen[:SHOWN_PER_ROLE]:
            empty = f", {role.missing} empty" if role.missing else ""
            parts.append(f"{role.name} ({role.reason}{empty})")
        more = len(chosen) - SHOWN_PER_ROLE
        if more > 0:
            parts.append(f"and {more} more")
        lines.append(f"  {kind} ({len(chosen)}): {', '.join(parts)}")
    return "columns:\n" + "\n".join(lines)
