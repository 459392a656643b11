"""Evaluator shared by the gpu-* problems (master copy: problems/_common/gpu/evaluator.py).

KernelBench style: reference.py defines Model, get_inputs() and get_init_inputs(); the candidate
defines ModelNew with the same constructor arguments and forward signature. The worker's harness
(fm_kernelbench.evaluate_kernel, on GPU workers) checks ModelNew against Model on random inputs and
times both; speedup = PyTorch eager reference time / candidate time. This file adds two features
read from the candidate's source and passes the harness's result through.

usage: evaluator.py [--device DEV] CANDIDATE   (the worker passes only CANDIDATE; DEV is for tests)
"""
import json
import os
import re
import sys

from fm_draw import timing_strips
from fm_evalkit import CandidateError, main

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, 'tolerance.json')) as _f:
    TOLERANCE = json.load(_f)

# a candidate that compiles its own kernels rather than recombining PyTorch ops
CUSTOM = re.compile(r'load_inline|cpp_extension|import\s+triton|from\s+triton|__global__|cupy|numba\.cuda')


def device_arg():
    args = sys.argv[1:-1]
    return args[args.index('--device') + 1] if '--device' in args else None


def evaluate(candidate):
    try:
        from fm_kernelbench import evaluate_kernel
    except ImportError:
        raise CandidateError('the kernel harness fm_kernelbench is not importable: GPU problems run on FM Agent GPU '
                             'workers (fm-agent worker --gpu), which put workers/python on PYTHONPATH',
                             evaluator_error=True)
    res = evaluate_kernel(os.path.join(HERE, 'reference.py'), os.path.abspath(candidate), device=device_arg(),
                          atol=TOLERANCE['atol'], rtol=TOLERANCE['rtol'])
    res = dict(res)
    with open(candidate, errors='replace') as f:
        source = f.read()
    features = dict(res.get('features') or {})
    features['custom_kernel'] = 1.0 if CUSTOM.search(source) else 0.0
    features['source_lines'] = float(sum(1 for line in source.splitlines() if line.strip()))
    res['features'] = features
    timing = (res.get('artifacts') or {}).get('timing_ms') or {}
    ref, new = (timing.get('reference') or {}).get('run'), (timing.get('candidate') or {}).get('run')
    if res.get('valid') and ref and new:
        speedup = (res.get('metrics') or {}).get('speedup') or 0.0
        res['artifacts'] = dict(res['artifacts'], timings=timing_strips(
            [('PyTorch eager', ref, '#8b949e'), ('ModelNew', new, '#1f6feb')],
            f'{len(new)} timed runs each, alternating; speedup {speedup:.3f}x (median over median)',
            'time of one forward call on the GPU (ms)'))
    return res


if __name__ == '__main__':
    main(evaluate)
