"""The data budget: what a data file may make glassnet allocate, checked first.

Every loader of :mod:`glassnet.data` (``.npz``/``.npy``, ``.h5``, ``.mat``, CSV,
image folders) reads what the file *declares* (zip and ``.npy`` headers, HDF5
dataset shapes, MATLAB array headers, image headers, the text's length) and checks
it against one :class:`DataBudget` before it allocates or decompresses anything:

* ``max_array_bytes`` (1 GiB): one array as the file declares it, decoded
  (shape x item size), e.g. 2**30 uint8 pixels or 2**27 float64 values;
* ``max_total_bytes`` (2 GiB): everything one load builds: each array's decoded
  bytes plus 8 bytes per value for the float64 (or int64) copy the
  :class:`~glassnet.data.Dataset` holds; a CSV's text counts 6 bytes per character
  (the text and the values parsed from it);
* ``max_image_pixels`` (2**25, about 33.5 million: 5792 x 5792): one picture of an
  image folder, read from its header before it is decoded;
* ``max_total_pixels`` (2**30): all the pictures of one folder, decoded one at a
  time (this bounds the decoding work when ``size=`` shrinks them).

A file over budget raises :class:`DataFileError` (a ``ValueError``) naming the file,
what it declared and the budget, never ``MemoryError``; nothing has been allocated
for it. The defaults hold the course's data sets and MNIST- or CIFAR-sized ones
with room to spare; a larger data set takes an explicit budget::

    load_dataset("big.npz", budget={"max_total_bytes": 16 * 2**30})
    load_dataset("big.npz", budget=DataBudget(max_total_bytes=16 * 2**30))

or, for the ``glassnet`` command, the environment variable
``GLASSNET_DATA_BUDGET="max_total_bytes=16GiB,max_array_bytes=8GiB"``
(an explicit ``budget=`` wins over it).

Rows that stay on disk (:mod:`glassnet.data.on_disk`, :mod:`glassnet.data.streams`:
``.npy`` files and shards, HDF5 datasets, Parquet) are not counted: they never
hold the file, only a batch or a block of it, so a file far above the budget is
trained on from disk (``glassnet train --data FOLDER``, ``fit(open_rows(path),
y)``) where a loader refuses it. Their headers, shapes and sizes are checked as
here, and reading a whole source into memory (``np.asarray(source)``) is counted
like a load.

The same loaders read only what was asked: HDF5 external storage, external links,
virtual datasets and filters that would load a plugin are refused; image folders
do not follow symbolic links out of the folder; ``.npz``, ``.npy`` and ``.mat``
files never unpickle (object arrays are refused unread).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

import numpy as np

from glassnet.errors import GlassnetError

__all__ = ["DataBudget", "DataFileError", "ENV_VAR", "resolve_budget"]

ENV_VAR = "GLASSNET_DATA_BUDGET"
#: bytes counted per character of a CSV file's text: the text itself and, at two
#: characters per value at the least ("0,"), 4 bytes of float64 per character
CSV_BYTES_PER_CHARACTER = 6
#: bytes of the float64 / int64 copy a Dataset holds, per value
COPY_BYTES_PER_VALUE = 8

_UNITS = {"": 1, "b": 1, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
_UNITS.update({"k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6})
_UNITS.update({"g": 10**9, "gb": 10**9, "t": 10**12, "tb": 10**12})
_AMOUNT = re.compile(r"\s*([0-9]+(?:\.[0-9]*)?(?:e[0-9]+)?)\s*([a-z]*)\s*", re.I)


class DataFileError(GlassnetError, ValueError):
    """A data file glassnet refuses to read: over the data budget, reaching for
    other files (HDF5 external storage or links, symbolic links out of an image
    folder), holding pickled objects, or malformed. A ValueError too."""


@dataclass(frozen=True)
class DataBudget:
    """Limits on what one data file may make glassnet allocate (module docstring).

    All four are positive integers; ``DataBudget(max_total_bytes=2**33)`` raises
    one limit and keeps the others.
    """

    max_array_bytes: int = 2**30
    max_total_bytes: int = 2**31
    max_image_pixels: int = 2**25
    max_total_pixels: int = 2**30

    def __post_init__(self):
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError(
                    f"DataBudget.{item.name} must be an integer; received {value!r}"
                )
            if value < 1:
                raise ValueError(
                    f"DataBudget.{item.name} must be positive; received {value}"
                )
            object.__setattr__(self, item.name, int(value))


def _parse_amount(name: str, text: str) -> int:
    match = _AMOUNT.fullmatch(text)
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _UNITS:
        raise ValueError(
            f"{ENV_VAR}: {name}={text!r} is not an amount; write e.g. "
            f"{name}=8GiB or {name}=8589934592"
        )
    return int(float(match.group(1)) * _UNITS[unit])


def _from_environment() -> DataBudget:
    text = os.environ.get(ENV_VAR, "").strip()
    if not text:
        return DataBudget()
    names = {item.name for item in fields(DataBudget)}
    overrides = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.partition("=")
        name = name.strip()
        if name not in names or not value.strip():
            raise ValueError(
                f"{ENV_VAR}={text!r}: {part!r} is not NAME=AMOUNT with NAME one of "
                f"{', '.join(sorted(names))}"
            )
        overrides[name] = _parse_amount(name, value.strip())
    return DataBudget(**overrides)


def resolve_budget(budget=None) -> DataBudget:
    """The budget a load uses: ``budget`` (a :class:`DataBudget`, or a mapping of
    the limits to change from the defaults), else ``$GLASSNET_DATA_BUDGET``, else
    the defaults."""
    if budget is None:
        return _from_environment()
    if isinstance(budget, DataBudget):
        return budget
    if isinstance(budget, Mapping):
        names = {item.name for item in fields(DataBudget)}
        unknown = sorted(str(key) for key in budget if key not in names)
        if unknown:
            raise TypeError(
                f"budget has unknown limit(s) {unknown}; limits: {sorted(names)}"
            )
        return replace(DataBudget(), **budget)
    raise TypeError(
        "budget must be a DataBudget or a dict of its limits; received "
        f"{type(budget).__name__}"
    )


def describe_bytes(count: int) -> str:
    """``"8000000000 bytes (7.5 GiB)"``."""
    if count < 2**10:
        return f"{count} bytes"
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20)):
        if count >= size:
            return f"{count} bytes ({count / size:.1f} {unit})"
    return f"{count} bytes ({count / 2**10:.1f} KiB)"


def _how_to_raise(limit: str, needed: int) -> str:
    return (
        f"pass budget={{'{limit}': {needed}}} to the loader (or set "
        f"{ENV_VAR}={limit}={needed}) if the file is trusted and the memory is there"
    )


class Meter:
    """The budget of one load from ``source`` (a path), and what it used so far.

    Every check happens before the memory it guards is allocated, so a refused
    file costs nothing but its headers.
    """

    def __init__(self, source, budget=None):
        self.source = str(source)
        self.budget = resolve_budget(budget)
        self.total_bytes = 0
        self.total_pixels = 0

    def error(self, message: str) -> DataFileError:
        return DataFileError(f"cannot read {self.source}: {message}")

    def array(self, what: str, shape, dtype, *, copy: bool = True) -> int:
        """Count an array the file declares (``what``: e.g. "array 'X'"): its
        decoded bytes against ``max_array_bytes``, and those plus the float64 copy
        (``copy``) against ``max_total_bytes``. Returns its decoded bytes."""
        shape = tuple(int(d) for d in shape)
        count = math.prod(shape)
        itemsize = np.dtype(dtype).itemsize
        nbytes = count * itemsize
        limit = self.budget.max_array_bytes
        if nbytes > limit:
            raise self.error(
                f"{what} declares shape {shape} of {np.dtype(dtype)} = "
                f"{describe_bytes(nbytes)}, above the data budget's max_array_bytes "
                f"= {describe_bytes(limit)}; {_how_to_raise('max_array_bytes', nbytes)}"
            )
        self.add_bytes(what, nbytes + (count * COPY_BYTES_PER_VALUE if copy else 0))
        return nbytes

    def add_bytes(self, what: str, nbytes: int) -> None:
        """Count ``nbytes`` more against ``max_total_bytes``."""
        self.total_bytes += int(nbytes)
        limit = self.budget.max_total_bytes
        if self.total_bytes > limit:
            raise self.error(
                f"with {what} the load needs {describe_bytes(self.total_bytes)} in "
                f"all, above the data budget's max_total_bytes = "
                f"{describe_bytes(limit)}; "
                f"{_how_to_raise('max_total_bytes', self.total_bytes)}"
            )

    def image(self, name: str, width: int, height: int) -> None:
        """Count one picture's declared pixels (its header) before decoding it."""
        pixels = int(width) * int(height)
        limit = self.budget.max_image_pixels
        if pixels > limit:
            raise self.error(
                f"picture {name} declares {width}x{height} = {pixels} pixels, above "
                f"the data budget's max_image_pixels = {limit}; "
                f"{_how_to_raise('max_image_pixels', pixels)}"
            )
        self.total_pixels += pixels
        limit = self.budget.max_total_pixels
        if self.total_pixels > limit:
            raise self.error(
                f"with picture {name} the folder declares {self.total_pixels} pixels "
                f"to decode, above the data budget's max_total_pixels = {limit}; "
                f"{_how_to_raise('max_total_pixels', self.total_pixels)}"
            )
