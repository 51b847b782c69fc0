"""A scikit-learn estimator over leadscore's training: use a leadscore model in
``cross_val_score``, ``Pipeline``, ``GridSearchCV`` or ``CalibrationDisplay``.

>>> from leadscore.sklearn import LeadScoreClassifier
>>> from sklearn.model_selection import cross_val_score
>>> cross_val_score(LeadScoreClassifier(models=["logistic"]), X, y, scoring="roc_auc")

``X`` is a table of lead attributes (pandas, polars, pyarrow or a 2-D array); ``y`` holds two
classes, the second of ``np.unique(y)`` being "won". Behaviour events are not part of ``X``:
train with :func:`leadscore.train` to use an event log.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple

import numpy as np
import pyarrow as pa
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_array, check_is_fitted

import leadscore

_TARGET = "__leadscore_outcome__"


def _as_table(X: Any, feature_names: Optional[Sequence[str]]) -> Tuple[pa.Table, Optional[list]]:
    """X as an Arrow table and its column names (None for an unnamed array)."""
    module = type(X).__module__.split(".")[0]
    if module == "pandas":
        table = pa.Table.from_pandas(X, preserve_index=False)
        return table, [str(c) for c in X.columns]
    if module == "polars":
        table = X.to_arrow()
        return table, list(X.columns)
    if isinstance(X, pa.Table):
        return X, list(X.column_names)
    array = check_array(
        X, accept_sparse=False, dtype=None, ensure_all_finite="allow-nan", ensure_min_samples=1
    )
    if array.dtype.kind == "O":
        try:
            array = array.astype(float)
        except (TypeError, ValueError):
            array = array.astype(str)
    elif array.dtype.kind == "c":
        raise ValueError("Complex data not supported")
    names = feature_names or [f"x{i}" for i in range(array.shape[1])]
    return (
        pa.table(
            {
                name: array[:, i] if array.dtype.kind == "U" else array[:, i].astype(float)
                for i, name in enumerate(names)
            }
        ),
        None,
    )


class LeadScoreClassifier(ClassifierMixin, BaseEstimator):
    """leadscore's model search (logistic, tree, boosted trees), validation and calibration as a
    scikit-learn classifier. Parameters mirror ``leadscore.train``."""

    def __init__(
        self,
        models: Optional[Sequence[str]] = None,
        validation: str = "auto",
        folds: int = 5,
        seed: int = 42,
        exclude: Optional[Sequence[str]] = None,
        exclude_leaks: bool = False,
        allow_weak: bool = True,
        progress: bool = False,
    ) -> None:
        self.models = models
        self.validation = validation
        self.folds = folds
        self.seed = seed
        self.exclude = exclude
        self.exclude_leaks = exclude_leaks
        self.allow_weak = allow_weak
        self.progress = progress

    def fit(self, X: Any, y: Any = None) -> "LeadScoreClassifier":
        if y is None:
            raise ValueError(
                "LeadScoreClassifier requires y to be passed, but the target y is None"
            )
        table, names = _as_table(X, None)
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != table.num_rows:
            raise ValueError(
                f"y must be 1-D with one label per row of X ({table.num_rows}), got shape {y.shape}"
            )
        kind = type_of_target(y)
        if kind.startswith("continuous"):
            raise ValueError(
                f"Unknown label type: {kind!r}; y must hold two classes (lost and won), "
                "not continuous values"
            )
        classes = np.unique(y)
        if kind == "multiclass" or len(classes) > 2:
            raise ValueError(
                "Only binary classification is supported: LeadScoreClassifier predicts won/lost; "
                f"y has {len(classes)} classes"
            )
        if kind != "binary" or len(classes) != 2:
            raise ValueError(
                "LeadScoreClassifier needs both classes (lost and won) in y; got "
                f"{len(classes)} class(es) of target type {kind!r}"
            )
        self.classes_ = classes
        won = y == self.classes_[1]
        if _TARGET in table.column_names:
            raise ValueError(f"X has a column named {_TARGET}, which the estimator uses itself")
        table = table.append_column(_TARGET, pa.array(np.where(won, "won", "lost")))
        self.n_features_in_ = table.num_columns - 1
        if names is not None:
            self.feature_names_in_ = np.asarray(names, dtype=object)
        self.model_ = leadscore.train(
            table,
            target=_TARGET,
            positive=["won"],
            negative=["lost"],
            exclude=self.exclude,
            models=self.models,
            validation=self.validation,
            folds=self.folds,
            seed=self.seed,
            exclude_leaks=self.exclude_leaks,
            allow_weak=self.allow_weak,
            progress=self.progress,
        )
        return self

    def _table(self, X: Any) -> pa.Table:
        check_is_fitted(self, "model_")
        names = list(self.feature_names_in_) if hasattr(self, "feature_names_in_") else None
        table, given = _as_table(X, names)
        if table.num_columns != self.n_features_in_:
            raise ValueError(
                f"X has {table.num_columns} features, but LeadScoreClassifier is expecting "
                f"{self.n_features_in_} features as input"
            )
        if names is not None and given is not None and list(given) != names:
            raise ValueError(
                "The feature names should match those that were passed during fit: "
                f"expected {names}, got {list(given)}"
            )
        return table

    def predict_proba(self, X: Any) -> np.ndarray:
        """Columns: P(classes_[0]), P(classes_[1]) — the calibrated probability of winning."""
        table = self._table(X)
        won = self.model_.predict_proba(table, target=_TARGET)
        return np.column_stack([1.0 - won, won])

    def decision_function(self, X: Any) -> np.ndarray:
        """The calibrated log-odds of winning."""
        check_is_fitted(self, "model_")
        p = np.clip(self.predict_proba(X)[:, 1], 1e-15, 1 - 1e-15)
        return np.log(p / (1 - p))

    def predict(self, X: Any) -> np.ndarray:
        """The class with the higher calibrated probability."""
        check_is_fitted(self, "model_")
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.classifier_tags.multi_class = False
        return tags
