import type { ApiClient } from '../../api/client.ts'
import type { listRuns } from '../../runs/service.ts'
import type { listGuidance } from '../../steering/interventions.ts'
import {
  ACTIVE_STATUSES,
  FINAL_STATUSES,
  LOCAL_OPERATOR_NAMES,
  type RunStatus,
  spendText,
} from '../../../client-safe/run-config.ts'
import { InputError, intOption, parse, requestError, UsageError } from '../args.ts'
import { ESCALATIONS } from '../../engine/escalations.ts'
import type { controls as runControls } from '../../steering/interventions.ts'
import { hintExpiry } from '../../../client-safe/hint-form.ts'
import { connectToRuns, resolveRunId } from '../run-id.ts'
import type { DeletedRun } from '../../services/deletion.ts'
import type { Command } from '../main.ts'
import { fullNumber } from '../../../client-safe/format.ts'

type Row = Awaited<ReturnType<typeof listRuns>>[number]
type Summary = { status: string; statusReason: string | null; evaluations: number }

const SUBCOMMANDS = [
  'stop',
  'pause',
  'hint',
  'hints',
  'withdraw',
  'delete',
  'explore',
  'weights',
  'retrieve',
  'escalate',
]

/** the subcommands that name an island with --island */
const ISLAND_SUBCOMMANDS = ['hint', 'explore', 'retrieve', 'escalate']

type Controls = Awaited<ReturnType<typeof runControls>>
type Outcome = { status: string; result?: Record<string, unknown> | null }

/** the bounds runs.setWeights takes (WeightsInput): an offline operator's weight, a model's */
const MAX_OPERATOR_WEIGHT = 1000
const MAX_MODEL_WEIGHT = 1e6

/** What is said of a steering command that no engine has taken up yet (the run is driven nowhere now). */
const pendingText = (runId: string) =>
  `asked: no engine has taken it up yet; it is applied when one drives the run (fm-agent resume ${runId.slice(0, 8)})`

/**
 * `name=weight,…` as runs.setWeights takes it: offline operators by name, or models by their id
 * (as the console lists them), each model not named keeping its weight. Checked here, so that a
 * typo is named with the names this run has rather than as a schema error.
 */
function weightsInput(text: string, c: Controls): { models: number[] } | { localOperators: Record<string, number> } {
  const local = c.mutator === 'local'
  const names = local ? [...LOCAL_OPERATOR_NAMES] : c.models.map((m) => m.id)
  const max = local ? MAX_OPERATOR_WEIGHT : MAX_MODEL_WEIGHT
  const given = new Map<string, number>()
  for (const part of text.split(',')) {
    // a model's id holds ':' (provider:model), never '=': the last '=' parts name and weight
    const at = part.lastIndexOf('=')
    const name = part.slice(0, Math.max(0, at)).trim()
    const w = part.slice(at + 1).trim()
    if (at < 0 || !name || !w)
      throw new UsageError(`weights are name=weight, comma-separated (e.g. ${names[0]}=2,${names.at(-1)}=0.5)`)
    if (!names.includes(name))
      throw new InputError(
        `this run has no ${local ? 'operator' : 'model'} "${name}" (its ${local ? 'operators' : 'models'}: ${names.join(', ')})`,
      )
    const n = Number(w)
    if (!Number.isFinite(n) || n < 0 || n > max)
      throw new InputError(`the weight of ${name} must be a number from 0 to ${max} (got "${w}")`)
    if (given.has(name)) throw new InputError(`${name} is given twice; give each weight once`)
    given.set(name, n)
  }
  return local
    ? { localOperators: Object.fromEntries(given) }
    : { models: c.models.map((m) => given.get(m.id) ?? m.weight) }
}

/** A run's weights in the order the console lists them. */
function weightsOf(c: Controls): Array<{ name: string; weight: number }> {
  return (c.mutator === 'local' ? c.localOperators : c.models).map((w) => ({ name: w.id, weight: w.weight }))
}

type SteerInput = {
  island: number | null
  exploration: number
  weights: string
  escalation: (typeof ESCALATIONS)[number]
}

/**
 * The engine knobs the console's steering panel turns, through the same procedures: the engine
 * that drives the run (here, a headless run's process or a console) applies them, or they wait
 * for one. What is said and returned is what came of it.
 */
async function steer(
  api: ApiClient,
  runId: string,
  sub: 'explore' | 'weights' | 'retrieve' | 'escalate',
  input: SteerInput,
): Promise<{ text: string; json: Record<string, unknown> }> {
  const { island } = input
  if (sub === 'explore') {
    const r = await api.mutate<{ applied: boolean; command: Outcome }>('runs.setExploration', {
      runId,
      value: input.exploration,
      island,
    })
    const what = `exploration of ${island === null ? 'every island' : `island ${island}`} of run ${runId}`
    return {
      json: { runId, island, exploration: input.exploration, applied: r.applied },
      text: r.applied
        ? `${what} is now ${input.exploration}`
        : `${what} set to ${input.exploration}; ${pendingText(runId)}`,
    }
  }
  if (sub === 'weights') {
    const before = await api.query<Controls>('runs.controls', { runId })
    const r = await api.mutate<{ applied: boolean; command: Outcome }>('runs.setWeights', {
      runId,
      ...weightsInput(input.weights, before),
    })
    const weights = weightsOf(await api.query<Controls>('runs.controls', { runId }))
    const line = weights.map((w) => `${w.name}=${w.weight}`).join(', ')
    return {
      json: { runId, weights, applied: r.applied },
      text: r.applied
        ? `weights of run ${runId} now: ${line}`
        : `weights of run ${runId} set: ${line}; ${pendingText(runId)}`,
    }
  }
  if (sub === 'retrieve') {
    // without --island, as a stalled island's retrieval, for each island of the run
    const islands =
      island !== null
        ? [island]
        : Array.from(
            { length: (await api.query<Summary & { islands: number }>('runs.summary', { runId })).islands },
            (_, i) => i,
          )
    if (!islands.length) throw new InputError(`run ${runId} has no islands yet (its cold start places them)`)
    const rows: Array<{ island: number; chunks: number | null }> = []
    for (const i of islands) {
      const r = await api.mutate<{ chunks: number | null }>('runs.retrieve', { runId, island: i })
      rows.push({ island: i, chunks: r.chunks })
    }
    return {
      json: { runId, islands: rows },
      text: rows
        .map((r) =>
          r.chunks === null
            ? `island ${r.island} of run ${runId}: ${pendingText(runId)}`
            : r.chunks
              ? `island ${r.island} of run ${runId}: ${r.chunks} passage(s) of the knowledge base go into its next prompts`
              : `island ${r.island} of run ${runId}: the knowledge base had nothing relevant (fm-agent kb import adds documents)`,
        )
        .join('\n'),
    }
  }
  const action = input.escalation
  const r = await api.mutate<{ joined: number | null; removed: number | null }>('runs.escalate', {
    runId,
    island,
    action,
  })
  return {
    json: { runId, island, action, joined: r.joined, removed: r.removed },
    text:
      r.joined === null
        ? `${action} of island ${island}: ${pendingText(runId)}`
        : action === 'migrate-in'
          ? `${r.joined} program(s) of other islands joined island ${island} of run ${runId}`
          : `island ${island} of run ${runId} restarted from the elites: ${r.removed} member(s) out, ${r.joined} elite(s) in`,
  }
}

type HintRow = Awaited<ReturnType<typeof listGuidance>>['hints'][number]

/** A hint as one line: its id's first 8, state, scope, what was made under it, its text. */
function hintLine(h: HintRow): string {
  const scope = h.island === null ? 'whole run' : `island ${h.island}`
  const left = h.state === 'active' && typeof h.evalsLeft === 'number' ? `, ${h.evalsLeft} evaluations left` : ''
  const made = `${h.made.count} made under it (${h.made.evaluated} evaluated${h.made.rejected ? `, ${h.made.rejected} refused before evaluation` : ''}), ${h.made.control} without it`
  const verdict = h.effect?.verdict ? `, effect: ${h.effect.verdict}` : ''
  const text = h.text.replace(/\s+/g, ' ')
  return `${h.id.slice(0, 8)}  ${h.state.padEnd(9)} ${scope}${left}; ${made}${verdict}\n          ${text.length > 200 ? `${text.slice(0, 199)}…` : text}`
}

/** how long a stop or pause is followed until the run says it has stopped (its evaluations drained) */
const FOLLOW_MS = 60_000

/**
 * Stops or pauses a run through its engine, wherever it runs, and follows it until it has: the
 * command's acknowledgement, then the run's own status. A run no engine drives is said to be so.
 */
/** A connection to a process that has ended since (a headless run ends when its run does). */
const processGone = (e: unknown) =>
  /\b(ENOENT|ECONNREFUSED|ECONNRESET|EPIPE)\b|socket hang up/.test(String((e as Error)?.message ?? e))

async function controlRun(first: ApiClient, runId: string, what: 'stop' | 'pause', reopen: () => Promise<ApiClient>) {
  let api = first
  const before = await api.query<Summary>('runs.summary', { runId })
  if (FINAL_STATUSES.includes(before.status as RunStatus) || (what === 'pause' && before.status === 'paused'))
    return {
      runId,
      status: before.status,
      evaluations: before.evaluations,
      text: `run ${runId} is ${before.status}${before.statusReason ? ` (${before.statusReason})` : ''}: nothing to ${what}`,
    }
  const r = await api.mutate<{ command: { status: string; result?: { reason?: string } | null } | null }>(
    `runs.${what}`,
    { runId },
  )
  const want = what === 'stop' ? 'stopped' : 'paused'
  const until = Date.now() + FOLLOW_MS
  for (;;) {
    // a run this command's process reached through its folder's socket may end its process as it
    // pauses or stops: the folder is read directly then, once
    const s = await api.query<Summary>('runs.summary', { runId }).catch(async (e: unknown) => {
      if (!api.remote || api !== first || !processGone(e)) throw e
      api = await reopen()
      return api.query<Summary>('runs.summary', { runId })
    })
    const ended = FINAL_STATUSES.includes(s.status as RunStatus) || s.status === 'paused'
    if (ended)
      return {
        runId,
        status: s.status,
        evaluations: s.evaluations,
        text:
          s.status === want
            ? `run ${runId} ${want} at ${s.evaluations} evaluations`
            : `run ${runId} ended meanwhile: ${s.status}${s.statusReason ? ` (${s.statusReason})` : ''}`,
      }
    if (r.command?.status === 'pending' || Date.now() > until)
      return {
        runId,
        status: s.status,
        evaluations: s.evaluations,
        text: `asked: no engine has taken it up yet; run ${runId} ${what === 'stop' ? 'stops' : 'pauses'} when one drives it`,
      }
    await new Promise((res) => setTimeout(res, 250))
  }
}

export const runs: Command = {
  summary:
    'list runs with status, problem, evaluations and best score; runs stop|pause <runId>: stop or pause a run wherever its engine runs; runs hint <runId> "<text>": a hint for its next prompts; runs hints <runId>: its hints and their effect; runs withdraw <runId> <hintId>: withdraw one; runs explore|weights|retrieve|escalate <runId>: steer its engine as the console does; runs delete <runId>: delete a run no engine drives, with its candidates',
  usage:
    'fm-agent runs [--limit N | --all] [--json] [--data-dir DIR]   (the 100 newest by default)\n       fm-agent runs stop|pause <runId> [--json] [--data-dir DIR]\n       fm-agent runs hint <runId> "<text>" [--island N] [--expires-after N | --expires-in-minutes M] [--json] [--data-dir DIR]\n       fm-agent runs hints <runId> [--json] [--data-dir DIR]\n       fm-agent runs withdraw <runId> <hintId> [--json] [--data-dir DIR]\n       fm-agent runs explore <runId> <0..1> [--island N] [--json] [--data-dir DIR]   (exploration of the run, or of one island)\n       fm-agent runs weights <runId> <name=weight,…> [--json] [--data-dir DIR]   (offline operators by name, 0 to 1000; models by id, 0 to 1000000)\n       fm-agent runs retrieve <runId> [--island N] [--json] [--data-dir DIR]   (knowledge for its next prompts; every island without --island)\n       fm-agent runs escalate <runId> migrate-in|restart-from-elites --island N [--json] [--data-dir DIR]\n       fm-agent runs delete <runId> [--json] [--data-dir DIR]',
  async run({ argv, env, log, dataDir, out }) {
    const { values, positionals } = parse(
      'runs',
      argv,
      {
        json: { type: 'boolean' },
        island: { type: 'string' },
        limit: { type: 'string' },
        all: { type: 'boolean' },
        'expires-after': { type: 'string' },
        'expires-in-minutes': { type: 'string' },
      },
      3,
    )
    const limit = intOption('limit', values.limit as string | undefined, 1, 1_000_000)
    if (limit !== undefined && values.all) throw new UsageError('--limit or --all, not both')
    const sub = positionals[0]
    if (sub && !SUBCOMMANDS.includes(sub))
      throw new UsageError(`unknown subcommand "runs ${sub}" (${SUBCOMMANDS.join(', ')})`)
    if (sub && !positionals[1]) throw new UsageError('which run? (fm-agent runs lists them)')
    if (sub === 'hint' && !positionals[2]?.trim()) throw new UsageError('which hint? runs hint <runId> "<text>"')
    if (sub === 'withdraw' && !positionals[2]?.trim())
      throw new UsageError('which hint? runs withdraw <runId> <hintId> (runs hints <runId> lists them)')
    if (sub === 'explore' && !positionals[2]?.trim())
      throw new UsageError('how much? runs explore <runId> <a number from 0 to 1>')
    if (sub === 'weights' && !positionals[2]?.trim())
      throw new UsageError('which weights? runs weights <runId> <name=weight,…>')
    if (sub === 'escalate' && !positionals[2]?.trim())
      throw new UsageError(`which escalation? runs escalate <runId> ${ESCALATIONS.join('|')} --island N`)
    if (!['hint', 'withdraw', 'explore', 'weights', 'escalate'].includes(sub ?? '') && positionals[2])
      throw new UsageError(`runs ${sub ?? ''} takes one run id`)
    const island = intOption('island', values.island as string | undefined, 0, 1024)
    if (island !== undefined && !ISLAND_SUBCOMMANDS.includes(sub ?? ''))
      throw new UsageError(`--island goes with runs ${ISLAND_SUBCOMMANDS.join(', ')}`)
    const exploration = sub === 'explore' ? Number(positionals[2]) : undefined
    if (exploration !== undefined && !(exploration >= 0 && exploration <= 1))
      throw new UsageError(`exploration is a number from 0 to 1 (got "${positionals[2]}")`)
    const escalation = sub === 'escalate' ? positionals[2]! : undefined
    if (escalation !== undefined && !(ESCALATIONS as readonly string[]).includes(escalation))
      throw new UsageError(`runs escalate takes ${ESCALATIONS.join(' or ')} (got "${escalation}")`)
    if (sub === 'escalate' && island === undefined)
      throw new UsageError(`which island? runs escalate <runId> ${escalation} --island N`)
    const after = values['expires-after'] as string | undefined
    const minutes = values['expires-in-minutes'] as string | undefined
    if (after !== undefined && minutes !== undefined)
      throw new UsageError('--expires-after or --expires-in-minutes, not both')
    const expiry =
      sub === 'hint'
        ? hintExpiry(after !== undefined ? 'evals' : minutes !== undefined ? 'minutes' : 'none', after ?? minutes ?? '')
        : null
    if (expiry && 'error' in expiry) throw new UsageError(`hint expiry: ${expiry.error}`)
    let api = await connectToRuns({ env, log }, dataDir(values))
    const reopen = async () => {
      await api.close().catch(() => undefined)
      api = await connectToRuns({ env, log }, dataDir(values))
      return api
    }
    const fail = (e: Error) => {
      throw requestError(e)
    }
    try {
      if (sub === 'hints' || sub === 'withdraw') {
        const runId = await resolveRunId(api, positionals[1]!)
        const list = await api
          .query<{ hints: HintRow[]; olderNotShown?: number }>('guidance.list', { runId })
          .catch(fail)
        if (sub === 'hints') {
          const older = list.olderNotShown ? `\n… and ${list.olderNotShown} older (withdrawn or expired) not shown` : ''
          out(
            values.json
              ? JSON.stringify(list.hints)
              : list.hints.length
                ? list.hints.map(hintLine).join('\n') + older
                : `run ${runId} has no hints (runs hint ${runId.slice(0, 8)} "<text>" gives one)`,
          )
          return 0
        }
        const prefix = positionals[2]!.trim().toLowerCase()
        const matches = list.hints.filter((h) => h.id.startsWith(prefix))
        if (matches.length !== 1)
          throw new InputError(
            matches.length
              ? `${matches.length} hints of run ${runId} start with ${prefix}: give more of the id`
              : `no hint of run ${runId} starts with ${prefix} (runs hints ${runId.slice(0, 8)} lists them)`,
          )
        const h = matches[0]!
        await api.mutate('guidance.withdraw', { runId, id: h.id }).catch(fail)
        out(
          values.json
            ? JSON.stringify({ runId, guidanceId: h.id, state: 'withdrawn' })
            : `hint ${h.id.slice(0, 8)} of run ${runId} withdrawn: prompts made from now on go without it`,
        )
        return 0
      }
      if (sub === 'explore' || sub === 'weights' || sub === 'retrieve' || sub === 'escalate') {
        const runId = await resolveRunId(api, positionals[1]!)
        const done = await steer(api, runId, sub, {
          island: island ?? null,
          exploration: exploration ?? 0,
          weights: positionals[2] ?? '',
          escalation: escalation as (typeof ESCALATIONS)[number],
        }).catch(fail)
        out(values.json ? JSON.stringify(done.json) : done.text)
        return 0
      }
      if (sub === 'stop' || sub === 'pause' || sub === 'hint') {
        const runId = await resolveRunId(api, positionals[1]!)
        if (sub === 'hint') {
          const g = await api
            .mutate<{ id: string }>('guidance.create', {
              runId,
              text: positionals[2]!,
              island: island ?? null,
              ...expiry,
            })
            .catch(fail)
          out(
            values.json
              ? JSON.stringify({ runId, guidanceId: g.id, island: island ?? null })
              : `hint ${g.id.slice(0, 8)} given to ${island === undefined ? 'every island' : `island ${island}`} of run ${runId}: its next prompts carry it`,
          )
          return 0
        }
        const done = await controlRun(api, runId, sub, reopen).catch(fail)
        out(values.json ? JSON.stringify(done) : done.text)
        return 0
      }
      if (positionals[1]) {
        const runId = await resolveRunId(api, positionals[1])
        const r = await api.mutate<DeletedRun>('runs.delete', { runId }).catch(fail)
        out(values.json ? JSON.stringify(r) : `deleted run ${r.id} (${r.problemId}) and its ${r.candidates} candidates`)
        return 0
      }
      // pages of the newest first, as many as asked for (every run with --all)
      const want = values.all ? Number.POSITIVE_INFINITY : (limit ?? 100)
      const rows: Row[] = []
      while (rows.length < want) {
        const last = rows.at(-1)
        const page = await api.query<Row[]>('runs.list', {
          limit: Math.min(500, want - rows.length),
          ...(last ? { after: { createdAt: new Date(last.createdAt).toISOString(), id: last.id } } : {}),
        })
        rows.push(...page)
        if (page.length < Math.min(500, want - rows.length + page.length)) break
      }
      const total = rows.length < want ? rows.length : await api.query<number>('runs.count', {})
      const orphaned = (r: Row) =>
        api.app?.db.mode === 'embedded' && !r.drivenBy && (ACTIVE_STATUSES as string[]).includes(r.status)
      // what the text view says of a run no process drives, as a field a script can test
      if (values.json) out(JSON.stringify(rows.map((r) => ({ ...r, interrupted: !!orphaned(r) }))))
      else if (!rows.length) out('no runs yet (fm-agent run <problem> starts one)')
      else {
        const lines = rows.map((r) =>
          [
            r.id,
            ...(r.name ? [JSON.stringify(r.name.slice(0, 60))] : []),
            r.status.padEnd(10),
            r.problemId.padEnd(22),
            `${r.evaluations}/${r.maxEvals}`.padEnd(11),
            `seed ${fullNumber(r.seedScore)} → best ${fullNumber(r.bestScore)}`,
            // ≈: its model sent no token counts, so the figure held against a spend cap is an estimate
            ...(r.mutator === 'llm'
              ? [`spend ${spendText(r.spendUsd, r.unpriced, (v) => `$${v.toFixed(4)}`, r.spendEstimated)}`]
              : []),
            new Date(r.createdAt).toISOString().slice(0, 16),
            ...(r.waitingForWorkers
              ? ['waiting for a worker: no worker can take its evaluations (start fm-agent worker)']
              : []),
            ...(r.drivenBy ? [`driven by ${r.drivenBy}`] : []),
            // why a run failed or stopped, as the run's page says it
            ...(['failed', 'stopped'].includes(r.status) && r.statusReason ? [r.statusReason.slice(0, 200)] : []),
            // this process holds the embedded data folder: no other can be driving the run
            ...(orphaned(r) ? [`interrupted: fm-agent resume ${r.id} continues it`] : []),
          ].join('  '),
        )
        out(lines.join('\n'))
      }
      // said apart from the list (stderr): a script reading the rows is not given a line that is not one
      if (total > rows.length) log.info(`the ${rows.length} newest of ${total} runs; --limit N or --all lists more`)
      return 0
    } finally {
      await api.close()
    }
  },
}
