"""erdos-min-overlap: Erdős's minimum overlap problem with a 95-step function.

h has 95 values in [0, 1] with sum(h) = 95 / 2; the score is 2 * max_k sum_i h_i (1 - h_(i-k)) / 95,
the maximum over every shift of the full cross-correlation of h with 1 - h (lower is better).

The candidate's construct_step_function() runs in a child process; this process only checks it.
ONE tolerance, TOL = 1e-12: each value in [-TOL, 1 + TOL] and |sum(h) / (95/2) - 1| <= TOL.
"""
from fm_draw import Plot, Svg, image
from fm_evalkit import CandidateError, call_candidate, main, result

N = 95
TOL = 1e-12
REFERENCE = 0.3809230  # AlphaEvolve (95 steps)
CANDIDATE_TIMEOUT_S = 60.0


def draw(h, overlap, score):
    """h as steps on [0, 1]; below, the overlap 2 M_k / n over the shifts k with its maximum marked."""
    s = Svg(560, 430)
    top = Plot(s, 60, 24, 480, 150, (0, 1), (0, 1))
    top.axes(xticks=[0, 0.25, 0.5, 0.75, 1], yticks=[0, 0.5, 1]).steps(list(h), 0.0, 1.0 / len(h))
    s.text(60, 16, f'h: {len(h)} steps in [0, 1], sum n/2', size=12)
    k = list(range(-(len(h) - 1), len(h)))
    hi = max(float(overlap.max()), 1e-12)
    bottom = Plot(s, 60, 240, 480, 140, (k[0], k[-1]), (0, hi * 1.08))
    bottom.axes(xlabel='shift k').curve(k, overlap.tolist())
    at = int(overlap.argmax())
    s.line(bottom.x(k[0]), bottom.y(hi), bottom.x(k[-1]), bottom.y(hi), stroke='#d1242f', stroke_dasharray='5 4', stroke_width=1)
    s.circle(bottom.x(k[at]), bottom.y(hi), 4, fill='#d1242f')
    s.text(60, 232, f'overlap 2 M_k / n by shift; maximum {score:.7f} at k = {k[at]}', size=12)
    return image(s)


def evaluate(candidate):
    import numpy as np
    value, wall = call_candidate(candidate, 'construct_step_function', timeout=CANDIDATE_TIMEOUT_S)
    try:
        h = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as e:
        raise CandidateError(f'construct_step_function() must return {N} numbers: {e}')
    if h.shape != (N,):
        raise CandidateError(f'construct_step_function() must return exactly {N} values (a flat array), got shape {h.shape}')
    if not np.all(np.isfinite(h)):
        raise CandidateError('some values are NaN or infinite')
    bad = np.nonzero((h < -TOL) | (h > 1 + TOL))[0]
    if len(bad):
        raise CandidateError(f'{len(bad)} values lie outside [0, 1] (first: h[{bad[0]}] = {h[bad[0]]!r}; tolerance {TOL:g})')
    target = N / 2.0
    total = float(h.sum())
    if abs(total / target - 1.0) > TOL:
        raise CandidateError(f'sum(h) must be {target} (relative tolerance {TOL:g}), got {total!r}; rescale or shift h')
    overlap = 2.0 * np.correlate(h, 1.0 - h, 'full') / N
    score = float(2.0 * np.correlate(h, 1.0 - h, 'full').max() / N)
    features = {
        'fractional_frac': float(np.mean((h > 0.01) & (h < 0.99))),
        'roughness': float(np.abs(np.diff(h)).sum() / N),
    }
    return result(True, {'overlap': score, 'run_time_s': wall}, features,
                  f'valid step function; max overlap = {score:.9f} (AlphaEvolve: {REFERENCE}, lower is better)',
                  step_function=draw(h, overlap, score))


if __name__ == '__main__':
    main(evaluate)
