"""Seed for the tsp-* problems: nearest-neighbour construction, then 2-opt and Or-opt local search
on candidate (nearest-neighbour) lists until no move improves the tour.

solve(coords, dist, time_limit) returns the tour as a permutation of 0..n-1 (0-based city indices,
the order of the instance file). dist[i][j] is TSPLIB's integer distance, the one the score uses.
"""
import time

import numpy as np

# EVOLVE-BLOCK-START
NEIGHBORS = 8        # size of each city's candidate list for the local search
START_CITY = 0       # where the nearest-neighbour construction starts
OR_OPT_MAX = 3       # longest segment Or-opt may move
SAFETY = 0.85        # fraction of the time limit the local search may use


def construct(dist, n):
    """Nearest-neighbour tour."""
    tour = [START_CITY % n]
    free = np.ones(n, dtype=bool)
    free[tour[0]] = False
    for _ in range(n - 1):
        row = np.where(free, dist[tour[-1]], np.iinfo(np.int64).max)
        nxt = int(np.argmin(row))
        tour.append(nxt)
        free[nxt] = False
    return tour


def improve(tour, d, neigh, deadline):
    """Alternate 2-opt and Or-opt passes until neither finds an improving move."""
    while time.time() < deadline:
        moved = two_opt(tour, d, neigh, deadline)
        moved = or_opt(tour, d, neigh, deadline) or moved
        if not moved:
            break
    return tour
# EVOLVE-BLOCK-END


def two_opt(tour, d, neigh, deadline):
    """First-improvement 2-opt over candidate lists; edits `tour` in place."""
    n = len(tour)
    pos = [0] * n
    for i, c in enumerate(tour):
        pos[c] = i
    improved_any = False
    improved = True
    while improved and time.time() < deadline:
        improved = False
        for i in range(n):
            a, b = tour[i], tour[(i + 1) % n]
            for c in neigh[a]:
                j = pos[c]
                e = tour[(j + 1) % n]
                if c == b or e == a:
                    continue
                delta = d[a][c] + d[b][e] - d[a][b] - d[c][e]
                if delta < 0:
                    # reverse the path b .. c (positions i+1 .. j, cyclically)
                    lo, hi = (i + 1) % n, j
                    length = (hi - lo) % n + 1
                    for k in range(length // 2):
                        p, q = (lo + k) % n, (hi - k) % n
                        tour[p], tour[q] = tour[q], tour[p]
                        pos[tour[p]], pos[tour[q]] = p, q
                    improved = improved_any = True
                    break
            if improved:
                break
    return improved_any


def or_opt(tour, d, neigh, deadline):
    """Move a segment of 1..OR_OPT_MAX cities (either orientation) next to a neighbour; in place."""
    n = len(tour)
    improved_any = False
    improved = True
    while improved and time.time() < deadline:
        improved = False
        for length in range(1, min(OR_OPT_MAX, n - 3) + 1):
            for i in range(n):
                seg = [tour[(i + k) % n] for k in range(length)]
                prev, nxt = tour[(i - 1) % n], tour[(i + length) % n]
                gain = d[prev][seg[0]] + d[seg[-1]][nxt] - d[prev][nxt]
                if gain <= 0:
                    continue
                inside = set(seg)
                rest = [x for x in tour if x not in inside]
                where = {x: k for k, x in enumerate(rest)}
                m = len(rest)
                best = None
                for end in (seg[0], seg[-1]):
                    for c in neigh[end]:
                        if c in inside:
                            continue
                        k = where[c]
                        for at in ((k - 1) % m, k):  # insert between rest[at] and rest[at + 1]
                            u, v = rest[at], rest[(at + 1) % m]
                            for s in (seg, seg[::-1]):
                                saving = gain - (d[u][s[0]] + d[s[-1]][v] - d[u][v])
                                if saving > 0 and (best is None or saving > best[0]):
                                    best = (saving, at, s)
                if best is not None:
                    _, at, s = best
                    tour[:] = rest[:at + 1] + list(s) + rest[at + 1:]
                    improved = improved_any = True
                    break
            if improved:
                break
    return improved_any


def solve(coords, dist, time_limit):
    start = time.time()
    deadline = start + SAFETY * float(time_limit)
    dist = np.asarray(dist, dtype=np.int64)
    n = len(dist)
    order = np.argsort(dist + np.diag(np.full(n, np.iinfo(np.int64).max // 4)), axis=1)
    neigh = [list(map(int, row[:max(1, min(NEIGHBORS, n - 1))])) for row in order]
    d = dist.tolist()
    tour = construct(dist, n)
    return improve(tour, d, neigh, deadline)
