"""The report's figures as PNG bytes: matplotlib figures rendered in memory (Agg,
no display, nothing written beside the page) and example thumbnails.

The figures themselves are drawn by :mod:`glassnet.plots` (learning curves) and
:mod:`glassnet.search.plots` (a search's trials and best-so-far curve), the same
functions that write ``learning_curve.png``, ``trials.png`` and
``best_so_far.png``, so the page and the files show the same thing. Thumbnails
reuse the contact sheet's encoder (:mod:`glassnet.strategy.error_analysis`).
"""

from __future__ import annotations

import io
import struct

import numpy as np

DPI = 90
"""Resolution of the figures embedded in the page (the files use 100)."""


def png_of(figure) -> tuple[bytes, tuple[int, int]]:
    """``(png, (width, height))``: the figure rendered to PNG bytes, then closed."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    width, height = figure.get_size_inches() * DPI
    _close(figure)
    return buffer.getvalue(), (int(round(width)), int(round(height)))


def png_size(png: bytes, scale: float = 1.0) -> tuple[int, int]:
    """``(width, height)`` of PNG bytes (their IHDR chunk) times ``scale``."""
    width, height = struct.unpack(">II", png[16:24])
    return int(round(width * scale)), int(round(height * scale))


def _close(figure) -> None:
    """Release a figure made through pyplot (search figures are not registered)."""
    from glassnet.plots import _pyplot

    plt = _pyplot()
    if plt.fignum_exists(getattr(figure, "number", -1)):
        plt.close(figure)


def learning_curves(history, *, title: str, early_stopping: dict | None):
    """The run's learning-curve figure (:func:`glassnet.plots.plot_run_history`,
    as ``learning_curve.png``): cost and every logged metric, train and dev, the
    best epoch marked (early stopping's, else the epoch of the lowest dev cost)
    and, when early stopping ended the run, the epoch it stopped at. Returns
    ``(figure, best_epoch)``."""
    from glassnet.plots import best_epoch_of, plot_run_history

    best = (early_stopping or {}).get("best_epoch")
    figure = plot_run_history(history, title=title, early_stopping=early_stopping)
    return figure, best_epoch_of(history) if best is None else best


def thumbnail_png(row: np.ndarray, image_shape, high: float) -> bytes:
    """One example's features ``row`` as a PNG image of ``image_shape`` (h, w[, c]),
    pixel values divided by ``high`` (the split's largest value), so every
    thumbnail is on the same scale."""
    import base64

    from glassnet.strategy.error_analysis import _png_base64

    pixels = np.asarray(row, dtype=np.float64).reshape(image_shape)
    pixels = np.clip(pixels / (high if high > 0 else 1.0), 0.0, 1.0)
    return base64.b64decode(_png_base64(pixels))
