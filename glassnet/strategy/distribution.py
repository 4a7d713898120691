"""Adversarial validation: can a classifier tell two sets of examples apart?

Label the rows of ``A`` 0 and those of ``B`` 1, train a small glassnet classifier
on part of them and score the rest (k-fold, so every row is scored by a model that
never saw it), then compute the area under the ROC curve of those scores::

    AUC = P(score of a random B row > score of a random A row)
        = (sum of the ranks of B's scores - n_B (n_B + 1) / 2) / (n_A n_B)

An AUC near 0.5 means the classifier cannot tell the sets apart: they look like one
distribution. Near 1, they differ, e.g. a dev set and a test set drawn from
different sources, which the notes warn against (dev and test must come from the
same distribution).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from glassnet.backend import resolve_rng
from glassnet.validation import check_array, check_in_range, check_positive_int


def roc_auc(y_true, scores) -> float:
    """Area under the ROC curve from 0/1 labels and scores (ties count one half)."""
    y_true = np.asarray(y_true).ravel()
    scores = np.asarray(scores, dtype=np.float64).ravel()
    positives = int(np.sum(y_true == 1))
    negatives = y_true.size - positives
    if positives == 0 or negatives == 0:
        raise ValueError("the AUC needs examples of both labels")
    from scipy.stats import rankdata  # here: scipy.stats takes 0.6 s to import

    ranks = rankdata(scores)
    return float(
        (ranks[y_true == 1].sum() - positives * (positives + 1) / 2)
        / (positives * negatives)
    )


@dataclass
class DistributionCheck:
    """``auc`` of telling the sets apart, and a one-line ``verdict``."""

    auc: float
    n_a: int
    n_b: int
    threshold: float

    @property
    def same_distribution(self) -> bool:
        """True when the AUC stays within ``threshold`` of 0.5."""
        return abs(self.auc - 0.5) <= self.threshold

    @property
    def verdict(self) -> str:
        if self.same_distribution:
            return (
                f"AUC {self.auc:.3f}: a classifier cannot tell the two sets apart; "
                "they look like one distribution"
            )
        return (
            f"AUC {self.auc:.3f}: a classifier tells the two sets apart; they come "
            "from different distributions (dev and test should not)"
        )

    def __str__(self) -> str:
        return self.verdict


def distribution_check(
    A,
    B,
    *,
    folds: int = 3,
    epochs: int = 30,
    hidden_units: int = 16,
    threshold: float = 0.1,
    rng=0,
) -> DistributionCheck:
    """Adversarial validation of two row-major sets ``A (m_a, n)`` and ``B (m_b, n)``.

    A one-hidden-layer network (``hidden_units`` ReLU units, sigmoid output, Adam)
    is trained ``folds`` times; its out-of-fold scores give the AUC.
    """
    from glassnet.data import Standardizer
    from glassnet.layers import Dense
    from glassnet.model import Sequential
    from glassnet.optimizers import Adam

    A = check_array(A, name="A", ndim=2)
    B = check_array(B, name="B", ndim=2)
    if A.shape[1] != B.shape[1]:
        raise ValueError(
            f"A and B must have the same features; received {A.shape[1]} and "
            f"{B.shape[1]} columns"
        )
    folds = check_positive_int("folds", folds)
    if folds < 2:
        raise ValueError(f"folds must be at least 2; received folds={folds}")
    check_in_range("threshold", threshold, 0, 0.5)
    X = np.concatenate([A, B]).astype(np.float64)
    y = np.concatenate([np.zeros(len(A)), np.ones(len(B))])
    if min(len(A), len(B)) < folds:
        raise ValueError(
            f"each set needs at least folds={folds} examples; received {len(A)} and "
            f"{len(B)}"
        )
    generator = resolve_rng(rng)
    order = generator.permutation(len(X))
    scores = np.empty(len(X))
    for fold in np.array_split(order, folds):
        train = np.setdiff1d(order, fold, assume_unique=True)
        scaler = Standardizer().fit(X[train])
        model = Sequential([Dense(hidden_units, "relu"), Dense(1, "sigmoid")])
        model.fit(
            scaler.transform(X[train]),
            y[train],
            epochs=epochs,
            batch_size=64,
            optimizer=Adam(0.01),
            rng=generator,
            verbose=False,
        )
        scores[fold] = model.predict_proba(scaler.transform(X[fold]))[:, 0]
    return DistributionCheck(roc_auc(y, scores), len(A), len(B), threshold)
