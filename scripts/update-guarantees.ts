// Refreshes the figures in docs/guarantees.md from the last run of the hardening tests (the JSON
// files test-support/figures.ts writes). Each promise in the document carries a block
//   <!-- figures:NAME --> … <!-- /figures:NAME -->
// whose inside is replaced by the figures of test NAME.
//   npx tsx scripts/update-guarantees.ts [--check] [--doc FILE]
// --check writes nothing: it exits 1 when the document differs from what the last figures make, or
// when a block has no figures yet. --doc names another copy of the document (tests).
import { readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { readAllFigures, ROOT, type Figures } from '../test-support/figures.ts'

type F = Figures & { at: string }
const n = (v: unknown) => (typeof v === 'number' ? v.toLocaleString('en-US') : String(v))

const RENDER: Record<string, (f: F) => string> = {
  access: (f) =>
    `${n(f.procedures)} procedures enumerated (public: ${(f.public as string[]).join(', ')}; viewer ${f.viewer}, expert ${f.expert}, admin ${f.admin}; marked worker: ${f.workerMarked}); ${n(f.httpCalls)} HTTP calls, every one answered as its rule says.`,
  'input-bounds': (f) =>
    `${n(f.procedures)} procedures, ${n(f.withInput)} with an input, ${n(f.leafFields)} input fields walked: ${n(f.unbounded)} unbounded.`,
  fuzz: (f) =>
    `${n(f.inputsTried)} inputs tried over HTTP (${n(f.generated)} generated from the schemas at ${f.runsPerProcedure} per procedure, ${n(f.adversarial)} adversarial, of which ${n(f.transportCases)} hostile encodings) across ${n(f.procedures)} procedures, seed ${f.seed}: ${n(f.failures)} failures, no 5xx. Answers by status: ${Object.entries(
      f.byStatus as Record<string, number>,
    )
      .map(([k, v]) => `${k} ×${n(v)}`)
      .join(', ')}.`,
  secrets: (f) =>
    `${n(f.modelRequests)} model requests carried the key as a credential; 0 occurrences in ${n(f.apiAnswers)} API answers (${n(f.apiBytes)} bytes), the export (${n(f.exportBytes)} bytes), the server log (${n(f.logBytes)} bytes), ${n(f.tableRows)} table rows, ${n(f.dataFiles)} data files, ${n(f.sandboxProbes)} sandbox probes; ${n(f.redactedErrors)} provider error(s) quoting the key stored redacted.`,
  'browser-http': (f) =>
    `Headers checked on ${n(f.headerChecks)} kinds of answer (${(f.answersChecked as string[]).join(', ')}).`,
  'durability-embedded': (f) =>
    `${n(f.trials)} trials, ${n(f.kills)} kill -9 survived (by moment: ${Object.entries(
      f.byMoment as Record<string, number>,
    )
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}; by phase: ${Object.entries(f.byPhase as Record<string, number>)
      .map(([k, v]) => `${k} ${v}`)
      .join(
        ', ',
      )}); database state at start-up kills: ${JSON.stringify(f.databaseAtStartupKill)}; evaluated candidates at the kills: ${(f.evaluationsAtKill as number[]).join(', ')}; ${n(f.resumes)} final resumes each ended with exactly ${f.budget} evaluations; unclean stop reported ${n(f.uncleanReported)} times; seed ${f.seed}; ${n(f.seconds)} s.`,
  'durability-server': (f) =>
    `${n(f.workerKills)} workers killed mid-job (at ${(f.evaluationsAtKills as number[]).join(', ')} evaluations); ${n(f.killedJobsRerun)} killed jobs re-ran on another worker, ${n(f.jobsRunMoreThanOnce)} jobs ran more than once, each ingested once; the run ended with ${n(f.evaluations)} of ${n(f.budget)} evaluations; ${n(f.seconds)} s.`,
  'unclean-stop': (f) =>
    `${n(f.kills)} kills mid-write: ${n(f.writesSent)} writes sent, ${n(f.acknowledged)} acknowledged, ${n(f.present)} present after restart (${n(f.inFlightAtKill)} in flight at the kills), ${n(f.lost)} lost, ${n(f.torn)} torn; unclean stop reported ${n(f.uncleanReported)} times.`,
  soak: (f) =>
    `${n(f.evaluations)} evaluations in ${n(f.seconds)} s (${f.evalsPerSecond}/s) with ${f.clients} live subscribers and ${f.reconnects} mid-run reconnect: heap slope ${f.heapSlopeMbPer1000Evals} MB per 1000 evaluations after warm-up (heap ${f.heapMbStart} → ${f.heapMbEnd} MB after GC, RSS slope ${f.rssSlopeMbPer1000Evals} MB/1000, RSS at end ${f.rssMbEnd} MB, ${f.samples} samples); run listeners: engine ${f.listenersEngine}, with clients ${f.listenersSubscribed}, after ${f.listenersAfter} (baseline ${f.listenersBaseline}); ${f.lostEvents} lost, ${f.repeatedEvents} repeated events.`,
  'soak-browsers': (f) =>
    `${n(f.evaluations)} evaluations watched by ${f.browsers} Chromium dashboards, each reached the last one; server RSS ${f.rssMbStart} → ${f.rssMbEnd} MB (slope ${f.rssSlopeMbPer1000Evals} MB/1000, whole process, no forced GC: reported, not judged); connections to the server ${f.connectionsBefore} before, ${f.connectionsOpen} while watching, ${f.connectionsAfter} after the browsers closed.`,
  forgery: (f) =>
    `${n(f.evaluations)} sandboxed evaluations at isolation ${f.isolation}: ${n(f.forgeries)} forgery or snooping attempts, every one refused or scored as what the candidate truly did, across ${n(f.problems)} built-in problems (seed, a forged line and exit, and everything else then the seed's work, each), ${n(f.harnessCases)} KernelBench-harness cases on the CPU path, ${n(f.channelCases)} result-channel and mask cases, ${n(f.openEvolveCases)} OpenEvolve cases (${n(f.acceptedAsDocumented)} forgery accepted, as documented: a program imported into the evaluator's process).`,
  'access-integrity': (f) =>
    `${n(f.redirectRequests)} /login requests with unsafe next targets, each sent back to /login; ${n(f.passwordChangeRefusals)} calls (session and token, SSE included) refused while a password change was due; ${n(f.tokensSearched)} live tokens searched for in ${n(f.dataFiles)} data-folder files: 0 found; ${n(f.localNamedTokensKept)} users' tokens named "local …" alive after a server restart, the older version's file token revoked.`,
  audit: (f) =>
    `${n(f.mutations)} mutations in the router, ${n(f.scenarios)} performed through HTTP, ${n(f.events)} audit events checked (author, time, target, before/after).`,
}

/** The document with each figures block filled from `figures`; blocks without figures are left as they are. */
export function fillFigures(doc: string, figures: Record<string, F>): { doc: string; missing: string[] } {
  const missing: string[] = []
  const out = doc.replace(/<!-- figures:([\w-]+) -->[\s\S]*?<!-- \/figures:\1 -->/g, (m, name: string) => {
    const f = figures[name]
    if (!f) {
      missing.push(name)
      return m
    }
    const text = (RENDER[name] ?? ((x: F) => JSON.stringify(x)))(f)
    return `<!-- figures:${name} -->\n_Last run ${f.at.slice(0, 16).replace('T', ' ')} UTC:_ ${text}\n<!-- /figures:${name} -->`
  })
  return { doc: out, missing }
}

function main(args: string[]): number {
  const check = args.includes('--check')
  const docAt = args.indexOf('--doc')
  const docArg = docAt >= 0 ? args[docAt + 1] : undefined
  const known = new Set(['--check', '--doc', ...(docArg ? [docArg] : [])])
  if ((docAt >= 0 && !docArg) || args.some((a) => !known.has(a))) {
    process.stderr.write('usage: npx tsx scripts/update-guarantees.ts [--check] [--doc FILE]\n')
    return 2
  }
  const path = docArg ? resolve(docArg) : join(ROOT, 'docs', 'guarantees.md')
  const before = readFileSync(path, 'utf8')
  const { doc, missing } = fillFigures(before, readAllFigures())
  const note = missing.length ? `; no figures yet for: ${missing.join(', ')}` : ''
  if (check) {
    const stale = doc !== before
    process.stdout.write(`${path} ${stale ? 'differs from the last figures' : 'matches the last figures'}${note}\n`)
    return stale || missing.length ? 1 : 0
  }
  writeFileSync(path, doc)
  process.stdout.write(`updated ${path}${note}\n`)
  return 0
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  process.exitCode = main(process.argv.slice(2))
