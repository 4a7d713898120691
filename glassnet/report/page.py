"""HTML assembly for the run report: one self-contained page, nothing fetched.

Every piece of text that comes from a file (settings, labels, data names, error
messages) goes through :func:`html.escape` here, in :func:`text`, :func:`table`
and :func:`items`; callers pass plain text, never markup, except the ``body`` of
a :class:`Section`, which they build from these functions. Figures are inline
``data:`` PNGs, and the page's Content-Security-Policy allows nothing else
(``default-src 'none'``), so a browser opening the file makes no request.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

STYLE = """
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:0 16px;
color:#1b1b1b;line-height:1.4}
h1{font-size:1.6em;margin:.6em 0 .1em}h2{border-bottom:1px solid #ccc;margin-top:1.4em}
.subtitle{color:#555;margin:0 0 1em}
table{border-collapse:collapse;margin:.5em 0;font-size:.92em}
th,td{border:1px solid #d0d0d0;padding:3px 8px}th{background:#f2f2f2}
td.number{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:.5em 0}figure img{max-width:100%;height:auto}
figcaption{font-size:.9em;color:#444}
.note{color:#555;font-style:italic}
.thumb{width:64px;height:64px;image-rendering:pixelated;border:1px solid #ccc}
.examples figure{display:inline-block;width:110px;margin:4px;vertical-align:top;
text-align:center}
.examples figcaption{font-size:.8em}
nav a{margin-right:1em}
"""

CONTENT_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
"""The page may load nothing: images are ``data:`` URLs, the style is inline."""


@dataclass(frozen=True)
class Section:
    """One part of the page: ``<section id=key>`` with a heading and its HTML."""

    key: str
    title: str
    body: str


def text(value) -> str:
    """``value`` as escaped text (quotes included)."""
    return html.escape(str(value), quote=True)


def paragraph(value, *, note: bool = False) -> str:
    """A ``<p>`` of escaped text; a note is shown in grey italics."""
    css = ' class="note"' if note else ""
    return f"<p{css}>{text(value)}</p>"


def items(values: Iterable) -> str:
    """A bulleted list of escaped texts."""
    return "<ul>" + "".join(f"<li>{text(v)}</li>" for v in values) + "</ul>"


def number(value, digits: int = 4) -> str:
    """A number for a table cell: integers as they are, floats to ``digits``
    significant places, anything else as text."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "-" if value is None else str(value)
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}g}"


def table(
    header: Sequence,
    rows: Iterable[Sequence],
    *,
    caption: str | None = None,
    cell_styles: Iterable[Sequence[str]] | None = None,
) -> str:
    """A ``<table>``: escaped header and cells; numbers right-aligned and shown by
    :func:`number`. ``cell_styles`` (one CSS text per cell, rows like ``rows``)
    colours cells, e.g. a confusion matrix's shading."""
    rows = [[_plain(value) for value in row] for row in rows]
    styles = [list(s) for s in cell_styles] if cell_styles is not None else None
    head = "".join(f'<th scope="col">{text(h)}</th>' for h in header)
    lines = []
    for r, row in enumerate(rows):
        cells = []
        for c, value in enumerate(row):
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            css = ' class="number"' if numeric else ""
            style = styles[r][c] if styles is not None else ""
            style = f' style="{text(style)}"' if style else ""
            cells.append(f"<td{css}{style}>{text(number(value))}</td>")
        lines.append("<tr>" + "".join(cells) + "</tr>")
    title = f"<caption>{text(caption)}</caption>" if caption else ""
    return (
        f"<table>{title}<thead><tr>{head}</tr></thead><tbody>"
        + "".join(lines)
        + "</tbody></table>"
    )


def _plain(value):
    """A NumPy scalar as the Python number it holds; anything else unchanged."""
    return value.item() if hasattr(value, "item") and hasattr(value, "dtype") else value


def png_data_url(png: bytes) -> str:
    """``data:image/png;base64,...`` for PNG bytes."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def image(png: bytes, alt: str, *, css: str = "", size=None) -> str:
    """An inline ``<img>`` of PNG bytes; ``size`` ``(width, height)`` in pixels."""
    klass = f' class="{text(css)}"' if css else ""
    dimensions = f' width="{size[0]}" height="{size[1]}"' if size else ""
    return f'<img src="{png_data_url(png)}" alt="{text(alt)}"{klass}{dimensions}>'


def figure(png: bytes, alt: str, caption: str, size=None) -> str:
    """A ``<figure>`` holding one inline PNG and its caption."""
    return (
        f"<figure>{image(png, alt, size=size)}"
        f"<figcaption>{text(caption)}</figcaption></figure>"
    )


def page(title: str, subtitle: str, sections: Sequence[Section]) -> str:
    """The whole HTML document: title, a table of contents, the sections."""
    nav = "".join(f'<a href="#{text(s.key)}">{text(s.title)}</a>' for s in sections)
    body = "\n".join(
        f'<section id="{text(s.key)}"><h2>{text(s.title)}</h2>\n{s.body}\n</section>'
        for s in sections
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_POLICY}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<link rel="icon" href="data:,">\n'
        f"<title>{text(title)}</title><style>{STYLE}</style></head>\n"
        f"<body><header><h1>{text(title)}</h1>"
        f'<p class="subtitle">{text(subtitle)}</p><nav>{nav}</nav></header>\n'
        f"<main>\n{body}\n</main></body></html>\n"
    )
