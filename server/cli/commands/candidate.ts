import { fullNumber } from '../../../client-safe/format.ts'
import type { ApiClient } from '../../api/client.ts'
import { unifiedDiff } from '../../engine/diff.ts'
import type { candidateDetail } from '../../queries/candidates.ts'
import { InputError, intOption, parse, requestError, UsageError } from '../args.ts'
import type { Command } from '../main.ts'
import { connectToRuns, resolveRunId } from '../run-id.ts'
import { readProgramFile } from './run.ts'
import { chunkTitle } from '../../../client-safe/knowledge-title.ts'
import { codeView, evaluatorFeedback, failureReason, oneLine } from '../../../client-safe/candidate-outcome.ts'

type Detail = Omit<Awaited<ReturnType<typeof candidateDetail>>, 'runLease' | 'savedPopulation'>

/** One part printed alone, as it is, for a pipe (`… --code > best.py`). */
const PARTS = ['code', 'prompt', 'response', 'diff'] as const

/** The candidate `text` names in a run: `best`, a whole id, or the start of one. */
async function resolveCandidateId(api: ApiClient, runId: string, text: string): Promise<string> {
  if (text === 'best') {
    const s = await api.query<{ best: { candidateId: string } | null }>('runs.summary', { runId })
    if (!s.best) throw new InputError(`run ${runId} has no valid candidate yet`)
    return s.best.candidateId
  }
  const t = text.trim().toLowerCase()
  if (!/^[0-9a-f-]{4,64}$/.test(t)) throw new InputError(`"${text}" is not a candidate id (or "best")`)
  const r = await api.query<{ rows: Array<{ id: string }> }>('candidates.list', {
    runId,
    filter: { idPrefix: t },
    limit: 2,
  })
  if (r.rows.length === 1) return r.rows[0]!.id
  if (!r.rows.length) throw new InputError(`run ${runId} has no candidate "${text}"`)
  throw new InputError(`"${text}" is the start of more than one candidate id; give more of it`)
}

function diffOf(c: Detail): string {
  const parent = c.parents[0]
  if (!parent) return ''
  if (parent.code === null) throw new InputError(`its parent ${parent.id} is no longer stored`)
  return unifiedDiff(parent.code, c.code, { fromLabel: `parent ${parent.id}`, toLabel: `candidate ${c.id}` })
}

function summaryText(c: Detail): string {
  const reason = failureReason(c)
  const why = reason === null ? null : oneLine(reason, 200)
  const score =
    c.status === 'rejected'
      ? `rejected before evaluation: ${why}`
      : c.status !== 'evaluated'
        ? c.status
        : c.valid
          ? `${fullNumber(c.score)} (${c.problem.primaryMetric}, ${c.problem.direction})${c.isRunBest ? '  the run’s best' : ''}`
          : `invalid: ${why}`
  const description = typeof c.operatorParams?.description === 'string' ? c.operatorParams.description.trim() : ''
  const made = [
    c.origin,
    c.operator ? `operator ${c.operator}` : null,
    description || null,
    c.model ? `model ${c.model}` : null,
    c.createdBy ? `edited by ${c.createdBy}` : null,
    c.tokensIn || c.tokensOut ? `${c.tokensIn} tokens in, ${c.tokensOut} out` : null,
    c.costUsd ? `$${c.costUsd.toFixed(4)}` : null,
  ].filter(Boolean)
  const metrics = Object.entries(c.metrics ?? {})
    .filter(([, v]) => typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean')
    .map(([k, v]) => `${k}=${typeof v === 'number' ? fullNumber(v) : String(v)}`)
  const lines = [
    `candidate ${c.id}  #${c.seq}  island ${c.island}`,
    `score     ${score}`,
    `made      ${made.join(' · ')}`,
    `parents   ${c.parents.map((p) => `${p.id}${p.score !== null ? ` (${fullNumber(p.score)})` : ''}`).join(', ') || 'none'}`,
    `children  ${c.childCount}`,
  ]
  if (metrics.length) lines.push(`metrics   ${metrics.join('  ')}`)
  // the score line holds one line of it; a traceback or a long verdict is read whole here
  const feedback = evaluatorFeedback(c)
  if (feedback && feedback.trim() !== why)
    lines.push(`feedback  ${feedback.trimEnd().split('\n').join('\n          ')}`)
  if (c.guidance.length)
    lines.push(`hints     ${c.guidance.map((g) => JSON.stringify(g.text.slice(0, 80))).join(', ')}`)
  if (c.knowledge.length)
    lines.push(
      `knowledge ${c.knowledge.map((k) => (k.doc ? chunkTitle(k.doc.title, k.heading) : (k.label ?? k.chunkId))).join('; ')}`,
    )
  const code = codeView(c, null, 'code')
  lines.push(
    `(--code, --prompt, --response or --diff print one of them alone; --json everything)`,
    '',
    code.show === 'none' ? code.words : c.code.trimEnd(),
  )
  return lines.join('\n')
}

const RATINGS = { up: 1, down: -1, none: 0 } as const

/** What an expert does to a candidate from the command line, as on its page: its API call and what is said. */
function actionOf(values: Record<string, unknown>): {
  path: string
  input: Record<string, unknown>
  done: string
} | null {
  const asked = (['pin', 'unpin', 'ban', 'rate', 'edit'] as const).filter(
    (a) => values[a] !== undefined && values[a] !== false,
  )
  if (asked.length > 1) throw new UsageError('one of --pin, --unpin, --ban, --rate and --edit at a time')
  if (values.reason !== undefined && asked[0] !== 'ban') throw new UsageError('--reason goes with --ban')
  if (values.note !== undefined && asked[0] !== 'rate' && asked[0] !== 'edit')
    throw new UsageError('--note goes with --rate or --edit')
  if (values.island !== undefined && asked[0] !== 'edit') throw new UsageError('--island goes with --edit')
  switch (asked[0]) {
    case 'pin':
    case 'unpin':
      return { path: 'candidates.setPinned', input: { pinned: asked[0] === 'pin' }, done: `${asked[0]}ned` }
    case 'ban':
      return {
        path: 'candidates.ban',
        input: values.reason ? { reason: String(values.reason) } : {},
        done: 'banned: no parent, elite or best any more',
      }
    case 'rate': {
      const r = String(values.rate)
      if (!(r in RATINGS)) throw new UsageError('--rate up, down or none')
      return {
        path: 'candidates.rate',
        input: { value: RATINGS[r as keyof typeof RATINGS], ...(values.note ? { note: String(values.note) } : {}) },
        done: r === 'none' ? 'your rating withdrawn' : `rated ${r === 'up' ? 'promising' : 'a dead end'}`,
      }
    }
    default:
      return null
  }
}

export const candidate: Command = {
  summary:
    'one candidate of a run: its score, metrics, how it was made (prompt, model response, diff) and its code; --pin, --unpin, --ban, --rate, --edit FILE as on its page',
  usage:
    'fm-agent candidate <runId> <candidateId|best> [--code | --prompt | --response | --diff] [--json] [--data-dir DIR]\n' +
    '       fm-agent candidate <runId> <candidateId|best> --pin | --unpin | --ban [--reason TEXT] | --rate up|down|none [--note TEXT] [--json]\n' +
    '       fm-agent candidate <runId> <candidateId|best> --edit FILE [--island N] [--note TEXT] [--json]\n' +
    "  --edit FILE: the file's program as your edit of the candidate, a new candidate evaluated like any other, on --island N (default: the candidate's own)\n" +
    "  <candidateId>: its id or the start of it (as the console and progress lines show it); best: the run's best\n" +
    '  --code, --prompt, --response, --diff (against its first parent): that part alone, as it is (for a pipe)',
  async run({ argv, env, log, dataDir, out }) {
    const { values, positionals } = parse(
      'candidate',
      argv,
      {
        code: { type: 'boolean' },
        prompt: { type: 'boolean' },
        response: { type: 'boolean' },
        diff: { type: 'boolean' },
        json: { type: 'boolean' },
        pin: { type: 'boolean' },
        unpin: { type: 'boolean' },
        ban: { type: 'boolean' },
        reason: { type: 'string' },
        rate: { type: 'string' },
        note: { type: 'string' },
        edit: { type: 'string' },
        island: { type: 'string' },
      },
      2,
    )
    if (!positionals[0]) throw new UsageError('which run? (fm-agent runs lists them)')
    if (!positionals[1]) throw new UsageError('which candidate? give its id, the start of it, or best')
    const parts = PARTS.filter((p) => values[p])
    if (parts.length + (values.json ? 1 : 0) > 1)
      throw new UsageError('choose one of --code, --prompt, --response, --diff and --json')
    const action = actionOf(values)
    if ((action || values.edit !== undefined) && parts.length)
      throw new UsageError('an action (--pin, --unpin, --ban, --rate, --edit) prints no part')
    const island = intOption('island', values.island, 0, 1024)
    // read before anything is opened: a mistyped file is said at once
    const edit = values.edit === undefined ? null : readProgramFile(String(values.edit), '--edit')
    const api = await connectToRuns({ env, log }, dataDir(values))
    try {
      const runId = await resolveRunId(api, positionals[0])
      const fail = (e: Error) => {
        throw requestError(e)
      }
      const id = await resolveCandidateId(api, runId, positionals[1]).catch(fail)
      if (edit) {
        // the console's editor puts an edit on the candidate's island (a seed's is -1 before the cold start places it)
        const on =
          island ??
          Math.max(0, (await api.query<{ island: number }>('candidates.get', { runId, id }).catch(fail)).island)
        const r = await api
          .mutate<{ id: string; command: { status: string } }>('candidates.submitEdit', {
            runId,
            parentId: id,
            code: edit.code,
            island: on,
            ...(values.note !== undefined ? { note: String(values.note) } : {}),
          })
          .catch(fail)
        const applied = r.command.status === 'applied'
        out(
          values.json
            ? JSON.stringify({ runId, candidateId: r.id, parentId: id, island: on, status: r.command.status })
            : applied
              ? `candidate ${r.id}: your edit of ${id} on island ${on}; it is evaluated like any candidate (fm-agent candidate ${runId.slice(0, 8)} ${r.id.slice(0, 8)} shows it)`
              : `candidate ${r.id}: your edit of ${id}, queued for island ${on}; it is evaluated when the run resumes`,
        )
        return 0
      }
      if (action) {
        await api.mutate(action.path, { runId, id, ...action.input }).catch(fail)
        out(
          values.json
            ? JSON.stringify({ runId, candidateId: id, action: action.path.split('.')[1], ...action.input })
            : `candidate ${id} ${action.done}`,
        )
        return 0
      }
      const c = await api.query<Detail>('candidates.get', { runId, id }).catch(fail)
      const part = parts[0]
      const program = codeView(c, null, 'code')
      if (values.json) out(JSON.stringify(c))
      else if ((part === 'code' || part === 'diff') && program.show === 'none')
        // said on stderr: a pipe gets nothing, not a diff that reads as deleting the parent
        log.warn(`candidate ${c.id}: ${program.words} --${part} prints nothing.`)
      else if (part === 'code') out(c.code.replace(/\n$/, ''))
      else if (part === 'diff') out(diffOf(c).replace(/\n$/, ''))
      else if (part) {
        const text = c[part]
        // said on stderr: an empty stdout is what a pipe should get
        if (text === null) log.warn(`candidate ${c.id} has no ${part} stored (it was made without a model)`)
        else out(text.replace(/\n$/, ''))
      } else out(summaryText(c))
      return 0
    } finally {
      await api.close()
    }
  },
}
