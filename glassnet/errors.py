"""The base of glassnet's own exceptions.

Every error class glassnet defines derives from :class:`GlassnetError` and from the
built-in exception it has always been (so ``except ValueError`` still catches a
:class:`~glassnet.io.ModelFileError`):

* :class:`~glassnet.io.ModelFileError` (ValueError): a model file or checkpoint that
  is missing, damaged or unsafe;
* :class:`~glassnet.data.datasets.DatasetNotFoundError` (FileNotFoundError and
  ValueError): a dataset name or path that could not be found;
* :class:`~glassnet.guard.DivergenceError` (RuntimeError): training produced NaN or
  infinite parameters.

``except GlassnetError`` catches all of them; the ``glassnet`` command prints them as
one-line errors, while other exceptions it did not expect are reported as bugs.
"""

from __future__ import annotations

__all__ = ["GlassnetError"]


class GlassnetError(Exception):
    """An error glassnet raises on purpose about its input, files or training run
    (never a programming error)."""
