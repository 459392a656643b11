// A scripted model for the agent loop's tests and benchmarks (behind the OpenAI-protocol test
// server): it tells the kinds of request apart by what the prompt asks, and answers each the way
// a code model would, deterministically for a given seed and request order.
//   mutation  a literal edit (literal-edit-responder.ts); every `breakEvery`-th one also plants a
//             bug at the top of the EVOLVE block: a reference to an undefined name (a repair can
//             find it from the error the prompt quotes) or a raised exception (it cannot)
//   repair    removes the line the quoted NameError names; without such a name in the prompt it
//             can only try another literal edit, as a model guessing would
//   judge     a JSON verdict (rating in [0, 1] and a critique) from `judge(code)`
//   scratch   a first program when the prompt has none (`scratch(prompt)`)
import {
  extractParentProgram,
  formatSearchReplace,
  literalEditResponder,
  type LiteralEditOptions,
  type PromptMessage,
} from './literal-edit-responder.ts'

export type PromptKind = 'mutation' | 'repair' | 'judge' | 'scratch'

/** What a prompt asks for, from the sections the engine's prompt builders write. */
export function promptKind(messages: readonly PromptMessage[]): PromptKind {
  const all = messages.map((m) => m.content).join('\n\n')
  if (/^## Rubric/m.test(all) && /"rating"/.test(all)) return 'judge'
  if (/^## Task\nRepair the current program/m.test(all)) return 'repair'
  if (/^## Task\nWrite the first program/m.test(all)) return 'scratch'
  return 'mutation'
}

export type PlantedBug = 'name-error' | 'exception'

export interface AgentResponderOptions {
  literalEdit?: LiteralEditOptions
  /** every n-th mutation answer plants a bug (0: never) */
  breakEvery?: number
  /** the bugs planted, in turn (default: both kinds) */
  bugs?: readonly PlantedBug[]
  /** the judge's verdict on a program (default: a rating from the program's length) */
  judge?: (code: string) => { rating: number; critique: string }
  /** a first program for a prompt without one */
  scratch?: (prompt: string, index: number) => string
}

export interface AgentStats {
  mutations: number
  planted: Record<PlantedBug, number>
  repairs: number
  /** repairs that found the culprit the error named */
  fixed: number
  judged: number
  scratch: number
}

const BLOCK_START = /^([ \t]*)#\s*EVOLVE-BLOCK-START[^\n]*\n/m

/** The program with `line` inserted at the start of its EVOLVE block (or at the top). */
function plant(code: string, line: string): string {
  const m = BLOCK_START.exec(code)
  if (!m) return `${line}\n${code}`
  const at = m.index + m[0].length
  return `${code.slice(0, at)}${m[1]}${line}\n${code.slice(at)}`
}

export function agentResponder(opts: AgentResponderOptions = {}) {
  const edit = literalEditResponder(opts.literalEdit)
  const bugs = opts.bugs ?? ['name-error', 'exception']
  const stats: AgentStats = {
    mutations: 0,
    planted: { 'name-error': 0, exception: 0 },
    repairs: 0,
    fixed: 0,
    judged: 0,
    scratch: 0,
  }
  const judge =
    opts.judge ??
    ((code: string) => ({
      rating: Math.min(1, code.length / 4000),
      critique: `The program is ${code.split('\n').length} lines long; document the constants.`,
    }))
  const respond = (request: { messages: PromptMessage[] }): { content: string } => {
    const kind = promptKind(request.messages)
    const user = request.messages
      .filter((m) => m.role !== 'system')
      .map((m) => m.content)
      .join('\n\n')
    if (kind === 'judge') {
      stats.judged++
      const program = extractParentProgram(user)
      const v = judge(program?.code ?? '')
      return {
        content: `Here is my review.\n\n\`\`\`json\n${JSON.stringify({ rating: v.rating, critique: v.critique })}\n\`\`\``,
      }
    }
    if (kind === 'scratch') {
      const code = opts.scratch?.(user, stats.scratch++) ?? null
      return {
        content: code === null ? 'I cannot write this program.' : `A first version:\n\n\`\`\`python\n${code}\n\`\`\``,
      }
    }
    if (kind === 'repair') {
      stats.repairs++
      const program = extractParentProgram(user)
      const name = /name '([A-Za-z_]\w*)' is not defined/.exec(user)?.[1]
      const culprit =
        program && name ? program.code.split('\n').find((l) => new RegExp(`\\b${name}\\b`).test(l)) : undefined
      if (program && culprit !== undefined) {
        stats.fixed++
        return {
          content: `The program refers to \`${name}\`, which is never defined; removing that line fixes it.\n\n${formatSearchReplace(culprit, '')}`,
        }
      }
      return edit(request)
    }
    stats.mutations++
    const answer = edit(request)
    const every = opts.breakEvery ?? 0
    if (!every || stats.mutations % every !== 0) return answer
    const program = extractParentProgram(user)
    const search = /<<<<<<< SEARCH\n([\s\S]*?)\n=======\n([\s\S]*?)\n>>>>>>> REPLACE/.exec(answer.content)
    if (!program || !search) return answer
    const bug = bugs[Math.floor(stats.mutations / every) % bugs.length]!
    stats.planted[bug]++
    const n = stats.mutations
    const line =
      bug === 'name-error' ? `_fm_probe_${n} = fm_undefined_${n}` : `raise ValueError("scripted failure ${n}")`
    const edited = program.code.replace(search[1]!, search[2]!)
    return {
      content: `Tuning a constant, with a check.\n\n\`\`\`${program.language || 'python'}\n${plant(edited, line)}\n\`\`\``,
    }
  }
  return { respond, stats }
}
