"""How glassnet's objects show themselves in a notebook: HTML and one-line reprs.

Jupyter calls ``_repr_html_`` on the value of a cell. :class:`~glassnet.Sequential`,
:class:`~glassnet.History`, :class:`~glassnet.strategy.Diagnosis` and
:class:`~glassnet.strategy.ErrorAnalysis` define it by calling the builders here:

- :func:`model_html`: the summary in the notes' notation, one row per layer: the
  layer number ``l``, its units ``n[l]``, the activation ``g[l]``, the parameter
  shapes (``W[l]: (n[l], n[l-1])``) and the parameter count;
- :func:`history_html`: the last epochs' logs as a table and the learning curve
  (cost, and val_cost when present, per epoch) as an inline SVG;
- :func:`diagnosis_html`: the ladder (human-level, training, training-dev, dev and
  test error) with the gaps between the rungs, the largest marked, and the
  recommended next steps;
- :func:`error_analysis_html`: the error-analysis spreadsheet's tallies per tag
  (count, % of errors, the ceiling on the gain) and the comments.

Every piece of text that comes from the user (names, tags, comments, log keys) is
escaped. No dependency beyond the standard library; the SVG is drawn by hand.
"""

from __future__ import annotations

import math
from html import escape

STYLE = "border-collapse:collapse;font-family:monospace;font-size:12px;text-align:right"
CELL = "padding:2px 8px;border-bottom:1px solid #ddd"
LAST_EPOCHS = 5
"""How many of the last epochs :func:`history_html` shows in its table."""


def _number(value) -> str:
    """A number in at most 6 significant digits; ``-`` for None or NaN."""
    if value is None:
        return "-"
    value = float(value)
    if math.isnan(value):
        return "-"
    return f"{value:.6g}"


def _table(header, rows, *, caption: str | None = None, left=()) -> str:
    """An HTML table; ``header`` and every cell are already-escaped strings. The
    columns numbered in ``left`` (text) are left-aligned, the others (numbers)
    right-aligned."""

    def style(column: int) -> str:
        return f"{CELL};text-align:left" if column in left else CELL

    head = "".join(
        f'<th style="{style(j)}">{cell}</th>' for j, cell in enumerate(header)
    )
    body = "".join(
        "<tr>"
        + "".join(f'<td style="{style(j)}">{cell}</td>' for j, cell in enumerate(row))
        + "</tr>"
        for row in rows
    )
    title = f"<caption>{caption}</caption>" if caption else ""
    return (
        f'<table style="{STYLE}">{title}<thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


def _list(items) -> str:
    return "<ul>" + "".join(f"<li>{escape(str(item))}</li>" for item in items) + "</ul>"


# -- Sequential -----------------------------------------------------------------------
def _units(layer) -> str:
    """n[l]: the layer's output size once built, else the units it was given."""
    n = getattr(layer, "n_out", None)
    n = getattr(layer, "units", None) if n is None else n
    return "-" if n is None else str(n)


def _layer_rows(model) -> list[list[str]]:
    """One row per layer: l, layer, n[l], g[l], parameter shapes, parameter count."""
    rows = []
    numbers = model.buffers.layer_numbers if model.built else [None] * len(model.layers)
    for layer, l in zip(model.layers, numbers, strict=True):
        name = type(layer).__name__
        if getattr(layer, "name", None):
            name += f" {layer.name!r}"
        if not layer.trainable:
            name += " (frozen)"
        activation = getattr(layer, "activation", None)
        shapes = layer.describe_shapes(l) if model.built else []
        count = sum(math.prod(value.shape) for value in layer.params.values())
        rows.append(
            [
                "-" if l is None else str(l),
                escape(name),
                _units(layer),
                escape(activation.name) if activation is not None else "",
                "<br>".join(escape(text) for text in shapes),
                str(count) if model.built else "-",
            ]
        )
    return rows


def model_html(model) -> str:
    """The model's summary as an HTML table, in the notes' notation."""
    header = ["l", "layer", "n[l]", "g[l]", "parameters", "count"]
    title = f"Sequential {escape(repr(model.name))}"
    if model.built:
        total = sum(math.prod(value.shape) for value in model.params.values())
        trainable = sum(
            math.prod(model.params[k].shape) for k in model.trainable_keys()
        )
        title += (
            f": n[0] = {model.n_x} input features, {total} parameters "
            f"({trainable} trainable), {escape(str(model.dtype))}, "
            f"{escape(str(model.backend))}"
        )
    else:
        title += " (not built: call build(n_x) or fit)"
    classes = getattr(model, "classes", None)
    extra = ""
    if classes is not None:
        shown = ", ".join(escape(repr(c)) for c in list(classes)[:20])
        more = ", ..." if len(classes) > 20 else ""
        extra = f"<p>classes: {shown}{more}</p>"
    return (
        f"<div><p><b>{title}</b></p>"
        + _table(header, _layer_rows(model), left=(1, 3))
        + extra
        + "</div>"
    )


def model_repr(model) -> str:
    """``Sequential(n[0]=64 -> Dense(16, relu) -> Dense(10, softmax); 1210
    parameters)``: the layer chain in one line."""
    parts = []
    for layer in model.layers:
        name = type(layer).__name__
        settings = []
        if getattr(layer, "units", None) is not None:
            settings.append(str(layer.units))
        if getattr(layer, "activation", None) is not None:
            settings.append(layer.activation.name)
        if getattr(layer, "keep_prob", None) is not None:
            settings.append(f"keep_prob={layer.keep_prob:g}")
        if not layer.trainable:
            settings.append("frozen")
        parts.append(f"{name}({', '.join(settings)})" if settings else name)
    chain = " -> ".join(parts)
    if not model.built:
        return f"Sequential({chain}; not built)"
    total = sum(math.prod(value.shape) for value in model.params.values())
    return f"Sequential(n[0]={model.n_x} -> {chain}; {total} parameters)"


# -- History --------------------------------------------------------------------------
def _shown_keys(history) -> list[str]:
    """The log keys worth a column (the per-layer gradient norms are left out)."""
    return [key for key in history.history if not key.startswith("grad_norm_")]


def learning_curve_svg(history, *, width: int = 360, height: int = 160) -> str:
    """The cost (and val_cost) per epoch as an inline SVG polyline chart."""
    series = [
        (key, colour)
        for key, colour in (("cost", "#1f77b4"), ("val_cost", "#ff7f0e"))
        if key in history.history
    ]
    points = {
        key: [
            (e, float(v))
            for e, v in zip(history.epoch, history.history[key], strict=False)
        ]
        for key, _ in series
    }
    finite = [v for values in points.values() for _, v in values if math.isfinite(v)]
    if not finite or not history.epoch:
        return ""
    low, high = min(finite), max(finite)
    high = high if high > low else low + 1.0
    first, last = history.epoch[0], history.epoch[-1]
    span = last - first if last > first else 1
    left, right, top, bottom = 48, 8, 8, 24

    def x_of(epoch):
        return left + (epoch - first) / span * (width - left - right)

    def y_of(value):
        return top + (high - value) / (high - low) * (height - top - bottom)

    lines = []
    for key, colour in series:
        path = " ".join(
            f"{x_of(e):.1f},{y_of(v):.1f}" for e, v in points[key] if math.isfinite(v)
        )
        lines.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" '
            f'points="{path}"><title>{escape(key)}</title></polyline>'
        )
    legend = " ".join(
        f'<tspan fill="{colour}">&#9632; {escape(key)}</tspan>'
        for key, colour in series
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="learning curve">'
        f'<rect x="{left}" y="{top}" width="{width - left - right}" '
        f'height="{height - top - bottom}" fill="none" stroke="#999"/>'
        + "".join(lines)
        + f'<text x="{left - 4}" y="{top + 10}" font-size="10" text-anchor="end">'
        f"{_number(high)}</text>"
        f'<text x="{left - 4}" y="{height - bottom}" font-size="10" '
        f'text-anchor="end">{_number(low)}</text>'
        f'<text x="{left}" y="{height - 8}" font-size="10">epoch {first}</text>'
        f'<text x="{width - right}" y="{height - 8}" font-size="10" '
        f'text-anchor="end">{last}</text>'
        f'<text x="{left + 6}" y="{top + 12}" font-size="10">{legend}</text>'
        "</svg>"
    )


def history_html(history) -> str:
    """The last epochs' logs as a table, and the learning curve as an inline SVG."""
    if not history.epoch:
        return "<div><p><b>History</b>: no epochs yet</p></div>"
    keys = _shown_keys(history)
    start = max(0, len(history.epoch) - LAST_EPOCHS)
    rows = [
        [str(history.epoch[row])] + [_number(history.history[key][row]) for key in keys]
        for row in range(start, len(history.epoch))
    ]
    caption = f"last {len(rows)} of {len(history.epoch)} epochs"
    table = _table(["epoch", *(escape(key) for key in keys)], rows, caption=caption)
    return (
        f"<div><p><b>History</b>: {len(history.epoch)} epochs</p>"
        + learning_curve_svg(history)
        + table
        + "</div>"
    )


def history_repr(history) -> str:
    """``History(20 epochs; last: cost=0.1, val_cost=0.2)``."""
    if not history.epoch:
        return "History(no epochs)"
    last = ", ".join(
        f"{key}={_number(history.history[key][-1])}" for key in _shown_keys(history)
    )
    return f"History({len(history.epoch)} epochs; last: {last})"


# -- strategy -------------------------------------------------------------------------
def _percent(value) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def diagnosis_html(diagnosis) -> str:
    """The ladder of errors with the gaps between them, and what to do next."""
    from glassnet.strategy.diagnosis import COMPONENT_LABELS, SPLIT_LABELS, SPLITS

    gap_of = {
        "train": "avoidable_bias",
        "train_dev": "variance",
        "dev": "data_mismatch" if diagnosis.train_dev is not None else "variance",
        "test": "dev_overfitting",
    }
    rows = []
    for split in SPLITS:
        value = getattr(diagnosis, split)
        component = gap_of.get(split)
        gap = getattr(diagnosis, component) if component and value is not None else None
        name = COMPONENT_LABELS[component] if gap is not None else ""
        if gap is not None and component == diagnosis.problem:
            name = f"<b>{name} &larr; largest</b>"
        rows.append(
            [
                SPLIT_LABELS[split],
                "(0.0%)" if split == "human" and value is None else _percent(value),
                "" if gap is None else f"{100 * gap:+.1f}",
                name,
            ]
        )
    table = _table(["split", "error", "gap (points)", "component"], rows, left=(0, 3))
    if diagnosis.problem is None:
        advice = "<p>Problem: none of the gaps is positive</p>"
    else:
        size = 100 * getattr(diagnosis, diagnosis.problem)
        advice = (
            f"<p>Problem: <b>{COMPONENT_LABELS[diagnosis.problem]}</b> "
            f"({size:.1f} percentage points). Try:</p>" + _list(diagnosis.remedies)
        )
    notes = f"<p>Notes:</p>{_list(diagnosis.notes)}" if diagnosis.notes else ""
    return "<div><p><b>Diagnosis</b></p>" + table + advice + notes + "</div>"


def diagnosis_repr(diagnosis) -> str:
    """``Diagnosis(problem='variance' (5.0 points); train 2.0%, dev 7.0%)``."""
    errors = ", ".join(
        f"{name} {_percent(value)}" for name, value in diagnosis.errors.items()
    )
    if diagnosis.problem is None:
        return f"Diagnosis(no positive gap; {errors})"
    size = 100 * getattr(diagnosis, diagnosis.problem)
    return f"Diagnosis(problem={diagnosis.problem!r} ({size:.1f} points); {errors})"


def error_analysis_html(analysis) -> str:
    """The tallies per tag, sorted by count, with the ceiling when dev error is
    known, and the comments."""
    with_ceiling = analysis.dev_error is not None
    header = ["tag", "count", "% of errors"]
    if with_ceiling:
        header += ["max gain", "dev error at best"]
    rows = []
    for tag in analysis.tags:
        row = [escape(tag.name), str(tag.count), _percent(tag.fraction)]
        if with_ceiling:
            row += [_percent(tag.improvement), _percent(tag.best_dev_error)]
        rows.append(row)
    title = f"Error analysis of {analysis.n_errors} misclassified dev examples"
    if with_ceiling:
        title += f" (dev error {_percent(analysis.dev_error)})"
    parts = [f"<div><p><b>{title}</b></p>", _table(header, rows, left=(0,))]
    parts.append("<p>Tags can overlap, so the percentages need not sum to 100%.</p>")
    for tag in analysis.tags:
        if tag.mislabeled:
            parts.append(
                f"<p>'{escape(tag.name)}' ({_percent(tag.fraction)} of errors) are "
                "incorrect dev labels: relabel only if that share is large next to "
                "the other causes, and fix dev and test labels together.</p>"
            )
    if analysis.comments:
        parts.append("<p>Comments:</p>")
        parts.append(_list(f"{key}: {text}" for key, text in analysis.comments))
    if analysis.ignored_columns:
        ignored = ", ".join(escape(name) for name in analysis.ignored_columns)
        parts.append(f"<p>Not tags (ignored): {ignored}</p>")
    parts.append("</div>")
    return "".join(parts)


def error_analysis_repr(analysis) -> str:
    """``ErrorAnalysis(100 errors; blurry 61%, great cats 43%, ...)``."""
    tags = ", ".join(f"{tag.name} {_percent(tag.fraction)}" for tag in analysis.tags)
    dev = "" if analysis.dev_error is None else f", dev error {analysis.dev_error:g}"
    return f"ErrorAnalysis({analysis.n_errors} errors{dev}; {tags})"
