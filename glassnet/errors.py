"""The base of glassnet's own exceptions.

Every error class glassnet defines derives from :class:`GlassnetError` and from the
built-in exception it has always been (so ``except ValueError`` still catches a
:class:`~glassnet.io.ModelFileError`):

* :class:`~glassnet.io.ModelFileError` (ValueError): a model file or checkpoint that
  is missing, damaged or unsafe;
* :class:`~glassnet.data.datasets.DatasetNotFoundError` (FileNotFoundError and
  ValueError): a dataset name or path that could not be found;
* :class:`~glassnet.guard.DivergenceError` (RuntimeError): training produced NaN or
  infinite parameters;
* :class:`MissingDependencyError` (ImportError): a feature needs an optional
  dependency that is not installed; the message names the extra to install
  (``pip install "glassnet[mlflow]"``).

``except GlassnetError`` catches all of them; the ``glassnet`` command prints them as
one-line errors, while other exceptions it did not expect are reported as bugs.
"""

from __future__ import annotations

__all__ = ["GlassnetError", "MissingDependencyError"]


class GlassnetError(Exception):
    """An error glassnet raises on purpose about its input, files or training run
    (never a programming error)."""


class MissingDependencyError(GlassnetError, ImportError):
    """An optional dependency a feature needs is not installed; the message says
    which extra installs it."""


def require(module: str, feature: str, extra: str):
    """Import ``module`` for ``feature`` (e.g. "logging to MLflow"), or raise
    :class:`MissingDependencyError` naming ``pip install "glassnet[extra]"``."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingDependencyError(
            f"{feature} needs {module.split('.')[0]}, which is not installed "
            f'({error}): pip install "glassnet[{extra}]"'
        ) from None


def caller_stacklevel() -> int:
    """The ``stacklevel`` for :func:`warnings.warn` that points at the first frame
    outside the glassnet package (the user's line), however deep inside glassnet the
    warning is raised: 1 is the function that calls ``warnings.warn``."""
    import os
    import sys

    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(
        package
    ):
        frame, level = frame.f_back, level + 1
    return level
