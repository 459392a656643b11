"""autocorrelation-c1: minimize 2n * max(f * f) / (sum f)^2 over non-negative step functions with
n = 600 equal steps (f * f is the full discrete convolution), the AlphaEvolve C1 setting.

The candidate's construct_function() runs in a child process; this process only checks its answer.
Constraints are exact: exactly 600 finite values, every value >= 0 (no tolerance: a negative value,
however small, is rejected), and a positive sum.
"""
from fm_evalkit import CandidateError, call_candidate, main, result

N = 600
REFERENCE = 1.5052940  # AlphaEvolve (600 steps)
CANDIDATE_TIMEOUT_S = 60.0


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
                  f'{N} non-negative steps; 2n max(f*f) / (sum f)^2 = {score:.9f} (AlphaEvolve: {REFERENCE}, lower is better)')


if __name__ == '__main__':
    main(evaluate)
