// Drives one run to its end from the command line: progress on stderr, the summary on stdout.
// In-process when this process can open the database; through the server's API when a running
// server holds the data folder.
import { constants as osConstants } from 'node:os'
import type { ApiClient } from '../api/client.ts'
import { STEERING_PROCEDURES, startLocalSocket } from '../api/local-socket.ts'
import type { AppServices } from '../app.ts'
import type { Logger } from '../log.ts'
import type { EvaluationBackend, WorkerStatus } from '../contracts/evaluation.ts'
import { FINAL_STATUSES, type RunStatus, spendText } from '../../client-safe/run-config.ts'
import { EngineManager } from '../runs/manager.ts'
import { createBackend } from '../runs/evaluation-backend.ts'
import { runProgress, runSummary, type RunSummary } from '../runs/service.ts'
import type { heldOutReport } from '../runs/held-out.ts'
import { knowledgeHooks } from '../runs/hooks.ts'
import { detectIsolationAsync } from '../../workers/sandbox.ts'
import { currentMachine } from '../setup/machine.ts'
import { fullNumber } from '../../client-safe/format.ts'

/** how often the same kind of model trouble is said while it lasts */
const MODEL_TROUBLE_EVERY_MS = 5000
/** with no new candidate for this long (3 progress intervals where FM_PROGRESS_S is set), a line says what the run waits for: a model that never answered had left it silent for 5 min */
const QUIET_SAY_MS = 30_000

export interface PipelineNow {
  requests: number
  waiting: number
  busy: number
  capacity: number
  limit: number
}

/**
 * Where the run waits: on the model (requests in flight, workers idle) or on the workers (candidates
 * waiting). A run on the offline operators asks no model: its requests are the operators' proposals.
 */
export function pipelineText(p: PipelineNow, offline = false) {
  const f = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(1))
  return `${offline ? 'proposals' : 'model'} ${f(p.requests)} in flight (limit ${p.limit}) · ${f(p.waiting)} waiting · workers ${f(p.busy)}/${p.capacity} busy`
}

export function progressLine(
  s: Pick<RunSummary, 'runId' | 'evaluations' | 'best' | 'seedScore' | 'status'>,
  maxEvals: number,
  rate?: number,
  pipeline?: PipelineNow | null,
  offline = false,
) {
  return `run ${s.runId.slice(0, 8)} ${s.status}: ${s.evaluations}/${maxEvals} evaluations · best ${fullNumber(s.best?.score)} (seed ${fullNumber(s.seedScore)})${rate ? ` · ${rate.toFixed(1)} eval/s` : ''}${pipeline ? ` · ${pipelineText(pipeline, offline)}` : ''}`
}

/** 0 done, 1 failed; a run interrupted here exits 128 + the signal's number, as shells expect (130 for Ctrl-C) */
export function exitCodeFor(status: RunStatus, signal: NodeJS.Signals | null = null) {
  if (signal) return 128 + osConstants.signals[signal]
  return status === 'failed' ? 1 : 0
}

/** how often a server-mode run checks that some online worker can take its evaluations */
const WORKER_CHECK_MS = 5000

/**
 * Why no online worker can take a run's evaluations (null when one can): a GPU problem needs a GPU
 * worker, a language needs its toolchain on the worker.
 */
export function workerShortage(
  needs: { gpu: boolean; language: string },
  workers: ReadonlyArray<
    Pick<WorkerStatus, 'status' | 'capabilities'> & Partial<Pick<WorkerStatus, 'name' | 'statusDetail'>>
  >,
): string | null {
  const online = workers.filter((w) => w.status === 'online')
  const pausing = workers.filter((w) => w.status === 'backing-off')
  // starting another worker is not the fix when the ones there are failing on their machines
  if (!online.length && pausing.length)
    return `every worker is backing off after infrastructure errors on its machine (${pausing
      .map((w) => `${w.name ?? 'a worker'}: ${w.statusDetail ?? 'no reason given'}`)
      .join('; ')
      .slice(0, 800)}): fix them (fm-agent doctor there) or start a worker on another machine`
  if (!online.length) return 'no worker is online: start one with `fm-agent worker` (DATABASE_URL: a worker role)'
  const gpu = needs.gpu ? online.filter((w) => w.capabilities.gpu) : online
  if (!gpu.length)
    return `its problem needs a GPU and none of the ${online.length} online worker(s) has one: start \`fm-agent worker --gpu\` on a machine with a GPU`
  if (needs.language && !gpu.some((w) => (w.capabilities.languages as string[]).includes(needs.language)))
    return `no online worker can run ${needs.language} programs: install its toolchain on a worker machine (fm-agent doctor there)`
  return null
}

/**
 * The sandbox's probes and the machine's (its Python and packages), started before the embedded
 * database opens: they are child processes, so they run beside PGlite's start instead of after it
 * (startLocalBackend and createRun find the results). With a server database this process
 * evaluates nothing.
 */
export function probeMachineEarly(env: { DATABASE_URL?: string }) {
  if (env.DATABASE_URL) return
  detectIsolationAsync().catch(() => undefined)
  currentMachine().catch(() => undefined)
}

/**
 * Starts this process's evaluation workers for driveLocally, before the run is prepared (worker
 * processes and sandboxes take a quarter of a second to come up). The caller stops them
 * (stopLocalBackend), whether or not the run could be driven.
 */
export function startLocalBackend(api: ApiClient, log: Logger, workers?: number): Promise<EvaluationBackend> {
  const backend = createBackend({ db: api.app!.db, log, workers })
  backend.catch(() => undefined) // the caller awaits it later: not an unhandled rejection meanwhile
  return backend
}

export async function stopLocalBackend(backend: Promise<EvaluationBackend> | null) {
  await backend?.then((b) => b.close()).catch(() => undefined)
}

/** Runs to the end in this process, on the workers given. */
export async function driveLocally(
  api: ApiClient,
  runId: string,
  maxEvals: number,
  log: Logger,
  workers: Promise<EvaluationBackend>,
) {
  const app = api.app!
  const backend = await workers
  const manager = new EngineManager({
    db: app.db,
    backend,
    events: app.events,
    log,
    hooks: knowledgeHooks(app.db, log),
  })
  let last = 0
  const started = Date.now()
  let count = 0
  // a line every progressMs; at FM_LOG=debug one after every result (tests that act at a chosen evaluation read them)
  const everyResult = process.env.FM_LOG === 'debug'
  const every = progressMs()
  let pipeline: PipelineNow | null = null
  let lastCandidateAt = started
  const [{ mutator, gpu, language } = { mutator: null, gpu: false, language: '' }] = await app.db.sql<{
    mutator: string | null
    gpu: boolean
    language: string
  }>(
    `SELECT config->>'mutator' AS mutator, coalesce((problem_snapshot->'spec'->'limits'->>'gpu')::boolean, false) AS gpu,
       coalesce(problem_snapshot->'spec'->>'language', '') AS language FROM runs WHERE id = $1`,
    [runId],
  )
  let quietSaidAt = 0
  // a paused run makes no candidate by design: its silence is said once, by the pause line
  let paused = false
  const quietMs = process.env.FM_PROGRESS_S ? 3 * every : QUIET_SAY_MS
  const quiet = setInterval(() => {
    const now = Date.now()
    if (paused || now - lastCandidateAt < quietMs || now - quietSaidAt < quietMs) return
    quietSaidAt = now
    log.info(
      `run ${runId.slice(0, 8)}: no new candidate for ${Math.round((now - lastCandidateAt) / 1000)} s${pipeline ? ` · ${pipelineText(pipeline, mutator === 'local')}` : ''}`,
    )
  }, 5000)
  quiet.unref()
  // server mode: say so when no online worker can take the run's evaluations (a GPU problem with
  // only CPU workers sat silent), and again once one can
  let shortage: string | null = null
  const checkWorkers = async () => {
    const now = workerShortage({ gpu, language }, await backend.workers())
    if (now !== shortage) {
      if (now) log.warn(`run ${runId.slice(0, 8)}: ${now}`)
      else if (shortage) log.info(`run ${runId.slice(0, 8)}: a worker that can take its evaluations is online`)
      shortage = now
    }
  }
  // the model's trouble while it lasts (429s, timeouts, refusals): no candidate comes, so no
  // progress line would; one line per kind of trouble every few seconds
  const troubleSaid = new Map<string, number>()
  const unsubscribe = app.events.subscribe(runId, (e) => {
    if (e.type === 'rejected') {
      const { reason = '', errorKind: kind } = e.payload as { reason?: string; errorKind?: string }
      if (!kind || kind === 'aborted') return
      const now = Date.now()
      if (now - (troubleSaid.get(kind) ?? 0) < MODEL_TROUBLE_EVERY_MS) return
      troubleSaid.set(kind, now)
      log.warn(
        `run ${runId.slice(0, 8)}: ${reason.slice(0, 300)}${pipeline ? ` · ${pipelineText(pipeline, false)}` : ''}`,
      )
      return
    }
    if (e.type === 'metrics') {
      const rows = (e.payload as { rows?: Array<{ island: number; pipeline?: PipelineNow }> }).rows ?? []
      pipeline = rows.find((r) => r.island === -1)?.pipeline ?? pipeline
      return
    }
    if (e.type !== 'candidate') return
    count++
    const now = Date.now()
    lastCandidateAt = now
    const due = now - last >= every
    if (!due && !everyResult) return
    if (due) last = now
    void runProgress(app.db, runId).then((s) =>
      (due ? log.info : log.debug)(
        progressLine(s, maxEvals, count / ((now - started) / 1000), pipeline, mutator === 'local'),
      ),
    )
  })
  // commands that read (fm-agent runs, export, kb search…) reach this process while it holds the
  // embedded data folder, as they reach a console's server
  app.drivesOnly = runId
  const socket = app.db.mode === 'embedded' ? await serveOtherCommands(app, log) : null
  let signal = null as NodeJS.Signals | null
  let wake: (() => void) | null = null
  const offSignals = onInterrupt((s) => {
    signal = s
    log.info('interrupted: stopping the run, its evaluations in flight withdrawn (interrupt again to quit at once)')
    manager.stop(runId, 'interrupted from the command line')
    wake?.()
  })
  const workerWatch =
    backend.mode === 'server' ? setInterval(() => void checkWorkers().catch(() => undefined), WORKER_CHECK_MS) : null
  if (workerWatch) void checkWorkers().catch(() => undefined)
  try {
    // a pause from the console (or `fm-agent runs pause`) ends the driver, not the command: the run
    // is driven again here once resumed, and only a final status or an interrupt ends the command
    let launch = true
    let stopAsked = false
    let saidElsewhere = false
    for (;;) {
      let drivenHere = false
      if (launch) {
        const launched = manager.launch(runId).then(
          () => true,
          (e: Error) => {
            // server mode: the engine of the console that resumed it may have claimed it first
            if (!/is driven by another engine process/.test(e.message)) throw e
            return false
          },
        )
        // an interrupt that came while the run waited stops it as soon as it is driven here again
        if (signal) manager.stop(runId, 'interrupted from the command line')
        drivenHere = await launched
      }
      const { status } = await app.db.prisma.run.findUniqueOrThrow({ where: { id: runId }, select: { status: true } })
      if (FINAL_STATUSES.includes(status as RunStatus)) break
      if (status === 'paused' && !paused && !signal)
        log.info(`run ${runId.slice(0, 8)} paused from the console: waiting for it to resume (Ctrl-C stops it)`)
      if (status !== 'paused' && paused) log.info(`run ${runId.slice(0, 8)} resumed: driving it here again`)
      paused = status === 'paused'
      if (paused) saidElsewhere = false
      const elsewhere = launch && !drivenHere
      if (!paused && elsewhere && !saidElsewhere) {
        saidElsewhere = true
        log.info(
          `run ${runId.slice(0, 8)} is driven by another engine process now: following it here (Ctrl-C stops it there)`,
        )
      }
      // no driver here to stop it: a paused run is stopped where it lies, another engine's run through its commands
      if (signal && !stopAsked && (paused || elsewhere)) {
        stopAsked = true
        await api
          .mutate('runs.stop', { runId })
          .catch((e: Error) => log.warn(`the run could not be stopped: ${e.message}; interrupt again to quit at once`))
        launch = false
        continue
      }
      // an active run is claimed again at once, or each second while another engine holds it
      launch = !paused && !stopAsked
      if (launch && !elsewhere) continue
      await new Promise<void>((r) => {
        wake = r
        setTimeout(r, 1000)
      })
      wake = null
    }
  } finally {
    clearInterval(quiet)
    if (workerWatch) clearInterval(workerWatch)
    await socket?.close()
    unsubscribe()
    offSignals()
  }
  return { ...(await runSummary(app.db, runId)), signal }
}

/**
 * A run paused here waits for a resume that only another terminal can ask for while this process
 * holds the folder: its socket takes `fm-agent resume` besides what steers (driveLocally drives the
 * run again once resumed).
 */
const HEADLESS_PROCEDURES: ReadonlySet<string> = new Set([...STEERING_PROCEDURES, 'runs.resume'])

/** The local API socket for the rest of the run; none (with a warning) when it cannot be placed. */
async function serveOtherCommands(app: AppServices, log: Logger) {
  try {
    const socket = await startLocalSocket(app, app.db.dataDir, {
      readOnly: `a run (pid ${process.pid}) holds this data folder and answers only commands that read (runs, export, kb search…) or steer a run (runs stop|pause|hint, resume, candidate --pin…); run this one when it ends, or run both under the console (fm-agent start)`,
      allow: HEADLESS_PROCEDURES,
    })
    app.db.lock?.update({ apiSocket: socket.path })
    return {
      close: async () => {
        app.db.lock?.update({ apiSocket: undefined })
        await socket.close()
      },
    }
  } catch (e) {
    log.warn(`other commands cannot reach this run's data folder meanwhile: ${(e as Error).message}`)
    return null
  }
}

/**
 * Follows a run that a server drives, until it ends: through a pause (an expert editing a candidate
 * or giving a hint in the console) it waits for the resume. Ctrl-C stops the run on the server, paused
 * or not, as it stops a run driven here (exit 130 means the run stopped), and a second one leaves at once.
 */
export async function followRemotely(
  first: ApiClient,
  runId: string,
  maxEvals: number,
  log: Logger,
  opts: {
    /** signals that end the following and leave the run going (a resume of a console's run) */
    detachOn?: readonly NodeJS.Signals[]
    /**
     * The data folder's API again, for when the process behind `first` has ended: a headless run
     * ends its process with its run, so the folder (free then) tells how the run ended. The caller
     * closes what it returns.
     */
    reopen?: () => Promise<ApiClient>
  } = {},
): Promise<RunSummary & { signal: NodeJS.Signals | null }> {
  let api = first
  const gone = () =>
    new Error(
      `the server driving run ${runId} stopped while this command followed it; the run resumes when a server starts on this folder again (or: fm-agent resume ${runId.slice(0, 8)})`,
    )
  let signal = null as NodeJS.Signals | null
  let stopping: Promise<unknown> | null = null
  let detached = false
  let wake: (() => void) | null = null
  const offSignals = onInterrupt((sig) => {
    signal = sig
    if (opts.detachOn?.includes(sig)) {
      detached = true
      log.info(
        `${sig}: this command stops following; run ${runId.slice(0, 8)} goes on on the server that drives it (fm-agent runs shows it; Ctrl-C, not ${sig}, stops it)`,
      )
      wake?.()
      return
    }
    log.info('interrupted: stopping the run on the server that drives it (interrupt again to leave at once)')
    stopping = api
      .mutate('runs.stop', { runId })
      .catch((e: Error) => log.warn(`the run could not be stopped: ${e.message}; it goes on on the server`))
    wake?.()
  })
  try {
    let last = ''
    let said = 0
    let paused = false
    const every = progressMs()
    for (;;) {
      const s = await api
        .query<RunSummary>('runs.summary', { runId })
        .catch(async (e: Error & { cause?: { code?: string } }) => {
          const code = (e as { code?: string }).code ?? e.cause?.code
          if (code !== 'ECONNREFUSED' && code !== 'ENOENT' && code !== 'ECONNRESET') throw e
          // a server busy with a long request can refuse connections for a while: only a server
          // whose process is gone has stopped
          if (api.serverAlive?.()) return null
          if (!opts.reopen) throw gone()
          // its process is gone, and its lock with it: a run that ended there is read from the
          // folder directly; a process that holds the folder since is followed as this one was
          api = await opts.reopen()
          return api.remote ? null : api.query<RunSummary>('runs.summary', { runId })
        })
      if (!s) {
        await new Promise((r) => setTimeout(r, 1000))
        continue
      }
      // a folder opened here has no engine: a run still going there was left by a process that died
      if (!api.remote && !FINAL_STATUSES.includes(s.status)) throw gone()
      const line = progressLine(s, maxEvals)
      const ended = FINAL_STATUSES.includes(s.status)
      if (line !== last && (ended || Date.now() - said >= every)) {
        log.info(line)
        last = line
        said = Date.now()
      }
      if (s.status === 'paused' && !paused && !stopping)
        log.info(`run ${runId.slice(0, 8)} paused from the console: waiting for it to resume (Ctrl-C stops it)`)
      if (s.status !== 'paused' && paused) log.info(`run ${runId.slice(0, 8)} resumed: following it again`)
      paused = s.status === 'paused'
      if (ended || detached) {
        await stopping
        return { ...s, signal }
      }
      await new Promise<void>((r) => {
        wake = r
        setTimeout(r, 1000)
      })
    }
  } finally {
    offSignals()
  }
}

/**
 * Calls `first` on the first SIGINT or SIGTERM. Then a second Ctrl-C quits at once (SIGINT's
 * default action); a SIGTERM again is the same request repeated (`timeout` and service managers
 * signal the process and then its whole group) and changes nothing. Returns the disposer.
 */
function onInterrupt(first: (sig: NodeJS.Signals) => void): () => void {
  let fired = false
  const on = (sig: NodeJS.Signals) => {
    if (fired) return
    fired = true
    process.off('SIGINT', on)
    first(sig)
  }
  process.on('SIGINT', on)
  process.on('SIGTERM', on)
  process.on('SIGHUP', on)
  return () => {
    process.off('SIGINT', on)
    process.off('SIGTERM', on)
    process.off('SIGHUP', on)
  }
}

/** A run's held-out report for its summary: null when its problem declares no held-out stage. */
export async function heldOutFor(api: ApiClient, runId: string): Promise<HeldOutSummary | null> {
  const r = await api.query<HeldOutSummary>('runs.heldOut', { runId }).catch(() => null)
  return r?.declared ? r : null
}
type HeldOutSummary = Awaited<ReturnType<typeof heldOutReport>>

/** The `--json` summary line (a contract: docs/architecture.md#cli); `heldOut` where the problem has that stage. */
export function summaryJson(s: RunSummary, heldOut: HeldOutSummary | null = null) {
  return JSON.stringify({
    runId: s.runId,
    status: s.status,
    evaluations: s.evaluations,
    seedScore: s.seedScore,
    best: s.best,
    islands: s.islands,
    diversity: s.diversity,
    direction: s.direction,
    statusReason: s.statusReason,
    perIsland: s.perIsland,
    // a sum of prices: its float noise (0.23770020000000006) cut at a billionth of a cent
    spendUsd: Math.round(s.spendUsd * 1e12) / 1e12,
    // the model sent no token counts (some answers or all): spendUsd rests on estimated counts
    spendEstimated: s.spendEstimated ?? false,
    unpriced: s.unpriced,
    models: s.models.map((m) => ({ ...m, spendUsd: Math.round(m.spendUsd * 1e12) / 1e12 })),
    coldStart: s.coldStart,
    pipeline: s.pipeline,
    ...(heldOut ? { heldOut } : {}),
  })
}

export function summaryText(s: RunSummary) {
  const lines = [
    `run ${s.runId}: ${s.status}${s.statusReason ? ` (${s.statusReason})` : ''}`,
    `  problem ${s.problemId} (${s.direction === 'max' ? 'maximize' : 'minimize'}), ${s.evaluations} evaluations`,
    `  seed ${fullNumber(s.seedScore)} → best ${fullNumber(s.best?.score)}${s.best ? ` (candidate ${s.best.candidateId})` : ''}`,
    `  spend ${spendText(s.spendUsd, s.unpriced, (v) => `$${v.toFixed(4)}`, s.spendEstimated)}${s.unpriced.length ? ` (no price for ${s.unpriced.join(', ')}: give pricePer1kIn and pricePer1kOut in the run config's models)` : ''}`,
    // an ensemble member that failed every call is named here, not only in the run's warnings
    ...s.models.map(
      (m) =>
        `  model ${m.model}: ${m.calls} calls${m.failed ? `, ${m.failed} failed` : ''}${s.unpriced.includes(m.model) ? '' : `, $${m.spendUsd.toFixed(4)}`}`,
    ),
    ...(s.coldStart.seeds > 1 ? [`  cold start from ${s.coldStart.seeds} seed programs`] : []),
    ...(s.coldStart.seedless
      ? [
          `  no seed program: ${s.coldStart.firstValidAfter !== null ? `the first valid program came after ${s.coldStart.firstValidAfter} written from the description` : 'no program written from the description was valid'}`,
        ]
      : []),
    `  diversity: ${
      Object.entries(s.diversity)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || '–'
    }`,
    ...s.perIsland.map(
      (i) =>
        `  island ${i.island}: best ${fullNumber(i.best)}, ${i.population} members, ${Object.entries(i.diversity)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
    ),
  ]
  return lines.join('\n')
}

/**
 * Milliseconds between progress lines: FM_PROGRESS_S, else a second on a terminal and ten where
 * stderr is a file or a pipe (a CI log would otherwise get a line a second, 900 in 15 minutes).
 */
export function progressMs(
  env: Record<string, string | undefined> = process.env,
  tty = !!process.stderr.isTTY,
): number {
  const s = Number(env.FM_PROGRESS_S)
  return Number.isFinite(s) && s > 0 ? s * 1000 : tty ? 1000 : 10_000
}
