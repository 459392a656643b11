"""FM Agent's stand-in for the `openevolve` package inside the evaluation sandbox.

OpenEvolve task evaluators import `openevolve.evaluation_result.EvaluationResult` to return metrics
with artifacts; that is the part of OpenEvolve an evaluator uses, and the only part provided here
(written from OpenEvolve's documented evaluator interface). The evolution controller itself
(`OpenEvolve`, `run_evolution`, ...) is FM Agent's engine, outside the sandbox: importing it from an
evaluator raises an ImportError that says so.
"""
from .evaluation_result import EVALUATION_FAILED_METRIC, EvaluationResult

__version__ = 'fm-agent-compat'
__all__ = ['EvaluationResult', 'EVALUATION_FAILED_METRIC', '__version__']


def __getattr__(name):
    raise ImportError(
        f'openevolve.{name} is not available to evaluators run by FM Agent: the sandbox provides '
        'openevolve.evaluation_result (EvaluationResult) only; the search itself is FM Agent\'s engine'
    )
