'use client'
// Starting a run (admins): the problem, islands and population, the budget (evaluations, spend,
// time), where mutations come from (offline operators with weights, or models with weights and
// prices), exploration and the seed. The form is checked with the server's own schema before it
// is sent (client-safe/run-form.ts). With ?fork=<run>&candidate=<id> it starts a run from that
// candidate ("new run from here"): the form opens with the source run's configuration, and the
// candidate (optionally with its island's best) seeds the new run's cold start. Seed programs an
// expert uploads join the cold start beside the problem's seed (and a fork's candidate).
import { useMutation, useQuery } from '@tanstack/react-query'
import Link from 'next/link'
import { useRouter, useSearchParams } from 'next/navigation'
import { useEffect, useMemo, useState } from 'react'
import { PROVIDERS } from '../client-safe/model-config.ts'
import {
  LLM_OPERATORS,
  LOCAL_OPERATOR_NAMES,
  SEED_PROGRAM_MAX_CHARS,
  SEED_PROGRAMS_MAX,
} from '../client-safe/run-config.ts'
import {
  configToForm,
  forkName,
  RUN_NAME_MAX,
  defaultRunForm,
  emptyModelRow,
  errorSummary,
  formToConfig,
  mergeForkConfig,
  type FormErrors,
  type ModelRow,
  type RunForm,
} from '../client-safe/run-form.ts'
import { fmt } from '../client-safe/format.ts'
import { ErrorBox, shortId, useRole } from './run-ui.tsx'
import { useTRPC } from './trpc.tsx'

const OPERATOR_HELP: Record<string, string> = {
  perturb: 'numeric-literal perturbation (fine to wide steps)',
  'crossover-literals': 'crossover of aligned literals of two parents',
  'crossover-blocks': 'crossover of blocks inside EVOLVE-BLOCK regions',
  swap: 'statement swap inside EVOLVE-BLOCK regions',
}

function Field({
  label,
  name,
  errors,
  children,
  hint,
}: {
  label: string
  name: string
  errors: FormErrors
  children: React.ReactNode
  hint?: string
}) {
  return (
    <label>
      {label}
      {children}
      {hint && (
        <span className="muted small" id={`hint-${name}`}>
          {hint}
        </span>
      )}
      {errors[name] && (
        <span className="small" style={{ color: 'var(--bad)' }} role="alert" id={`error-${name}`}>
          {errors[name]}
        </span>
      )}
    </label>
  )
}

/** A Field holding one text input: its aria label (the visible label, without the hint and the error read after it) is what the end-to-end tests and screen readers find. */
function InputField({
  label,
  name,
  errors,
  hint,
  aria,
  value,
  onChange,
  ...input
}: {
  label: string
  name: string
  errors: FormErrors
  hint?: string
  aria: string
  value: string
  onChange: (v: string) => void
  inputMode?: 'numeric' | 'decimal'
  placeholder?: string
  maxLength?: number
  style?: React.CSSProperties
}) {
  return (
    <Field label={label} name={name} errors={errors} hint={hint}>
      {/* its aria label replaces the label's text: the hint and the error are read through describedby */}
      <input
        aria-label={aria}
        aria-invalid={errors[name] ? true : undefined}
        aria-describedby={
          [errors[name] ? `error-${name}` : null, hint ? `hint-${name}` : null].filter(Boolean).join(' ') || undefined
        }
        value={value}
        onChange={(e) => onChange(e.target.value)}
        {...input}
      />
    </Field>
  )
}

/** The fields of T that hold free text (the form keeps every number as the text typed). */
type TextKey<T> = { [K in keyof T]: T[K] extends string ? (string extends T[K] ? K : never) : never }[keyof T]

/** The run's numeric settings, in the order the form shows them. */
const NUMBER_SETTINGS: Array<{
  key: TextKey<RunForm>
  label: string
  aria: string
  inputMode: 'numeric' | 'decimal'
  hint?: string
  placeholder?: string
}> = [
  { key: 'islands', label: 'Islands', aria: 'Islands', inputMode: 'numeric' },
  { key: 'populationPerIsland', label: 'Population per island', aria: 'Population per island', inputMode: 'numeric' },
  {
    key: 'seed',
    label: 'Seed',
    aria: 'Seed',
    inputMode: 'numeric',
    hint: 'seeds every random choice; evaluations finish in their own order, so two runs can still differ',
  },
  { key: 'maxEvals', label: 'Budget: evaluations', aria: 'Budget: evaluations', inputMode: 'numeric' },
  {
    key: 'maxSpendUsd',
    label: 'Budget: spend (USD, optional)',
    aria: 'Budget: spend (USD, optional)',
    inputMode: 'decimal',
    placeholder: 'no cap',
  },
  {
    key: 'maxWallMin',
    label: 'Budget: time (minutes, optional)',
    aria: 'Budget: time (minutes, optional)',
    inputMode: 'decimal',
    placeholder: 'no cap',
  },
  {
    key: 'exploration',
    label: 'Exploration (0–1)',
    aria: 'Exploration (0–1)',
    inputMode: 'decimal',
    hint: '0 exploits the best, 1 explores broadly',
  },
  {
    key: 'stagnationWindow',
    label: 'Stagnation window (evaluations)',
    aria: 'Stagnation window (evaluations)',
    inputMode: 'numeric',
  },
  {
    key: 'concurrency',
    label: 'Model requests in flight, at most (evaluations follow the workers)',
    aria: 'Model requests in flight, at most',
    inputMode: 'numeric',
  },
]

/** A model row's text inputs after its provider. */
const MODEL_INPUTS: Array<{
  key: TextKey<ModelRow>
  label: string
  aria: string
  placeholder?: string
  style?: React.CSSProperties
}> = [
  { key: 'model', label: 'model', aria: 'model', placeholder: 'gpt-4.1-mini' },
  {
    key: 'baseURL',
    label: 'base URL (optional)',
    aria: 'base URL',
    placeholder: 'http://127.0.0.1:8000/v1',
    style: { width: 230 },
  },
  { key: 'apiKeyEnv', label: 'key variable', aria: 'key variable', style: { width: 170 } },
  { key: 'weight', label: 'weight', aria: 'weight', style: { width: 60 } },
  { key: 'pricePer1kIn', label: '$ / 1k in', aria: 'price $ / 1k in', style: { width: 70 } },
  { key: 'pricePer1kOut', label: '$ / 1k out', aria: 'price $ / 1k out', style: { width: 70 } },
]

export function RunCreateForm() {
  const trpc = useTRPC()
  const router = useRouter()
  const params = useSearchParams()
  const { can, loaded } = useRole()
  const problems = useQuery(trpc.problems.list.queryOptions())
  const [f, setF] = useState<RunForm>(() => defaultRunForm(params.get('problem') ?? ''))
  const [errors, setErrors] = useState<FormErrors>({})
  const create = useMutation(trpc.runs.create.mutationOptions({ onSuccess: (r) => router.push(`/runs/${r.id}`) }))
  // a fork: the source run's configuration fills the form once, the problem stays the source's
  const forkSource =
    params.get('fork') && params.get('candidate')
      ? { runId: params.get('fork')!, candidateId: params.get('candidate')! }
      : null
  const preview = useQuery(
    trpc.runs.forkPreview.queryOptions(forkSource ?? { runId: '', candidateId: '' }, {
      enabled: !!forkSource && loaded && can('admin'),
      staleTime: Infinity,
    }),
  )
  const [withIsland, setWithIsland] = useState(false)
  const fork = useMutation(trpc.runs.fork.mutationOptions({ onSuccess: (r) => router.push(`/runs/${r.id}`) }))
  const p = preview.data
  useEffect(() => {
    if (p)
      setF(
        configToForm(
          p.source.problemId,
          forkName(p.source.name || shortId(p.source.runId), shortId(p.candidate.id)),
          p.config,
        ),
      )
  }, [p])
  const problem = useMemo(() => problems.data?.find((p) => p.id === f.problemId), [problems.data, f.problemId])
  const set = <K extends keyof RunForm>(k: K, v: RunForm[K]) => setF((x) => ({ ...x, [k]: v }))
  const setModel = (i: number, patch: Partial<RunForm['models'][number]>) =>
    setF((x) => ({ ...x, models: x.models.map((m, j) => (j === i ? { ...m, ...patch } : m)) }))

  if (loaded && !can('admin')) return <div className="alert">Only admins start runs.</div>
  const summary = errorSummary(errors)
  return (
    <form
      className="form card"
      style={{ maxWidth: 980 }}
      data-testid="run-form"
      onSubmit={(e) => {
        e.preventDefault()
        const r = formToConfig(f)
        if (!r.ok) return setErrors(r.errors)
        setErrors({})
        if (forkSource && p)
          fork.mutate({
            ...forkSource,
            withIsland,
            name: r.name,
            config: mergeForkConfig(p.config, r.config) as Record<string, unknown>,
          })
        else create.mutate({ problemId: r.problemId, name: r.name, config: r.config as Record<string, unknown> })
      }}
    >
      {forkSource && (
        <div className="alert info" data-testid="fork-source">
          {preview.error ? (
            <ErrorBox error={preview.error} title="The candidate to start from could not be loaded" />
          ) : !p ? (
            'Loading the candidate to start from…'
          ) : (
            <>
              <div>
                <strong>
                  New run from candidate{' '}
                  <Link className="mono" href={`/runs/${p.source.runId}/candidates/${p.candidate.id}`}>
                    {shortId(p.candidate.id)}
                  </Link>
                </strong>
                {p.source.isBest && ' (the run’s best)'} of run{' '}
                <Link href={`/runs/${p.source.runId}`}>{p.source.name || shortId(p.source.runId)}</Link>: score{' '}
                {p.candidate.valid ? fmt(p.candidate.score, 6) : 'invalid'}
                {p.candidate.island >= 0 ? `, island ${p.candidate.island}` : ''}. It seeds the new run’s cold start,
                next to the problem’s own seed; the settings below are that run’s, to edit.
              </div>
              <label className="row" style={{ flexDirection: 'row', marginTop: 6 }}>
                <input
                  type="checkbox"
                  checked={withIsland}
                  disabled={p.island.available === 0}
                  onChange={(e) => setWithIsland(e.target.checked)}
                />{' '}
                also seed with its island’s population
                {p.island.available > 0
                  ? ` (the ${p.island.available} best distinct programs of island ${p.island.index})`
                  : ' (none to take)'}
              </label>
            </>
          )}
        </div>
      )}
      <div className="grid two">
        <Field label="Problem" name="problemId" errors={errors}>
          <select
            aria-label="Problem"
            value={f.problemId}
            disabled={!!forkSource}
            title={forkSource ? 'a fork runs on its source run’s problem' : undefined}
            onChange={(e) => set('problemId', e.target.value)}
          >
            <option value="">choose…</option>
            {problems.data?.map((p) => (
              <option key={p.id} value={p.id}>
                {p.id} — {p.name}
              </option>
            ))}
          </select>
        </Field>
        <InputField
          label="Name (optional)"
          name="name"
          errors={errors}
          aria="Name"
          value={f.name}
          maxLength={RUN_NAME_MAX}
          onChange={(v) => set('name', v)}
          placeholder="what this run tries"
        />
      </div>
      {problem && (
        <div className="small muted">
          {problem.direction === 'max' ? 'maximize' : 'minimize'} <span className="mono">{problem.primaryMetric}</span>{' '}
          · {problem.language}
          {problem.reference ? ` · reference ${problem.reference.value} (${problem.reference.source})` : ''}
        </div>
      )}
      {problem && <ProblemDescription problemId={problem.id} />}
      {problem?.runnable && !problem.runnable.ok && (
        <div className="alert error" data-testid="problem-cannot-run">
          This problem cannot run on this machine: it needs{' '}
          {problem.runnable.text ?? problem.runnable.missing.join(', ')}.
          {problem.runnable.fix && (
            <>
              {' '}
              Fix: <code>{problem.runnable.fix}</code>
            </>
          )}
        </div>
      )}
      <div className="grid three">
        {NUMBER_SETTINGS.map(({ key, ...n }) => (
          <InputField key={key} name={key} errors={errors} value={f[key]} onChange={(v) => set(key, v)} {...n} />
        ))}
      </div>

      <fieldset className="card" style={{ background: 'var(--panel-2)' }}>
        <legend className="small muted">Mutations come from</legend>
        <div className="row">
          <label className="row" style={{ flexDirection: 'row' }}>
            <input
              type="radio"
              name="mutator"
              checked={f.mutator === 'local'}
              onChange={() => set('mutator', 'local')}
            />{' '}
            offline program operators (no model)
          </label>
          <label className="row" style={{ flexDirection: 'row' }}>
            <input
              type="radio"
              name="mutator"
              checked={f.mutator === 'llm'}
              onChange={() =>
                setF((x) => ({ ...x, mutator: 'llm', models: x.models.length ? x.models : [emptyModelRow()] }))
              }
            />{' '}
            language models
          </label>
        </div>
        {f.mutator === 'local' ? (
          <div className="grid three" style={{ marginTop: 10 }}>
            {LOCAL_OPERATOR_NAMES.map((o) => (
              <InputField
                key={o}
                label={`weight: ${o}`}
                name={`localOperators.${o}`}
                errors={errors}
                hint={OPERATOR_HELP[o]}
                aria={`weight ${o}`}
                inputMode="decimal"
                value={f.localOperators[o]}
                onChange={(v) => set('localOperators', { ...f.localOperators, [o]: v })}
              />
            ))}
          </div>
        ) : (
          <div style={{ marginTop: 10 }} className="grid">
            {errors.models && <div className="alert error small">{errors.models}</div>}
            <div className="muted small">
              Prices are in dollars per 1,000 tokens: a provider&apos;s price per million tokens divided by 1,000
              (gpt-4.1-mini&apos;s $0.40 / 1M input is 0.0004).
            </div>
            {f.models.map((m, i) => (
              <div key={i} className="row" style={{ alignItems: 'flex-end' }} data-testid="model-row">
                <Field label="provider" name={`models.${i}.provider`} errors={errors}>
                  <select
                    aria-label={`provider ${i + 1}`}
                    value={m.provider}
                    onChange={(e) => setModel(i, { provider: e.target.value as RunForm['models'][number]['provider'] })}
                  >
                    {PROVIDERS.map((p) => (
                      <option key={p}>{p}</option>
                    ))}
                  </select>
                </Field>
                {MODEL_INPUTS.map(({ key, ...c }) => (
                  <InputField
                    key={key}
                    name={`models.${i}.${key}`}
                    errors={errors}
                    {...c}
                    aria={`${c.aria} ${i + 1}`}
                    value={m[key]}
                    onChange={(v) => setModel(i, { [key]: v })}
                  />
                ))}
                <button
                  type="button"
                  onClick={() => setF((x) => ({ ...x, models: x.models.filter((_, j) => j !== i) }))}
                >
                  Remove
                </button>
              </div>
            ))}
            <div>
              <button type="button" onClick={() => setF((x) => ({ ...x, models: [...x.models, emptyModelRow()] }))}>
                Add a model
              </button>
              <span className="muted small">
                {' '}
                The key itself never goes into a run: name the server's environment variable that holds it.
              </span>
            </div>
            <div className="grid three">
              {LLM_OPERATORS.map((o) => (
                <InputField
                  key={o}
                  label={`weight: ${o}`}
                  name={`llmOperators.${o}`}
                  errors={errors}
                  aria={`weight ${o}`}
                  inputMode="decimal"
                  value={f.llmOperators[o]}
                  onChange={(v) => set('llmOperators', { ...f.llmOperators, [o]: v })}
                />
              ))}
            </div>
          </div>
        )}
      </fieldset>
      <SeedProgramsField
        programs={f.seedPrograms}
        error={errors.seedPrograms}
        language={problem?.language}
        onChange={(v) => set('seedPrograms', v)}
        fork={!!forkSource}
      />
      <ErrorBox error={create.error ?? fork.error} title="The run was not created" />
      <div className="row">
        <button className="primary" type="submit" disabled={create.isPending || fork.isPending || (!!forkSource && !p)}>
          {create.isPending || fork.isPending
            ? 'Starting…'
            : forkSource
              ? 'Start the run from this candidate'
              : 'Start the run'}
        </button>
        {summary && (
          <span className="small" style={{ color: 'var(--bad)' }} role="alert" data-testid="form-summary">
            {summary}
          </span>
        )}
      </div>
    </form>
  )
}

/** Programs uploaded from files: read in the browser, sent with the config, checked by the server's schema. */
function SeedProgramsField({
  programs,
  error,
  language,
  fork,
  onChange,
}: {
  programs: RunForm['seedPrograms']
  error?: string
  language?: string
  fork: boolean
  onChange: (v: RunForm['seedPrograms']) => void
}) {
  const [note, setNote] = useState<string | null>(null)
  const add = async (files: FileList | null) => {
    if (!files?.length) return
    const next = [...programs]
    const skipped: string[] = []
    for (const file of Array.from(files)) {
      if (next.length >= SEED_PROGRAMS_MAX) skipped.push(`${file.name} (at most ${SEED_PROGRAMS_MAX} programs)`)
      else if (file.size > SEED_PROGRAM_MAX_CHARS * 4) skipped.push(`${file.name} (too large)`)
      else {
        const code = await file.text()
        if (!code.trim()) skipped.push(`${file.name} (empty)`)
        else if (code.length > SEED_PROGRAM_MAX_CHARS)
          skipped.push(`${file.name} (over ${SEED_PROGRAM_MAX_CHARS.toLocaleString('en')} characters)`)
        else next.push({ name: file.name, code })
      }
    }
    setNote(skipped.length ? `Not added: ${skipped.join(', ')}.` : null)
    onChange(next)
  }
  return (
    <fieldset className="card" style={{ background: 'var(--panel-2)' }} data-testid="seed-programs">
      <legend className="small muted">Seed programs (optional)</legend>
      <div className="small muted">
        Programs to start from: the cold start evaluates each {fork ? 'beside the candidate and ' : ''}beside the
        problem’s own seed{language ? ` (${language})` : ''}, then its generators rewrite them. Knowledge documents
        tagged <span className="mono">seed</span> for this problem are added too.
      </div>
      <input
        type="file"
        multiple
        aria-label="Upload seed programs"
        onChange={(e) => void add(e.target.files).then(() => (e.target.value = ''))}
        style={{ marginTop: 6 }}
      />
      {programs.length > 0 && (
        <ul className="small" style={{ margin: '6px 0 0', paddingLeft: 18 }}>
          {programs.map((p, i) => (
            <li key={`${p.name}-${i}`} data-testid="seed-program">
              <span className="mono">{p.name}</span> · {p.code.split('\n').length} lines{' '}
              <button type="button" className="small" onClick={() => onChange(programs.filter((_, j) => j !== i))}>
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
      {note && (
        <div className="small muted" role="status">
          {note}
        </div>
      )}
      {error && (
        <div className="small" style={{ color: 'var(--bad)' }} role="alert">
          {error}
        </div>
      )}
    </fieldset>
  )
}

/** The problem's description as the model reads it: what a program must define and how it is scored. */
function ProblemDescription({ problemId }: { problemId: string }) {
  const trpc = useTRPC()
  const got = useQuery(trpc.problems.get.queryOptions({ id: problemId }, { staleTime: 60_000 }))
  const text = got.data?.description?.trim()
  if (!text) return null
  return (
    <details className="block small" data-testid="problem-description">
      <summary>the problem's description (what the model is told)</summary>
      <pre className="prewrap" style={{ maxHeight: 320, overflow: 'auto' }}>
        {text}
      </pre>
    </details>
  )
}
