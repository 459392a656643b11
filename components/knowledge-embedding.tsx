'use client'
// The embedding model: which one is active (and whether it understands meaning or only words),
// how many documents it covers, re-embedding with live progress, and (admins) changing it.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useState, type FormEvent } from 'react'
import { errorMessage, useTRPC } from './trpc.tsx'

type Provider = 'lexical-hash' | 'openai' | 'transformers'

function ModelForm() {
  const trpc = useTRPC()
  const qc = useQueryClient()
  const [provider, setProvider] = useState<Provider>('openai')
  const [model, setModel] = useState('')
  const [baseURL, setBaseURL] = useState('')
  const [apiKeyEnv, setApiKeyEnv] = useState('')
  const [dimensions, setDimensions] = useState('')
  const [modelPath, setModelPath] = useState('')
  const set = useMutation(
    trpc.knowledge.setEmbedder.mutationOptions({
      onSuccess: () => qc.invalidateQueries({ queryKey: trpc.knowledge.pathKey() }),
    }),
  )
  const submit = (e: FormEvent) => {
    e.preventDefault()
    const config =
      provider === 'lexical-hash'
        ? { provider }
        : provider === 'openai'
          ? {
              provider,
              model,
              ...(baseURL ? { baseURL } : {}),
              ...(apiKeyEnv ? { apiKeyEnv } : {}),
              ...(dimensions ? { dimensions: Number(dimensions) } : {}),
            }
          : { provider, modelPath }
    set.mutate({ config })
  }
  return (
    <form className="card form" onSubmit={submit} aria-label="change the embedding model">
      <h2>Change the model</h2>
      <div className="muted small">
        The model answers a test request first. When it changes, every document is marked pending and re-embedded in the
        background; searches use the new model&apos;s vectors as documents are done (the others are found by full text
        meanwhile).
      </div>
      <label>
        Provider
        <select value={provider} onChange={(e) => setProvider(e.target.value as Provider)}>
          <option value="openai">OpenAI-compatible embeddings endpoint (OpenAI, vLLM, Ollama, llama.cpp, TEI)</option>
          <option value="transformers">local ONNX model folder (transformers.js, optional package)</option>
          <option value="lexical-hash">offline lexical hashing (default, no model)</option>
        </select>
      </label>
      {provider === 'openai' && (
        <div className="row">
          <label>
            Model
            <input
              value={model}
              onChange={(e) => setModel(e.target.value)}
              placeholder="text-embedding-3-small"
              required
              maxLength={200}
            />
          </label>
          <label style={{ flex: 1 }}>
            Base URL (empty: OpenAI)
            <input
              value={baseURL}
              onChange={(e) => setBaseURL(e.target.value)}
              placeholder="http://127.0.0.1:11434/v1"
              maxLength={500}
            />
          </label>
          <label>
            API key variable
            <input
              value={apiKeyEnv}
              onChange={(e) => setApiKeyEnv(e.target.value)}
              placeholder="OPENAI_API_KEY"
              maxLength={100}
            />
          </label>
          <label>
            Dimensions
            <input
              value={dimensions}
              onChange={(e) => setDimensions(e.target.value.replace(/\D/g, ''))}
              placeholder="native"
              maxLength={5}
              style={{ width: 90 }}
            />
          </label>
        </div>
      )}
      {provider === 'transformers' && (
        <label>
          Model folder on the server (config.json, tokenizer files, onnx/model.onnx)
          <input
            value={modelPath}
            onChange={(e) => setModelPath(e.target.value)}
            placeholder="/models/all-MiniLM-L6-v2"
            required
            maxLength={1000}
          />
        </label>
      )}
      {set.error && <div className="alert error">{errorMessage(set.error)}</div>}
      {set.data && (
        <div className="alert info">
          Active model: <span className="mono">{set.data.modelId}</span> ({set.data.dims} dimensions).{' '}
          {set.data.changed ? 'Re-embedding every document.' : 'It was already active.'}
        </div>
      )}
      <div>
        <button className="primary" disabled={set.isPending}>
          {set.isPending ? 'Testing the model…' : 'Use this model'}
        </button>
      </div>
    </form>
  )
}

export function KnowledgeEmbedding() {
  const trpc = useTRPC()
  const qc = useQueryClient()
  const me = useQuery(trpc.account.me.queryOptions())
  const isAdmin = me.data?.role === 'admin'
  const model = useQuery(trpc.knowledge.embedder.queryOptions())
  const status = useQuery(
    trpc.knowledge.embeddingStatus.queryOptions(undefined, {
      refetchInterval: (q) => (q.state.data?.job?.running ? 700 : 5000),
    }),
  )
  const reembed = useMutation(
    trpc.knowledge.reembed.mutationOptions({
      onSuccess: () => qc.invalidateQueries({ queryKey: trpc.knowledge.embeddingStatus.queryKey() }),
    }),
  )
  const s = status.data
  const job = s?.job
  const pct = job?.total ? Math.round((100 * job.done) / job.total) : job?.running ? 0 : 100
  return (
    <div className="grid">
      <div className="card form">
        <h2>Embedding model</h2>
        {model.data && (
          <div>
            <span className="mono">{model.data.modelId}</span> · {model.data.label}{' '}
            {!model.data.semantic && <span className="badge warn">lexical: finds shared words, not meaning</span>}
          </div>
        )}
        {s && (
          <div className="row" data-testid="embedding-status">
            <div className="stat">
              <span className="v">{s.ready}</span>
              <span className="l">embedded</span>
            </div>
            <div className="stat">
              <span className="v">{s.pending}</span>
              <span className="l">pending</span>
            </div>
            <div className="stat">
              <span className="v" style={{ color: s.failed ? 'var(--bad)' : undefined }}>
                {s.failed}
              </span>
              <span className="l">failed</span>
            </div>
            <div className="stat">
              <span className="v">{s.total}</span>
              <span className="l">documents</span>
            </div>
          </div>
        )}
        {job && (
          <div aria-label="re-embedding progress">
            <div className="small">
              {job.running ? 'Re-embedding' : 'Last re-embed'} with <span className="mono">{job.modelId || '…'}</span>:{' '}
              {job.done} of {job.total} documents
              {job.failed ? `, ${job.failed} failed` : ''}
              {job.error ? ` · stopped: ${job.error}` : ''}
            </div>
            <div
              role="progressbar"
              aria-valuemin={0}
              aria-valuemax={100}
              aria-valuenow={pct}
              style={{ height: 8, background: 'var(--panel-2)', borderRadius: 4, marginTop: 4 }}
            >
              <div
                style={{
                  width: `${pct}%`,
                  height: '100%',
                  background: job.error || job.failed ? 'var(--warn)' : 'var(--accent)',
                  borderRadius: 4,
                  transition: 'width .3s',
                }}
              />
            </div>
          </div>
        )}
        {reembed.error && <div className="alert error">{errorMessage(reembed.error)}</div>}
        {isAdmin && (
          <div className="row">
            <button
              onClick={() => reembed.mutate({ retryFailed: true })}
              disabled={reembed.isPending || !!job?.running || !s || s.pending + s.failed + s.stale === 0}
            >
              Re-embed pending and failed documents
            </button>
          </div>
        )}
      </div>
      {isAdmin && <ModelForm />}
    </div>
  )
}
