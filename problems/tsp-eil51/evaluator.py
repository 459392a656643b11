"""Evaluator shared by the tsp-* problems (master copy: problems/_common/tsp/evaluator.py).

instance.json in the problem folder names the TSPLIB instance, its optimum and the time limit.
The candidate's solve(coords, dist, time_limit) runs in a child process; its tour is checked here
(a permutation of 0..n-1) and measured with TSPLIB's integer distances in pure Python.
"""
import json
import os

import tsplib
from fm_draw import Svg, image
from fm_evalkit import CandidateError, call_candidate, main, result

HERE = os.path.dirname(os.path.abspath(__file__))
NEAR = 5  # feature: an edge is "short" when it joins a city to one of its NEAR nearest neighbours


def load_instance():
    with open(os.path.join(HERE, 'instance.json')) as f:
        spec = json.load(f)
    name, kind, coords = tsplib.read_tsp(os.path.join(HERE, spec['tsp']))
    return spec, kind, coords


def as_tour(value, n):
    if not isinstance(value, list):
        raise CandidateError(f'solve() must return a list (or 1-d array) of {n} city indices, got {type(value).__name__}')
    tour = []
    for k, x in enumerate(value):
        if isinstance(x, bool) or not isinstance(x, (int, float)) or x != int(x):
            raise CandidateError(f'tour entry {k} is {x!r}, not an integer city index')
        tour.append(int(x))
    if len(tour) != n:
        raise CandidateError(f'the tour must visit all {n} cities exactly once; it has {len(tour)} entries')
    seen = {}
    for k, c in enumerate(tour):
        if not 0 <= c < n:
            hint = ' (indices are 0-based: 0..n-1)' if c == n else ''
            raise CandidateError(f'tour entry {k} is city {c}, outside 0..{n - 1}{hint}')
        if c in seen:
            missing = sorted(set(range(n)) - set(tour))
            raise CandidateError(f'city {c} is visited twice (positions {seen[c]} and {k}); '
                                 f'missing: {missing[:10]}{"..." if len(missing) > 10 else ""}')
        seen[c] = k
    return tour


def draw(name, coords, tour, near, length, gap):
    """The closed tour over the cities; an edge that joins no pair of near neighbours in orange."""
    xs, ys = [c[0] for c in coords], [c[1] for c in coords]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    span = max(x1 - x0, y1 - y0) or 1.0
    size, m = 440, 14
    w, h = (x1 - x0) / span * size, (y1 - y0) / span * size
    s = Svg(size + 2 * m, h + 2 * m + 22)
    X = lambda x: m + (size - w) / 2 + (x - x0) / span * size  # noqa: E731
    Y = lambda y: m + h - (y - y0) / span * size  # noqa: E731
    n = len(tour)
    s.open_group(stroke='#1b2430', stroke_width=1.4, stroke_linecap='round')
    far = []
    for k in range(n):
        a, b = tour[k], tour[(k + 1) % n]
        if b in near[a] or a in near[b]:
            s.line(X(xs[a]), Y(ys[a]), X(xs[b]), Y(ys[b]))
        else:
            far.append((a, b))
    s.close_group()
    s.open_group(stroke='#e8590c', stroke_width=2.2, stroke_linecap='round')
    for a, b in far:
        s.line(X(xs[a]), Y(ys[a]), X(xs[b]), Y(ys[b]))
    s.close_group()
    s.open_group(fill='#1f6feb')
    for x, y in coords:
        s.circle(X(x), Y(y), 2.6 if n <= 120 else 1.8)
    s.close_group()
    s.text(m, h + 2 * m + 14, f'{name} · length {length} (+{gap:.2f} %) · orange: not a {NEAR}-nearest edge', size=12)
    return image(s)


def evaluate(candidate):
    spec, kind, coords = load_instance()
    n = len(coords)
    limit = float(spec['timeLimitS'])
    dist = tsplib.distance_matrix(kind, coords)
    value, wall = call_candidate(candidate, 'solve', {'coords': [list(c) for c in coords], 'dist': dist, 'time_limit': limit},
                                 arrays=('coords', 'dist'), timeout=1.5 * limit + 2.0)
    tour = as_tour(value, n)
    length = tsplib.tour_length(kind, coords, tour)
    optimum = spec['optimum']
    near = [set(sorted(range(n), key=lambda j: (dist[i][j], j))[1:NEAR + 1]) for i in range(n)]
    short = sum(1 for k in range(n) if tour[(k + 1) % n] in near[tour[k]] or tour[k] in near[tour[(k + 1) % n]])
    gap = 100.0 * (length - optimum) / optimum
    return result(True, {'length': float(length), 'gap_pct': gap, 'run_time_s': wall},
                  {'nn_edge_frac': short / n, 'time_frac': wall / limit},
                  f'{spec["name"]}: tour length {length} ({gap:.2f} % above the optimum {optimum}); '
                  f'solve() took {wall:.2f} s of its {limit:g} s', tour=' '.join(map(str, tour)),
                  tour_map=draw(spec['name'], coords, tour, near, length, gap))


if __name__ == '__main__':
    main(evaluate)
