// Judge requests for the scripted OpenAI-protocol server: a request whose system message says it
// reviews candidate programs (server/engine/judge.ts) gets a JSON review, as a judge model writes
// one. The rating grows with the program's score in the problem's direction relative to the first
// score it saw, so better programs are rated higher; the critique names the program's score, so a
// test can find it again in the descendants' prompts. Deterministic.
import type { PromptMessage } from './literal-edit-responder.ts'

const JUDGE_SYSTEM = /You review candidate programs/

export function isJudgeRequest(messages: readonly PromptMessage[]): boolean {
  return messages.some((m) => m.role === 'system' && JUDGE_SYSTEM.test(m.content))
}

/** The review's content for a judge request (null: not one). */
export function judgeAnswer(messages: readonly PromptMessage[]): string | null {
  if (!isJudgeRequest(messages)) return null
  const user = messages
    .filter((m) => m.role === 'user')
    .map((m) => m.content)
    .join('\n')
  const m = user.match(/## Candidate program \(([^=]+) = ([^)]+)\)/)
  const minimize = /minimizes "/.test(user)
  const score = m ? Number(m[2]) : Number.NaN
  // a squashing of the score: monotone in the problem's direction, in (0, 1)
  const x = Number.isFinite(score) ? (minimize ? -score : score) : -Infinity
  const rating = Number.isFinite(x) ? Math.round((1 / (1 + Math.exp(-x))) * 1000) / 1000 : 0
  const critique = `Review of the program scoring ${m ? m[2]!.trim() : 'nothing'}: keep the structure, tune the largest coefficient next.`
  return JSON.stringify({ rating, critique })
}
