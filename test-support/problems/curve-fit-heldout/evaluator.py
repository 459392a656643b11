"""Test fixture evaluator: mean squared error of predict(x) against a hidden function on [-1, 1], or,
on the held-out stage (FM_HELD_OUT=1), on the range CURVE_RANGE names, which the search never sees."""
import importlib.util
import json
import math
import os
import sys


def target(x):
    return 1.3 * x * x - 0.4 * x + 0.25 + 0.3 * math.sin(2.1 * x)


def main(path):
    lo, hi = -1.0, 1.0
    if os.environ.get('FM_HELD_OUT') == '1':
        lo, hi = (float(v) for v in os.environ['CURVE_RANGE'].split(':'))
    spec = importlib.util.spec_from_file_location("candidate", path)
    mod = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(mod)
        xs = [lo + (hi - lo) * i / 199 for i in range(200)]
        ys = [float(mod.predict(x)) for x in xs]
    except Exception as e:  # an invalid candidate is a result, not a crash
        print(json.dumps({"valid": False, "metrics": {}, "features": {}, "artifacts": {"feedback": f"{type(e).__name__}: {e}"}}))
        return
    if any(not math.isfinite(y) for y in ys):
        print(json.dumps({"valid": False, "metrics": {}, "features": {}, "artifacts": {"feedback": "non-finite prediction"}}))
        return
    mse = sum((y - target(x)) ** 2 for x, y in zip(xs, ys)) / len(xs)
    curvature = ys[0] + ys[-1] - 2 * ys[100]
    print(json.dumps({"valid": True, "metrics": {"mse": mse, "x_min": lo}, "features": {"curvature": curvature}, "artifacts": {"feedback": f"mse {mse:.6f}"}}))


if __name__ == "__main__":
    main(sys.argv[-1])
