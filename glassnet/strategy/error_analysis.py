"""Error analysis: tally hand-tagged dev-set mistakes and the ceiling on each fix.

The notes' spreadsheet: take ~100 misclassified dev examples, give each a row, tick a
column for each cause that applies (tags may overlap) and add a comment:

    Image  Dog  Great cats  Blurry  Instagram  Comments
    1      ✓                        ✓          Pitbull
    ...
    % of total  8%  43%  61%  12%

If dev error is ``e`` and a tag covers a fraction ``p`` of the errors, fixing that
category completely lowers the dev error to at best ``e (1 - p)``: a gain of at most
``e p`` (the "ceiling"), which tells you which fix is worth the effort.
:func:`export_errors` writes the empty spreadsheet (and a contact sheet of the images)
for a model's mistakes; :func:`error_analysis` reads it back once tagged.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import math
import numbers
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._label_checks import _check_targets

TRUE_WORDS = frozenset({"1", "1.0", "true", "t", "yes", "y", "✓", "✔", "☑", "✅"})
FALSE_WORDS = frozenset({"", "0", "0.0", "false", "f", "no", "n", "x", "✗", "✘"})
TEMPLATE_COLUMNS = ("index", "true", "predicted")
"""Columns written by :func:`export_errors` that are never read as tags."""
MISLABELED_NAMES = frozenset(
    {"mislabeled", "mislabelled", "incorrectlylabeled", "incorrectlylabelled"}
    | {"wronglabel", "labelerror", "badlabel"}
)


def _as_bool(value) -> bool | None:
    """Read a tag cell: True, False, or None when it is not a boolean at all."""
    if value is None:
        return False
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Real):
        if math.isnan(value):
            return False
        return bool(value) if value in (0, 1) else None
    if isinstance(value, str):
        word = value.strip().casefold()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    return None


def _is_mislabeled(name: str) -> bool:
    return "".join(ch for ch in name.casefold() if ch.isalpha()) in MISLABELED_NAMES


def _share(fraction: float) -> str:
    text = f"{100 * fraction:.1f}"
    return (text[:-2] if text.endswith(".0") else text) + "%"


def _read_table(tags) -> tuple[list[str], list[dict]]:
    """Turn a CSV path, a list of row dicts or a dict of columns into rows."""
    if isinstance(tags, (str, os.PathLike)):
        with open(tags, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            rows = [dict(row) for row in reader]
            columns = [c for c in (reader.fieldnames or []) if c is not None]
        return columns, rows
    if isinstance(tags, Mapping):
        columns = [str(name) for name in tags]
        lengths = {name: len(values) for name, values in tags.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(
                f"the columns of tags must have equal lengths; received {lengths}"
            )
        n = next(iter(lengths.values()), 0)
        rows = [{str(k): v[i] for k, v in tags.items()} for i in range(n)]
        return columns, rows
    if isinstance(tags, Sequence) and all(isinstance(r, Mapping) for r in tags):
        columns = list(dict.fromkeys(str(k) for row in tags for k in row))
        return columns, [{str(k): v for k, v in row.items()} for row in tags]
    raise TypeError(
        "tags must be a CSV path, a list of row dicts or a dict of columns; "
        f"received {type(tags).__name__}"
    )


@dataclass(frozen=True)
class TagStat:
    """One tag's share of the errors and, given the dev error, its ceiling."""

    name: str
    count: int
    fraction: float
    improvement: float | None = None
    best_dev_error: float | None = None
    mislabeled: bool = False


@dataclass(frozen=True)
class ErrorAnalysis:
    """Per-tag tallies of misclassified dev examples, sorted by count."""

    n_errors: int
    tags: tuple[TagStat, ...]
    dev_error: float | None = None
    comments: list[tuple[str, str]] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        """Tag -> number of errors with that tag."""
        return {tag.name: tag.count for tag in self.tags}

    @property
    def fractions(self) -> dict[str, float]:
        """Tag -> fraction of the errors with that tag (they may sum past 1)."""
        return {tag.name: tag.fraction for tag in self.tags}

    def ceiling(self, tag: str) -> float:
        """Best dev error after fixing every error tagged ``tag``: ``e (1 - p)``."""
        if self.dev_error is None:
            raise ValueError("the ceiling needs dev_error; pass it to error_analysis")
        for stat in self.tags:
            if stat.name == tag:
                return stat.best_dev_error
        raise ValueError(
            f"unknown tag {tag!r}; tags: {', '.join(s.name for s in self.tags)}"
        )

    def table(self) -> str:
        """A text table sorted by count, with the ceiling when dev error is known."""
        title = f"Error analysis of {self.n_errors} misclassified dev examples"
        if self.dev_error is not None:
            title += f" (dev error {_share(self.dev_error)})"
        width = max(len("tag"), *(len(tag.name) for tag in self.tags))
        header = f"{'tag':<{width}}  {'count':>5}  {'% of errors':>11}"
        if self.dev_error is not None:
            header += f"  {'max gain':>8}  {'dev error at best':>17}"
        lines = [title, header]
        for tag in self.tags:
            row = f"{tag.name:<{width}}  {tag.count:>5}  {_share(tag.fraction):>11}"
            if self.dev_error is not None:
                gain, best = _share(tag.improvement), _share(tag.best_dev_error)
                row += f"  {gain:>8}  {best:>17}"
            lines.append(row)
        lines.append("Tags can overlap, so the percentages need not sum to 100%.")
        for tag in self.tags:
            if tag.mislabeled:
                lines.append(
                    f"'{tag.name}' ({_share(tag.fraction)} of errors) are incorrect "
                    "dev labels: relabel only if that share is large next to the "
                    "other causes; fix dev and test labels together so they keep "
                    "one distribution (training is robust to random, not "
                    "systematic, label errors)."
                )
        if self.ignored_columns:
            lines.append(f"Not tags (ignored): {', '.join(self.ignored_columns)}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        from glassnet.notebook import error_analysis_repr

        return error_analysis_repr(self)

    def _repr_html_(self) -> str:
        """The tallies per tag as HTML (Jupyter shows it)."""
        from glassnet.notebook import error_analysis_html

        return error_analysis_html(self)


def error_analysis(
    tags, *, dev_error=None, comment_column="comments", index_column=None
) -> ErrorAnalysis:
    """Tally a table of misclassified dev examples by tag.

    ``tags`` is a CSV path, a list of row dicts or a dict of columns, one row per
    error. Tag columns hold booleans: 1/0, true/false, yes/no (y/n, t/f), ✓ (true)
    and x / ✗ / a blank cell (false). Every column that is all booleans is a tag,
    except ``comment_column``, ``index_column`` and the template's ``index``,
    ``true`` and ``predicted`` (names match case-insensitively); other columns are
    listed as ignored. For each tag with fraction ``p`` of the errors and
    ``dev_error = e`` (a fraction) the result holds the ceiling
    ``improvement = e p`` and ``best_dev_error = e (1 - p)``.
    """
    columns, rows = _read_table(tags)
    if not rows:
        raise ValueError("the error table has no rows; tag some misclassified examples")
    folded = {name.casefold(): name for name in columns}
    comment = folded.get(str(comment_column).casefold())
    if index_column is None:
        index = folded.get("index")
    else:
        index = folded.get(str(index_column).casefold())
        if index is None:
            raise ValueError(
                f"index_column {index_column!r} is not a column; columns: {columns}"
            )
    if dev_error is not None:
        if not isinstance(dev_error, numbers.Real) or not 0 <= dev_error <= 1:
            raise ValueError(
                "dev_error must be a fraction in [0, 1] (0.1 for 10%); "
                f"received dev_error={dev_error!r}"
            )
        dev_error = float(dev_error)
    skip = {comment, index} | {c for c in columns if c.casefold() in TEMPLATE_COLUMNS}
    tag_columns, ignored = [], []
    for name in columns:
        if name in skip:
            continue
        values = [_as_bool(row.get(name)) for row in rows]
        (ignored if None in values else tag_columns).append(name)
    if not tag_columns:
        raise ValueError(
            "no boolean tag column found (cells like 1/0, yes/no, true/false, ✓ or "
            f"blank); columns seen: {columns}"
        )
    n = len(rows)
    stats = []
    for name in tag_columns:
        count = sum(bool(_as_bool(row.get(name))) for row in rows)
        p = count / n
        stats.append(
            TagStat(
                name=name,
                count=count,
                fraction=p,
                improvement=None if dev_error is None else dev_error * p,
                best_dev_error=None if dev_error is None else dev_error * (1 - p),
                mislabeled=_is_mislabeled(name),
            )
        )
    stats.sort(key=lambda stat: -stat.count)
    comments = []
    if comment is not None:
        for number, row in enumerate(rows, start=1):
            text = row.get(comment)
            if text is not None and str(text).strip():
                key = str(row.get(index)) if index is not None else str(number)
                comments.append((key, str(text).strip()))
    return ErrorAnalysis(n, tuple(stats), dev_error, comments, ignored)


def _png_base64(image: np.ndarray) -> str:
    """Encode one image (h, w) or (h, w, c) as a base64 PNG."""
    from matplotlib.image import imsave

    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    buffer = io.BytesIO()
    if image.ndim == 2:  # fixed range, so a dark image is not stretched to white
        high = 255 if image.dtype == np.uint8 else 1
        imsave(buffer, image, format="png", cmap="gray", vmin=0, vmax=high)
    else:
        imsave(buffer, image, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _check_images(images, m: int) -> np.ndarray:
    """Images (m, h, w) or (m, h, w, c) with c in 1, 3, 4; uint8 or floats in [0, 1]."""
    images = np.asarray(images)
    shape_ok = images.ndim == 3 or (images.ndim == 4 and images.shape[3] in (1, 3, 4))
    if not shape_ok:
        raise ValueError(
            "images must have shape (m, h, w) or (m, h, w, c) with c in 1, 3, 4; "
            f"received shape {images.shape}"
        )
    if len(images) != m:
        raise ValueError(
            f"images and y_dev must have the same number of examples; received "
            f"{len(images)} images and {m} labels"
        )
    if images.dtype == np.uint8:
        return images
    if images.dtype.kind == "f" and images.size:
        low, high = float(np.nanmin(images)), float(np.nanmax(images))
        if 0 <= low and high <= 1:
            return images
        raise ValueError(
            "float images must lie in [0, 1]; received values in "
            f"[{low:g}, {high:g}] (divide by 255 or pass uint8)"
        )
    raise ValueError(
        f"images must be uint8 or floats in [0, 1]; received dtype {images.dtype}"
    )


def export_errors(
    model, X_dev, y_dev, path, *, images=None, tags=("mislabeled",)
) -> int:
    """Write the model's dev-set mistakes as a CSV to tag by hand; return their count.

    Columns: ``index`` (row of ``X_dev``), ``true``, ``predicted``, one empty column
    per tag, ``comments``. With ``images`` ``(m, h, w[, c])`` (uint8, or floats in
    [0, 1]) an HTML contact sheet ``<path stem>.html`` is written beside the CSV, each
    mistake shown as an embedded PNG with its index, true and predicted label.
    """
    predict = getattr(model, "predict", None)
    if not callable(predict):
        raise TypeError(
            "model must have a predict(X) method; received an object of type "
            f"{type(model).__name__}"
        )
    tags = [tags] if isinstance(tags, str) else list(tags)
    reserved = {*TEMPLATE_COLUMNS, "comments"}
    for tag in tags:
        if not isinstance(tag, str) or not tag.strip() or tag.casefold() in reserved:
            raise ValueError(
                f"tags must be non-empty strings other than {sorted(reserved)}; "
                f"received {tag!r}"
            )
    if len({t.casefold() for t in tags}) != len(tags):
        raise ValueError(f"tags must not repeat; received {tags}")
    y_true, y_pred, _ = _check_targets(y_dev, predict(X_dev))
    if images is not None:
        images = _check_images(images, len(y_true))
    wrong = np.flatnonzero(y_true != y_pred)
    path = Path(path)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*TEMPLATE_COLUMNS, *tags, "comments"])
        for i in wrong:
            row = [int(i), y_true[i].item(), y_pred[i].item()]
            writer.writerow(row + [""] * len(tags) + [""])
    if images is not None:
        cards = []
        for i in wrong:
            caption = (
                f"#{int(i)} &middot; true: {html.escape(str(y_true[i].item()))} "
                f"&middot; predicted: {html.escape(str(y_pred[i].item()))}"
            )
            cards.append(
                f'<figure><img src="data:image/png;base64,{_png_base64(images[i])}" '
                f'alt="example {int(i)}"><figcaption>{caption}</figcaption></figure>'
            )
        page = (
            '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
            f"<title>{html.escape(path.stem)}: {len(wrong)} errors</title><style>"
            "body{font-family:sans-serif}figure{display:inline-block;margin:6px}"
            "img{width:128px;image-rendering:pixelated}"
            "figcaption{font-size:12px}</style></head><body>"
            f"<h1>{len(wrong)} misclassified examples</h1>"
            f"<p>Tag them in {html.escape(path.name)}.</p>\n"
            + "\n".join(cards)
            + "\n</body></html>\n"
        )
        path.with_suffix(".html").write_text(page, encoding="utf-8")
    return int(len(wrong))
