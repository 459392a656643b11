import type { ApiClient } from '../../api/client.ts'
import type { listRuns } from '../../runs/service.ts'
import type { listGuidance } from '../../steering/interventions.ts'
import { ACTIVE_STATUSES, FINAL_STATUSES, type RunStatus, spendText } from '../../../client-safe/run-config.ts'
import { InputError, intOption, parse, requestError, UsageError } from '../args.ts'
import { hintExpiry } from '../../../client-safe/hint-form.ts'
import { connectToRuns, resolveRunId } from '../run-id.ts'
import type { DeletedRun } from '../../services/deletion.ts'
import type { Command } from '../main.ts'
import { fullNumber } from '../../../client-safe/format.ts'

type Row = Awaited<ReturnType<typeof listRuns>>[number]
type Summary = { status: string; statusReason: string | null; evaluations: number }

const SUBCOMMANDS = ['stop', 'pause', 'hint', 'hints', 'withdraw', 'delete']

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
    'list runs with status, problem, evaluations and best score; runs stop|pause <runId>: stop or pause a run wherever its engine runs; runs hint <runId> "<text>": a hint for its next prompts; runs hints <runId>: its hints and their effect; runs withdraw <runId> <hintId>: withdraw one; runs delete <runId>: delete a run no engine drives, with its candidates',
  usage:
    'fm-agent runs [--limit N | --all] [--json] [--data-dir DIR]   (the 100 newest by default)\n       fm-agent runs stop|pause <runId> [--json] [--data-dir DIR]\n       fm-agent runs hint <runId> "<text>" [--island N] [--expires-after N | --expires-in-minutes M] [--json] [--data-dir DIR]\n       fm-agent runs hints <runId> [--json] [--data-dir DIR]\n       fm-agent runs withdraw <runId> <hintId> [--json] [--data-dir DIR]\n       fm-agent runs delete <runId> [--json] [--data-dir DIR]',
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
    if (sub !== 'hint' && sub !== 'withdraw' && positionals[2])
      throw new UsageError(`runs ${sub ?? ''} takes one run id`)
    const island = intOption('island', values.island as string | undefined, 0, 1024)
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
