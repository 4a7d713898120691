"""Build ``report.html`` for a run folder or a search folder.

:func:`write_run_report` is called by :func:`glassnet.runs.write_run_folder` at
the end of every training command (with the model and the data still in memory)
and by ``glassnet report RUN`` (which reads them again); :func:`write_search_report`
by ``glassnet report SEARCH``; :func:`write_report` tells the two apart.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from glassnet.report import run_sections, search_sections
from glassnet.report.page import Section, page, paragraph
from glassnet.report.predictions import SPLIT, load_run_inputs, split_predictions
from glassnet.report.records import REPORT_FILE, folder_kind, read_run

# What reading the model or the data again may raise when a file has moved or
# changed since the run: the report is still written, and says why.
_UNAVAILABLE = (OSError, ValueError, KeyError, TypeError)


def write_report(folder, output=None) -> Path:
    """(Re)build the report of a run folder or a search folder; return its path
    (``output``, default ``FOLDER/report.html``)."""
    if folder_kind(folder) == "run":
        return write_run_report(folder, output=output)
    return write_search_report(folder, output=output)


def write_run_report(
    folder, *, model=None, prepared=None, output=None, fresh: bool = False
) -> Path:
    """The run folder's report. ``model`` and ``prepared`` (``prepare_data``'s
    result) are the run's own when it has just trained; without them the model
    file is read and ``config.json``'s data split again. ``fresh``: the folder's
    ``learning_curve.png`` was just drawn from this history, so the page embeds
    it instead of drawing it again (an older folder's may be an older figure)."""
    record = read_run(folder)
    predictions, reason, source = _predictions(record, model, prepared)
    curve = Path(folder) / "learning_curve.png"
    drawn = curve.read_bytes() if fresh and curve.is_file() else None
    sections = [
        _built(run_sections.configuration, record),
        _built(run_sections.learning_curves, record, drawn),
        _built(run_sections.results, record),
        _built(run_sections.confusion, predictions, reason),
        _built(run_sections.diagnosis, record),
        _built(run_sections.worst_examples, predictions, reason, source),
        _built(run_sections.error_analysis, record),
    ]
    data = record.config.get("data", "")
    title = f"glassnet run: {Path(folder).name}"
    subtitle = f"data {data}; run folder {Path(folder).resolve()}"
    return _write(page(title, subtitle, sections), output or Path(folder) / REPORT_FILE)


# Each section's id and title, for the page of a section that failed.
_SECTIONS = {
    run_sections.configuration: ("configuration", "Configuration"),
    run_sections.learning_curves: ("learning-curves", "Learning curves"),
    run_sections.results: ("results", "Results"),
    run_sections.confusion: (
        "confusion-matrix",
        "Confusion matrix and per-class scores",
    ),
    run_sections.diagnosis: ("diagnosis", "Diagnosis: bias, variance, data mismatch"),
    run_sections.worst_examples: ("worst-examples", "Worst-misclassified examples"),
    run_sections.error_analysis: ("error-analysis", "Error analysis"),
    search_sections.settings: ("search", "Search"),
    search_sections.trials: ("trials", "Trials against each hyperparameter"),
    search_sections.best_so_far: ("best-so-far", "Best so far"),
    search_sections.best_configuration: ("best-configuration", "Best configuration"),
    search_sections.trial_table: ("trial-table", "All trials"),
}


def _built(builder, *inputs) -> Section:
    """``builder(*inputs)``; a section that fails (a bug, or a file unlike any
    glassnet writes) becomes a note on the page and a warning, so the page and
    the training command that writes it still finish."""
    try:
        return builder(*inputs)
    except Exception as error:  # reported: the warning and the page
        key, title = _SECTIONS[builder]
        what = _failed(f"the section '{title}'", error)
        return Section(key, title, paragraph(f"Not built: {what}.", note=True))


def _failed(what: str, error: Exception) -> str:
    """Warn that ``what`` could not be built because of ``error``; return the
    error in one line."""
    first = (str(error).splitlines() or [""])[0]
    text = f"{type(error).__name__}: {first}"
    warnings.warn(
        f"report.html: {what} could not be built ({text}); please report it",
        RuntimeWarning,
        stacklevel=3,
    )
    return text


def _predictions(record, model, prepared):
    """``(predictions, reason, source)``: the dev split's predictions (None, with
    the reason, when there are none) and where the examples came from."""
    if model is None or prepared is None:
        try:
            model, prepared = load_run_inputs(record.folder)
        except _UNAVAILABLE as error:
            return (
                None,
                f"Not available: the model or data could not be read again ({error}).",
                "",
            )
    split = prepared.get("split") or {}
    source = str(split.get("sources", {}).get(SPLIT, record.config.get("data", "")))
    seed = split.get("split_seed", record.config.get("split_seed"))
    source = f"{source}, split_seed {seed}"
    try:
        predictions = split_predictions(model, prepared, SPLIT)
    except Exception as error:  # reported: the warning and the page
        what = _failed(f"the {SPLIT} split's predictions", error)
        return None, f"Not built: {what}.", source
    if predictions is not None:
        return predictions, "", source
    if SPLIT not in prepared["splits"]:
        return None, f"Not available: the run has no {SPLIT} split.", source
    task = getattr(prepared["dataset"], "task", "")
    reason = f"Not available for a {task or 'non-classification'} run: only a "
    reason += (
        "single-label classifier has a confusion matrix and misclassified examples."
    )
    return None, reason, source


def write_search_report(folder, *, output=None) -> Path:
    """The search folder's report, from its ``search.json`` and ``trials.jsonl``."""
    from glassnet.search import journal
    from glassnet.search.results import SearchResult

    folder = Path(folder)
    stored = journal.read_settings(folder)
    result = SearchResult.load(folder)
    sections = [
        _built(search_sections.settings, result, stored),
        _built(search_sections.trials, result),
        _built(search_sections.best_so_far, result),
        _built(search_sections.best_configuration, result, folder),
        _built(search_sections.trial_table, result),
    ]
    data = result.space.fixed.get("data", "")
    title = f"glassnet search: {folder.name}"
    subtitle = f"data {data}; search folder {folder.resolve()}"
    return _write(page(title, subtitle, sections), output or folder / REPORT_FILE)


def _write(document: str, path) -> Path:
    """Write the page atomically (a reader never sees half a page)."""
    from glassnet._atomic_files import write_atomically

    path = Path(path)
    write_atomically(path, lambda handle: handle.write(document.encode("utf-8")))
    return path
