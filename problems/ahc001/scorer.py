"""AHC001 scoring, as the contest defines it (problem A, "Scoring").

Output: n lines "a b c d", integers with 0 <= a < c <= 10000 and 0 <= b < d <= 10000, one rectangle
per company in input order. Rectangles may touch but must not overlap (no common area of positive
size). Company i is satisfied only if its rectangle contains the point (x_i + 0.5, y_i + 0.5), i.e.
a <= x_i < c and b <= y_i < d; then with s_i the area,
    p_i = 1 - (1 - min(r_i, s_i) / max(r_i, s_i))^2,   otherwise p_i = 0.
Case score = round(10^9 * sum(p_i) / n). A malformed or overlapping output scores 0 for the case
(a wrong answer in the contest).

usage: scorer.py INPUT OUTPUT       prints the case score (and the reason when it is 0)
"""
import math
import sys

SIDE = 10000


class WrongAnswer(Exception):
    pass


def parse_input(text):
    tokens = text.split()
    n = int(tokens[0])
    companies = [(int(tokens[1 + 3 * i]), int(tokens[2 + 3 * i]), int(tokens[3 + 3 * i])) for i in range(n)]
    return n, companies


def parse_output(text, n):
    tokens = text.split()
    if len(tokens) != 4 * n:
        raise WrongAnswer(f'expected {n} lines of 4 integers ({4 * n} numbers), got {len(tokens)} tokens')
    rects = []
    for i in range(n):
        try:
            a, b, c, d = (int(t) for t in tokens[4 * i:4 * i + 4])
        except ValueError:
            raise WrongAnswer(f'line {i + 1}: not four integers: {" ".join(tokens[4 * i:4 * i + 4])!r}')
        if not (0 <= a < c <= SIDE and 0 <= b < d <= SIDE):
            raise WrongAnswer(f'rectangle {i} ({a} {b} {c} {d}) breaks 0 <= a < c <= {SIDE}, 0 <= b < d <= {SIDE}')
        rects.append((a, b, c, d))
    return rects


def find_overlap(rects):
    """Return a pair of overlapping rectangles, or None (sweep over x, O(n^2) worst case, n <= 200)."""
    order = sorted(range(len(rects)), key=lambda i: rects[i][0])
    for k, i in enumerate(order):
        a, b, c, d = rects[i]
        for j in order[k + 1:]:
            a2, b2, c2, d2 = rects[j]
            if a2 >= c:
                break
            if max(b, b2) < min(d, d2):
                return i, j
    return None


def score_case(input_text, output_text):
    """Return (case score, details dict). Raises nothing: a wrong answer scores 0 with a reason."""
    n, companies = parse_input(input_text)
    try:
        rects = parse_output(output_text, n)
        clash = find_overlap(rects)
        if clash:
            i, j = clash
            raise WrongAnswer(f'rectangles {i} {rects[i]} and {j} {rects[j]} overlap')
    except WrongAnswer as e:
        return 0, {'n': n, 'wrong_answer': str(e)}
    total, used, aspect, satisfied = 0.0, 0, 0.0, 0
    for (x, y, r), (a, b, c, d) in zip(companies, rects):
        s = (c - a) * (d - b)
        used += s
        aspect += abs(math.log((c - a) / (d - b)))
        if a <= x < c and b <= y < d:
            satisfied += 1
            total += 1.0 - (1.0 - min(r, s) / max(r, s)) ** 2
    return round(1e9 * total / n), {'n': n, 'coverage': used / SIDE ** 2, 'mean_log_aspect': aspect / n,
                                     'points_covered': satisfied}


if __name__ == '__main__':
    with open(sys.argv[1]) as f_in, open(sys.argv[2]) as f_out:
        score, details = score_case(f_in.read(), f_out.read())
    print(score)
    if 'wrong_answer' in details:
        print('wrong answer:', details['wrong_answer'], file=sys.stderr)
