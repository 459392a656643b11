"""heilbronn-triangle-11: 11 points in the equilateral triangle (0,0), (1,0), (1/2, sqrt(3)/2);
maximize the smallest area of a triangle formed by three of them, divided by the container's area.

The candidate's construct_points() runs in a child process; this process only checks its answer.
Containment uses ONE tolerance, TOL = 1e-12 (absolute):
    y >= -TOL,  sqrt(3) * x - y >= -TOL,  sqrt(3) * (1 - x) - y >= -TOL.
"""
import itertools
import math

from fm_draw import Svg, image
from fm_evalkit import CandidateError, call_candidate, main, result

N = 11
TOL = 1e-12
SQRT3 = math.sqrt(3.0)
CONTAINER_AREA = SQRT3 / 4.0
REFERENCE = 0.0365299  # AlphaEvolve
CANDIDATE_TIMEOUT_S = 60.0
ON_EDGE = 1e-6  # feature only: a point this close to a side counts as on it


def edge_slacks(p):
    x, y = p[:, 0], p[:, 1]
    return y, SQRT3 * x - y, SQRT3 * (1.0 - x) - y


def min_area(p):
    """Smallest triangle area over all triples (exact enumeration, float64)."""
    best = math.inf
    for a, b, c in itertools.combinations(range(len(p)), 3):
        area = abs((p[b, 0] - p[a, 0]) * (p[c, 1] - p[a, 1]) - (p[c, 0] - p[a, 0]) * (p[b, 1] - p[a, 1])) / 2.0
        best = min(best, area)
    return best


def draw(p, smallest):
    """The triangle, its points, and the smallest triangles (those within 1e-6 of the minimum) filled."""
    size, m = 420, 14
    h = SQRT3 / 2 * size
    s = Svg(size + 2 * m, h + 2 * m + 22)
    X = lambda x: m + x * size  # noqa: E731
    Y = lambda y: m + h - y * size  # noqa: E731
    s.polygon([(X(0), Y(0)), (X(1), Y(0)), (X(0.5), Y(SQRT3 / 2))], fill='#fbfbfd', stroke='#333', stroke_width=1.2)
    tiny = [t for t in itertools.combinations(range(len(p)), 3) if tri_area(p, *t) <= smallest * (1 + 1e-6) + 1e-15]
    for t in tiny[:40]:
        s.polygon([(X(p[i, 0]), Y(p[i, 1])) for i in t], fill='#d1242f', fill_opacity=0.18, stroke='#d1242f', stroke_width=1)
    for i, (x, y) in enumerate(p.tolist()):
        s.circle(X(x), Y(y), 4.5, fill='#1f6feb', stroke='#0b1f3a', stroke_width=0.8)
    s.text(m, h + 2 * m + 14, f'{len(p)} points; smallest triangle{"s" if len(tiny) > 1 else ""} in red ({len(tiny)}), '
           f'area ratio {smallest / CONTAINER_AREA:.7f}', size=12)
    return image(s)


def tri_area(p, a, b, c):
    return abs((p[b, 0] - p[a, 0]) * (p[c, 1] - p[a, 1]) - (p[c, 0] - p[a, 0]) * (p[b, 1] - p[a, 1])) / 2.0


def evaluate(candidate):
    import numpy as np
    value, wall = call_candidate(candidate, 'construct_points', timeout=CANDIDATE_TIMEOUT_S)
    try:
        p = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as e:
        raise CandidateError(f'construct_points() must return an ({N}, 2) array of [x, y] points: {e}')
    if p.shape != (N, 2):
        raise CandidateError(f'construct_points() must return an ({N}, 2) array of [x, y] points, got shape {p.shape}')
    if not np.all(np.isfinite(p)):
        raise CandidateError('some coordinates are NaN or infinite')
    names = ('below the side y = 0', 'left of the side y = sqrt(3) x', 'right of the side y = sqrt(3) (1 - x)')
    problems = []
    for slack, name in zip(edge_slacks(p), names):
        for i in np.nonzero(slack < -TOL)[0][:5]:
            problems.append(f'point {i} ({p[i, 0]!r}, {p[i, 1]!r}) lies {-slack[i]:.3e} {name}')
    if problems:
        raise CandidateError(f'points outside the triangle (tolerance {TOL:g}): ' + '; '.join(problems))
    smallest = min_area(p)
    score = smallest / CONTAINER_AREA
    dists = [math.dist(p[i], p[j]) for i, j in itertools.combinations(range(N), 2)]
    on_edge = np.min(np.vstack(edge_slacks(p)), axis=0) <= ON_EDGE * SQRT3
    features = {'boundary_frac': float(np.mean(on_edge)), 'min_pair_dist': float(min(dists))}
    return result(True, {'min_area_ratio': score, 'run_time_s': wall}, features,
                  f'all {N} points inside; smallest triangle / container area = {score:.9f} (AlphaEvolve: {REFERENCE})',
                  points=p.tolist(), configuration=draw(p, smallest))


if __name__ == '__main__':
    main(evaluate)
