"""`EvaluationResult`: what an OpenEvolve evaluator returns when it has more to say than numbers.

`metrics` are the scores (numbers; `combined_score` is the one the search maximizes) and
`artifacts` are text or bytes shown with the program in the next prompts (compiler errors,
failing cases, profiles). FM Agent's adapter (fm_openevolve.py) turns it into a result: numeric
metrics become metrics, everything else (and every artifact) becomes an artifact.
"""
from dataclasses import dataclass, field
from typing import Any, Dict, Union

# a metric an evaluator may set (to a true value) to say that the evaluation itself failed
EVALUATION_FAILED_METRIC = '__evaluation_failed__'


def _size(value: Any) -> int:
    if isinstance(value, bytes):
        return len(value)
    return len(str(value).encode('utf-8'))


@dataclass
class EvaluationResult:
    metrics: Dict[str, float]
    artifacts: Dict[str, Union[str, bytes]] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, metrics: Dict[str, float]) -> 'EvaluationResult':
        """A plain metrics dict (the older return type) as a result without artifacts."""
        return cls(metrics=dict(metrics))

    def to_dict(self) -> Dict[str, float]:
        """The metrics alone."""
        return self.metrics

    def has_artifacts(self) -> bool:
        return bool(self.artifacts)

    def get_artifact_keys(self) -> list:
        return list(self.artifacts)

    def get_artifact_size(self, key: str) -> int:
        """Bytes of one artifact (UTF-8 for text), 0 when there is none under `key`."""
        return _size(self.artifacts[key]) if key in self.artifacts else 0

    def get_total_artifact_size(self) -> int:
        return sum(_size(v) for v in self.artifacts.values())
