"""cpu-matmul: speedup of a C++ double-precision matrix multiply over the naive triple loop.

The worker compiles the candidate (problem.json "build") and passes the BINARY as the last argument
(its source path is in FM_CANDIDATE_SOURCE). This evaluator compiles baseline.cpp with the same
flags, checks the candidate's results against numpy on fresh random inputs of several sizes, then
times both programs from outside (never trusting anything the binaries print). Both run the same way,
through fm_evalkit.run_untrusted (the worker's child sandbox: this folder out of sight):

  ROUNDS interleaved pairs (baseline, candidate, baseline, candidate, ...) at n = TIMING_N, each a
  fresh process on a fresh random input, wall-clock measured here around the whole process;
  speedup = median(baseline seconds) / median(candidate seconds).

Interleaving makes both medians see the same machine load, so the ratio stays stable on a busy
machine. Every timed output is checked too. Secondary (a feature, repeatable): instructions per
multiply-add counted by valgrind's callgrind when valgrind runs here, on the candidate's source built
without -march=native: valgrind cannot decode every instruction set a CPU has (3.19 dies on AVX-512
with SIGILL), and a portable build counts the same on every machine.
"""
import json
import os
import re
import shutil
import statistics
import struct
import tempfile
import time

from fm_draw import timing_strips
from fm_evalkit import CandidateError, main, result, run_process, run_untrusted, tail

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, 'problem.json')) as _f:
    BUILD = json.load(_f)['build']  # the baseline is built exactly like the candidate
CHECK_SIZES = (1, 2, 7, 33, 100, 129)  # odd and unaligned sizes catch tiling bugs
TIMING_N = 384
ROUNDS = 7
ATOL = 1e-9          # float64 results; a float32 kernel is off by ~1e-5 and fails
RUN_TIMEOUT_S = 10.0  # one run of either program
TOTAL_S = 90.0        # all runs together, so that a very slow candidate ends as a clear invalid result
CALLGRIND_N = (8, 96)


def write_input(path, rng, n):
    import numpy as np
    a = rng.uniform(-1.0, 1.0, (n, n))
    b = rng.uniform(-1.0, 1.0, (n, n))
    with open(path, 'wb') as f:
        f.write(struct.pack('<i', n))
        a.tofile(f)
        b.tofile(f)
    return a, b


DEADLINE = [time.monotonic() + TOTAL_S]


def run_once(binary, inp, who):
    """Runs one program on one input in a fresh work folder; returns (Completed, path of its output)."""
    left = DEADLINE[0] - time.monotonic()
    if left <= 0:
        raise CandidateError(f'the candidate is too slow: the checks and timed runs did not finish within {TOTAL_S:g} s')
    limit = min(RUN_TIMEOUT_S, left)
    r = run_untrusted(['./program', 'in.bin', 'out.bin'], timeout=limit, files={'program': binary, 'in.bin': inp})
    if r.timed_out:
        shutil.rmtree(r.workdir, ignore_errors=True)
        raise CandidateError(f'{who} did not finish within {limit:g} s')
    if r.returncode != 0:
        shutil.rmtree(r.workdir, ignore_errors=True)
        raise CandidateError(f'{who} exited with code {r.returncode}', stderr=tail(r.stderr))
    return r, os.path.join(r.workdir, 'out.bin')


def checked(binary, inp, who, a, b, n):
    r, out = run_once(binary, inp, who)
    try:
        if a is not None:
            check_output(out, a, b, n)
    finally:
        shutil.rmtree(r.workdir, ignore_errors=True)
    return r


def check_output(out, a, b, n):
    import numpy as np
    if not os.path.exists(out) or os.path.getsize(out) != 8 * n * n:
        raise CandidateError(f'n = {n}: the output file must hold exactly {n * n} doubles')
    c = np.fromfile(out, dtype='<f8').reshape(n, n)
    err = np.abs(c - a @ b)
    if not np.all(np.isfinite(c)) or err.max() > ATOL:
        i, j = np.unravel_index(np.nanargmax(np.where(np.isfinite(err), err, np.inf)), err.shape)
        raise CandidateError(f'n = {n}: wrong result, C[{i}][{j}] = {c[i, j]!r}, expected {(a @ b)[i, j]!r} '
                             f'(max error {np.nanmax(err):.3e} > {ATOL:g})')


def counting_binary(binary, tmp):
    """The binary callgrind counts: the candidate's source built portably, else the binary itself."""
    source = os.environ.get('FM_CANDIDATE_SOURCE')
    if not source or not os.path.exists(source):
        return binary
    out = os.path.join(tmp, 'counted')
    flags = [p for p in BUILD.split() if not p.startswith('-march=') and not p.startswith('-mtune=')]
    cmd = [part.format(candidate=source, output=out) for part in flags]
    r = run_process(cmd, timeout=120, cwd=tmp)
    # intrinsics for a wider instruction set do not build portably: count the real binary then
    return out if r.returncode == 0 else binary


def callgrind_instructions(binary, inp):
    r = run_untrusted(['valgrind', '--tool=callgrind', '--callgrind-out-file=/dev/null', './program', 'in.bin', 'out.bin'],
                      timeout=30, files={'program': binary, 'in.bin': inp})
    shutil.rmtree(r.workdir, ignore_errors=True)
    m = re.search(rb'Collected\s*:\s*(\d+)', r.stderr or b'')
    return int(m.group(1)) if (m and r.returncode == 0) else None


def evaluate(binary):
    import numpy as np
    rng = np.random.default_rng()  # fresh inputs every evaluation: nothing to memorize
    DEADLINE[0] = time.monotonic() + TOTAL_S
    with tempfile.TemporaryDirectory(prefix='fm-matmul-') as tmp:
        base = os.path.join(tmp, 'baseline')
        cmd = [part.format(candidate=os.path.join(HERE, 'baseline.cpp'), output=base) for part in BUILD.split()]
        r = run_process(cmd, timeout=120, cwd=tmp)
        if r.returncode != 0:
            raise RuntimeError('could not compile baseline.cpp: ' + tail(r.stderr))
        binary = os.path.abspath(binary)
        inp = os.path.join(tmp, 'in.bin')
        for n in CHECK_SIZES:
            a, b = write_input(inp, rng, n)
            checked(binary, inp, f'the candidate (n = {n})', a, b, n)
        base_t, cand_t, cand_cpu = [], [], []
        for _ in range(ROUNDS):
            write_input(inp, rng, TIMING_N)
            base_t.append(checked(base, inp, 'the baseline', None, None, TIMING_N).wall_s)
            a, b = write_input(inp, rng, TIMING_N)
            r = checked(binary, inp, f'the candidate (n = {TIMING_N})', a, b, TIMING_N)
            cand_t.append(r.wall_s)
            cand_cpu.append(r.cpu_s / r.wall_s if r.wall_s > 0 else 1.0)
        counts = [None]
        if shutil.which('valgrind'):
            counted = counting_binary(binary, tmp)
            counts = []
            for n in CALLGRIND_N:
                write_input(inp, rng, n)
                counts.append(callgrind_instructions(counted, inp))
    speedup = statistics.median(base_t) / statistics.median(cand_t)
    metrics = {'speedup': speedup, 'time_ms': 1e3 * statistics.median(cand_t),
               'baseline_ms': 1e3 * statistics.median(base_t)}
    features = {'cpu_util': statistics.median(cand_cpu)}
    note = ''
    if None not in counts:
        (n0, n1), (c0, c1) = CALLGRIND_N, counts
        features['instr_per_fma'] = max(0.0, (c1 - c0) / (n1 ** 3 - n0 ** 3))
    else:
        note = ' (no instruction count: valgrind is not installed or could not run the program)'
    return result(True, metrics, features,
                  f'correct on n = {", ".join(map(str, CHECK_SIZES))} and {TIMING_N}; median of {ROUNDS} interleaved runs: '
                  f'candidate {metrics["time_ms"]:.1f} ms, naive baseline {metrics["baseline_ms"]:.1f} ms, '
                  f'speedup {speedup:.2f}x{note}',
                  timings_ms={'baseline': [round(1e3 * t, 3) for t in base_t],
                              'candidate': [round(1e3 * t, 3) for t in cand_t]},
                  timings=timing_strips([('baseline', [1e3 * t for t in base_t], '#8b949e'), ('candidate', [1e3 * t for t in cand_t], '#1f6feb')],
                                        f'{ROUNDS} interleaved rounds; speedup {speedup:.2f}x (median over median)',
                                        f'wall time of one run at n = {TIMING_N} (ms), process start and file I/O included',
                                        lambda ms: f'{2 * TIMING_N ** 3 / ms / 1e6:.2f} GFLOP/s'))


if __name__ == '__main__':
    main(evaluate)
