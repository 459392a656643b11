// problem.json, the native problem format (docs/architecture.md#problem-folders), as a zod schema.
import { z } from 'zod'
import { Language } from './evaluation.ts'

export const ProblemId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits, ".", "_" and "-", starting with a letter or digit')

export const FeatureSpec = z.union([
  z.string().min(1).max(64),
  z
    .object({
      name: z.string().min(1).max(64),
      min: z.number().optional(),
      max: z.number().optional(),
      bins: z.number().int().min(1).max(100).optional(),
    })
    .refine((f) => f.min === undefined || f.max === undefined || f.min < f.max, 'min must be below max'),
])
export type FeatureSpec = z.infer<typeof FeatureSpec>

export const CascadeStage = z
  .object({
    /** a command run like the evaluator ({candidate} replaced), or a function name of a Python evaluator */
    command: z.string().min(1).max(1000).optional(),
    function: z.string().min(1).max(128).optional(),
    /** the stage's primary metric must reach this (in the problem's direction) for the next stage to run */
    threshold: z.number().optional(),
  })
  .refine((s) => !!s.command !== !!s.function, 'a cascade stage has exactly one of "command" or "function"')

export const ProblemLimits = z.object({
  timeoutS: z
    .number()
    .positive()
    .max(24 * 3600)
    .default(30),
  memoryMb: z
    .number()
    .int()
    .min(64)
    .max(1024 * 1024)
    .default(2048),
  cpuS: z
    .number()
    .positive()
    .max(24 * 3600)
    .optional(),
  gpu: z.boolean().default(false),
})

/**
 * What the machine that evaluates must have beyond what the language implies (client-safe/needs.ts
 * derives the rest: Python for the sandbox, the compiler of `build`, a GPU for `limits.gpu`).
 */
export const ProblemRequires = z.object({
  /** Python modules the evaluator or the seed import, by import name (`sklearn`, not scikit-learn) */
  python: z
    .array(
      z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a top-level module name such as numpy')
        .max(64),
    )
    .max(32)
    .default([]),
  /** programs the evaluator calls, found on the sandbox's PATH (/usr/bin, /bin, /usr/local/bin) */
  commands: z
    .array(
      z
        .string()
        .regex(/^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/, 'a program name such as valgrind')
        .max(64),
    )
    .max(16)
    .default([]),
})
export type ProblemRequires = z.infer<typeof ProblemRequires>

/** How model prompts are built for this problem (OpenEvolve's `prompt` settings map here). */
export const PromptSettings = z.object({
  /** the system message of every prompt (the search's own rules are appended to it) */
  systemMessage: z.string().min(1).max(20_000).optional(),
  /** show the evaluator's artifacts of the parent in the next prompt (default true) */
  includeArtifacts: z.boolean().optional(),
  /** characters of each artifact kept in a prompt before budget trimming (default 3000) */
  maxArtifactChars: z.number().int().min(100).max(200_000).optional(),
})
export type PromptSettings = z.infer<typeof PromptSettings>

/** The task formats a problem can come in (detected by server/problems/load.ts). */
export const PROBLEM_FORMATS = ['native', 'openevolve', 'shinka', 'kernelbench'] as const

export const ProblemSpec = z.object({
  id: ProblemId,
  /** openevolve: `evaluator.py` exposes evaluate(program_path) (and evaluate_stage1/2/3); the worker adapts it.
   * shinka: `evaluate.py --program_path P --results_dir D` writes metrics.json/correct.json (run_shinka_eval).
   * kernelbench: a task file (Model, get_inputs, get_init_inputs) checked and timed by the kernel harness. */
  format: z.enum(PROBLEM_FORMATS).default('native'),
  name: z.string().min(1).max(200),
  description: z.string().max(100_000).optional(),
  language: Language,
  entry: z.string().min(1).max(500),
  /**
   * what the evaluator calls in a program (`def predict(x: float) -> float`): with it, a problem may
   * come without its entry program, and the cold start writes the first programs from the description
   */
  signature: z.string().min(1).max(4000).optional(),
  evaluator: z.string().min(1).max(1000),
  direction: z.enum(['max', 'min']),
  primaryMetric: z.string().min(1).max(128),
  features: z.array(FeatureSpec).max(4).default([]),
  limits: ProblemLimits.default({ timeoutS: 30, memoryMb: 2048, gpu: false }),
  reference: z
    .object({
      value: z.number(),
      source: z.string().min(1).max(1000),
      /**
       * the value is a proven optimum (a TSPLIB tour, not a best-known bound): an island that reaches it
       * is done, so it never counts as stalled (no escalations, no `run.stalled` notice)
       */
      optimal: z.boolean().optional(),
      /** other published values worth showing (e.g. a newer best, a classic baseline) */
      others: z
        .array(z.object({ label: z.string().max(200), value: z.number() }))
        .max(20)
        .optional(),
    })
    .optional(),
  cascade: z.array(CascadeStage).max(8).optional(),
  /** c/cpp/cuda: the compile command ({candidate} → the source, {output} → the binary the evaluator then
   * receives); default `g++ -O2 -std=c++17 {candidate} -o {output}` */
  build: z.string().min(1).max(1000).optional(),
  /** files of the folder that only the evaluator may read (held-out data, private seeds) */
  private: z.array(z.string().max(500)).max(100).optional(),
  tags: z.array(z.string().max(64)).max(20).optional(),
  requires: ProblemRequires.optional(),
  prompt: PromptSettings.optional(),
  /**
   * Evaluator integrity: a stage never shown to the search (other seeds, other instances). Its
   * evaluations run the same evaluator with FM_HELD_OUT=1 and these variables set; the top
   * candidates of a run are re-evaluated on it at the end (and on request) to flag overfitting.
   */
  heldOut: z
    .object({
      /** what the stage is, for the console ("5 other Weibull instances") */
      description: z.string().min(1).max(500).optional(),
      env: z
        .record(
          z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'an upper-case environment variable name'),
          z.string().max(1000),
        )
        .refine((e) => Object.keys(e).length <= 16, 'at most 16 variables')
        .default({}),
      /** candidates re-evaluated at the end of a run: the best k by search score */
      topK: z.number().int().min(1).max(50).default(5),
      /**
       * flags overfitting: a candidate losing more than this share of its improvement over the seed
       * on the held-out stage (against the seed's own held-out score); without one, a held-out score
       * worse than the search score by more than this share of it
       */
      tolerance: z.number().min(0).max(10).default(0.05),
    })
    .strict()
    .optional(),
  /** LLM-supervised feedback: what a run's judge model rates candidates against (a default rubric otherwise) */
  judge: z
    .object({ rubric: z.string().min(1).max(8000).optional() })
    .strict()
    .optional(),
  /** openevolve: keyword arguments passed to evaluate() (OpenEvolve's evaluator.evaluator_args) */
  evaluatorArgs: z
    .record(z.string().max(128), z.unknown())
    .refine((v) => JSON.stringify(v).length <= 64_000, 'evaluatorArgs: at most 64,000 characters of JSON')
    .optional(),
  /** the problem's family (built-in: packing-geometry, extremal-functions, tsp, online-bin-packing,
   * kernels, tabular-ml): knowledge documents tagged with it are preferred when its runs retrieve */
  family: z
    .string()
    .max(40)
    .regex(
      /^[a-z0-9][a-z0-9._+-]*$/,
      'lower-case letters, digits and . _ + -, starting with a letter or digit (it is also a knowledge tag)',
    )
    .optional(),
  /**
   * helpers from the shared library (problems/_common, server/problems/shared.ts) placed into the
   * bundle at their base name when the problem is loaded; a `.tmpl` file is rendered with `sharedValues`
   */
  shared: z
    .array(
      z
        .string()
        .max(200)
        .regex(
          /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*\.[A-Za-z0-9.]+$/,
          'a file of problems/_common, such as fm_evalkit.py or tsp/evaluator.py',
        ),
    )
    .max(32)
    .optional(),
  /** the values of the `{{name}}` placeholders in the shared `.tmpl` files */
  sharedValues: z
    .record(
      z
        .string()
        .regex(/^[a-z_][a-z0-9_]*$/)
        .max(64),
      z.union([z.string().max(2000), z.number(), z.array(z.union([z.string().max(200), z.number()])).max(100)]),
    )
    .optional(),
})
export type ProblemSpec = z.infer<typeof ProblemSpec>
export type ProblemSpecInput = z.input<typeof ProblemSpec>
