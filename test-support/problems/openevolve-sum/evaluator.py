"""An OpenEvolve-style evaluator (test fixture): evaluate(program_path) returns a dict."""
import importlib.util


def evaluate(program_path):
    spec = importlib.util.spec_from_file_location("program", program_path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    w = mod.weights()
    closeness = 1.0 / (1.0 + sum((x - t) ** 2 for x, t in zip(w, [0.9, 0.5, 0.7])))
    return {"combined_score": closeness, "length": float(len(w))}
