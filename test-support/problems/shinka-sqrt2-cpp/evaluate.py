"""ShinkaEvolve-style evaluator for a C++ program (test fixture): it compiles the candidate itself,
runs it, and writes metrics.json and correct.json, as ShinkaEvolve's non-Python tasks do."""
import argparse
import json
import math
import os
import subprocess


def write(results_dir, metrics, correct, error=None):
    os.makedirs(results_dir, exist_ok=True)
    with open(os.path.join(results_dir, "metrics.json"), "w") as f:
        json.dump(metrics, f)
    with open(os.path.join(results_dir, "correct.json"), "w") as f:
        json.dump({"correct": correct, "error": error}, f)


def main(program_path, results_dir):
    binary = os.path.join(results_dir, "program")
    os.makedirs(results_dir, exist_ok=True)
    build = subprocess.run(["g++", "-O2", "-std=c++17", program_path, "-o", binary], capture_output=True, text=True, timeout=120)
    if build.returncode != 0:
        write(results_dir, {"combined_score": 0.0}, False, "compilation failed:\n" + build.stderr[-2000:])
        return
    run = subprocess.run([binary], capture_output=True, text=True, timeout=10)
    try:
        x = float(run.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        write(results_dir, {"combined_score": 0.0}, False, f"the program printed no number: {run.stdout[-200:]!r}")
        return
    error = abs(x - math.sqrt(2.0))
    write(results_dir, {
        "combined_score": 1.0 / (1.0 + 100.0 * error),
        "public": {"approximation": x},
        "private": {"abs_error": error},
        "text_feedback": f"the program printed {x:.12f}; sqrt(2) = {math.sqrt(2.0):.12f}",
    }, math.isfinite(x))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--program_path", required=True)
    parser.add_argument("--results_dir", required=True)
    args = parser.parse_args()
    main(args.program_path, args.results_dir)
