"""An OpenEvolve-style evaluator for a C++ program (test fixture): evaluate(program_path) gets the
program's source, as OpenEvolve gives it, compiles it and runs it."""
import math
import os
import subprocess
import tempfile


def evaluate(program_path):
    if not program_path.endswith(".cpp"):
        return {"combined_score": 0.0, "error": f"expected the C++ source, got {program_path}"}
    with tempfile.TemporaryDirectory() as tmp:
        binary = os.path.join(tmp, "program")
        build = subprocess.run(["g++", "-O2", "-std=c++17", program_path, "-o", binary],
                               capture_output=True, text=True, timeout=120)
        if build.returncode != 0:
            return {"combined_score": 0.0, "error": "compilation failed: " + build.stderr[-500:]}
        run = subprocess.run([binary], capture_output=True, text=True, timeout=10)
    x = float(run.stdout.strip().splitlines()[-1])
    return {"combined_score": 1.0 / (1.0 + 100.0 * abs(x - math.sqrt(2.0))), "approximation": x}
