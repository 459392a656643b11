"""`run_shinka_eval` (and the helpers beside it) for ShinkaEvolve evaluate.py scripts."""
from .wrap_eval import DEFAULT_METRICS_ON_ERROR, load_program, run_shinka_eval, save_json_results

__all__ = ['run_shinka_eval', 'load_program', 'save_json_results', 'DEFAULT_METRICS_ON_ERROR']


def __getattr__(name):
    raise ImportError(
        f'shinka.core.{name} is not available to evaluators run by FM Agent: the sandbox provides '
        'run_shinka_eval, load_program and save_json_results'
    )
