"""Tests for glassnet.cluster: k-means, k-means++, silhouette and adjusted Rand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import cdist
from sklearn import metrics
from sklearn.base import clone
from sklearn.cluster import KMeans as SklearnKMeans
from sklearn.datasets import load_digits

import glassnet.cluster as cluster
from glassnet.cluster import (
    KMeans,
    adjusted_rand_score,
    kmeans_plusplus,
    silhouette_samples,
    silhouette_score,
)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X, y


@pytest.fixture(scope="module")
def sklearn_digits(digits):
    X, y = digits
    model = SklearnKMeans(n_clusters=10, n_init=10, random_state=0).fit(X)
    return metrics.adjusted_rand_score(y, model.labels_), model.inertia_


def make_blobs(n_blobs=5, per_blob=40, n_features=3, spread=0.1, seed=0):
    """Tight blobs whose centers are far apart; returns X (m, n), y (m,)."""
    r = np.random.default_rng(seed)
    centers = r.uniform(-100, 100, size=(n_blobs, n_features))
    y = np.repeat(np.arange(n_blobs), per_blob)
    X = centers[y] + spread * r.standard_normal((len(y), n_features))
    order = r.permutation(len(y))
    return X[order], y[order]


# ----------------------------------------------------------------- quality vs sklearn


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_digits_ari_and_inertia_match_sklearn(digits, sklearn_digits, seed):
    X, y = digits
    sk_ari, sk_inertia = sklearn_digits
    model = KMeans(n_clusters=10, n_init=10, rng=seed).fit(X)
    ari = adjusted_rand_score(y, model.labels_)
    assert abs(ari - sk_ari) <= 0.05, (ari, sk_ari)
    assert model.inertia_ <= 1.02 * sk_inertia, (model.inertia_, sk_inertia)
    assert model.cluster_centers_.shape == (10, 64)
    assert model.labels_.shape == (1797,)
    assert model.n_features_in_ == 64
    assert 1 <= model.n_iter_ <= 300


def test_random_init_is_reasonable_on_digits(digits, sklearn_digits):
    X, _ = digits
    _, sk_inertia = sklearn_digits
    model = KMeans(n_clusters=10, init="random", n_init=10, rng=0).fit(X)
    assert model.inertia_ <= 1.05 * sk_inertia


def test_greedy_trials_lower_the_seeding_potential(digits):
    # The greedy local trials (2 + log k candidates per step) must give a lower
    # average k-means++ potential than plain k-means++ (one candidate).
    X, _ = digits

    def potential(centers):
        return (cdist(X, centers, "sqeuclidean").min(axis=1)).sum()

    greedy = [potential(kmeans_plusplus(X, 10, rng=s)[0]) for s in range(15)]
    plain = [
        potential(kmeans_plusplus(X, 10, n_local_trials=1, rng=s)[0]) for s in range(15)
    ]
    assert np.mean(greedy) < 0.97 * np.mean(plain)


# --------------------------------------------------------------------------- k-means


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_kmeans_plusplus_puts_one_center_in_each_blob(seed):
    X, y = make_blobs(seed=seed)
    centers, indices = kmeans_plusplus(X, 5, rng=seed)
    np.testing.assert_allclose(centers, X[indices])
    assert sorted(y[indices]) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_finds_well_separated_blobs_exactly(seed):
    X, y = make_blobs(seed=seed + 10)
    model = KMeans(n_clusters=5, n_init=1, rng=seed).fit(X)
    assert adjusted_rand_score(y, model.labels_) == 1.0
    for j in range(5):
        members = X[model.labels_ == j]
        np.testing.assert_allclose(model.cluster_centers_[j], members.mean(axis=0))


def test_predict_on_training_data_equals_labels(digits):
    X, _ = digits
    model = KMeans(n_clusters=10, n_init=2, rng=0).fit(X)
    np.testing.assert_array_equal(model.predict(X), model.labels_)
    np.testing.assert_array_equal(model.fit_predict(X), model.labels_)


def test_inertia_and_transform_are_the_distances():
    X, _ = make_blobs(spread=5.0, seed=3)
    model = KMeans(n_clusters=4, n_init=3, rng=0).fit(X)
    D = cdist(X, model.cluster_centers_)
    np.testing.assert_allclose(model.transform(X), D, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(model.labels_, D.argmin(axis=1))
    np.testing.assert_allclose(model.inertia_, (D.min(axis=1) ** 2).sum(), rtol=1e-10)
    np.testing.assert_allclose(model.score(X), -model.inertia_, rtol=1e-10)
    np.testing.assert_allclose(model.fit_transform(X), D, rtol=1e-9, atol=1e-9)


def test_tolerance_zero_reaches_a_fixed_point():
    # Converged Lloyd: every center is the mean of its members, each example is
    # assigned to its closest center.
    X = np.random.default_rng(5).standard_normal((400, 4))
    model = KMeans(n_clusters=6, n_init=2, tolerance=0.0, rng=1).fit(X)
    for j in range(6):
        np.testing.assert_allclose(
            model.cluster_centers_[j], X[model.labels_ == j].mean(axis=0), atol=1e-12
        )
    assert model.n_iter_ < 300


def test_max_iter_and_tolerance_stop_early():
    X = np.random.default_rng(6).standard_normal((300, 3))
    assert KMeans(5, n_init=1, max_iter=1, rng=0).fit(X).n_iter_ == 1
    assert KMeans(5, n_init=1, tolerance=1e6, rng=0).fit(X).n_iter_ == 1
    assert KMeans(5, n_init=1, tolerance=0.0, rng=0).fit(X).n_iter_ > 1


def test_empty_cluster_is_reseeded_from_the_farthest_point():
    X, _ = make_blobs(n_blobs=3, seed=4)
    # Start two centers on the same blob and one impossibly far away: the far
    # one gets no examples and must be moved onto the data.
    start = np.vstack([X[0], X[0] + 1e-3, np.full(3, 1e6)])
    model = KMeans(n_clusters=3, init=start, max_iter=50, rng=0).fit(X)
    assert np.bincount(model.labels_, minlength=3).min() > 0
    assert np.abs(model.cluster_centers_).max() < 1e3
    # After one iteration the empty cluster sits exactly on the example farthest
    # from the center it was assigned to.
    one_step = KMeans(n_clusters=3, init=start, max_iter=1).fit(X)
    farthest = cdist(X, start[:2], "sqeuclidean").min(axis=1).argmax()
    np.testing.assert_allclose(one_step.cluster_centers_[2], X[farthest], atol=1e-9)


def test_duplicate_points_fewer_than_k_distinct_do_not_crash():
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0]]), 5, axis=0)
    model = KMeans(n_clusters=4, n_init=2, rng=0).fit(X)
    assert model.inertia_ == pytest.approx(0.0, abs=1e-12)
    assert np.isfinite(model.cluster_centers_).all()


def test_k_equals_m_and_k_one():
    X = np.random.default_rng(7).standard_normal((6, 2))
    model = KMeans(n_clusters=6, n_init=1, rng=0).fit(X)
    assert sorted(model.labels_) == list(range(6))
    assert model.inertia_ == pytest.approx(0.0, abs=1e-12)
    one = KMeans(n_clusters=1, rng=0).fit(X)
    np.testing.assert_allclose(one.cluster_centers_[0], X.mean(axis=0))
    np.testing.assert_allclose(one.inertia_, ((X - X.mean(axis=0)) ** 2).sum())


def test_determinism_with_the_same_rng(digits):
    X, _ = digits
    X = X[:500]
    a = KMeans(n_clusters=8, n_init=3, rng=42).fit(X)
    b = KMeans(n_clusters=8, n_init=3, rng=42).fit(X)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    # Refitting with an int seed repeats itself; a shared generator moves on.
    again = a.fit(X)
    np.testing.assert_array_equal(again.labels_, b.labels_)
    g1 = KMeans(8, n_init=1, rng=np.random.default_rng(3)).fit(X)
    g2 = KMeans(8, n_init=1, rng=np.random.default_rng(3)).fit(X)
    np.testing.assert_array_equal(g1.cluster_centers_, g2.cluster_centers_)
    r1 = KMeans(8, n_init=1, rng=np.random.RandomState(3)).fit(X)
    r2 = KMeans(8, n_init=1, rng=np.random.RandomState(3)).fit(X)
    np.testing.assert_array_equal(r1.cluster_centers_, r2.cluster_centers_)
    other = KMeans(8, n_init=1, rng=np.random.RandomState(4)).fit(X)
    assert not np.array_equal(other.cluster_centers_, r1.cluster_centers_)


def test_float32_stays_float32_and_ints_become_float64():
    X, _ = make_blobs(seed=8)
    model = KMeans(5, n_init=1, rng=0).fit(X.astype(np.float32))
    assert model.cluster_centers_.dtype == np.float32
    assert model.transform(X.astype(np.float32)).dtype == np.float32
    ints = KMeans(2, n_init=1, rng=0).fit(np.array([[0, 0], [0, 1], [9, 9], [9, 8]]))
    assert ints.cluster_centers_.dtype == np.float64
    assert sorted(ints.cluster_centers_[:, 0].tolist()) == [0.0, 9.0]


def test_chunked_assignment_matches_unchunked(monkeypatch, digits):
    X, _ = digits
    whole = KMeans(n_clusters=10, n_init=2, rng=0).fit(X)
    monkeypatch.setattr(cluster, "_CHUNK_ENTRIES", 70)  # 7 rows per chunk
    chunked = KMeans(n_clusters=10, n_init=2, rng=0).fit(X)
    np.testing.assert_array_equal(whole.labels_, chunked.labels_)
    np.testing.assert_allclose(whole.inertia_, chunked.inertia_, rtol=1e-12)


def test_params_are_plain_attributes_and_clone_works():
    model = KMeans(3, init="random", n_init=4, max_iter=20, tolerance=1e-3, rng=7)
    assert model.get_params() == {
        "n_clusters": 3,
        "init": "random",
        "n_init": 4,
        "max_iter": 20,
        "tolerance": 1e-3,
        "rng": 7,
    }
    assert model.set_params(n_clusters=5) is model and model.n_clusters == 5
    with pytest.raises(ValueError, match="unknown parameter 'k'"):
        model.set_params(k=2)
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert "n_clusters=5" in repr(model)


# ---------------------------------------------------------------------- error cases


def test_more_clusters_than_examples_names_both_numbers():
    X = np.zeros((7, 2))
    with pytest.raises(ValueError, match=r"n_clusters=9 .*m=7"):
        KMeans(n_clusters=9).fit(X)
    with pytest.raises(ValueError, match=r"n_clusters=9 .*m=7"):
        kmeans_plusplus(X, 9)


@pytest.mark.parametrize(
    "params, error, pattern",
    [
        ({"n_clusters": 0}, ValueError, r"n_clusters must be in \[1, inf\)"),
        ({"n_clusters": -3}, ValueError, "received n_clusters=-3"),
        ({"n_clusters": 2.5}, TypeError, "n_clusters must be an integer"),
        ({"n_init": 0}, ValueError, "n_init"),
        ({"max_iter": 0}, ValueError, "max_iter"),
        ({"tolerance": -1.0}, ValueError, "tolerance"),
        ({"init": "kmeans"}, ValueError, "unknown init 'kmeans'"),
        ({"init": np.zeros((3, 5))}, ValueError, r"\(2, 2\); received shape \(3, 5\)"),
        ({"rng": "seed"}, TypeError, "rng must be"),
    ],
)
def test_bad_hyperparameters(params, error, pattern):
    X = np.random.default_rng(0).standard_normal((10, 2))
    settings = {"n_clusters": 2, **params}
    with pytest.raises(error, match=pattern):
        KMeans(**settings).fit(X)


def test_bad_data():
    with pytest.raises(ValueError, match="NaN"):
        KMeans(2).fit(np.array([[0.0, 1.0], [np.nan, 2.0], [3.0, 4.0]]))
    with pytest.raises(ValueError, match="must be 2-D.*reshape"):
        KMeans(2).fit(np.arange(10.0))
    with pytest.raises(ValueError, match="empty"):
        KMeans(2).fit(np.zeros((0, 3)))


def test_using_an_unfitted_or_mismatched_model():
    with pytest.raises(RuntimeError, match="not fitted"):
        KMeans(2).predict(np.zeros((3, 2)))
    model = KMeans(2, n_init=1, rng=0).fit(np.random.default_rng(0).random((10, 3)))
    with pytest.raises(ValueError, match="X has 2 features, but KMeans was fitted"):
        model.predict(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="NaN"):
        model.transform(np.full((2, 3), np.nan))


# ---------------------------------------------------------------------- silhouette


@pytest.mark.parametrize(
    "m, n, k, seed", [(30, 2, 2, 0), (200, 5, 4, 1), (500, 8, 9, 2), (2500, 3, 6, 3)]
)
def test_silhouette_matches_sklearn(m, n, k, seed):
    r = np.random.default_rng(seed)
    X = r.standard_normal((m, n))
    labels = r.integers(0, k, m)
    labels[:k] = np.arange(k)  # every label present
    labels[k] = k  # a singleton cluster (silhouette 0 by convention)
    assert silhouette_score(X, labels) == pytest.approx(
        metrics.silhouette_score(X, labels), abs=1e-10
    )
    np.testing.assert_allclose(
        silhouette_samples(X, labels),
        metrics.silhouette_samples(X, labels),
        atol=1e-10,
    )


def test_silhouette_chunking_and_label_kinds(monkeypatch):
    r = np.random.default_rng(4)
    X = r.standard_normal((120, 3))
    labels = np.array(["cat", "dog", "bird"])[r.integers(0, 3, 120)]
    expected = metrics.silhouette_score(X, labels)
    monkeypatch.setattr(cluster, "_CHUNK_ENTRIES", 1000)  # 8 rows per chunk
    assert silhouette_score(X, labels) == pytest.approx(expected, abs=1e-10)


def test_silhouette_sample_size_draws_like_sklearn():
    r = np.random.default_rng(5)
    X = r.standard_normal((300, 4))
    labels = r.integers(0, 4, 300)
    ours = silhouette_score(X, labels, sample_size=80, rng=np.random.RandomState(9))
    theirs = metrics.silhouette_score(
        X, labels, sample_size=80, random_state=np.random.RandomState(9)
    )
    assert ours == pytest.approx(theirs, abs=1e-10)
    a = silhouette_score(X, labels, sample_size=80, rng=1)
    assert a == silhouette_score(X, labels, sample_size=80, rng=1)


def test_silhouette_of_separated_blobs_is_high_and_errors_are_clear():
    X, y = make_blobs(seed=6)
    assert silhouette_score(X, y) > 0.99
    with pytest.raises(ValueError, match="between 2 and m - 1 = 199.*received 1"):
        silhouette_score(X, np.zeros(200, dtype=int))
    with pytest.raises(ValueError, match="received 4 distinct labels for m=4"):
        silhouette_score(X[:4], np.arange(4))
    with pytest.raises(ValueError, match="same number of examples"):
        silhouette_score(X, y[:10])
    with pytest.raises(ValueError, match=r"sample_size must be in \[2, 200\]"):
        silhouette_score(X, y, sample_size=500)
    with pytest.raises(ValueError, match="labels must be 1-D"):
        silhouette_score(X, y.reshape(-1, 1))


# --------------------------------------------------------------- adjusted Rand index


def test_adjusted_rand_matches_sklearn_on_random_labels():
    r = np.random.default_rng(11)
    for m, ka, kb in [(10, 2, 3), (100, 5, 5), (1000, 10, 3), (5000, 50, 40)]:
        a, b = r.integers(0, ka, m), r.integers(0, kb, m)
        b[: m // 2] = a[: m // 2]  # some agreement, so the score is not near 0
        assert adjusted_rand_score(a, b) == pytest.approx(
            metrics.adjusted_rand_score(a, b), abs=1e-10
        )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 4), st.integers(0, 6)), min_size=1, max_size=40)
)
def test_adjusted_rand_property_matches_sklearn_and_is_symmetric(pairs):
    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])
    ours = adjusted_rand_score(a, b)
    assert ours == pytest.approx(metrics.adjusted_rand_score(a, b), abs=1e-10)
    assert ours == pytest.approx(adjusted_rand_score(b, a), abs=1e-12)
    assert adjusted_rand_score(a, a) == 1.0


def test_adjusted_rand_special_cases():
    # Renaming labels does not matter; labels can be strings.
    assert adjusted_rand_score([0, 0, 1, 1], ["b", "b", "a", "a"]) == 1.0
    assert adjusted_rand_score([0, 0, 0], [4, 4, 4]) == 1.0
    assert adjusted_rand_score([0, 1, 2], [5, 6, 7]) == 1.0
    assert adjusted_rand_score([0, 0, 0, 0], [0, 1, 2, 3]) == 0.0
    assert adjusted_rand_score([0, 0, 1, 1], [0, 1, 0, 1]) == pytest.approx(-0.5)
    with pytest.raises(ValueError, match="same number of examples"):
        adjusted_rand_score([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="labels_pred must be 1-D"):
        adjusted_rand_score([0, 1], [[0, 1]])
    with pytest.raises(ValueError, match="labels_true contains NaN"):
        adjusted_rand_score([0.0, np.nan], [0, 1])
