"""The sections of a run's report, one function each, in page order:
configuration, learning curves, results, confusion matrix and per-class scores,
diagnosis, worst-misclassified examples, error analysis.

Each takes what it shows (the run folder's records, the dev predictions of
:mod:`glassnet.report.predictions`) and returns a :class:`~.page.Section`. A
section whose inputs are missing (a regression run has no confusion matrix; the
data could not be read again) is still on the page and says why, so the page
always has the same parts.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np

from glassnet.report import figures
from glassnet.report.page import (
    Section,
    figure,
    image,
    items,
    paragraph,
    table,
    text,
)
from glassnet.report.records import TAGS_FILE, finite

WORST_EXAMPLES = 12
"""How many misclassified examples the report shows."""

SUMMARY_KEYS = (
    *("results", "seconds", "epochs_run", "target_scale", "early_stopping"),
    *("split", "diagnosis", "columns"),
)
"""results.json's own entries; any other (a transfer's source, a search refit's
trial) is shown with the configuration."""

SHOWN_FEATURES = 6
"""How many of a table's features the worst examples show (not for images)."""

SETTING_COLUMNS = 3
"""The configuration table shows this many setting / value pairs per row."""

SPLIT_NAMES = {"dev": "dev", "test": "test", "train": "training"}


def configuration(record) -> Section:
    """The run's settings (config.json) and where its examples came from."""
    from glassnet.runs import split_summary

    pairs = [(name, _setting(value)) for name, value in record.config.items()]
    per_row = -(-len(pairs) // SETTING_COLUMNS)  # column-major, like a listing
    rows = [
        [cell for pair in pairs[start::per_row] for cell in pair]
        for start in range(per_row)
    ]
    for row in rows:
        row.extend([""] * (2 * SETTING_COLUMNS - len(row)))
    body = table(("setting", "value") * SETTING_COLUMNS, rows)
    split = record.summary.get("split")
    if isinstance(split, dict):
        try:
            body = paragraph(split_summary(split)) + body
        except (KeyError, TypeError):
            pass
    body += _column_roles(record.summary.get("columns"))
    for key, value in record.summary.items():  # what the command added (D7)
        if key not in SUMMARY_KEYS:
            body += paragraph(f"{key}: {json.dumps(value, sort_keys=True)}")
    runtime = record.summary.get("seconds"), record.summary.get("epochs_run")
    if all(finite(v) for v in runtime):
        body += paragraph(f"{runtime[1]} epochs in {runtime[0]:.1f} s.")
    return Section("configuration", "Configuration", body)


def _column_roles(columns) -> str:
    """A table's columns as the run read them (results.json's ``columns``, D40):
    name, role (numeric, categorical, ignored), why, and empty cells; "" for data
    that are not a table."""
    if not isinstance(columns, list) or not columns:
        return ""
    rows = [
        (c.get("name"), c.get("role"), c.get("reason"), c.get("missing"))
        for c in columns
        if isinstance(c, dict)
    ]
    return paragraph("The table's columns and the roles the run gave them:") + table(
        ("column", "role", "why", "empty cells"), rows
    )


def _setting(value) -> str:
    """A setting as shown: text as it is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def learning_curves(record, drawn: bytes | None = None) -> Section:
    """Cost and every logged metric per epoch, train and dev, the best epoch and
    early stopping marked. ``drawn``: the same figure already rendered as PNG
    bytes (``learning_curve.png``, just written by the training command)."""
    stopping = record.summary.get("early_stopping")
    stopping = stopping if isinstance(stopping, dict) else None
    data = record.config.get("data", record.folder.name)
    if drawn is None:
        plot, best = figures.learning_curves(
            record.history, title=f"{data}: learning curves", early_stopping=stopping
        )
        png, size = figures.png_of(plot)
    else:
        png, size = drawn, figures.png_size(drawn, scale=figures.DPI / 100)
        best = (stopping or {}).get("best_epoch")
        if best is None:
            from glassnet.plots import best_epoch_of

            best = best_epoch_of(record.history)
    body = figure(
        png,
        "learning curves: cost and metrics per epoch",
        "Solid: training set; dashed: dev set (val_). Left: the cost; right: the "
        "logged metrics.",
        size,
    )
    body += paragraph(_best_epoch_text(record.history, best, stopping))
    return Section("learning-curves", "Learning curves", body)


def _best_epoch_text(history, best, stopping) -> str:
    """Which epoch is marked and why; what early stopping did."""
    if stopping is not None:
        line = (
            f"Early stopping on {stopping.get('monitor')} (patience "
            f"{stopping.get('patience')}): best epoch {stopping.get('best_epoch')}"
        )
        if stopping.get("stopped_epoch") is not None:
            line += f", stopped at epoch {stopping['stopped_epoch']}"
        if stopping.get("weights_restored"):
            line += f", weights restored from epoch {stopping.get('restored_epoch')}"
        return line + "."
    if best is None:
        return "No dev cost was logged, so no best epoch is marked."
    row = history.epoch.index(best)
    return (
        f"Best epoch {best}: the lowest dev cost "
        f"({history.history['val_cost'][row]:.4g}); early stopping was off, so the "
        f"model is the last epoch's ({history.epoch[-1]})."
    )


def results(record) -> Section:
    """Examples, cost and metrics per split, as results.json holds them."""
    rows_in = record.results
    names = []
    for row in rows_in.values():
        names.extend(k for k in row if k not in ("examples", "cost") and k not in names)
    header = ("split", "examples", "cost", *names)
    rows = [
        (split, row.get("examples"), row.get("cost"), *(row.get(k) for k in names))
        for split, row in rows_in.items()
    ]
    body = table(header, rows)
    if isinstance(record.summary.get("target_scale"), dict):
        body += paragraph(
            "The cost is on standardized targets (y - mean) / spread; r2, rmse and "
            "mae are in the units of y."
        )
    return Section("results", "Results", body)


def confusion(predictions, reason: str) -> Section:
    """The dev split's confusion matrix (rows: true class, columns: predicted)
    and each class's precision, recall, F1 and support."""
    from glassnet.metrics import (
        confusion_matrix,
        f1_score,
        precision_score,
        recall_score,
    )

    title = "Confusion matrix and per-class scores"
    if predictions is None:
        return Section("confusion-matrix", title, paragraph(reason, note=True))
    p = predictions
    counts = confusion_matrix(p.y_true, p.y_pred, labels=p.codes)
    largest = max(int(counts.max()), 1)
    header = ("true \\ predicted", *(str(n) for n in p.class_names))
    rows = [(str(n), *counts[i].tolist()) for i, n in enumerate(p.class_names)]
    shades = [
        ["", *(_shade(v / largest, i == j) for j, v in enumerate(counts[i]))]
        for i in range(len(counts))
    ]
    options = {"labels": p.codes, "average": None, "zero_division": 0}
    scores = [
        metric(p.y_true, p.y_pred, **options)
        for metric in (precision_score, recall_score, f1_score)
    ]
    support = counts.sum(axis=1)
    per_class = [
        (str(n), scores[0][i], scores[1][i], scores[2][i], int(support[i]))
        for i, n in enumerate(p.class_names)
    ]
    accuracy = float(np.trace(counts)) / max(int(counts.sum()), 1)
    body = paragraph(
        f"The {SPLIT_NAMES.get(p.split, p.split)} split, {len(p.y_true)} examples: "
        f"accuracy {accuracy:.4f}, macro F1 {float(np.mean(scores[2])):.4f}."
    )
    body += table(header, rows, caption="rows: true class", cell_styles=shades)
    body += table(("class", "precision", "recall", "F1", "support"), per_class)
    return Section("confusion-matrix", title, body)


def _shade(fraction: float, diagonal: bool) -> str:
    """A cell's background: green on the diagonal, red off it, darker for more."""
    if fraction <= 0:
        return ""
    hue = 120 if diagonal else 0
    return f"background:hsl({hue},60%,{95 - 40 * fraction:.0f}%)"


def diagnosis(record) -> Section:
    """The notes' bias / variance / data-mismatch ladder from the results, the
    largest gap and the notes' next steps."""
    from glassnet.runs import diagnose_results
    from glassnet.strategy.diagnosis import COMPONENT_LABELS, SPLIT_LABELS

    title = "Diagnosis: bias, variance, data mismatch"
    settings = SimpleNamespace(human_error=record.config.get("human_error"))
    try:
        found = diagnose_results(record.results, settings)
    except (TypeError, ValueError) as error:
        return Section(
            "diagnosis", title, paragraph(f"No diagnosis: {error}", note=True)
        )
    if found is None:
        reason = "No diagnosis: the ladder compares error rates (1 - accuracy), and "
        reason += "this run has no accuracy (a regression run)."
        return Section("diagnosis", title, paragraph(reason, note=True))
    errors = [(SPLIT_LABELS[s], f"{100 * v:.1f}%") for s, v in found.errors.items()]
    gaps = [
        (
            COMPONENT_LABELS[c],
            f"{100 * v:+.1f}",
            "largest" if c == found.problem else "",
        )
        for c, v in found.components.items()
    ]
    body = table(("error on", "error"), errors)
    body += table(("gap", "percentage points", ""), gaps)
    if found.problem is None:
        body += paragraph("None of the gaps is positive.")
    else:
        size = 100 * getattr(found, found.problem)
        body += paragraph(
            f"Largest gap: {COMPONENT_LABELS[found.problem]} ({size:.1f} percentage "
            "points). Next steps, from the notes:"
        )
        body += items(found.remedies)
    if found.notes:
        body += paragraph("Notes:") + items(found.notes)
    return Section("diagnosis", title, body)


def worst_examples(predictions, reason: str, source: str) -> Section:
    """The most confidently misclassified dev examples, as thumbnails when the
    data are images, and a table of their labels and probabilities."""
    title = "Worst-misclassified examples"
    if predictions is None:
        return Section("worst-examples", title, paragraph(reason, note=True))
    p = predictions
    chosen = p.worst(WORST_EXAMPLES)
    wrong = int(np.sum(p.y_true != p.y_pred))
    body = paragraph(
        f"From the {SPLIT_NAMES.get(p.split, p.split)} split ({source}): {wrong} of "
        f"{len(p.y_true)} examples are misclassified; the {len(chosen)} with the "
        "lowest probability of their true class are shown, worst first. 'example' "
        f"is the row of the {p.split} split."
    )
    if len(chosen) and p.image_shape is not None:
        body += _thumbnails(p, chosen)
    shown = 0 if p.image_shape is not None else min(SHOWN_FEATURES, p.rows.shape[1])
    names = (p.feature_names or [f"x{j}" for j in range(p.rows.shape[1])])[:shown]
    rows = [
        (
            int(i),
            str(p.class_names[p.y_true[i]]),
            str(p.class_names[p.y_pred[i]]),
            float(p.p_true[i]),
            float(p.p_pred[i]),
            *(_feature(v) for v in p.rows[i][:shown]),
        )
        for i in chosen
    ]
    header = ("example", "true", "predicted", "p(true)", "p(predicted)", *names)
    if not rows:
        return Section("worst-examples", title, body + paragraph("None."))
    if shown:
        body += paragraph(
            f"Features as stored: the first {shown} of {p.rows.shape[1]}."
        )
    return Section("worst-examples", title, body + table(header, rows))


def _feature(value):
    """A feature cell as stored: a number, a text category, or "(empty)"."""
    if value is None or (isinstance(value, float) and value != value):
        return "(empty)"
    if hasattr(value, "item") and hasattr(value, "dtype"):
        value = value.item()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return str(value)


def _largest_value(rows, chosen) -> float:
    """The thumbnails' white: the split's largest value for rows in memory; for
    rows kept on disk (not read whole for a page), 255 for uint8 pixels, else the
    largest value of the examples shown."""
    if not isinstance(rows, np.ndarray):
        if np.dtype(rows.dtype) == np.uint8:
            return 255.0
        rows = rows[np.asarray(chosen, dtype=np.intp)]
    return float(np.max(rows)) if rows.size else 1.0


def _thumbnails(p, chosen) -> str:
    """One captioned thumbnail per chosen example, all on the split's scale."""
    high = _largest_value(p.rows, chosen)
    cards = []
    for i in chosen:
        png = figures.thumbnail_png(p.rows[i], p.image_shape, high)
        caption = (
            f"#{int(i)}: true {p.class_names[p.y_true[i]]}, predicted "
            f"{p.class_names[p.y_pred[i]]} ({p.p_pred[i]:.2f})"
        )
        cards.append(
            f'<figure class="example">{image(png, f"example {int(i)}", css="thumb")}'
            f"<figcaption>{text(caption)}</figcaption></figure>"
        )
    return '<div class="examples">' + "".join(cards) + "</div>"


def error_analysis(record) -> Section:
    """The tally of the run's tagged dev errors (``tags.csv``), when there is one,
    with each tag's ceiling on the dev error."""
    from glassnet.strategy import error_analysis as tally

    title = "Error analysis"
    path = record.folder / TAGS_FILE
    if not path.is_file():
        hint = (
            f"No tally yet: tag the misclassified dev examples in {TAGS_FILE} in the "
            "run folder (one row per example, a 1/0 column per cause, as "
            "'glassnet errors' reads it) and rebuild with 'glassnet report'."
        )
        return Section("error-analysis", title, paragraph(hint, note=True))
    accuracy = record.results.get("dev", {}).get("accuracy")
    dev_error = 1 - accuracy if finite(accuracy) else None
    try:
        found = tally(path, dev_error=dev_error)
    except (OSError, TypeError, ValueError) as error:
        return Section(
            "error-analysis", title, paragraph(f"{path}: {error}", note=True)
        )
    header = ["tag", "count", "% of errors"]
    if dev_error is not None:
        header += ["max gain (points)", "dev error at best"]
    rows = []
    for tag in found.tags:
        row = [tag.name, tag.count, f"{100 * tag.fraction:.1f}%"]
        if dev_error is not None:
            row += [f"{100 * tag.improvement:.1f}", f"{100 * tag.best_dev_error:.1f}%"]
        rows.append(row)
    body = paragraph(f"{found.n_errors} tagged dev errors from {TAGS_FILE}.")
    body += table(header, rows)
    body += paragraph("Tags can overlap, so the percentages need not sum to 100%.")
    return Section("error-analysis", title, body)
