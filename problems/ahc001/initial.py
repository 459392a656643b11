"""Seed for ahc001 (AtCoder Ad): every ad starts as the 1x1 cell of its point and greedily grows,
a few pixels per side per round, while it stays below its requested area and overlaps nobody.

Contest I/O: the instance on stdin ("n" then n lines "x y r"), n lines "a b c d" on stdout.
argv[1], when given, is the time budget in seconds for this case.
"""
import sys
import time

import numpy as np

SIDE = 10000

# EVOLVE-BLOCK-START
STEP_FRAC = 0.08       # a side moves by at most this fraction of sqrt(r) per round
MAX_ROUNDS = 200       # growth rounds (each visits every ad once)
ORDER = 'small-first'  # 'small-first' grows the ads that want little area first
SAFETY = 0.8           # fraction of the time budget used before printing


def grow_order(r):
    idx = np.argsort(r, kind='stable')
    return idx if ORDER == 'small-first' else idx[::-1]


def room(i, side, a, b, c, d):
    """How far side `side` (0 left, 1 bottom, 2 right, 3 top) of ad i can move before a collision."""
    if side in (0, 2):
        rows = (b < d[i]) & (d > b[i])
        rows[i] = False
        if side == 0:
            walls = c[rows & (c <= a[i])]
            return a[i] - (walls.max() if walls.size else 0)
        walls = a[rows & (a >= c[i])]
        return (walls.min() if walls.size else SIDE) - c[i]
    cols = (a < c[i]) & (c > a[i])
    cols[i] = False
    if side == 1:
        walls = d[cols & (d <= b[i])]
        return b[i] - (walls.max() if walls.size else 0)
    walls = b[cols & (b >= d[i])]
    return (walls.min() if walls.size else SIDE) - d[i]


def grow(x, y, r, deadline):
    a, b = x.copy(), y.copy()
    c, d = x + 1, y + 1
    step = np.maximum(1, (STEP_FRAC * np.sqrt(r)).astype(np.int64))
    for _ in range(MAX_ROUNDS):
        if time.time() > deadline:
            break
        changed = False
        for i in grow_order(r):
            for side in (0, 1, 2, 3):
                w, h = c[i] - a[i], d[i] - b[i]
                span = h if side in (0, 2) else w
                by_area = (r[i] - w * h) // span  # keep the area at most r_i
                move = min(step[i], room(i, side, a, b, c, d), by_area)
                if move <= 0:
                    continue
                if side == 0:
                    a[i] -= move
                elif side == 1:
                    b[i] -= move
                elif side == 2:
                    c[i] += move
                else:
                    d[i] += move
                changed = True
        if not changed:
            break
    return a, b, c, d
# EVOLVE-BLOCK-END


def main():
    budget = float(sys.argv[1]) if len(sys.argv) > 1 else 4.5
    deadline = time.time() + SAFETY * budget
    data = sys.stdin.read().split()
    n = int(data[0])
    v = np.array(data[1:1 + 3 * n], dtype=np.int64).reshape(n, 3)
    a, b, c, d = grow(v[:, 0], v[:, 1], v[:, 2], deadline)
    sys.stdout.write(''.join(f'{a[i]} {b[i]} {c[i]} {d[i]}\n' for i in range(n)))


if __name__ == '__main__':
    main()
