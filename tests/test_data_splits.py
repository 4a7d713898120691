"""train/dev/test, training-dev and mismatched splits."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glassnet.data import (
    mismatched_split,
    recommend_ratios,
    train_dev_test_split,
    training_dev_split,
)


def _data(m, n=3):
    X = np.arange(m * n, dtype=np.float64).reshape(m, n)
    y = np.arange(m) % 4
    return X, y


def test_ratios_sizes_and_disjoint_cover():
    X, y = _data(10)
    X_tr, X_dv, X_te, y_tr, y_dv, y_te = train_dev_test_split(
        X, y, ratios=(0.6, 0.2, 0.2), rng=0
    )
    assert (len(X_tr), len(X_dv), len(X_te)) == (6, 2, 2)
    rows = np.concatenate([X_tr, X_dv, X_te])[:, 0]
    assert sorted(rows.tolist()) == X[:, 0].tolist()  # every row exactly once
    for part_X, part_y in ((X_tr, y_tr), (X_dv, y_dv), (X_te, y_te)):
        # X and y stay aligned: row k of X is example X[k, 0] / 3
        np.testing.assert_array_equal(part_y, (part_X[:, 0] // 3).astype(int) % 4)
        assert part_X.flags.c_contiguous


def test_same_rng_same_split_and_rng_kinds():
    X, y = _data(50)
    a = train_dev_test_split(X, y, rng=3)
    b = train_dev_test_split(X, y, rng=3)
    for left, right in zip(a, b, strict=True):
        np.testing.assert_array_equal(left, right)
    c = train_dev_test_split(X, y, rng=np.random.RandomState(3))
    d = train_dev_test_split(X, y, rng=np.random.RandomState(3))
    np.testing.assert_array_equal(c[0], d[0])
    e = train_dev_test_split(X, y, rng=np.random.default_rng(4))
    assert not np.array_equal(a[0], e[0])
    X_copy = X.copy()
    train_dev_test_split(X, y, rng=0)
    np.testing.assert_array_equal(X, X_copy)


def test_ratio_validation_messages():
    X, y = _data(10)
    with pytest.raises(
        ValueError, match=r"sum to 1; received ratios=\(0.6, 0.2, 0.1\)"
    ):
        train_dev_test_split(X, y, ratios=(0.6, 0.2, 0.1))
    with pytest.raises(ValueError, match="must be >= 0; received dev ratio -0.2"):
        train_dev_test_split(X, y, ratios=(1.2, -0.2, 0.0))
    with pytest.raises(ValueError, match="three fractions"):
        train_dev_test_split(X, y, ratios=(0.5, 0.5))
    with pytest.raises(ValueError, match="same number of examples"):
        train_dev_test_split(X, y[:-1])


def test_recommended_ratios_follow_the_notes():
    assert recommend_ratios(1_000) == pytest.approx((0.6, 0.2, 0.2))
    assert recommend_ratios(10_000) == pytest.approx((0.6, 0.2, 0.2))
    assert recommend_ratios(1_000_000) == pytest.approx((0.98, 0.01, 0.01))
    assert recommend_ratios(10_000_000) == pytest.approx((0.998, 0.001, 0.001))
    X, y = _data(1000, 1)
    parts = train_dev_test_split(X, y, rng=0)  # ratios=None -> recommended
    assert [len(p) for p in parts[:3]] == [600, 200, 200]
    with pytest.raises(ValueError, match="m must be in"):
        recommend_ratios(0)


@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, 10**9))
def test_recommended_dev_test_never_exceed_cap_or_a_fifth(m):
    train, dev, test = recommend_ratios(m)
    assert dev == test and train + dev + test == pytest.approx(1.0)
    assert dev * m <= 10_000 + 1e-6 and dev <= 0.2
    assert train >= 0.6


def test_stratified_split_keeps_class_shares():
    y = np.array([0] * 80 + [1] * 20)
    X = np.arange(100.0).reshape(-1, 1)
    _, _, _, y_tr, y_dv, y_te = train_dev_test_split(
        X, y, ratios=(0.6, 0.2, 0.2), rng=1, stratify=True
    )
    assert np.bincount(y_tr).tolist() == [48, 12]
    assert np.bincount(y_dv).tolist() == [16, 4]
    assert np.bincount(y_te).tolist() == [16, 4]
    # the classes are shuffled, not left sorted by label
    assert not np.array_equal(y_tr, np.sort(y_tr))
    with pytest.raises(ValueError, match="regression targets"):
        train_dev_test_split(X, np.linspace(0, 1, 100), stratify=True)


@settings(max_examples=30, deadline=None)
@given(
    counts=st.lists(st.integers(1, 30), min_size=1, max_size=5),
    dev=st.floats(0, 0.5),
    test=st.floats(0, 0.5),
    seed=st.integers(0, 10),
)
def test_stratified_sizes_match_unstratified_sizes(counts, dev, test, seed):
    y = np.repeat(np.arange(len(counts)), counts)
    X = np.arange(len(y), dtype=float)[:, None]
    ratios = (1 - dev - test, dev, test)
    plain = train_dev_test_split(X, y, ratios=ratios, rng=seed)
    strat = train_dev_test_split(X, y, ratios=ratios, rng=seed, stratify=True)
    assert [len(p) for p in plain] == [len(p) for p in strat]
    for part_y in strat[3:]:
        # each class's count differs from its exact share by less than one row
        share = np.array(counts) * len(part_y) / len(y)
        found = np.bincount(part_y, minlength=len(counts))
        assert np.all(np.abs(found - share) < 1 + 1e-9)


def test_training_dev_split_fraction_and_count():
    X, y = _data(40)
    X_tr, X_td, y_tr, y_td = training_dev_split(X, y, size=0.25, rng=0)
    assert (len(X_tr), len(X_td)) == (30, 10)
    assert set(X_tr[:, 0]).isdisjoint(X_td[:, 0])
    _, X_td, _, _ = training_dev_split(X, y, size=7, rng=0)
    assert len(X_td) == 7
    with pytest.raises(ValueError, match=r"size must be in \[0, 1\]"):
        training_dev_split(X, y, size=1.5)
    with pytest.raises(ValueError, match=r"size must be in \[0, 40\]"):
        training_dev_split(X, y, size=41)


def test_mismatched_split_dev_test_only_from_target():
    X_web = np.zeros((200, 2))  # source distribution: marked by column 0 == 0
    y_web = np.zeros(200, dtype=int)
    X_phone = np.ones((100, 2))
    X_phone[:, 1] = np.arange(100)
    y_phone = np.ones(100, dtype=int)
    parts = mismatched_split(X_web, y_web, X_phone, y_phone, rng=0, target_in_train=50)
    assert set(parts) == {"train", "train_dev", "dev", "test"}
    (X_tr, y_tr), (X_td, _) = parts["train"], parts["train_dev"]
    (X_dv, y_dv), (X_te, _) = parts["dev"], parts["test"]
    assert len(X_dv) == len(X_te) == 25
    assert (X_dv[:, 0] == 1).all() and (X_te[:, 0] == 1).all() and (y_dv == 1).all()
    # training distribution: 200 web + 50 phone, split into train and training-dev
    assert len(X_tr) + len(X_td) == 250 and len(X_td) == 25
    assert int((X_tr[:, 0] == 1).sum() + (X_td[:, 0] == 1).sum()) == 50
    phone_ids = np.concatenate(
        [X_tr[X_tr[:, 0] == 1, 1], X_td[X_td[:, 0] == 1, 1], X_dv[:, 1], X_te[:, 1]]
    )
    assert sorted(phone_ids.tolist()) == list(range(100))  # no phone row reused
    assert (y_tr == X_tr[:, 0]).all()
    again = mismatched_split(X_web, y_web, X_phone, y_phone, rng=0, target_in_train=50)
    np.testing.assert_array_equal(again["dev"][0], X_dv)


def test_mismatched_split_options_and_errors():
    Xs, ys = np.zeros((10, 2)), np.zeros(10)
    Xt, yt = np.ones((6, 2)), np.ones(6)
    parts = mismatched_split(Xs, ys, Xt, yt, rng=1, train_dev_size=0.2)
    assert len(parts["train_dev"][0]) == 2 and len(parts["train"][0]) == 8
    assert len(parts["dev"][0]) == 3 and len(parts["test"][0]) == 3
    parts = mismatched_split(Xs, ys, Xt, yt, rng=1, target_in_train=0.5)
    assert len(parts["dev"][0]) + len(parts["test"][0]) == 3
    with pytest.raises(ValueError, match="same shape"):
        mismatched_split(Xs, ys, np.ones((6, 3)), yt)
    with pytest.raises(ValueError, match=r"target_in_train must be in \[0, 6\]"):
        mismatched_split(Xs, ys, Xt, yt, target_in_train=7)
