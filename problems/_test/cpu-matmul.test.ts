// cpu-matmul: the naive seed evaluates valid at a speedup of about 1, the speedup is the ratio of the
// medians of interleaved, repeated runs (structure asserted, not speed), and wrong kernels are rejected.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

import { PROBLEMS_DIR, evaluate, expectScored, loadSpec, writeCandidate } from './evaluate.ts'

const SEED = path.join(PROBLEMS_DIR, 'cpu-matmul', 'initial.cpp')

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/** the seed with its EVOLVE block replaced */
function withKernel(kernel: string): string {
  const seed = readFileSync(SEED, 'utf8')
  const start = seed.indexOf('// EVOLVE-BLOCK-START')
  const end = seed.indexOf('// EVOLVE-BLOCK-END')
  return writeCandidate(
    seed.slice(0, start) + '// EVOLVE-BLOCK-START\n' + kernel + '\n' + seed.slice(end),
    'candidate.cpp',
  )
}

describe('cpu-matmul', () => {
  it('seed evaluates valid; speedup is the ratio of medians of interleaved repeated runs', async () => {
    const spec = loadSpec('cpu-matmul')
    const out = await evaluate('cpu-matmul', SEED)
    expectScored(spec, out)
    const timings = out.artifacts.timings_ms as { baseline: number[]; candidate: number[] }
    expect(timings.baseline.length).toBe(timings.candidate.length)
    expect(timings.baseline.length).toBeGreaterThanOrEqual(5)
    expect(timings.baseline.length % 2).toBe(1)
    expect(out.metrics.baseline_ms).toBeCloseTo(median(timings.baseline), 2)
    expect(out.metrics.time_ms).toBeCloseTo(median(timings.candidate), 2)
    expect(out.metrics.speedup).toBeCloseTo(median(timings.baseline) / median(timings.candidate), 2)
    expect(out.feedback).toMatch(/median of \d+ interleaved runs/)
  }, 120_000)

  it('rejects a kernel that computes in float32', async () => {
    const kernel = `void matmul(int n, const double* A, const double* B, double* C) {
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j) {
            float s = 0.0f;
            for (int k = 0; k < n; ++k) s += (float)A[(size_t)i * n + k] * (float)B[(size_t)k * n + j];
            C[(size_t)i * n + j] = s;
        }
}`
    const out = await evaluate('cpu-matmul', withKernel(kernel))
    expect(out.valid).toBe(false)
    expect(out.feedback).toMatch(/wrong result/)
  }, 60_000)

  it('rejects a tiled kernel that ignores the ragged edge', async () => {
    const kernel = `void matmul(int n, const double* A, const double* B, double* C) {
    const int T = 4;
    for (size_t i = 0; i < (size_t)n * n; ++i) C[i] = 0.0;
    for (int i = 0; i + T <= n; i += T)
        for (int ii = i; ii < i + T; ++ii)
            for (int k = 0; k < n; ++k)
                for (int j = 0; j < n; ++j) C[(size_t)ii * n + j] += A[(size_t)ii * n + k] * B[(size_t)k * n + j];
}`
    const out = await evaluate('cpu-matmul', withKernel(kernel))
    expect(out.valid).toBe(false)
    expect(out.feedback).toMatch(/n = 1: wrong result|n = 2: wrong result|n = 7: wrong result/)
  }, 60_000)
})
