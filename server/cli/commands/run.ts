import { BASE_URL_ENVS, DEFAULT_KEY_ENVS } from '../../llm/env.ts'
import { preloadProvider, unsetKeyWarning } from '../../llm/chat-model.ts'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import YAML from 'yaml'
import { connectApi } from '../../api/client.ts'
import { PGDATA_DIR } from '../../db/data-dir.ts'
import { builtinProblemIds } from '../../problems/load.ts'
import { parseModelSpec } from '../../../client-safe/model-config.ts'
import { importProblem } from '../../services/problem-catalog.ts'
import {
  RunConfig,
  SEED_PROGRAM_MAX_CHARS,
  type RunConfigInput,
  type SeedProgram,
} from '../../../client-safe/run-config.ts'
import { createRun } from '../../runs/service.ts'
import { InputError, intOption, parse, requestError, UsageError } from '../args.ts'
import { describeIssues, describeUnknownKey, relevantIssues, unknownKeys } from '../../problems/spec-issues.ts'
import type { Command } from '../main.ts'
import { keepWasmOnBaselineCompiler } from '../../db/wasm-tiering.ts'
import {
  driveLocally,
  exitCodeFor,
  followRemotely,
  heldOutFor,
  probeMachineEarly,
  startLocalBackend,
  stopLocalBackend,
  summaryJson,
  summaryText,
} from '../headless-run.ts'

export const run: Command = {
  summary: 'run the search headless on a problem (a built-in id or a problem folder)',
  usage:
    'fm-agent run <problem-id|folder|task.py> [--operators local | --model provider:model …] [--max-evals N] [--islands K] [--seed S]\n' +
    '                 [--concurrency N] [--selection adaptive|top-k|uniform] [--workers N] [--config run.json|yaml] [--seed-program FILE …]\n' +
    '                 [--name NAME] [--json] [--data-dir DIR]\n' +
    '  --name: what the console and fm-agent runs call the run\n' +
    '  --concurrency: model requests in flight at most (default 16; evaluations follow the workers)\n' +
    "  --seed-program: a program the cold start evaluates beside the problem's seed and rewrites from (repeatable)\n" +
    '  --config: any run setting (islands, populationPerIsland, migrationInterval, exploration, stagnationWindow, budget, models, generation…); flags win (a --model it names keeps its prices and settings)',
  async run({ argv, env, log, dataDir, out }) {
    const { values, positionals } = parse(
      'run',
      argv,
      {
        operators: { type: 'string' },
        model: { type: 'string', multiple: true },
        'max-evals': { type: 'string' },
        name: { type: 'string' },
        islands: { type: 'string' },
        seed: { type: 'string' },
        concurrency: { type: 'string' },
        selection: { type: 'string' },
        workers: { type: 'string' },
        config: { type: 'string' },
        'seed-program': { type: 'string', multiple: true },
        json: { type: 'boolean' },
      },
      1,
    )
    const target = positionals[0]
    if (!target) throw new UsageError('which problem? give a problem id (fm-agent problems) or a folder')
    if (values.operators !== undefined && values.operators !== 'local')
      throw new UsageError('--operators takes "local" (or use --model provider:model)')
    const specs = (values.model as string[] | undefined) ?? []
    if (specs.length && values.operators) throw new UsageError('choose --operators local or --model, not both')
    const selection = values.selection as string | undefined
    if (selection && !['adaptive', 'top-k', 'uniform'].includes(selection))
      throw new UsageError('--selection is adaptive, top-k or uniform')
    let fileConfig: RunConfigInput = {}
    if (values.config) {
      try {
        fileConfig = YAML.parse(readFileSync(values.config as string, 'utf8')) ?? {}
      } catch (e) {
        throw new InputError(
          `--config ${values.config}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`,
        )
      }
      if (typeof fileConfig !== 'object' || Array.isArray(fileConfig))
        throw new InputError(`--config ${values.config}: expected an object of run settings`)
      fileConfig = checkConfigFile(values.config as string, fileConfig, log)
    }
    // a --model the config file also names keeps the file's settings for it (prices, weight, base
    // URL...): the command line picks among the file's models, and has no flag for a price
    const models = specs.map((m) => {
      try {
        const bare = parseModelSpec(m)
        const known = fileConfig.models?.find((f) => f.provider === bare.provider && f.model === bare.model)
        return known ? parseModelSpec(m, known) : bare
      } catch (e) {
        throw new UsageError((e as Error).message)
      }
    })
    // neither --model nor --operators: the run config's choice, else the problem's own models
    // (an OpenEvolve config.yaml's llm.models), else the offline operators
    const config: RunConfigInput = {
      ...fileConfig,
      ...(models.length ? { mutator: 'llm', models } : values.operators ? { mutator: 'local' } : {}),
      ...(values['max-evals'] !== undefined
        ? {
            budget: {
              ...(fileConfig.budget ?? {}),
              maxEvals: intOption('max-evals', values['max-evals'], 1, 10_000_000)!,
            },
          }
        : {}),
      ...(values.islands !== undefined ? { islands: intOption('islands', values.islands, 1, 64) } : {}),
      ...(values.seed !== undefined ? { seed: intOption('seed', values.seed, 0, 2 ** 31 - 1) } : {}),
      ...(values.concurrency !== undefined
        ? {
            generation: {
              ...(fileConfig.generation ?? {}),
              maxInFlight: intOption('concurrency', values.concurrency, 1, 1024)!,
            },
          }
        : {}),
      ...(selection ? { selection: selection as 'adaptive' } : {}),
    }
    const seedFiles = (values['seed-program'] as string[] | undefined) ?? []
    if (seedFiles.length)
      config.seedPrograms = [...(fileConfig.seedPrograms ?? []), ...seedFiles.map((f) => readProgramFile(f))]
    const workers = intOption('workers', values.workers, 1, 256)
    const name = typeof values.name === 'string' ? values.name.trim() : ''
    if (name.length > 200) throw new InputError(`--name: at most ${200} characters`)
    const named = name ? { name } : {}

    // a folder, or a KernelBench task file
    const isPath = existsSync(target) && (statSync(target).isDirectory() || target.endsWith('.py'))
    // a problem id has no slash; a path that is not there is a typo to name before anything starts
    if (!isPath && /[/\\]|^\.|\.py$/.test(target))
      throw new InputError(`${target}: no such problem folder or KernelBench task file`)
    // nothing has run here and the id is no built-in problem: a typo, refused before a data folder
    // is made for it (where a folder exists, the problem may be one imported into it)
    if (
      !isPath &&
      !env.DATABASE_URL &&
      !existsSync(join(dataDir(values), PGDATA_DIR)) &&
      !builtinProblemIds().includes(target)
    )
      throw new InputError(
        `no problem "${target}" (fm-agent problems lists them; a folder needs a path such as ./${target})`,
      )
    probeMachineEarly(env)
    keepWasmOnBaselineCompiler()
    let api = await connectApi({
      dataDir: dataDir(values),
      databaseUrl: env.DATABASE_URL,
      log,
      // a run of a folder needs none of the built-in problems: loading and storing them was a
      // second of a first run's start (every command that lists or names problems still syncs them)
      syncProblems: !isPath,
    })
    // a problem id that names nothing is refused before any worker starts
    if (
      !isPath &&
      !api.remote &&
      !(await api.app!.db.prisma.problem.findUnique({ where: { id: target }, select: { id: true } }))
    ) {
      await api.close()
      throw new InputError(
        `no problem "${target}" (fm-agent problems lists them; a folder needs a path such as ./${target})`,
      )
    }
    const backend = api.remote ? null : startLocalBackend(api, log, workers)
    try {
      let problemId = target
      if (isPath) {
        if (api.remote) {
          const r = await api
            .mutate<{ id: string; warnings: string[] }>('problems.import', { path: resolve(target) })
            .catch((e: Error) => {
              throw requestError(e)
            })
          for (const w of r.warnings) log.warn(w)
          problemId = r.id
        } else {
          const r = await importProblem(api.app!.db, target).catch((e: Error) => {
            throw requestError(e)
          })
          for (const w of r.warnings) log.warn(w)
          problemId = r.id
        }
      }
      if (api.remote) {
        // the server's engine calls the model with its own environment: say so where this shell
        // sets any of it (before the server answers, e.g. that it has no key this shell has)
        const names = [
          ...new Set(
            (config.models ?? []).flatMap((m) => [
              ...BASE_URL_ENVS[m.provider],
              ...(m.apiKeyEnv ? [m.apiKeyEnv] : DEFAULT_KEY_ENVS[m.provider]),
            ]),
          ),
        ].filter((n) => process.env[n])
        if (names.length)
          log.warn(
            `the server that holds this folder drives the run with its own environment: this shell's ${names.join(', ')} ${names.length > 1 ? 'are' : 'is'} not used (set them where the server starts, or stop it and run here)`,
          )
      }
      // this process is the engine: a key variable named but unset is said before the first request
      if (!api.remote)
        for (const m of [...(config.models ?? []), ...(config.judge ? [config.judge.model] : [])]) {
          const w = unsetKeyWarning(m)
          if (w) log.warn(w)
        }
      let created: { id: string; config: RunConfig }
      if (api.remote) {
        created = await api
          .mutate<{ id: string; config: RunConfig }>('runs.create', { problemId, config, ...named })
          .catch((e: Error) => {
            throw requestError(e)
          })
      } else {
        created = await createRun(
          api.app!.db,
          { id: null, label: 'cli', role: 'admin', via: 'system' },
          { problemId, config, ...named },
        ).catch((e: Error) => {
          throw requestError(e)
        })
      }
      const runId = created.id
      // loads while the workers come up and the seed is evaluated, not after
      if (!api.remote && created.config.mutator === 'llm')
        for (const m of created.config.models) void preloadProvider(m.provider)
      const maxEvals = created.config.budget.maxEvals
      const used = created.config
      log.info(
        `run ${runId} on ${problemId}: ${used.mutator === 'llm' ? used.models.map((m) => `${m.provider}:${m.model}${m.baseURL ? ` at ${m.baseURL}` : ''}`).join(', ') : 'offline program operators'}, up to ${maxEvals} evaluations`,
      )
      // a stalled island's knowledge would be retrieved for prompts nobody reads: said, not done silently
      if (used.mutator !== 'llm')
        log.info(
          'offline operators read no prompt: the knowledge base (passages, lessons) reaches model runs only; documents tagged "seed" still join the seed programs',
        )
      // the process this command reached through the folder's socket may end with the run
      const reopen = async () => {
        await api.close().catch(() => undefined)
        api = await connectApi({ dataDir: dataDir(values), databaseUrl: env.DATABASE_URL, log, syncProblems: false })
        return api
      }
      const summary = api.remote
        ? await followRemotely(api, runId, maxEvals, log, { reopen })
        : await driveLocally(api, runId, maxEvals, log, backend!)
      out(values.json ? summaryJson(summary, await heldOutFor(api, runId)) : summaryText(summary))
      return exitCodeFor(summary.status, summary.signal)
    } finally {
      await stopLocalBackend(backend)
      await api.close()
    }
  },
}

/** A program file given on the command line (`--seed-program`, `problem check --program`), bounded like every seed program. */
export function readProgramFile(file: string, option = '--seed-program'): SeedProgram {
  let code: string
  try {
    if (!statSync(file).isFile()) throw new Error('not a file')
    if (statSync(file).size > SEED_PROGRAM_MAX_CHARS * 4)
      throw new Error(`larger than ${SEED_PROGRAM_MAX_CHARS.toLocaleString('en')} characters`)
    code = readFileSync(file, 'utf8')
  } catch (e) {
    throw new InputError(
      `${option} ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`,
    )
  }
  if (!code.trim()) throw new InputError(`${option} ${file}: the file is empty`)
  if (code.length > SEED_PROGRAM_MAX_CHARS)
    throw new InputError(`${option} ${file}: larger than ${SEED_PROGRAM_MAX_CHARS.toLocaleString('en')} characters`)
  return { code, label: basename(file).slice(0, 200) }
}

/**
 * A run config file as problem.json is checked: every invalid value named with its path, and each key
 * the schema does not know warned about with the one it most likely meant (parsing alone drops it,
 * leaving the default in force under a typo such as "exploraton").
 */
function checkConfigFile(file: string, raw: RunConfigInput, log: { warn(msg: string): void }): RunConfigInput {
  const parsed = RunConfig.safeParse(raw)
  const unknown = unknownKeys(RunConfig, raw)
  if (!parsed.success) {
    const lines = [...describeIssues(parsed.error, RunConfig, raw), ...unknown.map(describeUnknownKey)]
    const n = relevantIssues(parsed.error).length
    throw new InputError(
      lines.length === 1
        ? `--config ${file}: ${lines[0]}`
        : `--config ${file}: ${n} issue${n > 1 ? 's' : ''}:\n  ${lines.join('\n  ')}`,
    )
  }
  for (const k of unknown) log.warn(`--config ${file}: ${describeUnknownKey(k)}`)
  return raw
}
