"""Adversarial validation: distribution_check and roc_auc."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score

from glassnet.strategy import distribution_check, roc_auc


def test_roc_auc_matches_scikit_learn_with_ties():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    scores = np.round(rng.random(200) + 0.3 * y, 1)  # rounding makes ties
    assert roc_auc(y, scores) == pytest.approx(roc_auc_score(y, scores), abs=1e-12)


def test_two_halves_of_one_shuffled_dataset_look_alike():
    digits = load_digits()
    X = np.random.default_rng(1).permutation(digits.data)
    result = distribution_check(X[:900], X[900:], rng=0)
    assert abs(result.auc - 0.5) < 0.1
    assert result.same_distribution
    assert "cannot tell" in result.verdict


def test_digits_0_to_4_against_5_to_9_differ():
    digits = load_digits()
    low, high = digits.data[digits.target < 5], digits.data[digits.target >= 5]
    result = distribution_check(low, high, rng=0)
    assert result.auc > 0.95
    assert not result.same_distribution


@pytest.mark.parametrize(
    "A, B, message",
    [
        (np.zeros((10, 3)), np.zeros((10, 4)), "same features"),
        (np.zeros((2, 3)), np.zeros((10, 3)), "at least folds"),
        (np.zeros(10), np.zeros((10, 3)), "2-D"),
    ],
)
def test_bad_input(A, B, message):
    with pytest.raises(ValueError, match=message):
        distribution_check(A, B)
