"""leadscore: open predictive and points-based lead scoring.

Train on closed won/lost leads, score open ones with a calibrated probability and exact reasons,
and score points rules beside them — with the same Rust library as the ``leadscore`` command line,
so a model trained here scores bit for bit like ``leadscore score``.

Tables go in as anything with the Arrow stream interface (pyarrow, polars, DuckDB results,
pandas ≥ 2.2), as an older pandas DataFrame, or as a CSV/Parquet file path; results come back as
``pyarrow.Table`` (``.to_pandas()``, ``polars.from_arrow(...)``).

>>> import leadscore
>>> leads, events = leadscore.generate(leads=3000, seed=7)
>>> model = leadscore.train(leads, events, models=["logistic"])
>>> scored = model.score(leads, events, as_of="2025-07-01")
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence, Tuple, Union

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

from . import _native
from ._native import LeadscoreError

__all__ = [
    "LeadscoreError",
    "Model",
    "Rules",
    "TrainReport",
    "train",
    "scorecard",
    "compare",
    "Comparison",
    "generate",
    "__version__",
]

__version__: str = _native.__version__

Table = Any
"""A table: pyarrow Table/RecordBatchReader, polars or pandas DataFrame, DuckDB relation, or a
CSV/Parquet path."""


def _arrow_input(table: Table, what: str) -> Any:
    """What the native reader accepts: a path, or a pyarrow table (which has
    ``__arrow_c_stream__``).

    Tables of other libraries go through pyarrow (older pandas has no stream interface), and
    categorical columns, which arrive as dictionaries, are decoded to their values."""
    if table is None:
        return None
    if isinstance(table, (str, os.PathLike)):
        return os.fspath(table)
    module = type(table).__module__.split(".")[0]
    if module == "pandas":
        table = pa.Table.from_pandas(table, preserve_index=False)
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    elif isinstance(table, pa.RecordBatchReader):
        table = table.read_all()
    elif not isinstance(table, pa.Table) and hasattr(table, "__arrow_c_stream__"):
        # polars, DuckDB and others: through pyarrow, so that categorical (dictionary) columns
        # are decoded below like pandas ones.
        table = pa.table(table)
    if isinstance(table, pa.Table):
        decoded = []
        for field, column in zip(table.schema, table.columns):
            if pa.types.is_dictionary(field.type):
                column = pa.chunked_array(
                    [_decoded(chunk) for chunk in column.chunks], type=_plain(field.type.value_type)
                )
            decoded.append(column)
        return pa.Table.from_arrays(decoded, names=table.column_names)
    if hasattr(table, "__arrow_c_stream__"):
        return table
    raise TypeError(
        f"`{what}` must be a table (pyarrow, polars, pandas, DuckDB) or a CSV/Parquet path; "
        f"got {type(table).__name__}"
    )


def _plain(value_type: pa.DataType) -> pa.DataType:
    """String views (polars' categories) as plain strings, which every pyarrow kernel takes."""
    return pa.string() if pa.types.is_string_view(value_type) else value_type


def _decoded(chunk: pa.DictionaryArray) -> pa.Array:
    """A dictionary-encoded (categorical) array as its values."""
    return chunk.dictionary.cast(_plain(chunk.dictionary.type)).take(chunk.indices)


def _settings(
    data: Optional[dict] = None,
    events: Optional[dict] = None,
    features: Optional[dict] = None,
    train: Optional[dict] = None,
) -> str:
    """The sections of ``leadscore.toml`` as JSON, unset values left out."""

    def section(values: Optional[dict]) -> dict:
        return {k: v for k, v in (values or {}).items() if v is not None}

    return json.dumps(
        {
            "data": section(data),
            "events": section(events),
            "features": section(features),
            "train": section(train),
        }
    )


def _reading(
    target: Optional[str] = None,
    positive: Optional[Sequence[str]] = None,
    negative: Optional[Sequence[str]] = None,
    open: Optional[Sequence[str]] = None,
    id: Optional[str] = None,
    exclude: Optional[Sequence[str]] = None,
    numeric: Optional[Sequence[str]] = None,
    categorical: Optional[Sequence[str]] = None,
    missing_values: Optional[Sequence[str]] = None,
    created_at: Optional[str] = None,
    closed_at: Optional[str] = None,
    value: Optional[str] = None,
) -> dict:
    listed = lambda values: None if values is None else [str(v) for v in values]  # noqa: E731
    return {
        "value": value,
        "target": target,
        "positive": listed(positive),
        "negative": listed(negative),
        "open": listed(open),
        "id": id,
        "exclude": listed(exclude),
        "numeric": listed(numeric),
        "categorical": listed(categorical),
        "missing_values": listed(missing_values),
        "created_at": created_at,
        "closed_at": closed_at,
    }


def _event_columns(event_columns: Optional[dict]) -> dict:
    allowed = {"lead_id", "timestamp", "event_type", "value"}
    unknown = set(event_columns or {}) - allowed
    if unknown:
        raise TypeError(
            f"event_columns: unknown key(s) {sorted(unknown)}; use {sorted(allowed)}"
        )
    return dict(event_columns or {})


def _to_arrow(native_table: Any) -> pa.Table:
    return pa.table(native_table)


def _time(as_of: Any) -> Optional[str]:
    """A date or timestamp as the library reads it (ISO text)."""
    if as_of is None:
        return None
    if hasattr(as_of, "isoformat"):
        return as_of.isoformat()
    return str(as_of)


class _ProgressBar:
    """Training progress: a notebook-friendly bar (tqdm.auto), or a line on stderr without tqdm."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar = None

    def __call__(self, kind: str, value: str) -> None:
        if not self.enabled:
            return
        if kind == "total":
            try:
                from tqdm.auto import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self.bar = tqdm(total=int(value), desc="model search", leave=False)
            else:
                import sys

                print(f"leadscore: model search over {value} candidates", file=sys.stderr)
        elif kind == "fit" and self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix_str(value)
        elif kind == "stage" and self.bar is not None:
            self.bar.set_description(value)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class TrainReport(dict):
    """What training found: per-column signal (AUC alone, leak flags) and reading warnings."""


class Model:
    """A trained model: calibrated probability, percentile, tier and exact reasons per lead.

    The model is the JSON model file the CLI and the server read (``save``/``load``)."""

    def __init__(self, native: Any, report: Optional[TrainReport] = None) -> None:
        self._native = native
        self.report = report or TrainReport()

    @classmethod
    def load(cls, path: Union[str, os.PathLike]) -> "Model":
        """Reads and checks a model file."""
        return cls(_native.Model.load(os.fspath(path)))

    def save(self, path: Union[str, os.PathLike]) -> None:
        """Writes the model file (atomically)."""
        self._native.save(os.fspath(path))

    def to_json(self) -> str:
        """The model file's text."""
        return self._native.to_json()

    @classmethod
    def from_json(cls, text: str) -> "Model":
        """A model from the text of a model file."""
        return cls(_native.Model.from_json(text))

    def __getstate__(self) -> dict:
        return {"model": self.to_json(), "report": dict(self.report)}

    def __setstate__(self, state: dict) -> None:
        self._native = _native.Model.from_json(state["model"])
        self.report = TrainReport(state.get("report", {}))

    @property
    def name(self) -> str:
        return self._native.name

    @property
    def version(self) -> str:
        return self._native.version

    @property
    def kind(self) -> str:
        """logistic, tree or gbdt."""
        return self._native.kind

    @property
    def info(self) -> dict:
        """Leaderboard, validation and test metrics, importance and the training report."""
        return json.loads(self._native.info())

    @property
    def leaderboard(self) -> list:
        """Every candidate of the model search with its validation metrics."""
        return self.info["leaderboard"]

    def __repr__(self) -> str:
        return f"<leadscore.Model {self.name} {self.kind} version {self.version}>"

    def predict_proba(
        self,
        leads: Table,
        events: Optional[Table] = None,
        *,
        as_of: Any = None,
        event_columns: Optional[dict] = None,
        **reading: Any,
    ) -> np.ndarray:
        """The calibrated probability of every lead, in table order."""
        return np.asarray(
            self._native.predict_proba(
                _arrow_input(leads, "leads"),
                _arrow_input(events, "events"),
                _settings(_reading(**reading), _event_columns(event_columns)),
                _time(as_of),
            ),
            dtype=float,
        )

    def score(
        self,
        leads: Table,
        events: Optional[Table] = None,
        *,
        as_of: Any = None,
        reasons: int = 3,
        rules: Optional["Rules"] = None,
        event_columns: Optional[dict] = None,
        **reading: Any,
    ) -> pa.Table:
        """``leadscore score``'s columns: lead_id, probability, percentile, tier, top_positive,
        top_negative, model_version; with ``rules`` also points, fit_points, engagement_points,
        grade, points_tier, mql and points_breakdown. Open leads are scored at ``as_of``
        (default now)."""
        table, notes = self._native.score(
            _arrow_input(leads, "leads"),
            _arrow_input(events, "events"),
            _settings(_reading(**reading), _event_columns(event_columns)),
            _time(as_of),
            reasons,
            None if rules is None else rules._native,
        )
        for note in notes:
            warnings.warn(note, stacklevel=2)
        return _to_arrow(table)

    def explain(
        self,
        leads: Table,
        events: Optional[Table] = None,
        *,
        as_of: Any = None,
        event_columns: Optional[dict] = None,
        **reading: Any,
    ) -> pa.Table:
        """Each attribute's and event type's contribution to every lead's calibrated log-odds
        (``base`` + the row = the log-odds of the probability)."""
        return _to_arrow(
            self._native.explain(
                _arrow_input(leads, "leads"),
                _arrow_input(events, "events"),
                _settings(_reading(**reading), _event_columns(event_columns)),
                _time(as_of),
            )
        )

    def evaluate(
        self,
        leads: Table,
        events: Optional[Table] = None,
        *,
        event_columns: Optional[dict] = None,
        **reading: Any,
    ) -> dict:
        """AUC, PR-AUC, log loss, Brier and calibration on the closed leads of a table."""
        return json.loads(
            self._native.evaluate(
                _arrow_input(leads, "leads"),
                _arrow_input(events, "events"),
                _settings(_reading(**reading), _event_columns(event_columns)),
            )
        )


class Rules:
    """Points rules (the TOML rules file): fit and engagement points, decay, grade, tier, MQL."""

    def __init__(self, native: Any) -> None:
        self._native = native

    @classmethod
    def load(cls, path: Union[str, os.PathLike]) -> "Rules":
        """Reads and checks a rules file."""
        return cls(_native.Rules.load(os.fspath(path)))

    @classmethod
    def from_toml(cls, text: str) -> "Rules":
        """Rules from TOML text."""
        return cls(_native.Rules.from_toml(text))

    @property
    def mql_threshold(self) -> float:
        """Leads with at least this many points are marketing-qualified."""
        return self._native.mql_threshold

    def to_toml(self, header: str = "") -> str:
        """The rules as a rules file (``header`` lines become comments)."""
        return self._native.to_toml(header)

    def save(self, path: Union[str, os.PathLike], header: str = "") -> None:
        """Writes the rules file."""
        Path(path).write_text(self.to_toml(header))

    def score(
        self,
        leads: Table,
        events: Optional[Table] = None,
        *,
        as_of: Any = None,
        event_columns: Optional[dict] = None,
        **reading: Any,
    ) -> pa.Table:
        """lead_id, points, fit_points, engagement_points, grade, points_tier, mql and the
        points_breakdown (every hit, adding up to the total)."""
        table, notes = self._native.score(
            _arrow_input(leads, "leads"),
            _arrow_input(events, "events"),
            _settings(_reading(**reading), _event_columns(event_columns)),
            _time(as_of),
        )
        for note in notes:
            warnings.warn(note, stacklevel=2)
        return _to_arrow(table)


def train(
    leads: Table,
    events: Optional[Table] = None,
    *,
    target: Optional[str] = None,
    positive: Optional[Sequence[str]] = None,
    negative: Optional[Sequence[str]] = None,
    open: Optional[Sequence[str]] = None,
    id: Optional[str] = None,
    exclude: Optional[Sequence[str]] = None,
    numeric: Optional[Sequence[str]] = None,
    categorical: Optional[Sequence[str]] = None,
    missing_values: Optional[Sequence[str]] = None,
    created_at: Optional[str] = None,
    closed_at: Optional[str] = None,
    value: Optional[str] = None,
    event_columns: Optional[dict] = None,
    windows_days: Optional[Sequence[int]] = None,
    half_life_days: Optional[float] = None,
    as_of_days_after_creation: Optional[int] = None,
    max_event_types: Optional[int] = None,
    models: Optional[Sequence[str]] = None,
    validation: Optional[str] = None,
    folds: Optional[int] = None,
    test_fraction: Optional[float] = None,
    test_split: Optional[str] = None,
    seed: Optional[int] = None,
    exclude_leaks: Optional[bool] = None,
    allow_weak: Optional[bool] = None,
    tiers: Optional[Sequence[Tuple[str, float]]] = None,
    name: str = "model",
    progress: bool = True,
) -> Model:
    """Trains on the closed (won/lost) leads, as ``leadscore train`` does with the same flags.

    Returns the chosen, calibrated model; ``model.leaderboard`` and ``model.info`` hold the
    search and its metrics, ``model.report`` the per-column signal and reading warnings. With
    ``value`` (won deals' amounts, as ``--value``) it also learns a won deal's value, and scores
    gain ``value_if_won`` and ``expected_value``."""
    settings = _settings(
        _reading(
            target,
            positive,
            negative,
            open,
            id,
            exclude,
            numeric,
            categorical,
            missing_values,
            created_at,
            closed_at,
            value,
        ),
        _event_columns(event_columns),
        {
            "windows_days": None if windows_days is None else list(windows_days),
            "half_life_days": half_life_days,
            "as_of_days_after_creation": as_of_days_after_creation,
            "max_event_types": max_event_types,
        },
        {
            "models": None if models is None else list(models),
            "validation": validation,
            "folds": folds,
            "test_fraction": test_fraction,
            "test_split": test_split,
            "seed": seed,
            "exclude_leaks": exclude_leaks,
            "allow_weak": allow_weak,
            "tiers": None if tiers is None else [list(t) for t in tiers],
        },
    )
    bar = _ProgressBar(progress)
    try:
        native, report = _native.train(
            _arrow_input(leads, "leads"),
            _arrow_input(events, "events"),
            settings,
            name,
            bar,
        )
    finally:
        bar.close()
    report = TrainReport(json.loads(report))
    for warning in report.get("warnings", []):
        warnings.warn(warning, stacklevel=2)
    return Model(native, report)


def scorecard(
    leads: Table,
    events: Optional[Table] = None,
    *,
    compare: Optional[Rules] = None,
    folds: int = 5,
    seed: int = 42,
    points_to_double_odds: float = 20.0,
    mql_capacity: float = 0.2,
    event_columns: Optional[dict] = None,
    **reading: Any,
) -> Tuple[Rules, dict]:
    """Points rules learned from the closed leads (what ``leadscore scorecard`` writes), and a
    k-fold contest of such a scorecard, ``compare`` (hand-written rules) and a logistic model
    on leads none was fitted on: ``{"contenders": [{"name", "auc", "fold_aucs", ...}], ...}``."""
    native, report = _native.scorecard(
        _arrow_input(leads, "leads"),
        _arrow_input(events, "events"),
        _settings(_reading(**reading), _event_columns(event_columns)),
        None if compare is None else compare._native,
        folds,
        seed,
        points_to_double_odds,
        mql_capacity,
    )
    return Rules(native), json.loads(report)


class Comparison(dict):
    """The predictive model against points rules on one holdout (``leadscore compare``): AUC,
    PR-AUC, gains, lift, conversions captured per sales capacity, precision/recall at the MQL
    threshold, conversion per tier, with bootstrap intervals. Displays as the HTML report in a
    notebook."""

    def __init__(self, report: dict, html: str) -> None:
        super().__init__(report)
        self.html = html

    def _repr_html_(self) -> str:
        return self.html

    def save_html(self, path: Union[str, os.PathLike]) -> None:
        """Writes the self-contained HTML report (charts inline, no scripts)."""
        Path(path).write_text(self.html)


def compare(
    model: Model,
    rules: Rules,
    leads: Table,
    events: Optional[Table] = None,
    *,
    holdout_fraction: Optional[float] = 0.2,
    resamples: int = 1000,
    seed: int = 42,
    event_columns: Optional[dict] = None,
    **reading: Any,
) -> Comparison:
    """Scores the holdout both ways and compares them. ``holdout_fraction=None`` judges every
    closed lead of the table (for a table neither was fitted on)."""
    report, html = _native.compare(
        model._native,
        rules._native,
        _arrow_input(leads, "leads"),
        _arrow_input(events, "events"),
        _settings(_reading(**reading), _event_columns(event_columns)),
        holdout_fraction,
        resamples,
        seed,
    )
    return Comparison(json.loads(report), html)


def generate(
    leads: int = 5000, seed: int = 42, out: Optional[Union[str, os.PathLike]] = None
) -> Tuple[pa.Table, pa.Table]:
    """A generated data set (the one ``leadscore generate`` writes): leads with outcomes and
    their behaviour events, as two tables. With ``out`` the CSV files are kept there."""
    folder = out if out is not None else tempfile.mkdtemp(prefix="leadscore-")
    paths = _native.generate(os.fspath(folder), leads, seed)
    text = pa_csv.ConvertOptions(
        column_types={"lead_id": pa.string(), "outcome": pa.string()},
        strings_can_be_null=True,
    )
    leads_table = pa_csv.read_csv(paths[0], convert_options=text)
    events_table = pa_csv.read_csv(
        paths[1], convert_options=pa_csv.ConvertOptions(column_types={"lead_id": pa.string()})
    )
    return leads_table, events_table
