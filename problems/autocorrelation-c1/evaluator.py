"""autocorrelation-c1: minimize 2n * max(f * f) / (sum f)^2 over non-negative step functions with
n = 600 equal steps (f * f is the full discrete convolution), the AlphaEvolve C1 setting.

The candidate's construct_function() runs in a child process; this process only checks its answer.
Constraints are exact: exactly 600 finite values, every value >= 0 (no tolerance: a negative value,
however small, is rejected), and a positive sum.
"""
from fm_draw import Plot, Svg, image
from fm_evalkit import CandidateError, call_candidate, main, result

N = 600
REFERENCE = 1.5052940  # AlphaEvolve (600 steps)
CANDIDATE_TIMEOUT_S = 60.0


def draw(f, conv, total, score):
    """f as steps on [-1/4, 1/4]; below, its autoconvolution (scaled as the bound) with the maximum marked."""
    s = Svg(560, 430)
    fmax = max(float(f.max()), 1e-12)
    top = Plot(s, 60, 24, 480, 150, (-0.25, 0.25), (0, fmax * 1.05))
    top.axes(xticks=[-0.25, 0, 0.25]).steps(f.tolist(), -0.25, 0.5 / len(f))
    s.text(60, 16, f'f: {len(f)} non-negative steps on [-1/4, 1/4]', size=12)
    scaled = 2 * len(f) * conv / total ** 2
    xs = [-0.5 + (i + 1) * 0.5 / len(f) for i in range(len(scaled))]
    hi = max(float(scaled.max()), 1e-12)
    bottom = Plot(s, 60, 240, 480, 140, (-0.5, 0.5), (0, hi * 1.08))
    bottom.axes(xlabel='t', xticks=[-0.5, -0.25, 0, 0.25, 0.5]).curve(xs, scaled.tolist())
    at = int(scaled.argmax())
    s.line(bottom.x(-0.5), bottom.y(hi), bottom.x(0.5), bottom.y(hi), stroke='#d1242f', stroke_dasharray='5 4', stroke_width=1)
    s.circle(bottom.x(xs[at]), bottom.y(hi), 4, fill='#d1242f')
    s.text(60, 232, f'(f * f) scaled as the bound: maximum {score:.7f}', size=12)
    return image(s)


def evaluate(candidate):
    import numpy as np
    value, wall = call_candidate(candidate, 'construct_function', timeout=CANDIDATE_TIMEOUT_S)
    try:
        f = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as e:
        raise CandidateError(f'construct_function() must return {N} numbers: {e}')
    if f.shape != (N,):
        raise CandidateError(f'construct_function() must return exactly {N} step heights (a flat array), got shape {f.shape}')
    if not np.all(np.isfinite(f)):
        raise CandidateError('some step heights are NaN or infinite')
    negative = np.nonzero(f < 0)[0]
    if len(negative):
        raise CandidateError(f'{len(negative)} step heights are negative (first: f[{negative[0]}] = {f[negative[0]]!r}); '
                             'clip them to 0')
    total = f.sum()
    if not total > 0:
        raise CandidateError('the step heights sum to 0')
    conv = np.convolve(f, f)
    score = float(2 * N * conv.max() / total ** 2)
    features = {
        'support_frac': float(np.mean(f > 1e-3 * f.max())),
        'roughness': float(np.abs(np.diff(f)).sum() / total),
    }
    return result(True, {'c1_bound': score, 'run_time_s': wall}, features,
                  f'{N} non-negative steps; 2n max(f*f) / (sum f)^2 = {score:.9f} (AlphaEvolve: {REFERENCE}, lower is better)',
                  step_function=draw(f, conv, total, score))


if __name__ == '__main__':
    main(evaluate)
