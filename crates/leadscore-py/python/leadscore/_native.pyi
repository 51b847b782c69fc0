"""Type stubs of the native module `leadscore._native` (Rust, PyO3). Use the `leadscore`
package's wrappers; these are their building blocks."""

from os import PathLike
from typing import Any, Callable, Optional, Union

__version__: str

class LeadscoreError(ValueError):
    """An error about the data, a setting or a model file, with the CLI's message."""

class ArrowTable:
    """A result table, readable once through the Arrow stream interface."""

    def __arrow_c_stream__(self, requested_schema: Optional[object] = None) -> object: ...

class Model:
    @staticmethod
    def load(path: Union[str, PathLike[str]]) -> Model: ...
    @staticmethod
    def from_json(text: str) -> Model: ...
    def to_json(self) -> str: ...
    def save(self, path: Union[str, PathLike[str]]) -> None: ...
    @property
    def name(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def kind(self) -> str: ...
    def info(self) -> str: ...
    def score(
        self,
        leads: Any,
        events: Optional[Any] = None,
        settings: str = "{}",
        as_of: Optional[str] = None,
        reasons: int = 3,
        rules: Optional[Rules] = None,
    ) -> tuple[ArrowTable, list[str]]: ...
    def predict_proba(
        self,
        leads: Any,
        events: Optional[Any] = None,
        settings: str = "{}",
        as_of: Optional[str] = None,
    ) -> list[float]: ...
    def explain(
        self,
        leads: Any,
        events: Optional[Any] = None,
        settings: str = "{}",
        as_of: Optional[str] = None,
    ) -> ArrowTable: ...
    def evaluate(self, leads: Any, events: Optional[Any] = None, settings: str = "{}") -> str: ...

class Rules:
    @staticmethod
    def load(path: Union[str, PathLike[str]]) -> Rules: ...
    @staticmethod
    def from_toml(text: str) -> Rules: ...
    @property
    def mql_threshold(self) -> float: ...
    def score(
        self,
        leads: Any,
        events: Optional[Any] = None,
        settings: str = "{}",
        as_of: Optional[str] = None,
    ) -> tuple[ArrowTable, list[str]]: ...
    def to_toml(self, header: str = "") -> str: ...

def scorecard(
    leads: Any,
    events: Optional[Any] = None,
    settings: str = "{}",
    compare: Optional[Rules] = None,
    folds: int = 5,
    seed: int = 42,
    points_to_double_odds: float = 20.0,
    mql_capacity: float = 0.2,
) -> tuple[Rules, str]: ...
def compare(
    model: Model,
    rules: Rules,
    leads: Any,
    events: Optional[Any] = None,
    settings: str = "{}",
    holdout_fraction: Optional[float] = 0.2,
    resamples: int = 1000,
    seed: int = 42,
) -> tuple[str, str]: ...
def train(
    leads: Any,
    events: Optional[Any] = None,
    settings: str = "{}",
    name: str = "model",
    progress: Optional[Callable[[str, str], None]] = None,
) -> tuple[Model, str]: ...
def generate(out: Union[str, PathLike[str]], leads: int = 5000, seed: int = 42) -> list[str]: ...
