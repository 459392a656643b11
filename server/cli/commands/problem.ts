import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { randomUUID } from 'node:crypto'
import {
  BUILTIN_PROBLEMS_DIR,
  builtinProblemIds,
  describeScore,
  FORMAT_NAMES,
  loadProblem,
  ProblemLoadError,
} from '../../problems/load.ts'
import { createRunner, memoryFloor } from '../../../workers/runner.ts'
import { detectIsolation, unsandboxedRefusal } from '../../../workers/sandbox.ts'
import { PrerequisiteError } from '../../errors.ts'
import { detectGpuName } from '../../../workers/toolchains.ts'
import { clipReason, noScoreReason, scoreFromMetrics } from '../../engine/fitness.ts'
import { localReadiness } from '../../setup/check.ts'
import { completeRequires, refusal } from '../../../client-safe/needs.ts'
import { InputError, parse, requestError, UsageError } from '../args.ts'
import { type ApiClient, connectApi } from '../../api/client.ts'
import type { Env } from '../../env.ts'
import type { Logger } from '../../log.ts'
import { importProblem } from '../../services/problem-catalog.ts'
import type { Command } from '../main.ts'
import type { DeletedProblem } from '../../services/deletion.ts'
import { readProgramFile } from './run.ts'

/** The API of this data folder or of the server holding it, for one request; its refusals as input errors. */
async function withApi<T>(ctx: { env: Env; log: Logger; dataDir: string }, fn: (api: ApiClient) => Promise<T>) {
  const api = await connectApi({
    dataDir: ctx.dataDir,
    databaseUrl: ctx.env.DATABASE_URL,
    log: ctx.log,
    syncProblems: false,
  })
  try {
    return await fn(api)
  } catch (e) {
    if (e instanceof ProblemLoadError) throw new InputError(e.message)
    throw requestError(e as Error)
  } finally {
    await api.close()
  }
}

/**
 * Stores a problem folder (or KernelBench task file) without starting a run: in this process's
 * data folder, or through the server that holds it (a path on that machine, as `fm-agent run`).
 */
async function storeProblem(target: string, ctx: { env: Env; log: Logger; dataDir: string }) {
  if (!existsSync(target)) throw new InputError(`${target}: no such problem folder or KernelBench task file`)
  const path = resolve(target)
  return withApi(ctx, async (api) => {
    const r = api.remote
      ? await api.mutate<{ id: string; warnings: string[] }>('problems.import', { path })
      : await importProblem(api.app!.db, path)
    for (const w of r.warnings) ctx.log.warn(w)
    return { id: r.id, warnings: r.warnings }
  })
}

export const problem: Command = {
  summary:
    "problem check <folder|file|built-in id>: detect a problem's format (native, OpenEvolve, ShinkaEvolve, KernelBench), validate it and evaluate its seed in the sandbox (a problem without a seed: its evaluator on an empty program; --program FILE: that program instead, as an exported best); problem import <folder|file>: store it, to start runs of it by id (fm-agent run, the console); problem delete <id>: remove an imported problem no run uses",
  usage:
    'fm-agent problem check <folder|kernelbench-task.py|built-in id> [--program FILE] [--json]\n       fm-agent problem import <folder|kernelbench-task.py> [--json] [--data-dir DIR]\n       fm-agent problem delete <id> [--json] [--data-dir DIR]',
  async run({ argv, env, log, out, dataDir }) {
    const { values, positionals } = parse(
      'problem',
      argv,
      { json: { type: 'boolean' }, program: { type: 'string' } },
      2,
    )
    if (!['check', 'import', 'delete'].includes(positionals[0] ?? ''))
      throw new UsageError(
        positionals[0]
          ? `unknown subcommand "problem ${positionals[0]}"`
          : 'missing subcommand (check, import or delete)',
      )
    const target = positionals[1]
    if (positionals[0] === 'delete') {
      if (!target) throw new UsageError('which problem? (its id: fm-agent problems lists them)')
      const r = await withApi({ env, log, dataDir: dataDir(values) }, (api) =>
        api.mutate<DeletedProblem>('problems.delete', { id: target }),
      )
      out(
        values.json
          ? JSON.stringify(r)
          : `deleted problem ${r.id}${r.documentsUnscoped ? `; its ${r.documentsUnscoped} knowledge document(s) are kept, now for every problem` : ''}`,
      )
      return 0
    }
    if (!target) throw new UsageError('which folder (or KernelBench task file)?')
    if (positionals[0] === 'import') {
      const r = await storeProblem(target, { env, log, dataDir: dataDir(values) })
      out(
        values.json
          ? JSON.stringify(r)
          : `stored problem ${r.id}: start a run with \`fm-agent run ${r.id}\` or from the console's new-run page`,
      )
      return 0
    }
    let p: ReturnType<typeof loadProblem>
    try {
      // a built-in problem by its id, as `fm-agent run` takes it (a folder of that name here wins)
      p = loadProblem(
        !existsSync(target) && builtinProblemIds().includes(target) ? join(BUILTIN_PROBLEMS_DIR, target) : target,
      )
    } catch (e) {
      if (e instanceof ProblemLoadError) throw new InputError(e.message)
      throw e
    }
    const { spec } = p
    // another program than the seed: an exported best, re-evaluated as the search evaluated it
    const programFile = typeof values.program === 'string' ? values.program : null
    const program = programFile ? readProgramFile(programFile, '--program').code : null
    log.info(`format: ${FORMAT_NAMES[spec.format]}`)
    log.info(
      `${spec.id}: ${spec.language}, ${spec.direction === 'max' ? 'maximize' : 'minimize'} "${spec.primaryMetric}", time limit ${spec.limits.timeoutS} s, bundle ${p.bundle.hash.slice(0, 12)} (${p.files.length} files, ${(p.bundle.size / 1024).toFixed(0)} KiB)`,
    )
    for (const m of p.mapped) log.info(`mapped: ${m}`)
    for (const w of p.warnings) log.warn(w)
    const warned = p.warnings.length
    // a task folder from elsewhere first runs here: under the same rule as a run (FM_ALLOW_UNSANDBOXED)
    const isolation = detectIsolation()
    const unsandboxed = unsandboxedRefusal(isolation)
    if (unsandboxed) throw new PrerequisiteError(`this check cannot run the evaluator: ${unsandboxed}`)
    const ready = await localReadiness({ ...spec, requires: completeRequires(spec, p.files) }, { maxAgeMs: 0 })
    if (!ready.ok) log.warn(refusal(spec.id, ready))
    // a KernelBench task on a machine without a GPU: its seed runs on the CPU, at sizes that fit, which
    // validates the task (other GPU problems are sized for a GPU: they are not run here)
    const gpuName = spec.limits.gpu ? detectGpuName() : undefined
    const onCpu = spec.limits.gpu && !gpuName && spec.format === 'kernelbench'
    if (onCpu)
      log.info('no GPU on this machine: the seed runs on the CPU to validate the problem; runs need a GPU worker')
    // no seed program: the evaluator is checked on an empty program (it must run and judge it)
    const seedless = !program && !p.seedCode.trim()
    if (program) log.info(`evaluating ${programFile} instead of the seed`)
    if (seedless)
      log.info(
        `no seed program: an LLM run's cold start writes the first programs from the description${spec.signature ? ` (the evaluator calls: ${spec.signature.split('\n')[0]!.slice(0, 200)})` : ''}`,
      )
    const cacheDir = mkdtempSync(join(tmpdir(), 'fm-check-'))
    const runner = createRunner({
      cacheDir,
      workerId: 'check',
      isolation,
      fetchBundle: async () => p.bundle.data,
      gpu: !!gpuName,
      log: (l) => log.info(l),
    })
    try {
      await runner.start()
      const started = Date.now()
      const evaluate = (heldOut: boolean) =>
        runner.run({
          jobId: randomUUID(),
          runId: 'check',
          problem: { id: spec.id, bundleHash: p.bundle.hash },
          language: spec.language,
          code: program ?? (seedless ? emptyProgram(spec.language) : p.seedCode),
          stage: 0,
          limits: {
            timeoutS: spec.limits.timeoutS,
            memoryMb: spec.limits.memoryMb,
            cpuS: spec.limits.cpuS ?? spec.limits.timeoutS * 2,
          },
          needs: { gpu: !!spec.limits.gpu && !onCpu, languages: [spec.language] },
          attempt: 0,
          ...(heldOut ? { heldOut: true } : {}),
        })
      const r = await evaluate(false)
      const seconds = (Date.now() - started) / 1000
      const score = scoreFromMetrics(r.metrics as Record<string, number>, spec, r.valid)
      // the held-out stage is only ever run at a run's end: a mistake in it would surface there, after
      // the whole budget, so a valid seed is evaluated on it here too
      const held =
        spec.heldOut && !seedless && r.valid && score !== null
          ? await evaluate(true).then((h) => {
              const s = scoreFromMetrics(h.metrics as Record<string, number>, spec, h.valid)
              const feedback = (h.artifacts as Record<string, unknown>).feedback
              return {
                valid: h.valid && s !== null,
                score: s,
                error: h.error ? `${h.error.kind}: ${h.error.message}` : null,
                feedback:
                  h.valid && s === null
                    ? noScoreReason(h.metrics, spec.primaryMetric, h.artifacts)
                    : (feedback ?? null),
              }
            })
          : null
      // a MAP-Elites axis the evaluator never reports stays empty for the whole run
      if (r.valid && score !== null)
        for (const f of spec.features) {
          const name = typeof f === 'string' ? f : f.name
          if (!(name in r.features))
            p.warnings.push(
              `feature "${name}": the ${programFile ? 'program' : 'seed'}'s result has none (features reported: ${Object.keys(r.features).join(', ') || 'none'}): a diversity axis the evaluator never reports stays empty`,
            )
        }
      for (const w of p.warnings.slice(warned)) log.warn(w)
      const artifacts = r.artifacts as Record<string, unknown>
      // a memory limit below what the evaluator needs to start is raised: said, or an out-of-memory
      // message naming the floor ("address-space limit 512 MB") would contradict problem.json
      const floor = memoryFloor(spec, (path) => p.files.some((f) => f.path === path))
      const memoryNote = floor
        ? `memory: limits.memoryMb ${spec.limits.memoryMb} is below the ${floor.mb} MB floor (${floor.because}): evaluations run under an address-space limit of ${floor.mb} MB`
        : ''
      const summary = {
        id: spec.id,
        /** no seed program: `valid` is the evaluator's verdict on an empty program, expected false */
        seedless,
        /** the file evaluated instead of the seed (--program), else null */
        program: programFile,
        signature: spec.signature ?? null,
        format: spec.format,
        formatName: FORMAT_NAMES[spec.format],
        valid: r.valid && score !== null,
        score,
        direction: spec.direction,
        primaryMetric: spec.primaryMetric,
        scoreMeaning: describeScore(spec),
        seconds,
        device: spec.limits.gpu ? (onCpu ? 'cpu' : (gpuName ?? 'gpu')) : 'cpu',
        metrics: r.metrics,
        features: r.features,
        error: r.error ?? null,
        // a result judged valid but without a score: why, before anything the evaluator said
        feedback:
          r.valid && score === null
            ? noScoreReason(r.metrics, spec.primaryMetric, artifacts)
            : (artifacts.feedback ?? null),
        /** how a GPU task was validated on the CPU (KernelBench: at which sizes) */
        cpuCheck: artifacts.cpu_check ?? null,
        mapped: p.mapped,
        warnings: p.warnings,
        unknownKeys: p.unknownKeys,
        /** everything else the evaluator (or the sandbox) said: stderr, stdout, the evaluator's own diagnostics */
        artifacts: Object.fromEntries(Object.entries(artifacts).filter(([k]) => k !== 'feedback')),
        /** the address-space limit evaluations get when a floor raises limits.memoryMb, else null */
        memoryFloorMb: floor?.mb ?? null,
        isolation: isolation.level,
        reference: spec.reference ?? null,
        /** the seed on the problem's held-out stage (FM_HELD_OUT=1), when it declares one and the seed is valid */
        heldOut: held,
      }
      // the evaluator of a problem without a seed must run; an empty program failing it is expected
      const evaluatorRan = r.error?.kind !== 'infra'
      // repeated beside the result: a misspelt key leaves a default in force, which the result alone hides
      const ignored = p.unknownKeys.length
        ? `ignored in problem.json (not known keys): ${p.unknownKeys.map((k) => `"${k.path}"${k.suggestion ? ` (did you mean "${k.suggestion}"?)` : ''}`).join(', ')}`
        : ''
      const reference = spec.reference
        ? `reference: ${spec.reference.value} (${spec.reference.source})`
        : 'reference: none'
      if (values.json) out(JSON.stringify(summary))
      else if (seedless) {
        out(
          [
            `${spec.id} (${FORMAT_NAMES[spec.format]}): no seed program; the evaluator ${evaluatorRan ? 'ran' : 'did NOT run'} on an empty program in ${seconds.toFixed(2)} s and judged it ${summary.valid ? 'valid' : 'invalid'} (sandbox: ${isolation.level})`,
            spec.signature ? `signature: ${spec.signature}` : 'signature: none (the description says what to write)',
            `score: ${summary.scoreMeaning}`,
            reference,
            memoryNote,
            ignored,
            r.error ? `error (${r.error.kind}): ${r.error.message}` : '',
            summary.feedback ? `feedback: ${clipReason(String(summary.feedback), 2000)}` : '',
            artifactLines(summary.artifacts, false),
          ]
            .filter(Boolean)
            .join('\n'),
        )
      } else {
        out(
          [
            `${spec.id} (${FORMAT_NAMES[spec.format]}): ${programFile ?? 'seed'} ${summary.valid ? 'valid' : 'INVALID'}${score !== null ? `, ${spec.primaryMetric} = ${score}` : ''} in ${seconds.toFixed(2)} s (sandbox: ${isolation.level}${onCpu ? '; on the CPU, no GPU here' : ''})`,
            `score: ${summary.scoreMeaning}`,
            reference,
            memoryNote,
            ignored,
            summary.cpuCheck ? String(summary.cpuCheck) : '',
            r.error ? `error (${r.error.kind}): ${r.error.message}` : '',
            summary.feedback ? `feedback: ${clipReason(String(summary.feedback), 2000)}` : '',
            artifactLines(summary.artifacts, !summary.valid),
            held
              ? `held-out stage${spec.heldOut?.description ? ` (${spec.heldOut.description})` : ''}: ${program ? 'the program' : 'seed'} ${held.valid ? `valid, ${spec.primaryMetric} = ${held.score}` : 'INVALID'}${held.error ? `; error (${held.error})` : ''}${held.feedback ? `; feedback: ${clipReason(String(held.feedback), 2000)}` : ''}`
              : '',
          ]
            .filter(Boolean)
            .join('\n'),
        )
      }
      if (seedless) return evaluatorRan ? 0 : 1
      return summary.valid && (held?.valid ?? true) ? 0 : 1
    } finally {
      await runner.close()
      rmSync(cacheDir, { recursive: true, force: true })
    }
  },
}

/**
 * The evaluator's other artifacts: named when the seed is valid, with the end of each when it is not
 * (a stderr's traceback is where the cause is, which the feedback line alone may not hold).
 */
function artifactLines(artifacts: Record<string, unknown>, detailed: boolean): string {
  const names = Object.keys(artifacts)
  if (!names.length) return ''
  if (!detailed) return `artifacts: ${names.join(', ')} (--json has them)`
  return names
    .map((k) => {
      const v = artifacts[k]
      const text = (typeof v === 'string' ? v : JSON.stringify(v)).trimEnd()
      const tail = text.length > 1500 ? `…${text.slice(-1500)}` : text
      return `${k}:${tail.includes('\n') ? `\n${tail.replace(/^/gm, '  ')}` : ` ${tail}`}`
    })
    .join('\n')
}

/** A program with nothing in it, in the problem's language (what a seedless problem's evaluator is checked on). */
function emptyProgram(language: string): string {
  const line = 'no program yet: the cold start writes the first ones'
  return ['python', 'julia'].includes(language)
    ? `# ${line}\n`
    : language === 'fortran'
      ? `! ${line}\n`
      : `// ${line}\n`
}
