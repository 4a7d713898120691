"""GlassClassifier / GlassRegressor against scikit-learn's estimator contract."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits, load_iris, make_regression
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import glassnet as gn
from glassnet.estimators import GlassClassifier, GlassRegressor
from glassnet.metrics import multilabel_report

# Tiny networks and few epochs keep the ~50 checks per estimator fast. The
# learning rate is raised so that 10 epochs reach scikit-learn's accuracy / R^2
# thresholds (check_classifiers_train: > 0.83, check_regressors_train: R^2 > 0.5).
_SMALL = dict(hidden_layer_sizes=(8,), epochs=10, learning_rate=0.02, random_state=0)
# The estimators as a user constructs them come first: the defaults must pass
# too, with no expected failures (random_state=None: a new seed on every fit).
CHECKED = [
    GlassClassifier(),
    GlassRegressor(),
    GlassClassifier(**_SMALL),
    GlassClassifier(**_SMALL, batchnorm=True, keep_prob=0.8),
    GlassClassifier(**_SMALL, early_stopping=True, dtype="float64"),
    GlassRegressor(**_SMALL),
    GlassRegressor(**_SMALL, batchnorm=True, keep_prob=0.8),
    GlassRegressor(**_SMALL, early_stopping=True, lambd=0.1),
]


@parametrize_with_checks(CHECKED)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_top_level_names():
    assert gn.GlassClassifier is GlassClassifier
    assert gn.GlassRegressor is GlassRegressor


def test_params_stored_as_given_and_validated_in_fit():
    X, y = load_iris(return_X_y=True)
    clf = GlassClassifier(keep_prob=1.5, hidden_layer_sizes=[4])
    assert clf.get_params()["keep_prob"] == 1.5  # no validation in __init__
    with pytest.raises(ValueError, match=r"keep_prob must be in \(0, 1\]"):
        clf.fit(X, y)
    with pytest.raises(ValueError, match="unknown optimizer 'nope'"):
        GlassClassifier(optimizer="nope").fit(X, y)
    with pytest.raises(ValueError, match="unknown activation"):
        GlassClassifier(activation="swish").fit(X, y)
    with pytest.raises(ValueError, match="learning_rate"):
        GlassRegressor(learning_rate=0).fit(X, y)


def test_binary_string_labels_and_two_column_proba():
    X, y = load_iris(return_X_y=True)
    labels = np.where(y == 0, "setosa", "other")
    clf = GlassClassifier(hidden_layer_sizes=(8,), epochs=30, random_state=0)
    clf.fit(X, labels)
    assert clf.model_.layers[-1].units == 1  # one sigmoid unit
    proba = clf.predict_proba(X)
    assert proba.shape == (150, 2) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    assert clf.classes_.tolist() == ["other", "setosa"]
    assert clf.score(X, labels) > 0.95


def test_pipeline_on_digits_reaches_95_percent():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y
    )
    model = make_pipeline(StandardScaler(), GlassClassifier(epochs=20, random_state=0))
    model.fit(X_train, y_train)
    assert model.score(X_test, y_test) >= 0.95


def test_grid_search_over_learning_rate():
    X, y = load_iris(return_X_y=True)
    search = GridSearchCV(
        GlassClassifier(hidden_layer_sizes=(8,), epochs=20, random_state=0),
        {"learning_rate": [1e-4, 3e-2]},
        cv=3,
    )
    search.fit(StandardScaler().fit_transform(X), y)
    assert search.best_params_ == {"learning_rate": 3e-2}
    assert len(search.cv_results_["mean_test_score"]) == 2
    assert search.best_score_ > 0.85


def test_cross_val_score_classifier_and_regressor():
    X, y = load_iris(return_X_y=True)
    clf = make_pipeline(
        StandardScaler(),
        GlassClassifier(
            hidden_layer_sizes=(8,), epochs=20, learning_rate=0.02, random_state=0
        ),
    )
    scores = cross_val_score(clf, X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.85
    X, y = make_regression(n_samples=150, n_features=4, noise=1.0, random_state=0)
    reg = GlassRegressor(
        hidden_layer_sizes=(16,), epochs=40, learning_rate=0.02, random_state=0
    )
    scores = cross_val_score(reg, X, y / y.std(), cv=3)
    assert scores.mean() > 0.9


def test_partial_fit_improves_and_keeps_optimizer_state():
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    clf = GlassClassifier(hidden_layer_sizes=(32,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X[:10], y[:10])
    clf.partial_fit(X[:200], y[:200], classes=np.arange(10))
    first = clf.score(X, y)
    model, optimizer = clf.model_, clf.optimizer_
    steps = optimizer.t
    for _ in range(5):
        clf.partial_fit(X, y)
    assert clf.model_ is model and clf.optimizer_ is optimizer
    assert optimizer.t > steps  # Adam's step count carried on
    assert clf.n_iter_ == 6 and len(clf.loss_curve_) == 6
    assert clf.loss_curve_[-1] < clf.loss_curve_[1]
    assert clf.score(X, y) > first + 0.1
    with pytest.raises(ValueError, match="labels not seen"):
        clf.partial_fit(X[:5], np.full(5, 42))
    # fit starts over
    clf.fit(X[:100], y[:100])
    assert clf.model_ is not model and clf.n_iter_ == clf.epochs


def test_partial_fit_regressor():
    X, y = make_regression(n_samples=200, n_features=5, noise=0.5, random_state=1)
    y = y / y.std()
    reg = GlassRegressor(hidden_layer_sizes=(16,), learning_rate=0.01, random_state=0)
    scores = []
    for _ in range(8):
        reg.partial_fit(X, y)
        scores.append(reg.score(X, y))
    assert scores[-1] > scores[0] and scores[-1] > 0.8


def test_fit_is_reproducible_with_random_state():
    X, y = load_iris(return_X_y=True)
    a = GlassClassifier(hidden_layer_sizes=(8,), epochs=5, random_state=3).fit(X, y)
    b = clone(a).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_early_stopping_holds_out_validation_and_stops():
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    clf = GlassClassifier(
        hidden_layer_sizes=(32,),
        epochs=200,
        learning_rate=0.01,
        early_stopping=True,
        patience=2,
        random_state=0,
    ).fit(X, y)
    assert clf.n_iter_ < 200
    assert "val_cost" in clf.history_.history
    assert clf.best_epoch_ <= clf.n_iter_ - 1


def test_multilabel_classifier_with_missing_labels():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 4))
    Y = np.stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0, X[:, 3] < 0.5], axis=1)
    Y = Y.astype(np.float64)
    Y_missing = Y.copy()
    Y_missing[rng.random(Y.shape) < 0.2] = np.nan
    Y_missing[:10, 1] = -1
    clf = GlassClassifier(
        hidden_layer_sizes=(16,), epochs=40, learning_rate=0.01, random_state=0
    ).fit(X, Y_missing)
    assert clf.classes_.tolist() == [0, 1, 2]
    assert clf.model_.default_loss().name == "multi_label"
    proba = clf.predict_proba(X)
    assert proba.shape == (300, 3)
    predicted = clf.predict(X)
    assert predicted.shape == (300, 3) and set(np.unique(predicted)) <= {0, 1}
    report = multilabel_report(Y, predicted)
    assert all(value > 0.9 for value in report.values())
    with pytest.raises(ValueError, match="multi-label indicator"):
        clf.fit(X, np.where(Y > 0, 2, 0))


def test_multioutput_regression_keeps_layout():
    X, Y = make_regression(
        n_samples=200, n_features=5, n_targets=3, noise=0.1, random_state=0
    )
    Y = Y / Y.std(axis=0)
    reg = GlassRegressor(
        hidden_layer_sizes=(16,), epochs=60, learning_rate=0.01, random_state=0
    ).fit(X, Y)
    assert reg.predict(X).shape == (200, 3)
    assert reg.n_outputs_ == 3 and reg.score(X, Y) > 0.9
    single = GlassRegressor(hidden_layer_sizes=(4,), epochs=2, random_state=0)
    assert single.fit(X, Y[:, 0]).predict(X).shape == (200,)


def test_pickle_round_trip_keeps_flat_buffer_and_training():
    X, y = load_iris(return_X_y=True)
    clf = GlassClassifier(hidden_layer_sizes=(8,), epochs=3, random_state=0).fit(X, y)
    copy = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(copy.predict_proba(X), clf.predict_proba(X))
    assert np.shares_memory(copy.model_.flat_params, copy.model_.params["W1"])
    copy.partial_fit(X, y)  # training goes on after unpickling
    assert copy.n_iter_ == 4


def test_multilabel_report_skips_missing_and_accepts_metric_names():
    y_true = np.array([[1, 0, np.nan], [0, -1, np.nan], [1, 1, np.nan], [0, 0, np.nan]])
    y_pred = np.array([[1, 1, 0], [0, 0, 1], [0, 1, 1], [0, 0, 0]])
    report = multilabel_report(y_true, y_pred)
    assert report[0] == pytest.approx(0.75)
    assert report[1] == pytest.approx(2 / 3)  # the -1 row is not counted
    assert np.isnan(report[2])  # no label present
    f1 = multilabel_report(y_true, y_pred, metric="f1")
    assert f1[0] == pytest.approx(2 / 3)
    custom = multilabel_report(y_true, y_pred, metric=lambda t, p: float(len(t)))
    assert custom == {0: 4.0, 1: 3.0, 2: pytest.approx(np.nan, nan_ok=True)}
    with pytest.raises(ValueError, match="same shape"):
        multilabel_report(y_true, y_pred[:, :2])
