"""OpenEvolve-style evaluator (test fixture): a two-stage cascade returning EvaluationResult objects
with artifacts, the way OpenEvolve's examples report feedback to the model."""
import importlib.util
import math

from openevolve.evaluation_result import EvaluationResult

POINTS = [i / 20 for i in range(21)]


def load(program_path):
    spec = importlib.util.spec_from_file_location("program", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def evaluate_stage1(program_path):
    """Cheap: the program loads and coefficients() gives four finite numbers."""
    coeffs = load(program_path).coefficients()
    ok = len(coeffs) == 4 and all(isinstance(c, (int, float)) and math.isfinite(c) for c in coeffs)
    if not ok:
        return EvaluationResult(
            metrics={"combined_score": 0.0, "well_formed": 0.0},
            artifacts={"feedback": f"coefficients() must return four finite numbers, not {coeffs!r}"},
        )
    return EvaluationResult(metrics={"combined_score": 1.0, "well_formed": 1.0}, artifacts={"stage1": "four finite coefficients"})


def evaluate_stage2(program_path):
    """The fit: root-mean-square error against exp(x) on 21 points."""
    program = load(program_path)
    errors = [(program.cubic(x) - math.exp(x), x) for x in POINTS]
    rmse = math.sqrt(sum(e * e for e, _ in errors) / len(errors))
    worst, at = max(errors, key=lambda t: abs(t[0]))
    return EvaluationResult(
        metrics={"combined_score": 1.0 / (1.0 + 10.0 * rmse), "rmse": rmse, "max_error": abs(worst)},
        artifacts={"worst_point": f"largest error {worst:+.4f} at x = {at:.2f} (exp(x) = {math.exp(at):.4f})"},
    )


def evaluate(program_path):
    stage1 = evaluate_stage1(program_path)
    return stage1 if stage1.metrics["combined_score"] < 0.5 else evaluate_stage2(program_path)
