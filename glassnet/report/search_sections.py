"""The sections of a search folder's report, in page order: the search (its
settings and space), every trial's dev metric against each hyperparameter on its
own scale, the best-so-far curve, the best configuration, and the table of
trials. Built from what the search wrote (``search.json``, ``trials.jsonl``),
through :meth:`glassnet.search.results.SearchResult.load`."""

from __future__ import annotations

import json

from glassnet.report import figures
from glassnet.report.page import Section, figure, paragraph, table, text

SCALES = {
    "log": "log axis (alpha = 10^r)",
    "one_minus_log": "1 - beta on a log axis",
    "log2": "powers of two, base-2 log axis",
    "linear": "linear",
    "categorical": "one column per value",
}


def settings(result, settings_record: dict) -> Section:
    """What was searched: data, metric, seed, rounds, trials, and each
    hyperparameter's range and scale."""
    ok = sum(t["status"] == "ok" for t in result.trials)
    facts = [
        ("metric", f"{result.metric} ({result.mode})"),
        ("trials", f"{len(result.trials)} ({ok} ok, {len(result.trials) - ok} failed)"),
        ("rounds", settings_record.get("rounds")),
        ("seed", settings_record.get("seed")),
        ("objective", settings_record.get("objective")),
    ]
    body = table(("search", "value"), [(k, _shown(v)) for k, v in facts])
    space = result.space
    rows = [
        (
            name,
            dimension.type_name,
            _range(dimension.to_config()),
            SCALES.get(dimension.scale, dimension.scale),
        )
        for name, dimension in space.dimensions.items()
    ]
    rows += [(name, "fixed", _shown(value), "") for name, value in space.fixed.items()]
    body += table(("hyperparameter", "drawn as", "range", "scale"), rows)
    return Section("search", "Search", body)


def _range(config: dict) -> str:
    """A dimension's range as read: ``0.0001 to 0.03`` or its values."""
    if "values" in config:
        return ", ".join(_shown(v) for v in config["values"])
    low, high = config.get("low"), config.get("high")
    return f"{low:g} to {high:g}" if _numbers(low, high) else _shown(config)


def _numbers(*values) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _cell(value):
    """A table cell: numbers stay numbers (the table rounds them), the rest text."""
    return value if _numbers(value) else _shown(value)


def _shown(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def trials(result) -> Section:
    """Each trial's metric against each sampled hyperparameter, on its scale."""
    from glassnet.search.plots import plot_trials

    title = "Trials against each hyperparameter"
    if not result.space.dimensions:
        note = "The space has fixed values only: nothing to plot."
        return Section("trials", title, paragraph(note, note=True))
    if not any(t["status"] == "ok" for t in result.trials):
        return Section("trials", title, paragraph("No trial succeeded.", note=True))
    png, size = figures.png_of(plot_trials(result))
    caption = (
        f"Every successful trial's {result.metric} against each hyperparameter, on "
        "the scale it was drawn on (log for the learning rate, 1 - beta on a log "
        "axis for the betas)."
    )
    return Section("trials", title, figure(png, "trials", caption, size))


def best_so_far(result) -> Section:
    """Each trial's metric in plan order and the best value so far."""
    from glassnet.search.plots import plot_best_so_far

    title = "Best so far"
    if not any(t["status"] == "ok" for t in result.trials):
        return Section(
            "best-so-far", title, paragraph("No trial succeeded.", note=True)
        )
    png, size = figures.png_of(plot_best_so_far(result))
    caption = f"{result.metric} of each trial (plan order) and the best so far."
    return Section("best-so-far", title, figure(png, "best so far", caption, size))


def best_configuration(result, folder) -> Section:
    """The best configuration as the search saved it (``best_config.json``, what
    ``glassnet train --config`` takes), its trial and metric."""
    from glassnet.cli.run_folders import read_json_object
    from glassnet.search.results import NoTrialSucceededError

    title = "Best configuration"
    try:
        best = result.best
    except NoTrialSucceededError as error:
        return Section("best-configuration", title, paragraph(str(error), note=True))
    path = folder / "best_config.json"
    if path.is_file():
        config = read_json_object(path, "best configuration file")
        source = f"{path}; train it with: glassnet train --config {path}"
    else:
        config = {**best["config"], "seed": int(best["seed"]) % (2**32)}
        source = "the best trial's settings (the search wrote no best_config.json)"
    body = paragraph(
        f"Trial {best['trial_id']}: {result.metric} "
        f"{best['metrics'][result.metric]:.4f}. From {source}."
    )
    body += table(("setting", "value"), [(k, _shown(v)) for k, v in config.items()])
    return Section("best-configuration", title, body + _refit(folder / "best_run"))


def _refit(run) -> str:
    """The refit of the best configuration (``DIR/best_run``, a run folder): its
    results table and a link to its page; nothing when there is none."""
    from glassnet.cli.run_folders import read_results

    if not (run / "results.json").is_file():
        return ""
    try:
        results = read_results(run)
    except (OSError, ValueError) as error:
        return paragraph(f"{run}: {error}", note=True)
    names = list(dict.fromkeys(k for row in results.values() for k in row))
    rows = [(split, *(row.get(k) for k in names)) for split, row in results.items()]
    body = paragraph(f"The best configuration trained again: the run folder {run}.")
    body += table(("split", *names), rows)
    if (run / "report.html").is_file():
        body += f'<p><a href="{text(run.name)}/report.html">Its report</a></p>'
    return body


def trial_table(result) -> Section:
    """One row per trial (its last rung), best first: the trials that reached the
    last rung first, failed ones last, with the wall time, epochs and status."""
    rows_in = _per_trial(result)
    ok = [row for row in rows_in if row["record"]["status"] == "ok"]
    sign = -1.0 if result.mode == "max" else 1.0
    ok.sort(
        key=lambda row: (
            -(row["record"].get("rung") or 0),
            sign * row["record"]["metrics"][result.metric],
        )
    )
    failed = [row for row in rows_in if row["record"]["status"] != "ok"]
    names = list(result.space.dimensions)
    header = ("rank", "trial", result.metric, *names, "seconds", "epochs", "status")
    rows = []
    for rank, row in enumerate(ok + failed, start=1):
        trial = row["record"]
        value = (trial.get("metrics") or {}).get(result.metric)
        status = "ok" if trial["status"] == "ok" else trial.get("error") or "failed"
        if row.get("pruned") is not None:
            status = f"pruned at rung {row['pruned']}"
        cells = [rank, trial["trial_id"], value]
        cells += [_cell(trial["config"].get(name)) for name in names]
        rows.append((*cells, row.get("seconds"), row.get("epochs"), status))
    return Section("trial-table", "All trials", table(header, rows))


def _per_trial(result) -> list[dict]:
    """``result.per_trial()`` (one row per trial, its last rung), or one row per
    record for a result without it."""
    if hasattr(result, "per_trial"):
        return result.per_trial()
    return [
        {"record": t, "seconds": t.get("duration_s"), "epochs": t.get("budget")}
        for t in result.trials
    ]
