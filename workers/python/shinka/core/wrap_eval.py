"""run_shinka_eval: load a candidate program, run its experiment function a number of times,
validate and aggregate the results, and write metrics.json and correct.json (ShinkaEvolve's
evaluation contract, implemented from its documentation).

    metrics, correct, error = run_shinka_eval(
        program_path, results_dir, experiment_fn_name, num_runs,
        get_experiment_kwargs=None,    # run index (0-based) -> kwargs; default {"seed": index + 1}
        aggregate_metrics_fn=None,     # list of run results -> metrics dict (with combined_score)
        validate_fn=None,              # run result -> (is_valid, error message or None)
        plotting_fn=None,              # extra_data -> [(matplotlib figure or animation, title)]
        default_metrics_on_error=None, # the metrics written when the evaluation fails
        early_stop_method=None, early_stop_threshold=None, early_stop_score_fn=None,
        early_stop_kwargs=None,        # stop repeating once the runs' scores settle the threshold
        run_workers=1, max_workers_cap=None)  # runs in parallel processes

Any exception (the program does not load, the function is missing, a run raises) makes the candidate
incorrect with the exception as its error and the default metrics; a NaN or infinite combined_score
is incorrect too. `extra_data` in the metrics goes to extra.pkl (and to plotting_fn) instead.

Early stopping: the runs' scores (early_stop_score_fn(result), else a numeric result or its "score")
are compared with the threshold after each run; once at least `min_trials` (default 3) runs are in
and the normal-approximation confidence interval of their mean (`ci_confidence`, default 0.95) lies
entirely above or below the threshold, the remaining runs are skipped. Every method name ("ci",
"bayesian", "hybrid") uses this rule here; an object with check(scores, threshold) returning a
decision with should_stop is used as is.
"""
import importlib.util
import json
import math
import os
import pickle
import statistics
import time
import traceback
from typing import Any, Callable, Dict, List, Optional, Tuple

DEFAULT_METRICS_ON_ERROR = {
    'combined_score': 0.0,
    'execution_time_mean': 0.0,
    'execution_time_std': 0.0,
    'num_successful_runs': 0,
    'num_valid_runs': 0,
    'num_invalid_runs': 0,
    'all_validation_errors': [],
}

_Z = {0.8: 1.2816, 0.9: 1.6449, 0.95: 1.96, 0.98: 2.3263, 0.99: 2.5758}


def load_program(program_path: str) -> Any:
    """The candidate as a module (its top-level code runs)."""
    spec = importlib.util.spec_from_file_location('program', program_path)
    if spec is None or spec.loader is None:
        raise ImportError(f'cannot load a Python module from {program_path}')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def save_json_results(results_dir: str, metrics: Dict[str, Any], correct: bool, error: Optional[str] = None) -> None:
    os.makedirs(results_dir, exist_ok=True)
    with open(os.path.join(results_dir, 'correct.json'), 'w') as f:
        json.dump({'correct': bool(correct), 'error': error}, f, indent=2, default=str)
    with open(os.path.join(results_dir, 'metrics.json'), 'w') as f:
        json.dump(metrics, f, indent=2, default=str)


class _Decision:
    def __init__(self, should_stop, prediction, confidence, reason):
        self.should_stop, self.prediction, self.confidence, self.reason = should_stop, prediction, confidence, reason


class _IntervalStop:
    """Stops when the confidence interval of the mean score is on one side of the threshold."""

    def __init__(self, name, min_trials=3, ci_confidence=0.95, **_ignored):
        self.name, self.min_trials = name, max(2, int(min_trials))
        self.z = _Z.get(round(float(ci_confidence), 2), 1.96)

    def reset(self):
        pass

    def check(self, scores, threshold):
        if len(scores) < self.min_trials:
            return _Decision(False, 'uncertain', 0.0, f'{len(scores)} of at least {self.min_trials} runs')
        mean = statistics.fmean(scores)
        half = self.z * statistics.stdev(scores) / math.sqrt(len(scores))
        if mean - half > threshold:
            return _Decision(True, 'above', 1.0, f'mean {mean:.6g} ± {half:.3g} is above {threshold}')
        if mean + half < threshold:
            return _Decision(True, 'below', 1.0, f'mean {mean:.6g} ± {half:.3g} is below {threshold}')
        return _Decision(False, 'uncertain', 0.0, f'mean {mean:.6g} ± {half:.3g} straddles {threshold}')


def _stopper(method, kwargs):
    if method is None:
        return None
    if isinstance(method, str):
        if method == 'none':
            return None
        return _IntervalStop(method, **(kwargs or {}))
    return method


def _score_of(result, fn):
    if fn is not None:
        try:
            return float(fn(result))
        except Exception as e:  # a broken score function only disables early stopping
            print(f'early_stop_score_fn failed: {e}')
            return None
    if isinstance(result, (int, float)) and not isinstance(result, bool):
        return float(result)
    if isinstance(result, dict) and isinstance(result.get('score'), (int, float)):
        return float(result['score'])
    return None


def _one_run(program_path, fn_name, index, kwargs):
    module = load_program(program_path)
    fn = getattr(module, fn_name, None)
    if not callable(fn):
        raise AttributeError(f'the program defines no function {fn_name}()')
    t = time.perf_counter()
    result = fn(**kwargs)
    return index, result, time.perf_counter() - t


def _plots(plotting_fn, extra_data, results_dir):
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        from matplotlib.animation import Animation
    except ImportError:
        print('plotting_fn skipped: matplotlib is not installed')
        return
    folder = os.path.join(results_dir, 'plots')
    os.makedirs(folder, exist_ok=True)
    try:
        for item, title in plotting_fn(extra_data):
            if isinstance(item, Animation):
                item.save(os.path.join(folder, f'{title}.gif'), writer='pillow')
            else:
                item.savefig(os.path.join(folder, f'{title}.png'), bbox_inches='tight')
                plt.close(item)
    except Exception as e:
        print(f'plotting_fn failed: {e}')


def run_shinka_eval(
    program_path: str,
    results_dir: str,
    experiment_fn_name: str,
    num_runs: int,
    get_experiment_kwargs: Optional[Callable[[int], Dict[str, Any]]] = None,
    aggregate_metrics_fn: Optional[Callable[[List[Any]], Dict[str, Any]]] = None,
    validate_fn: Optional[Callable[[Any], Tuple[bool, Optional[str]]]] = None,
    plotting_fn: Optional[Callable[[Any], List[Any]]] = None,
    default_metrics_on_error: Optional[Dict[str, Any]] = None,
    early_stop_method: Any = None,
    early_stop_threshold: Optional[float] = None,
    early_stop_score_fn: Optional[Callable[[Any], float]] = None,
    early_stop_kwargs: Optional[Dict[str, Any]] = None,
    run_workers: int = 1,
    max_workers_cap: Optional[int] = None,
) -> Tuple[Dict[str, Any], bool, Optional[str]]:
    if run_workers < 1:
        raise ValueError('run_workers must be >= 1')
    if max_workers_cap is not None and max_workers_cap < 1:
        raise ValueError('max_workers_cap must be >= 1')
    workers = min(run_workers, max_workers_cap or run_workers, max(1, num_runs))
    stopper = _stopper(early_stop_method, early_stop_kwargs)
    if stopper is not None and early_stop_threshold is None:
        raise ValueError('early_stop_threshold is required with early_stop_method')
    if stopper is not None and workers > 1:
        raise ValueError('early stopping needs sequential runs (run_workers=1)')

    correct, first_error = True, None
    errors: List[str] = []
    valid_runs = invalid_runs = 0
    results: List[Any] = []
    times: List[float] = []
    scores: List[float] = []
    decision = None
    kwargs_of = (lambda i: dict(get_experiment_kwargs(i))) if get_experiment_kwargs else (lambda i: {'seed': i + 1})
    try:
        if workers > 1:
            from concurrent.futures import ProcessPoolExecutor
            ordered = [None] * num_runs
            with ProcessPoolExecutor(max_workers=workers) as pool:
                futures = [pool.submit(_one_run, program_path, experiment_fn_name, i, kwargs_of(i)) for i in range(num_runs)]
                for fut in futures:
                    i, res, dt = fut.result()
                    ordered[i] = (res, dt)
            runs = ordered
        else:
            module = load_program(program_path)
            fn = getattr(module, experiment_fn_name, None)
            if not callable(fn):
                raise AttributeError(f'the program defines no function {experiment_fn_name}()')
            if stopper is not None:
                stopper.reset()
            runs = []
            for i in range(num_runs):
                t = time.perf_counter()
                res = fn(**kwargs_of(i))
                runs.append((res, time.perf_counter() - t))
                print(f'run {i + 1}/{num_runs} done in {runs[-1][1]:.3f} s')
                if stopper is not None:
                    s = _score_of(res, early_stop_score_fn)
                    if s is not None:
                        scores.append(s)
                        decision = stopper.check(scores, early_stop_threshold)
                        if decision.should_stop:
                            print(f'early stop after {i + 1} of {num_runs} runs: {decision.reason}')
                            break
        for res, dt in runs:
            results.append(res)
            times.append(dt)
            if validate_fn:
                ok, msg = validate_fn(res)
                if ok:
                    valid_runs += 1
                else:
                    invalid_runs += 1
                    correct = False
                    if msg:
                        first_error = first_error or f'Validation failed: {msg}'
                        if msg not in errors:
                            errors.append(msg)

        if aggregate_metrics_fn:
            metrics = dict(aggregate_metrics_fn(results))
        else:
            metrics = {'num_successful_runs': len(results),
                       'first_run_result_type': str(type(results[0])) if results else 'N/A',
                       'raw_results_preview': str(results[:2]) if results else 'N/A'}
        metrics['execution_time_mean'] = statistics.fmean(times) if times else 0.0
        metrics['execution_time_std'] = statistics.pstdev(times) if times else 0.0
        if validate_fn:
            metrics['num_valid_runs'] = valid_runs
            metrics['num_invalid_runs'] = invalid_runs
            metrics['all_validation_errors'] = errors
        if stopper is not None:
            metrics['early_stop'] = {
                'method': getattr(stopper, 'name', type(stopper).__name__),
                'threshold': early_stop_threshold,
                'triggered': bool(decision and decision.should_stop),
                'runs_completed': len(results),
                'runs_requested': num_runs,
                'prediction': decision.prediction if decision else 'uncertain',
                'reason': decision.reason if decision else None,
                'scores': scores,
            }
        score = metrics.get('combined_score')
        if isinstance(score, (int, float)) and not math.isfinite(score):
            correct = False
            first_error = first_error or f'combined_score is {score}'
    except Exception as e:
        traceback.print_exc()
        defaults = dict(default_metrics_on_error or DEFAULT_METRICS_ON_ERROR)
        metrics = {k: defaults.get(k, v) for k, v in DEFAULT_METRICS_ON_ERROR.items()}
        if validate_fn:
            metrics['num_invalid_runs'] = max(len(results), 1)
            metrics['all_validation_errors'] = [str(e)]
        first_error = f'{type(e).__name__}: {e}'
        correct = False

    if 'extra_data' in metrics:
        extra = metrics.pop('extra_data')
        os.makedirs(results_dir, exist_ok=True)
        with open(os.path.join(results_dir, 'extra.pkl'), 'wb') as f:
            pickle.dump(extra, f)
        if plotting_fn is not None:
            _plots(plotting_fn, extra, results_dir)
    save_json_results(results_dir, metrics, correct, first_error)
    return metrics, correct, first_error
