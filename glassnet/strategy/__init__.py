"""ML strategy as tools: diagnosis, error analysis and satisficing/optimizing selection.

- :func:`diagnose` / :func:`diagnose_model`: avoidable bias, variance, data mismatch
  and dev overfitting from the errors on each split, with the notes' remedies.
- :func:`error_analysis` / :func:`export_errors`: tally hand-tagged dev mistakes and
  the ceiling on what fixing each category can gain.
- :func:`select_model` / :func:`measure_model`: one optimizing metric, the others
  satisficing constraints.
- :func:`distribution_check`: adversarial validation (can a classifier tell two sets
  apart?) to warn when dev and test come from different distributions.
"""

from .diagnosis import COMPONENTS, REMEDIES, Diagnosis, diagnose, diagnose_model
from .distribution import DistributionCheck, distribution_check, roc_auc
from .error_analysis import ErrorAnalysis, TagStat, error_analysis, export_errors
from .selection import (
    Constraint,
    Selection,
    lower_is_better,
    measure_model,
    parse_constraint,
    select_model,
)

__all__ = [
    "COMPONENTS",
    "REMEDIES",
    "Constraint",
    "Diagnosis",
    "DistributionCheck",
    "ErrorAnalysis",
    "Selection",
    "TagStat",
    "diagnose",
    "diagnose_model",
    "distribution_check",
    "error_analysis",
    "export_errors",
    "lower_is_better",
    "measure_model",
    "parse_constraint",
    "roc_auc",
    "select_model",
]
