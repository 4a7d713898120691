"""The dataset name registry and :func:`load_dataset` (names or paths, as rows).

Names known to :func:`load_dataset` (see :func:`available_datasets`) are registered
by :mod:`glassnet.data.builtin`, imported at the end of this module:

* scikit-learn's bundled sets: ``digits`` (raw pixels 0..16), ``breast_cancer``,
  ``iris``, ``wine``, ``diabetes`` (regression);
* the course's generated sets, drawn exactly as in the course: ``moons``,
  ``circles`` (with its separate test set), ``flower`` (the planar data);
* the course files, found in ``$GLASSNET_DATA`` or ``../shared/data`` relative to the
  current directory: ``mnist`` (5000-example subset), ``catvnoncat``, ``football``.

Anything else is read as a path: ``.h5``, ``.mat``, ``.npz``, ``.csv``/``.csv.gz``,
``.parquet`` or a folder of images (see :mod:`glassnet.data.loaders`).
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from glassnet.data.datasets import Dataset, DatasetNotFoundError

__all__ = ["load_dataset", "register_dataset", "available_datasets"]


@dataclass(frozen=True)
class _Entry:
    loader: Callable[..., Dataset]
    description: str


_REGISTRY: dict[str, _Entry] = {}
_ALIASES: dict[str, str] = {}


def _normalize(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def register_dataset(
    name: str,
    loader: Callable[..., Dataset],
    *,
    description: str = "",
    aliases=(),
    overwrite: bool = False,
) -> None:
    """Make ``load_dataset(name, **options)`` call ``loader(**options)``.

    ``loader`` takes keyword options (``rng`` if it draws random numbers) and
    returns a :class:`Dataset`.
    """
    if not callable(loader):
        raise TypeError(f"loader must be callable; received {loader!r}")
    key = _normalize(name)
    names = [key, *(_normalize(a) for a in aliases)]
    if not overwrite:
        taken = [n for n in names if n in _REGISTRY or n in _ALIASES]
        if taken:
            raise ValueError(
                f"dataset name(s) {taken} already registered; pass overwrite=True"
            )
    _REGISTRY[key] = _Entry(loader, description)
    for alias in names[1:]:
        _ALIASES[alias] = key


def available_datasets() -> list[str]:
    """The registered dataset names, sorted."""
    return sorted(_REGISTRY)


def _lookup(name: str) -> str | None:
    key = _normalize(name)
    key = _ALIASES.get(key, key)
    return key if key in _REGISTRY else None


def _suggestion(name: str) -> str:
    """``" (did you mean 'digits'?)"`` for a name close to a known one (difflib's
    ratio >= 0.6, aliases included), else ``""``."""
    import difflib

    known = {**{key: key for key in _REGISTRY}, **_ALIASES}
    close = difflib.get_close_matches(_normalize(name), list(known), n=1)
    return f" (did you mean {known[close[0]]!r}?)" if close else ""


def _call_loader(label: str, loader, options: dict) -> Dataset:
    parameters = inspect.signature(loader).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        unknown = sorted(set(options) - set(parameters))
        if unknown:
            allowed = sorted(p for p in parameters if p != "rng")
            raise TypeError(
                f"{label} got unknown option(s) {unknown}; allowed: "
                f"{allowed if allowed else 'none'}"
            )
    return loader(**options)


def load_dataset(
    name_or_path: str | os.PathLike,
    *,
    label_column: str | int | None = None,
    rng=None,
    **options,
) -> Dataset:
    """Load a dataset by registered name or from a file/folder, as rows.

    ``rng`` (int, Generator or RandomState) draws the generated sets (``moons``,
    ``circles``, ``flower``; ``None`` gives the course's fixed draw); datasets read
    from disk do not use it. ``label_column`` (name or index) picks the label
    column of a CSV file. Other ``options`` go to the loader, e.g. ``flatten=False``
    for ``.h5`` images, ``size=(64, 64)`` for image folders, ``n_samples=500`` for
    ``moons``.

    A registered name wins over a file of the same name; write ``./digits`` to read
    the file. A missing path raises :class:`DatasetNotFoundError` (a ValueError and
    a FileNotFoundError) naming the path and the known dataset names.
    """
    if isinstance(name_or_path, str):
        key = _lookup(name_or_path)
        if key is not None and not name_or_path.startswith((".", "/", "~")):
            if label_column is not None:
                raise ValueError(
                    f"label_column applies to CSV files, not to the named dataset "
                    f"{key!r}; received label_column={label_column!r}"
                )
            loader = _REGISTRY[key].loader
            if "rng" in inspect.signature(loader).parameters:
                options["rng"] = rng
            return _call_loader(f"load_dataset({key!r})", loader, options)
    elif not isinstance(name_or_path, os.PathLike):
        raise TypeError(
            "name_or_path must be a dataset name or a path; received "
            f"{type(name_or_path).__name__}"
        )
    path = Path(name_or_path).expanduser()
    if not path.exists():
        raise DatasetNotFoundError(
            f"no dataset named {str(name_or_path)!r}{_suggestion(str(name_or_path))} "
            f"and no such file or folder: {path.resolve()}; known dataset names: "
            f"{', '.join(available_datasets())}"
        )
    from glassnet.data.loaders import load_file

    if label_column is not None:
        options["label_column"] = label_column
    return load_file(path, **options)


# The built-in names (scikit-learn sets, the course's generated sets and files)
# register themselves when glassnet.data.builtin is imported. It builds on the
# definitions above, so it is imported last.
import glassnet.data.builtin  # noqa: E402, F401
