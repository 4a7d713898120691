"""GlassClassifier / GlassRegressor on raw tables (issue 26, architecture D40):
text categories and empty cells in a pandas or polars DataFrame, the table layers
fitted inside ``fit`` on the training rows only, and the numbers path unchanged."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
pl = pytest.importorskip("polars")

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_iris  # noqa: E402
from sklearn.model_selection import KFold, cross_val_score, cross_validate  # noqa: E402
from sklearn.utils import check_random_state  # noqa: E402

import glassnet as gn  # noqa: E402
from glassnet.estimators import GlassClassifier, GlassRegressor  # noqa: E402
from glassnet.layers import CategoryEncoding, Imputation, Standardization  # noqa: E402
from glassnet.networks import build_network, make_optimizer  # noqa: E402
from glassnet.run_config import RunConfig  # noqa: E402

ROLES = {
    "passenger_id": "ignored",
    "pclass": "numeric",
    "sex": "categorical",
    "age": "numeric",
    "fare": "numeric",
    "port": "categorical",
}
_FAST = dict(hidden_layer_sizes=(16,), epochs=15, learning_rate=0.01, random_state=0)


def _passengers(m=240, seed=0):
    """A small passenger table as it comes: an identifier, text categories, empty
    ages (NaN), empty ports (None and pd.NA); survived depends on sex, age, class."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["male", "female"], size=m)
    pclass = rng.integers(1, 4, size=m)
    age = rng.uniform(1, 70, size=m).round()
    fare = rng.gamma(2.0, 15.0, size=m).round(2) / pclass
    port = rng.choice(["S", "C", "Q"], size=m, p=[0.6, 0.25, 0.15]).astype(object)
    survived = np.where((sex == "female") | (age < 12), "yes", "no")
    survived[(pclass == 3) & (sex == "female") & (age > 50)] = "no"
    age[rng.random(m) < 0.15] = np.nan
    port[rng.random(m) < 0.04] = None
    frame = pd.DataFrame(
        {
            "passenger_id": np.arange(1, m + 1),
            "pclass": pclass,
            "sex": sex,
            "age": age,
            "fare": fare,
            "port": pd.array(port, dtype="string"),  # None read as pd.NA
        }
    )
    return frame, pd.Series(survived, name="survived")


def _new_rows():
    """Raw rows with an unseen port, empty cells of every kind, columns in
    another order."""
    return pd.DataFrame(
        {
            "port": ["Z", None, "S", "C"],
            "fare": [7.25, np.nan, 30.0, 12.5],
            "age": [None, 4.0, 35.0, np.nan],
            "sex": ["female", "male", pd.NA, "male"],
            "pclass": [3, 1, 2, 3],
            "passenger_id": [901, 902, 903, 904],
        }
    )


def test_classifier_fits_a_raw_table_and_predicts_raw_rows(tmp_path):
    frame, survived = _passengers()
    clf = GlassClassifier(**_FAST).fit(frame, survived)
    assert clf.column_roles_ == ROLES
    assert clf.feature_names_in_.tolist() == list(frame.columns)
    assert clf.n_features_in_ == 6
    first = clf.model_.layers[:3]
    assert [type(layer) for layer in first] == [
        Imputation,
        CategoryEncoding,
        Standardization,
    ]
    assert "age (was missing)" in clf.model_.feature_names
    assert "port=(other)" in clf.model_.feature_names
    assert clf.score(frame, survived) > 0.8

    new = _new_rows()
    with pytest.warns(UserWarning, match="'Z'.*not seen in training"):
        proba = clf.predict_proba(new)
    assert proba.shape == (4, 2) and np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    with pytest.warns(UserWarning, match="not seen in training"):
        assert clf.predict(new).tolist() == clf.classes_[proba.argmax(1)].tolist()

    clf.model_.save(tmp_path / "passengers.glassnet")
    loaded = gn.load(tmp_path / "passengers.glassnet")
    with pytest.warns(UserWarning, match="not seen in training"):
        again = loaded.astype("float64").predict_proba(new)
    np.testing.assert_array_equal(again[:, 0], proba[:, 1])  # the float64 path
    with pytest.warns(UserWarning, match="not seen in training"):
        as_saved = loaded.predict_proba(new)  # float32, as saved
    np.testing.assert_allclose(as_saved[:, 0], proba[:, 1], atol=1e-6)


def test_tables_are_read_by_name_and_refused_naming_the_column():
    frame, survived = _passengers()
    clf = GlassClassifier(**_FAST).fit(frame, survived)
    expected = clf.predict_proba(frame)
    reordered = frame[list(reversed(frame.columns))]
    np.testing.assert_array_equal(clf.predict_proba(reordered), expected)
    as_dict = {name: frame[name].to_numpy() for name in frame.columns}
    np.testing.assert_array_equal(clf.predict_proba(as_dict), expected)
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        by_position = clf.predict_proba(frame.astype(object).to_numpy())
    np.testing.assert_array_equal(by_position, expected)
    with pytest.raises(ValueError, match=r"missing column\(s\) 'age'"):
        clf.predict(frame.drop(columns="age"))
    with pytest.raises(ValueError, match="'cabin' that the model was not trained"):
        clf.predict(frame.assign(cabin="B5"))
    with pytest.raises(ValueError, match="expecting 6 features"):
        clf.predict(frame.to_numpy()[:, :4])
    with pytest.raises(ValueError, match="column 'fare' is numeric but holds 'cheap'"):
        clf.predict(frame.assign(fare="cheap"))


def test_polars_and_pandas_tables_train_the_same_network():
    frame, survived = _passengers()
    from_pandas = GlassClassifier(**_FAST).fit(frame, survived)
    polars_frame = pl.from_pandas(frame)
    assert polars_frame["port"].null_count() > 0  # empty ports are polars nulls
    from_polars = GlassClassifier(**_FAST).fit(polars_frame, pl.Series(survived))
    assert from_polars.column_roles_ == ROLES
    np.testing.assert_array_equal(
        from_polars.predict_proba(polars_frame), from_pandas.predict_proba(frame)
    )
    with pytest.raises(ValueError, match=r"missing column\(s\) 'sex'"):
        from_polars.predict(polars_frame.drop("sex"))


def test_cross_validation_fits_the_table_layers_on_each_training_fold_only():
    frame, survived = _passengers()
    clf = GlassClassifier(**_FAST)
    folds = KFold(n_splits=3)
    results = cross_validate(clf, frame, survived, cv=folds, return_estimator=True)
    assert results["test_score"].mean() > 0.75
    for (train, _), fitted in zip(
        folds.split(frame), results["estimator"], strict=True
    ):
        layers, encoded = gn.table_layers(frame.iloc[train])
        assert fitted.model_.layers[0].columns == layers[0].columns  # fills
        assert fitted.model_.layers[1].columns == layers[1].columns  # categories
        mean, spread = Standardization().adapt(encoded).statistics()
        fitted_mean, fitted_spread = fitted.model_.layers[2].statistics()
        np.testing.assert_array_equal(fitted_mean, mean.astype(np.float32))
        np.testing.assert_array_equal(fitted_spread, spread.astype(np.float32))
    scores = cross_val_score(GlassRegressor(**_FAST), frame, frame["fare"], cv=3)
    assert scores.shape == (3,) and np.all(np.isfinite(scores))


def test_partial_fit_fits_the_layers_on_the_first_call_only():
    frame, survived = _passengers()
    clf = GlassClassifier(**_FAST)
    first = frame.iloc[:120][frame["port"].iloc[:120] != "Q"]
    clf.partial_fit(first, survived[first.index], classes=["no", "yes"])
    layers = [dict(c) for c in clf.model_.layers[1].columns if c["categories"]]
    assert "Q" not in next(c for c in layers if c["name"] == "port")["categories"]
    model = clf.model_
    with pytest.warns(UserWarning, match="'Q'.*not seen in training"):
        clf.partial_fit(frame, survived)  # the layers are kept; Q is never seen
    assert clf.model_ is model and clf.n_iter_ == 2
    assert [c for c in clf.model_.layers[1].columns if c["categories"]] == layers
    with pytest.raises(ValueError, match=r"missing column\(s\) 'pclass'"):
        clf.partial_fit(frame.drop(columns="pclass"), survived)

    regressor = GlassRegressor(**_FAST)
    features = frame.drop(columns="fare")
    for _ in range(3):
        regressor.partial_fit(features, frame["fare"])
    assert regressor.n_iter_ == 3 and regressor.predict(features).shape == (240,)
    assert regressor.column_roles_["passenger_id"] == "ignored"


def test_column_roles_choose_the_roles_by_name():
    frame, survived = _passengers()
    clf = GlassClassifier(**_FAST, column_roles={"pclass": "categorical"})
    clf.fit(frame, survived)
    assert clf.column_roles_["pclass"] == "categorical"
    assert {"pclass=1", "pclass=2", "pclass=3"} <= set(clf.model_.feature_names)
    with pytest.raises(ValueError, match="'cabin', which is not a column"):
        clone(clf).set_params(column_roles={"cabin": "numeric"}).fit(frame, survived)
    with pytest.raises(ValueError, match="without column names"):
        clone(clf).fit(frame[["pclass", "fare"]].to_numpy(), survived)
    with pytest.raises(TypeError, match="column_roles must be a dict"):
        clone(clf).set_params(column_roles=["pclass"]).fit(frame, survived)
    numbers = frame[["pclass", "fare"]]
    given = GlassClassifier(**_FAST, column_roles={}).fit(numbers, survived)
    assert type(given.model_.layers[0]) is Imputation  # roles given: a table


def test_numbers_keep_the_numbers_path_bitwise():
    X, y = load_iris(return_X_y=True)
    settings = dict(hidden_layer_sizes=(8,), epochs=5, random_state=3)
    clf = GlassClassifier(**settings).fit(X, y)
    # the numbers-only path by hand: the same seed, network, optimizer and fit
    config = RunConfig(
        data="GlassClassifier",
        layers=(8,),
        activation="relu",
        epochs=5,
        batch_size=32,
        optimizer="adam",
        learning_rate=0.001,
        dtype="float32",
        l2=0.0,
        keep_prob=1.0,
        batchnorm=False,
        seed=0,
    ).validate()
    seed = check_random_state(3).randint(np.iinfo(np.int32).max)
    rng = np.random.default_rng(seed)
    model = build_network(config, 4, "multiclass", 3, rng)
    model.fit(
        X, y, epochs=5, batch_size=32, optimizer=make_optimizer(config), rng=rng,
        verbose=False,
    )  # fmt: skip
    rows = X.astype(np.float32).astype(np.float64)  # checked in the training dtype
    by_hand = model.astype("float64").predict_proba(rows)
    np.testing.assert_array_equal(clf.predict_proba(X), by_hand)
    assert not clf.model_.table_layers() and not hasattr(clf, "column_roles_")

    frame = pd.DataFrame(X, columns=["sl", "sw", "pl", "pw"])
    for numbers in (frame, pl.from_pandas(frame)):
        named = GlassClassifier(**settings).fit(numbers, y)
        assert not named.model_.table_layers()  # numbers: no table layers
        np.testing.assert_array_equal(named.predict_proba(numbers), by_hand)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a float column with NaN is not a warning
        gappy = GlassClassifier(**settings).fit(frame.mask(frame > 7.5), y)
    assert gappy.column_roles_ == dict.fromkeys(frame.columns, "numeric")
    assert "sl (was missing)" in gappy.model_.feature_names
    with pytest.raises(ValueError, match="NaN"):  # fitted on numbers: as before
        clf.predict(np.where(X > 7.5, np.nan, X))
