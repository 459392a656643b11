"""circle-packing-26: n circles in the unit square, maximize the sum of radii.

The candidate's run_packing() runs in a child process; this process only checks what it returned.
Feasibility uses ONE tolerance, TOL = 1e-12 (absolute), for containment and for every pair:
    r_i >= 0,  r_i - TOL <= x_i <= 1 - r_i + TOL,  same for y,  dist(c_i, c_j) >= r_i + r_j - TOL.
Anything else is rejected; the sum of radii is reported as given (no rescaling, no repair).
"""
import math
import sys

from fm_draw import Svg, color, image
from fm_evalkit import CandidateError, call_candidate, main, result

N = 26
TOL = 1e-12
REFERENCE = 2.635863  # AlphaEvolve's published sum of radii
CANDIDATE_TIMEOUT_S = 60.0
TOUCH = 1e-6  # a circle this close to the border counts as touching it (feature only)


def as_rows(value):
    """Accept an (n,3) array of [x, y, r] rows, or OpenEvolve's (centers, radii[, sum]) tuple."""
    import numpy as np
    if isinstance(value, (list, tuple)) and len(value) in (2, 3) and not (len(value) == N):
        try:
            centers = np.asarray(value[0], dtype=float)
            radii = np.asarray(value[1], dtype=float)
        except (TypeError, ValueError) as e:
            raise CandidateError(f'run_packing() returned a tuple whose parts are not numeric arrays: {e}')
        if centers.shape != (N, 2) or radii.shape != (N,):
            raise CandidateError(f'expected centers of shape ({N}, 2) and radii of shape ({N},), '
                                 f'got {centers.shape} and {radii.shape}')
        return np.column_stack([centers, radii])
    try:
        rows = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as e:
        raise CandidateError(f'run_packing() must return an ({N}, 3) array of [x, y, r] rows: {e}')
    if rows.shape != (N, 3):
        raise CandidateError(f'run_packing() must return an ({N}, 3) array of [x, y, r] rows, got shape {rows.shape}')
    return rows


def check(rows):
    """Return a list of human-readable violations (empty when feasible)."""
    import numpy as np
    problems = []
    if not np.all(np.isfinite(rows)):
        return ['some coordinates or radii are NaN or infinite']
    x, y, r = rows[:, 0], rows[:, 1], rows[:, 2]
    for i in np.nonzero(r < 0)[0][:5]:
        problems.append(f'circle {i} has a negative radius {r[i]!r}')
    slack = np.minimum.reduce([x - r, 1 - x - r, y - r, 1 - y - r])
    for i in np.nonzero(slack < -TOL)[0][:5]:
        problems.append(f'circle {i} (x={x[i]!r}, y={y[i]!r}, r={r[i]!r}) sticks out of the unit square by {-slack[i]:.3e}')
    worst = []
    for i in range(N):
        for j in range(i):
            gap = math.hypot(x[i] - x[j], y[i] - y[j]) - (r[i] + r[j])
            if gap < -TOL:
                worst.append((gap, j, i))
    worst.sort()
    for gap, j, i in worst[:5]:
        problems.append(f'circles {j} and {i} overlap by {-gap:.3e}')
    if len(worst) > 5:
        problems.append(f'... {len(worst)} overlapping pairs in all')
    return problems


def offenders(rows):
    """Indices of circles that stick out or overlap another (drawn in red)."""
    x, y, r = rows[:, 0], rows[:, 1], rows[:, 2]
    bad = {i for i in range(N) if r[i] < 0 or min(x[i] - r[i], 1 - x[i] - r[i], y[i] - r[i], 1 - y[i] - r[i]) < -TOL}
    for i in range(N):
        for j in range(i):
            if math.hypot(x[i] - x[j], y[i] - y[j]) < r[i] + r[j] - TOL:
                bad.update((i, j))
    return bad


def draw(rows, caption, bad=()):
    """The packing in the unit square, circles coloured by radius; offending ones outlined in red."""
    size, m = 400, 12
    s = Svg(size + 2 * m, size + 2 * m + 20)
    s.rect(m, m, size, size, fill='#fbfbfd', stroke='#333', stroke_width=1.2)
    rmin, rmax = float(rows[:, 2].min()), float(rows[:, 2].max())
    for i, (x, y, r) in enumerate(rows.tolist()):
        red = i in bad
        s.circle(m + x * size, m + (1 - y) * size, max(r, 0.0) * size, fill=color((r - rmin) / ((rmax - rmin) or 1)), fill_opacity=0.8,
                 stroke='#d1242f' if red else '#1b2430', stroke_width=2.2 if red else 0.7)
    s.text(m, size + 2 * m + 12, caption, size=12)
    return image(s)


def evaluate(candidate):
    import numpy as np
    value, wall = call_candidate(candidate, 'run_packing', timeout=CANDIDATE_TIMEOUT_S)
    rows = as_rows(value)
    problems = check(rows)
    if problems:
        pictures = {'circles': draw(rows, f'infeasible: {N} circles, offenders in red', offenders(rows))} if np.all(np.isfinite(rows)) else {}
        raise CandidateError(f'infeasible packing (tolerance {TOL:g}): ' + '; '.join(problems), **pictures)
    r = rows[:, 2]
    total = float(r.sum())
    slack = np.minimum.reduce([rows[:, 0] - r, 1 - rows[:, 0] - r, rows[:, 1] - r, 1 - rows[:, 1] - r])
    features = {
        'radius_cv': float(r.std() / r.mean()) if r.mean() > 0 else 0.0,
        'border_frac': float(np.mean(slack <= TOUCH)),
    }
    return result(True, {'sum_radii': total, 'run_time_s': wall}, features,
                  f'feasible packing of {N} circles, sum of radii {total:.9f} (AlphaEvolve: {REFERENCE})',
                  packing=rows.tolist(), circles=draw(rows, f'{N} circles, sum of radii {total:.6f}'))


if __name__ == '__main__':
    main(evaluate)
