// ShinkaEvolve task folders (evaluate.py + initial.<ext>) run unchanged: the worker calls
// `evaluate.py --program_path <candidate> --results_dir <dir>` as ShinkaEvolve does, with a
// `shinka.core.run_shinka_eval` in the sandbox, and reads metrics.json / correct.json
// (workers/python/fm_shinka.py). Programs in any language run when the evaluator's toolchain is there.
import { existsSync, readFileSync } from 'node:fs'
import { basename, extname, join } from 'node:path'
import { ProblemSpec, type ProblemSpecInput } from '../contracts/problem.ts'
import { hasToolchain, missingToolchainMessage } from '../../workers/toolchains.ts'
import { readFolder } from './bundle.ts'
import { EXT_LANG, finish, type LoadedProblem, ProblemLoadError, slug } from './common.ts'

/** ShinkaEvolve sets no evaluation time limit of its own; this one keeps a runaway candidate bounded. */
export const SHINKA_TIMEOUT_S = 300

export function loadShinka(folder: string, initial: string): LoadedProblem {
  const ext = extname(initial)
  const language = EXT_LANG[ext]
  if (!language)
    throw new ProblemLoadError(
      `${folder}: ${initial} is in a language FM Agent does not know (known: ${Object.keys(EXT_LANG).join(' ')})`,
    )
  const warnings: string[] = []
  if (!hasToolchain(language))
    warnings.push(missingToolchainMessage(language, `${initial} is ${language}: its evaluations`))
  const hasReadme = existsSync(join(folder, 'README.md'))
  const spec: ProblemSpecInput = {
    id: slug(basename(folder)),
    name: basename(folder),
    format: 'shinka',
    language,
    entry: initial,
    evaluator: 'evaluate.py',
    direction: 'max',
    primaryMetric: 'combined_score',
    features: [],
    limits: { timeoutS: SHINKA_TIMEOUT_S, memoryMb: 2048, gpu: false },
    ...(hasReadme ? { description: readFileSync(join(folder, 'README.md'), 'utf8').slice(0, 100_000) } : {}),
  }
  const parsed = ProblemSpec.parse(spec)
  if (language === 'python')
    warnings.push('ShinkaEvolve evaluators import the candidate: they cannot keep held-out data from it')
  const files = readFolder(folder, { 'problem.json': JSON.stringify(parsed, null, 2) }, warnings)
  return finish(folder, parsed, files, { warnings })
}
