// A problem whose score is the sum of the numbers in the program: a seed that scores at once and an
// evaluator that ends at once, for tests that drive a run's commands rather than its search.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export const SUM_SEED = '# EVOLVE-BLOCK-START\na = 1.0\nb = 2.0\nc = 3.0\n# EVOLVE-BLOCK-END\n'

/**
 * Writes the problem into `dir` (created) and returns it. `afterRead`: evaluator lines run once the
 * program's text is in `code` (a test's hold, say).
 */
export function writeSumProblem(dir: string, id: string, afterRead: string[] = []): string {
  mkdirSync(dir, { recursive: true })
  writeFileSync(
    join(dir, 'problem.json'),
    JSON.stringify({
      id,
      name: 'Sum',
      description: 'Maximize the sum of the numbers.',
      language: 'python',
      entry: 'initial.py',
      evaluator: 'evaluator.py',
      direction: 'max',
      primaryMetric: 'score',
      limits: { timeoutS: 600, memoryMb: 512 },
    }),
  )
  writeFileSync(join(dir, 'initial.py'), SUM_SEED)
  writeFileSync(
    join(dir, 'evaluator.py'),
    [
      'import json, re, sys',
      'code = open(sys.argv[1]).read()',
      ...afterRead,
      'nums = [float(x) for x in re.findall(r"-?\\d+\\.?\\d*", code)]',
      'print(json.dumps({"valid": True, "metrics": {"score": sum(nums)}}))',
    ].join('\n'),
  )
  return dir
}
