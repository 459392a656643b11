"""Predict sin(x) on [-1, 1] with an odd cubic."""
import math


def run_experiment(seed=0, n=8):
    xs = [math.sin(1.3 * (seed * n + k)) for k in range(n)]
    # EVOLVE-BLOCK-START
    a, b = 0.5, 0.1  # y = a*x + b*x**3
    # EVOLVE-BLOCK-END
    return [(x, a * x + b * x ** 3) for x in xs]
