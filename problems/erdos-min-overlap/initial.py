"""Seed for erdos-min-overlap: a plateau profile improved by projected gradient descent on a soft
maximum of the overlap over all shifts.

construct_step_function() returns 95 values h in [0, 1] with sum(h) = 95 / 2; the score is
2 * max_k sum_i h_i (1 - h_(i-k)) / 95 over all shifts k (lower is better).
"""
import numpy as np

N = 95

# EVOLVE-BLOCK-START
SEED = 0
ITERS = 800           # descent steps
STEP = 0.02           # gradient step (on values in [0, 1])
STEP_DECAY = 0.999    # multiplied into the step every iteration
SHARP = 400.0         # soft-max sharpness over the shifts
EDGE = 0.25           # width of the ramps of the starting plateau, as a fraction of the support
NOISE = 0.02          # noise on the starting profile


def start_profile(rng):
    t = np.linspace(0.0, 1.0, N)
    ramp = np.clip(np.minimum(t, 1.0 - t) / max(EDGE, 1e-3), 0.0, 1.0)
    return np.clip(ramp + NOISE * rng.standard_normal(N), 0.0, 1.0)


def optimize(h):
    h = project(h)
    step = STEP
    best, best_value = h.copy(), overlap(h)
    for _ in range(ITERS):
        r = 1.0 - h[::-1]
        c = np.convolve(h, r)  # every shift's overlap, unnormalized
        w = np.exp(SHARP * (c - c.max()) * 2.0 / N)
        w /= w.sum()
        grad = np.correlate(w, r, 'valid') - np.correlate(w, h, 'valid')[::-1]
        h = project(h - step * grad / (np.abs(grad).max() + 1e-30))
        value = overlap(h)
        if value < best_value:
            best, best_value = h.copy(), value
        step *= STEP_DECAY
    return best
# EVOLVE-BLOCK-END


def project(h):
    """Closest point of {0 <= h <= 1, sum h = N/2}: shift by tau and clip, tau found by bisection."""
    target = N / 2.0
    lo, hi = h.min() - 1.0, h.max()
    for _ in range(60):
        tau = 0.5 * (lo + hi)
        if np.clip(h - tau, 0.0, 1.0).sum() > target:
            lo = tau
        else:
            hi = tau
    p = np.clip(h - 0.5 * (lo + hi), 0.0, 1.0)
    inner = (p > 0.0) & (p < 1.0)
    if inner.any():  # put the last rounding error on the free entries so the sum is exact
        p[inner] += (target - p.sum()) / inner.sum()
    return np.clip(p, 0.0, 1.0)


def overlap(h):
    return 2.0 * np.correlate(h, 1.0 - h, 'full').max() / N


def construct_step_function():
    rng = np.random.default_rng(SEED)
    return optimize(start_profile(rng))


if __name__ == '__main__':
    h = construct_step_function()
    print(overlap(h), h.sum() - N / 2)
