"""The run report: one self-contained HTML page per run or search folder.

``report.html`` holds, for a run folder: the configuration, the learning curves
(cost and every logged metric, train and dev, the best epoch and early stopping
marked), the results table, the dev split's confusion matrix and per-class
precision, recall and F1, the bias / variance / data-mismatch diagnosis with the
notes' next steps, the worst-misclassified dev examples (thumbnails for images)
and the error-analysis tally of a tagged ``tags.csv``. For a search folder: the
search's settings and space, every trial's metric against each hyperparameter on
its own scale, the best-so-far curve, the best configuration and every trial.

No network: figures are inline PNGs, the style is inline, there is no script,
and the page's Content-Security-Policy forbids any fetch.

Modules: :mod:`.page` (HTML assembly, escaping), :mod:`.figures` (figures and
thumbnails as PNG bytes), :mod:`.records` (reading the folders),
:mod:`.predictions` (the dev split's predictions), :mod:`.run_sections`,
:mod:`.search_sections`, :mod:`.build` (the two pages).
"""

from glassnet.report.build import write_report, write_run_report, write_search_report

__all__ = ["write_report", "write_run_report", "write_search_report"]
