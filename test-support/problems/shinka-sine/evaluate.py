"""ShinkaEvolve-style evaluator (test fixture): run_shinka_eval runs the program's experiment three
times, validates each run and aggregates them into combined_score, public and private metrics and
text feedback."""
import argparse
import math

from shinka.core import run_shinka_eval

N = 8


def get_experiment_kwargs(run_index):
    return {"seed": run_index, "n": N}


def validate_fn(result):
    if not isinstance(result, list) or len(result) != N:
        return False, f"expected {N} (x, y) pairs"
    for x, y in result:
        if not (isinstance(y, (int, float)) and math.isfinite(y)):
            return False, f"no finite prediction at x = {x:.3f}"
    return True, None


def aggregate_metrics_fn(results):
    errors = [(abs(y - math.sin(x)), x) for run in results for x, y in run]
    mean = sum(e for e, _ in errors) / len(errors)
    worst, at = max(errors)
    return {
        "combined_score": 1.0 / (1.0 + 10.0 * mean),
        "public": {"mean_abs_error": mean, "worst_x": f"{at:.3f}"},
        "private": {"max_abs_error": worst},
        "text_feedback": f"mean |error| {mean:.4f}; the worst prediction is at x = {at:.3f}",
    }


def main(program_path, results_dir):
    metrics, correct, error = run_shinka_eval(
        program_path=program_path,
        results_dir=results_dir,
        experiment_fn_name="run_experiment",
        num_runs=3,
        get_experiment_kwargs=get_experiment_kwargs,
        validate_fn=validate_fn,
        aggregate_metrics_fn=aggregate_metrics_fn,
    )
    print("correct" if correct else f"incorrect: {error}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--program_path", type=str, default="initial.py")
    parser.add_argument("--results_dir", type=str, default="results")
    args = parser.parse_args()
    main(args.program_path, args.results_dir)
