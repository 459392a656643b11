"""AHC001 "AtCoder Ad" instance generator, written from the contest's published generation rules
(AtCoder Heuristic Contest 001, problem A, "Input Generation"):

  n = round(50 * 4^u) with u uniform in [0, 1)                          (so 50 <= n <= 200)
  (x_i, y_i): integers uniform in [0, 9999], redrawn until all points are distinct
  q_1 < ... < q_(n-1): n - 1 distinct integers uniform in [1, 10^8 - 1], sorted; q_0 = 0, q_n = 10^8
  r_i = q_(i+1) - q_i                                                    (so sum r_i = 10^8)

The random source is numpy's PCG64 seeded with the given integer, so a seed here does NOT give the
contest's own test case with the same number; the distribution is the contest's.

usage: generator.py SEED            prints the instance in the contest's input format
"""
import math
import sys

SIDE = 10000
TOTAL = SIDE * SIDE


def generate(seed):
    import numpy as np
    rng = np.random.Generator(np.random.PCG64(int(seed)))
    n = int(math.floor(50.0 * 4.0 ** rng.random() + 0.5))
    points, seen = [], set()
    while len(points) < n:
        p = (int(rng.integers(0, SIDE)), int(rng.integers(0, SIDE)))
        if p not in seen:
            seen.add(p)
            points.append(p)
    cuts = set()
    while len(cuts) < n - 1:
        cuts.add(int(rng.integers(1, TOTAL)))
    q = [0] + sorted(cuts) + [TOTAL]
    r = [q[i + 1] - q[i] for i in range(n)]
    return n, points, r


def format_instance(n, points, r):
    return f'{n}\n' + ''.join(f'{x} {y} {ri}\n' for (x, y), ri in zip(points, r))


if __name__ == '__main__':
    sys.stdout.write(format_instance(*generate(int(sys.argv[1]))))
