"""scikit-learn compatible :class:`GlassClassifier` and :class:`GlassRegressor`.

>>> from sklearn.pipeline import make_pipeline
>>> from sklearn.preprocessing import StandardScaler
>>> clf = make_pipeline(StandardScaler(), GlassClassifier(hidden_layer_sizes=(64,)))
>>> clf.fit(X_train, y_train).score(X_test, y_test)       # doctest: +SKIP

The network is the one a :class:`glassnet.run_config.RunConfig` describes (built by
:func:`glassnet.networks.build_network`): hidden ``Dense`` layers (``Dense(linear) ->
BatchNorm -> Activation`` with ``batchnorm=True``), a ``Dropout`` after each hidden
layer when ``keep_prob < 1``, and an output layer matching the target:

=====================================  ========================  ====================
target ``y`` (rows)                    output layer              loss
=====================================  ========================  ====================
2 classes (any label type)             Dense(1, "sigmoid")       binary cross-entropy
C > 2 classes (any label type)         Dense(C, "softmax")       softmax CE
(m, k) 0/1 matrix (multi-label)        Dense(k, "sigmoid")       multi-label CE,
                                                                 NaN or -1 = missing
(m,) or (m, k) values (regression)     Dense(k, "linear")        mean squared error
=====================================  ========================  ====================

Hyperparameters are stored as given and validated in ``fit`` (scikit-learn
convention); they mirror the course's names (``lambd`` for L2, ``keep_prob`` for
dropout). Fitted attributes end in ``_``: ``model_`` (the
:class:`~glassnet.Sequential`), ``optimizer_`` (its state carries over between
``partial_fit`` calls), ``history_``, ``loss_curve_`` (training cost per epoch,
across ``partial_fit`` calls), ``n_iter_`` (epochs run), ``n_features_in_``,
``classes_`` (classifier), ``n_outputs_``, ``best_epoch_`` (with early stopping),
``column_roles_`` (fitted on a raw table: ``{column: role}``). ``column_roles``
(``{column: role}``, roles numeric, categorical or ignored) and ``max_categories``
(one-hot columns kept per categorical column) shape the table layers.

The input checks (rows ``X``, multi-label ``y``) live in
:mod:`glassnet._estimator_checks`. :func:`~glassnet.metrics.multilabel_report`, the
per-task scores of a multi-label prediction, lives in :mod:`glassnet.metrics`.

pandas and polars DataFrames (and Series for ``y``) are taken as scikit-learn takes
them: fitted on one, the estimator records ``feature_names_in_`` (also in
``model_.column_names``, so the saved model has them), scikit-learn warns when
names are given to one fitted without or the reverse, and a DataFrame given later
is read by name: reordered columns work, a missing or unknown column is refused
naming it (:mod:`glassnet.data.frames`).

Raw tables (architecture D40) are taken as they come: a pandas or polars DataFrame
with a text (or category) column or an empty cell (None, NaN, ``pd.NA``), a
:class:`~glassnet.data.columns.Table` or a dict of columns. ``fit`` infers each
column's role (:func:`~glassnet.data.columns.infer_roles`; ``column_roles``
overrides some by name; ``column_roles_`` records them all) and fits the table
layers ``Imputation`` and ``CategoryEncoding(max_categories)`` and a
``Standardization`` of the encoded columns on the rows it is given, and only on
them (a cross-validation fold never sees its validation rows); they lead
``model_``, so the saved model reads raw tables alone. ``predict``,
``predict_proba`` and ``score`` then take tables with the same columns, by name
(reordered columns work; a missing or unknown column is refused naming it) or
rows of the raw columns in their training order; empty cells are filled and a
category never seen in training is encoded as the layers document.
``feature_names_in_`` and ``n_features_in_`` are the raw columns. A DataFrame of
numbers and booleans without an empty cell, and every array, keep the numbers
path below exactly (no table layers, no Standardization: scale them yourself),
unless ``column_roles`` is given. ``partial_fit`` on a table fits the layers on
its first call's rows only; later calls reuse them.

Predictions are computed in float64 whatever the training dtype (``_outputs``), so
a row's prediction does not depend on the other rows of the call: scikit-learn's
``check_estimator`` passes on ``GlassClassifier()`` and ``GlassRegressor()`` as
constructed, with no expected failures (tests/test_estimators.py).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    check_classification_targets,
)
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d

from glassnet import activations, optimizers
from glassnet._estimator_checks import _check_multilabel, _is_multilabel, _validate
from glassnet.backend import resolve_dtype
from glassnet.callbacks import EarlyStopping
from glassnet.networks import build_network, make_optimizer
from glassnet.regularizers import L2
from glassnet.run_config import RunConfig, parse_layers
from glassnet.validation import check_in_range, check_positive_int

__all__ = ["GlassClassifier", "GlassRegressor"]


def _by_name(estimator, X):
    """A DataFrame's columns put in the order of ``feature_names_in_`` (fitted on a
    DataFrame), a missing or unknown column refused naming it; scikit-learn's
    checks then see the training names in the training order (reordered columns
    work, where scikit-learn alone refuses them)."""
    names = getattr(estimator, "feature_names_in_", None)
    if names is None or type(X).__module__.partition(".")[0] not in (
        "pandas",
        "polars",
    ):
        return X  # (nothing imported for arrays)
    from glassnet.data.frames import ordered_frame

    return ordered_frame(X, names)


def _table_input(X, column_roles) -> bool:
    """Whether ``X`` takes the table path at ``fit``: a Table or a dict of
    columns; a DataFrame with a column that is not numbers or booleans, or an
    empty cell; any DataFrame when ``column_roles`` is given. Arrays never do."""
    from glassnet.data.columns import Table
    from glassnet.data.frames import frame_library, frame_rows, is_frame

    if isinstance(X, Table) or type(X) is dict:  # (scipy's dok_array is a dict)
        return True
    if not is_frame(X):
        if column_roles is not None:
            raise ValueError(
                "column_roles names columns, but X is a "
                f"{type(X).__name__} without column names; pass a pandas or polars "
                "DataFrame (or a dict of columns)"
            )
        return False
    if column_roles is not None:
        return True
    if frame_library(X) == "pandas":
        from pandas.api.types import is_bool_dtype, is_numeric_dtype

        numeric = all(is_numeric_dtype(d) or is_bool_dtype(d) for d in X.dtypes)
    else:
        import polars as pl

        numeric = all(d.is_numeric() or d == pl.Boolean for d in X.dtypes)
    return not numeric or bool(np.isnan(frame_rows(X)[0]).any())


def _as_table(X, names=None):
    """A DataFrame, dict of columns or Table as a Table; with ``names`` (the
    training columns) a missing or unknown column is refused, naming it."""
    from glassnet.data.columns import Table
    from glassnet.data.frames import _select

    table = X if isinstance(X, Table) else Table.from_frame(X)
    if names is not None and table.names != names:
        _select(X, table.names, names, "X")
        table = Table(names, [table.column(name) for name in names])
    return table


def _table_targets(y, m: int):
    """``y`` beside a raw table of ``m`` rows: a Series / DataFrame as values,
    the same number of examples."""
    from glassnet.data.frames import target_values

    y = target_values(y)
    n = len(y) if hasattr(y, "__len__") else None
    if n != m:
        raise ValueError(
            f"X and y must have the same number of examples; received {m} rows "
            f"and y of {n if n is not None else type(y).__name__}"
        )
    return y


class _GlassEstimator(BaseEstimator):
    """Shared machinery: hyperparameters, network, training, partial_fit."""

    def __init__(
        self,
        hidden_layer_sizes=(64,),
        activation="relu",
        optimizer="adam",
        learning_rate=0.001,
        batch_size=32,
        epochs=30,
        lambd=0.0,
        keep_prob=1.0,
        batchnorm=False,
        early_stopping=False,
        validation_fraction=0.1,
        patience=5,
        random_state=None,
        verbose=False,
        dtype="float32",
        column_roles=None,
        max_categories=20,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.lambd = lambd
        self.keep_prob = keep_prob
        self.batchnorm = batchnorm
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.random_state = random_state
        self.verbose = verbose
        self.dtype = dtype
        self.column_roles = column_roles
        self.max_categories = max_categories

    # -- hyperparameters -> RunConfig ------------------------------------------------
    def _run_config(self) -> RunConfig:
        """Validate every hyperparameter (messages name the value) -> a RunConfig."""
        sizes = self.hidden_layer_sizes
        layers = parse_layers((sizes,) if isinstance(sizes, int) else sizes)
        activations.get(self.activation)
        if not isinstance(self.optimizer, str):
            raise TypeError(
                "optimizer must be a name (gd, momentum, rmsprop, adam); received "
                f"{type(self.optimizer).__name__}"
            )
        name = optimizers.get(self.optimizer).name  # unknown names raise here
        check_in_range(
            "learning_rate", self.learning_rate, 0, None, low_inclusive=False
        )
        check_positive_int("batch_size", self.batch_size)
        check_positive_int("epochs", self.epochs)
        check_in_range("lambd", self.lambd, 0, None)
        for flag in ("batchnorm", "early_stopping", "verbose"):
            if not isinstance(getattr(self, flag), (bool, np.bool_)):
                raise TypeError(
                    f"{flag} must be True or False; received "
                    f"{flag}={getattr(self, flag)!r}"
                )
        check_in_range(
            "validation_fraction",
            self.validation_fraction,
            0,
            1,
            low_inclusive=False,
            high_inclusive=False,
        )
        check_in_range("patience", self.patience, 0, None, integer=True)
        check_in_range("max_categories", self.max_categories, 1, None, integer=True)
        if self.column_roles is not None and not isinstance(self.column_roles, dict):
            raise TypeError(
                "column_roles must be a dict {column: role} (roles numeric, "
                f"categorical, ignored) or None; received {self.column_roles!r}"
            )
        keep = self.keep_prob
        config = RunConfig(
            data=type(self).__name__,
            layers=layers,
            activation=self.activation,
            epochs=self.epochs,
            batch_size=self.batch_size,
            optimizer=name,
            learning_rate=self.learning_rate,
            dtype=resolve_dtype(self.dtype).name,
            l2=self.lambd,
            keep_prob=tuple(keep) if isinstance(keep, (list, tuple)) else keep,
            batchnorm=bool(self.batchnorm),
            seed=0,
        )
        return config.validate()

    # -- raw tables (D40) ------------------------------------------------------------
    def _table_in(self, X, *, reset: bool):
        """The raw table ``X`` as a :class:`~glassnet.data.columns.Table`, or None
        when ``X`` takes the numbers path. ``reset`` (fit, first partial_fit):
        decide, infer the column roles and record the raw columns; otherwise
        read ``X`` as the fitted table layers do (by name, or rows by position)."""
        if reset:
            for name in ("column_roles_", "_table_roles"):
                self.__dict__.pop(name, None)
            if not _table_input(X, self.column_roles):
                return None
            from glassnet.data.columns import infer_roles

            table = _as_table(X)
            roles = infer_roles(table, self.column_roles)
            self._table_roles = roles
            self.column_roles_ = {role.name: role.role for role in roles}
            self.feature_names_in_ = np.asarray(table.names, dtype=object)
            self.n_features_in_ = len(table.names)
            return table
        if getattr(self, "_table_roles", None) is None:
            return None
        return self._table_rows(X)

    def _table_rows(self, X):
        """A table with the training columns (by name) or rows of them (by
        position) -> what the model's table layers read."""
        from glassnet.data.columns import Table
        from glassnet.data.frames import is_frame

        names = self.feature_names_in_.tolist()
        if isinstance(X, Table) or type(X) is dict or is_frame(X):
            return _as_table(X, names)
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != len(names):
            raise ValueError(
                f"X has shape {X.shape}, but {type(self).__name__} is expecting "
                f"{len(names)} features as input (the table columns "
                f"{', '.join(names[:8])}{' ...' if len(names) > 8 else ''})"
            )
        warnings.warn(
            f"X does not have valid feature names, but {type(self).__name__} was "
            "fitted with feature names (its columns are read by position)",
            UserWarning,
            stacklevel=4,
        )
        return X

    def _table_preprocessing(self, table) -> tuple[list, int]:
        """``([Imputation, CategoryEncoding, Standardization], n[0])`` fitted on
        the training ``table`` only."""
        from glassnet.layers import Standardization
        from glassnet.layers.table import table_layers

        layers, encoded = table_layers(
            table, self._table_roles, max_categories=self.max_categories
        )
        layers.append(Standardization().adapt(encoded))
        return layers, encoded.shape[1]

    # -- training ------------------------------------------------------------------
    def _start(self, X, task: str, n_outputs: int):
        """A fresh network, optimizer and random stream (fit, first partial_fit),
        for validated rows ``X`` or a raw table (its table layers and
        Standardization first); returns the rows to train on."""
        from glassnet.data.columns import Table

        config = self._run_config()
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        self._rng = np.random.default_rng(seed)
        if isinstance(X, Table):
            preprocessing, n_x = self._table_preprocessing(X)
            names, X = None, X.to_rows()  # by position: early stopping splits rows
        else:
            preprocessing, n_x = (), X.shape[1]
            names = getattr(self, "feature_names_in_", None)  # fitted on a DataFrame
        self.model_ = build_network(
            config, n_x, task, n_outputs, self._rng, preprocessing
        )
        self.model_.column_names = None if names is None else names.tolist()
        self.optimizer_ = make_optimizer(config)
        self.n_outputs_ = n_outputs
        self.loss_curve_ = []
        self.n_iter_ = 0
        return X

    def _train(self, X, Y, *, epochs: int, stratify=None, early_stopping=False):
        """Train ``model_`` for ``epochs`` on rows ``X`` and engine targets ``Y``."""
        validation_data, callbacks = None, []
        if early_stopping:
            split_seed = int(self._rng.integers(np.iinfo(np.int32).max))
            try:
                X, X_val, Y, Y_val = train_test_split(
                    X,
                    Y,
                    test_size=self.validation_fraction,
                    random_state=split_seed,
                    stratify=stratify,
                )
            except ValueError:  # too few examples of some class to stratify
                X, X_val, Y, Y_val = train_test_split(
                    X, Y, test_size=self.validation_fraction, random_state=split_seed
                )
            validation_data = (X_val, Y_val)
            callbacks.append(
                EarlyStopping(
                    "val_cost", patience=self.patience, verbose=bool(self.verbose)
                )
            )
        history = self.model_.fit(
            X,
            Y,
            epochs=epochs,
            batch_size=self.batch_size,
            optimizer=self.optimizer_,
            regularizer=L2(self.lambd) if self.lambd else None,
            validation_data=validation_data,
            callbacks=callbacks,
            rng=self._rng,
            verbose=bool(self.verbose),
        )
        self.history_ = history
        self.loss_curve_ = [*self.loss_curve_, *history["cost"]]
        self.n_iter_ += len(history)
        if early_stopping:
            self.best_epoch_ = callbacks[0].best_epoch
        return self

    def _outputs(self, X) -> np.ndarray:
        """Output activations ``(m, n[L])`` for validated rows ``X``, computed in
        float64 whatever the training dtype: each row's prediction then does not
        depend on the other rows of the call (float32 BLAS kernels round a column
        differently by its position in the batch, by up to 2e-7 relative)."""
        check_is_fitted(self, "model_")
        table = self._table_in(X, reset=False)
        if table is not None:  # the model's table layers encode it, in float64
            model = self.model_
            if model.dtype != np.float64:
                model = model.astype("float64")
            return model.predict_proba(table)
        X = _validate(self, _by_name(self, X), reset=False)
        model = self.model_
        X = model._check_input(X)  # in the training dtype: out-of-range values fail
        if model.dtype != np.float64:
            model = model.astype("float64")
        return model.predict_proba(X.astype(np.float64))


class GlassClassifier(ClassifierMixin, _GlassEstimator):
    """A glassnet network as a scikit-learn classifier.

    ``y`` may hold labels of any type (encoded internally; ``classes_`` holds them),
    or be an ``(m, k)`` 0/1 indicator matrix for multi-label problems (k sigmoid
    outputs; ``NaN`` or ``-1`` marks a missing label, which adds nothing to the cost
    or the gradients). ``predict_proba`` is ``(m, n_classes)`` (two columns for a
    binary problem) or ``(m, k)`` for multi-label.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    def _more_tags(self):  # scikit-learn < 1.6
        return {"multilabel": True}

    # -- targets ---------------------------------------------------------------------
    def _check_X_y(self, X, y, reset: bool):
        """Validated rows X (or a raw table) and either labels (m,) or a
        multi-label matrix (m, k)."""
        table = self._table_in(X, reset=reset)
        if table is not None:
            y = _table_targets(y, len(table))
            if _is_multilabel(y):
                return table, _check_multilabel(y, len(table)), True
            y = column_or_1d(y, warn=True)
            check_classification_targets(y)
            return table, y, False
        if not _is_multilabel(y):
            X, y = _validate(self, X, y, reset=reset)
            check_classification_targets(y)
            return X, y, False
        X = _validate(self, X, reset=reset)
        return X, _check_multilabel(y, len(X)), True

    def _encode(self, y) -> np.ndarray:
        """Labels -> engine targets: 0/1 (binary) or codes 0..C-1 (multi-class)."""
        codes = np.searchsorted(self.classes_, y)
        codes = np.clip(codes, 0, len(self.classes_) - 1)
        unknown = self.classes_[codes] != y
        if unknown.any():
            raise ValueError(
                f"y contains labels not seen in classes_ {self.classes_.tolist()}: "
                f"{np.unique(np.asarray(y)[unknown])[:8].tolist()}"
            )
        return codes

    def _task(self):
        if self._multilabel:
            return "multilabel", self.classes_.size
        if self.classes_.size == 2:
            return "binary", 1
        return "multiclass", self.classes_.size

    def _require_classes(self):
        if self.classes_.size < 2:
            raise ValueError(
                f"{type(self).__name__} needs examples of at least 2 classes; "
                f"received 1 class: {self.classes_.tolist()}"
            )

    # -- scikit-learn API ----------------------------------------------------------
    def fit(self, X, y):
        """Train a fresh network on rows ``X (m, n)`` (or a raw table, whose table
        layers are fitted on it first) and labels ``y``; return self.

        With ``early_stopping=True`` a stratified ``validation_fraction`` of the rows
        is held out and training stops when its cost has not improved for
        ``patience`` epochs (the best epoch's weights are kept).
        """
        self._run_config()
        X, y, multilabel = self._check_X_y(X, y, reset=True)
        self._multilabel = multilabel
        if multilabel:
            self.classes_ = np.arange(y.shape[1])
            Y, stratify = y, None
        else:
            self.classes_ = np.unique(y)
            self._require_classes()
            Y = self._encode(y)
            stratify = Y
        task, n_outputs = self._task()
        X = self._start(X, task, n_outputs)
        return self._train(
            X,
            Y,
            epochs=self.epochs,
            stratify=stratify,
            early_stopping=self.early_stopping,
        )

    def partial_fit(self, X, y, classes=None):
        """One epoch of mini-batch training on ``X``, ``y``, continuing the model and
        the optimizer's state. ``classes`` (all labels) is required on the first call
        unless ``y`` is a multi-label matrix. No early stopping here. A raw table's
        layers are fitted on the first call's rows and kept."""
        first = not hasattr(self, "model_")
        if first:
            self._run_config()  # column_roles checked before the table is read
        X = X if first else _by_name(self, X)
        X, y, multilabel = self._check_X_y(X, y, reset=first)
        if first:
            self._run_config()
            self._multilabel = multilabel
            if multilabel:
                self.classes_ = np.arange(y.shape[1])
            else:
                _check_partial_fit_first_call(self, classes)
                self._require_classes()
            task, n_outputs = self._task()
            X = self._start(X, task, n_outputs)
        else:
            if classes is not None and not np.array_equal(
                np.unique(classes), self.classes_
            ):
                raise ValueError(
                    f"classes={np.unique(classes).tolist()} differs from the classes "
                    f"of the first partial_fit call, {self.classes_.tolist()}"
                )
            if multilabel != self._multilabel or (
                multilabel and y.shape[1] != self.classes_.size
            ):
                raise ValueError(
                    "y has a different form than in the first partial_fit call"
                )
        Y = y if multilabel else self._encode(y)
        return self._train(X, Y, epochs=1)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities ``(m, n_classes)`` (multi-label: ``(m, k)``)."""
        A = self._outputs(X)
        if not self._multilabel and self.classes_.size == 2:
            return np.hstack([1.0 - A, A])
        return A

    def predict_log_proba(self, X) -> np.ndarray:
        """log of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X) -> np.ndarray:
        """The most probable class of each row (multi-label: 1 where p > 0.5)."""
        proba = self.predict_proba(X)
        if self._multilabel:
            return (proba > 0.5).astype(np.int64)
        return self.classes_[np.argmax(proba, axis=1)]


class GlassRegressor(RegressorMixin, _GlassEstimator):
    """A glassnet network as a scikit-learn regressor (linear outputs, squared error).

    ``y`` is ``(m,)`` or ``(m, k)`` (multi-output); ``predict`` returns the same
    layout, in float64. Scale large targets first (e.g. with
    ``sklearn.compose.TransformedTargetRegressor``): the network learns them as is.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _more_tags(self):  # scikit-learn < 1.6
        return {"multioutput": True}

    def _check_X_y(self, X, y, reset):
        table = self._table_in(X, reset=reset)
        if table is not None:
            y = check_array(_table_targets(y, len(table)), ensure_2d=False, dtype=None)
            return table, y.astype(np.float64) if y.dtype.kind == "O" else y
        return _validate(self, X, y, multi_output=True, y_numeric=True, reset=reset)

    def fit(self, X, y):
        """Train a fresh network on rows ``X (m, n)`` (or a raw table, whose table
        layers are fitted on it first) and targets ``y``; return self."""
        self._run_config()
        X, y = self._check_X_y(X, y, reset=True)
        self._y_2d = y.ndim == 2
        X = self._start(X, "regression", y.shape[1] if self._y_2d else 1)
        return self._train(X, y, epochs=self.epochs, early_stopping=self.early_stopping)

    def partial_fit(self, X, y):
        """One epoch on ``X``, ``y``, continuing the model and optimizer state (a raw
        table's layers: fitted on the first call's rows and kept)."""
        first = not hasattr(self, "model_")
        if first:
            self._run_config()  # column_roles checked before the table is read
        X = X if first else _by_name(self, X)
        X, y = self._check_X_y(X, y, reset=first)
        if first:
            self._run_config()
            self._y_2d = y.ndim == 2
            X = self._start(X, "regression", y.shape[1] if self._y_2d else 1)
        elif (y.shape[1] if y.ndim == 2 else 1) != self.n_outputs_:
            raise ValueError(
                f"y has {y.shape[1] if y.ndim == 2 else 1} output(s); the model was "
                f"started with {self.n_outputs_}"
            )
        return self._train(X, y, epochs=1)

    def predict(self, X) -> np.ndarray:
        """Predicted values, ``(m,)`` (or ``(m, k)`` when fitted on 2-D ``y``)."""
        A = self._outputs(X)
        return A if self._y_2d else A[:, 0]
