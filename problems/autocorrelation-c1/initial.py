"""Seed for autocorrelation-c1: a smooth bump improved by mirror descent on a soft maximum of the
autoconvolution.

construct_function() returns 600 non-negative step heights f; the score is
2 * 600 * max(f * f) / (sum f)^2 (lower is better), with f * f the full discrete convolution.
"""
import numpy as np

N = 600

# EVOLVE-BLOCK-START
SEED = 0
ITERS = 1500           # descent steps
STEP = 0.3             # mirror-descent step size (multiplicative update strength)
SHARP_START = 30.0     # soft-max sharpness at the first step ...
SHARP_END = 3000.0     # ... growing geometrically to this (sharper = closer to the true max)
NOISE = 0.05           # relative noise on the starting profile, to break symmetry
SUPPORT = 1.0          # fraction of the 600 steps the starting bump covers


def start_profile(rng):
    t = np.linspace(-1.0, 1.0, N) / max(SUPPORT, 1e-3)
    f = np.clip(1.0 - t * t, 0.0, None) ** 0.5 + 1e-3
    return f * (1.0 + NOISE * rng.standard_normal(N)).clip(0.1)


def optimize(f):
    f = f / f.sum()
    growth = (SHARP_END / SHARP_START) ** (1.0 / max(1, ITERS))
    sharp = SHARP_START
    best, best_value = f.copy(), score(f)
    for _ in range(ITERS):
        c = np.convolve(f, f) * (2 * N)  # the objective's scale: the score when sum f = 1
        w = np.exp(sharp * (c - c.max()))
        w /= w.sum()
        grad = 2.0 * np.correlate(w, f, 'valid') * (2 * N)
        f = f * np.exp(-STEP * grad / (np.abs(grad).max() + 1e-30))
        f /= f.sum()
        value = score(f)
        if value < best_value:
            best, best_value = f.copy(), value
        sharp *= growth
    return best
# EVOLVE-BLOCK-END


def score(f):
    return 2 * N * np.convolve(f, f).max() / f.sum() ** 2


def construct_function():
    rng = np.random.default_rng(SEED)
    f = optimize(start_profile(rng))
    return np.clip(f, 0.0, None)


if __name__ == '__main__':
    print(score(construct_function()))
