"""Bounded reading of HDF5 files that reads only the file it was given.

HDF5 can make a dataset's bytes live elsewhere: *external storage* (raw bytes of
any file, e.g. the system's password file), *external links* (an object of another
HDF5 file), *virtual datasets* (slices of other files) and filters loaded as
plugins (shared libraries found on a search path). All four are refused before
anything is read; soft links are followed inside the file only. A dataset's shape
and chunk size are checked against the data budget (:mod:`glassnet.data.budgets`)
before it is read, and a dataset with no data written (its every value the fill
value, however large its declared shape) is refused.
"""

from __future__ import annotations

import os
import stat

import numpy as np

from glassnet.data.budgets import DataFileError, Meter, describe_bytes

__all__ = ["H5Reader", "read_unlabelled_features"]

# HDF5's built-in filters and h5py's LZF: none of them loads a plugin
_FILTERS = {
    1: "deflate",
    2: "shuffle",
    3: "fletcher32",
    4: "szip",
    5: "nbit",
    6: "scaleoffset",
    32000: "lzf",
}
_MAX_LINK_DEPTH = 8


class H5Reader:
    """An HDF5 file opened read-only, whose datasets are read with every check."""

    def __init__(self, path, meter: Meter):
        import h5py

        self.path, self.meter = path, meter
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            raise FileNotFoundError(f"no such file: {path}") from None
        if not stat.S_ISREG(mode):
            raise DataFileError(f"cannot read {path} as HDF5: it is not a regular file")
        try:
            self.handle = h5py.File(path, "r")
        except OSError as error:
            raise DataFileError(f"cannot read {path} as HDF5: {error}") from None
        # names of the root's links, listed without resolving any of them
        self.keys = set(self.handle.keys())

    def close(self):
        self.handle.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def filename(self) -> str:
        return str(self.path)

    def _resolve(self, group, path: str, depth: int):
        """The object at ``path`` from ``group``, following hard and soft links
        only (an external link is refused)."""
        import h5py

        if depth > _MAX_LINK_DEPTH:
            raise self.meter.error(f"soft links nest deeper than {_MAX_LINK_DEPTH}")
        if path.startswith("/"):
            group = self.handle
        target = group
        for name in [part for part in path.split("/") if part not in ("", ".")]:
            if not isinstance(target, h5py.Group):
                return None
            link = target.get(name, getlink=True)
            if link is None:
                return None
            if isinstance(link, h5py.ExternalLink):
                raise self.meter.error(
                    f"{name!r} is an external link to {link.path!r} in "
                    f"{link.filename!r}; glassnet reads only the file it was given"
                )
            if isinstance(link, h5py.SoftLink):
                target = self._resolve(target, link.path, depth + 1)
                if target is None:
                    return None
            else:
                target = target[name]
        return target

    def dataset(self, key: str):
        """The checked dataset ``key`` (a name in :attr:`keys`)."""
        import h5py

        found = self._resolve(self.handle, key, 0)
        if found is None:
            raise self.meter.error(f"{key!r} is a link to nothing (a dangling link)")
        if not isinstance(found, h5py.Dataset):
            kind = "a group" if isinstance(found, h5py.Group) else "not a dataset"
            raise self.meter.error(f"{key!r} is {kind}, not an array")
        what = f"dataset {key!r}"
        if found.is_virtual:
            raise self.meter.error(
                f"{what} is a virtual dataset (its data live in other files); "
                "glassnet reads only the file it was given"
            )
        external = found.external
        if external:
            raise self.meter.error(
                f"{what} keeps its data in external file(s) {[e[0] for e in external]}"
                "; glassnet reads only the file it was given"
            )
        self._check_filters(found, what)
        return found

    def _check_filters(self, dataset, what: str) -> None:
        plist = dataset.id.get_create_plist()
        for index in range(plist.get_nfilters()):
            code, _, _, name = plist.get_filter(index)
            if code not in _FILTERS:
                shown = name.decode("utf-8", "replace") if name else "unnamed"
                raise self.meter.error(
                    f"{what} is compressed with HDF5 filter {code} ({shown}), which "
                    "would load a plugin library; glassnet reads the built-in "
                    f"filters: {', '.join(sorted(_FILTERS.values()))}"
                )

    def _plan(self, key: str, text: bool):
        """Check dataset ``key`` and count it against the budget; nothing is read."""
        import h5py

        dataset = self.dataset(key)
        what = f"dataset {key!r}"
        if dataset.shape is None:
            raise self.meter.error(f"{what} is empty (a null dataspace)")
        dtype = dataset.dtype
        strings = h5py.check_string_dtype(dtype)
        if strings is not None and not text:
            raise self.meter.error(f"{what} holds strings, not numbers")
        if strings is None and (
            dtype.kind not in "biuf" or dtype.subdtype is not None or dtype.names
        ):
            raise self.meter.error(
                f"{what} has HDF5 type {dtype}; glassnet reads numbers"
                + (" and strings" if text else "")
            )
        nbytes = self.meter.array(what, dataset.shape, dtype)
        if dataset.chunks is not None:
            self.meter.array(f"a chunk of {what}", dataset.chunks, dtype, copy=False)
        if nbytes and dataset.id.get_storage_size() == 0:
            raise self.meter.error(
                f"{what} declares shape {dataset.shape} ({describe_bytes(nbytes)}) but "
                "holds no data (nothing was written to it)"
            )
        return dataset, strings, what

    def read_all(self, keys: dict) -> dict[str, np.ndarray]:
        """``{key: data}`` of the datasets ``keys`` (``{key: text}``: True allows
        strings, returned as str), every one checked and budgeted before any is
        read."""
        plans = {key: self._plan(key, text) for key, text in keys.items()}
        arrays = {}
        for key, (dataset, strings, what) in plans.items():
            if strings is not None:
                arrays[key] = _as_text(dataset, strings, what, self.meter)
            else:
                arrays[key] = np.asarray(dataset[()])
        return arrays


def _as_text(dataset, strings, what, meter) -> np.ndarray:
    try:
        if strings.length is None:  # variable length: stored in the file's heap
            values = dataset.asstr()[()]
            return np.asarray(values, dtype=str)
        return np.char.decode(np.asarray(dataset[()]), "utf-8")
    except UnicodeDecodeError as error:
        raise meter.error(
            f"{what} holds bytes that are not UTF-8 text ({error})"
        ) from None


def read_unlabelled_features(path, *, budget=None):
    """The array X (or x) of an HDF5 file that holds no labels (``glassnet
    predict``), read with every check above; None when the file holds labels
    (``y``, ``Y``, ``train_set_y``, ``test_set_y``) or no X."""
    with H5Reader(path, Meter(path, budget)) as reader:
        if reader.keys & {"y", "Y", "train_set_y", "test_set_y"}:
            return None
        key = next((k for k in ("X", "x") if k in reader.keys), None)
        return None if key is None else reader.read_all({key: False})[key]
