"""Seed for heilbronn-triangle-11: random starts improved by a shrinking-step hill climb on a
soft minimum of all triangle areas.

construct_points() returns an (11, 2) array of points inside the triangle with vertices
(0, 0), (1, 0), (1/2, sqrt(3)/2). The evaluator rejects points outside by more than 1e-12.
"""
import itertools

import numpy as np

N = 11
SQRT3 = np.sqrt(3.0)
TRIPLES = np.array(list(itertools.combinations(range(N), 3)))

# EVOLVE-BLOCK-START
SEED = 1
RESTARTS = 4          # independent random starts; the best one is kept
ITERS = 6000          # proposals per start
STEP_START = 0.10     # size of a proposed move at the start ...
STEP_END = 0.001      # ... shrinking geometrically to this
SOFTNESS = 2000.0     # soft-min sharpness: larger tracks the true minimum more closely
WORST_BIAS = 0.7      # probability of moving a vertex of the currently smallest triangle


def start_points(rng):
    """Uniform random points in the triangle (reflect the unit-square sample into it)."""
    u, v = rng.random(N), rng.random(N)
    flip = u + v > 1
    u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
    return np.column_stack([u + 0.5 * v, SQRT3 / 2 * v])


def climb(p, rng):
    def areas(q):
        a, b, c = q[TRIPLES[:, 0]], q[TRIPLES[:, 1]], q[TRIPLES[:, 2]]
        return 0.5 * np.abs((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (c[:, 0] - a[:, 0]) * (b[:, 1] - a[:, 1]))

    def soft_min(ar):
        m = ar.min()
        return m - np.log(np.exp(-SOFTNESS * (ar - m)).sum()) / SOFTNESS

    ar = areas(p)
    value = soft_min(ar)
    decay = (STEP_END / STEP_START) ** (1.0 / max(1, ITERS))
    step = STEP_START
    for _ in range(ITERS):
        if rng.random() < WORST_BIAS:
            i = TRIPLES[np.argmin(ar)][rng.integers(3)]
        else:
            i = rng.integers(N)
        q = p.copy()
        q[i] += rng.normal(0.0, step, 2)
        if inside(q[i]):
            ar_q = areas(q)
            v = soft_min(ar_q)
            if v > value:
                p, ar, value = q, ar_q, v
        step *= decay
    return p
# EVOLVE-BLOCK-END


def inside(pt):
    x, y = pt
    return y >= 0.0 and SQRT3 * x - y >= 0.0 and SQRT3 * (1.0 - x) - y >= 0.0


def min_area(p):
    a, b, c = p[TRIPLES[:, 0]], p[TRIPLES[:, 1]], p[TRIPLES[:, 2]]
    return float((0.5 * np.abs((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (c[:, 0] - a[:, 0]) * (b[:, 1] - a[:, 1]))).min())


def construct_points():
    rng = np.random.default_rng(SEED)
    best = None
    for _ in range(max(1, RESTARTS)):
        p = climb(start_points(rng), rng)
        if best is None or min_area(p) > min_area(best):
            best = p
    return best


if __name__ == '__main__':
    print(min_area(construct_points()) / (SQRT3 / 4))
