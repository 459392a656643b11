"""FM Agent's stand-in for the `shinka` package (ShinkaEvolve) inside the evaluation sandbox.

ShinkaEvolve task evaluators call `shinka.core.run_shinka_eval`; that evaluation helper is what is
provided here, written from ShinkaEvolve's documented interface. The evolution itself (runners,
databases, LLM clients) is FM Agent's engine: importing it from an evaluator raises an ImportError
that says so.
"""

__version__ = 'fm-agent-compat'


def __getattr__(name):
    raise ImportError(
        f'shinka.{name} is not available to evaluators run by FM Agent: the sandbox provides '
        'shinka.core.run_shinka_eval only; the search itself is FM Agent\'s engine'
    )
