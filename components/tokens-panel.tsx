'use client'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useState } from 'react'
import { errorMessage, useTRPC } from './trpc.tsx'
import { tokenState } from '../client-safe/token-state.ts'

export function TokensPanel({ isAdmin }: { isAdmin: boolean }) {
  const trpc = useTRPC()
  const qc = useQueryClient()
  // an admin also sees everyone's tokens: a leaked one is revoked without its owner
  const [everyone, setEveryone] = useState(false)
  const mine = useQuery({ ...trpc.tokens.mine.queryOptions(), enabled: !everyone })
  const all = useQuery({ ...trpc.tokens.all.queryOptions(), enabled: isAdmin && everyone })
  const tokens = everyone ? all : mine
  const [name, setName] = useState('')
  const [scope, setScope] = useState<'cli' | 'worker'>('cli')
  const [shown, setShown] = useState<string | null>(null)
  const refresh = () =>
    Promise.all([
      qc.invalidateQueries({ queryKey: trpc.tokens.mine.queryKey() }),
      qc.invalidateQueries({ queryKey: trpc.tokens.all.queryKey() }),
    ])
  const create = useMutation(
    trpc.tokens.create.mutationOptions({ onSuccess: (t) => (setShown(t.token), setName(''), refresh()) }),
  )
  const revoke = useMutation(trpc.tokens.revoke.mutationOptions({ onSuccess: refresh }))
  return (
    <div className="card form">
      <h2>API tokens</h2>
      <div className="muted small">
        For scripts calling the API (<code>Authorization: Bearer …</code> on <code>/api/trpc</code>); the command line
        on this machine needs none. A token is shown once.
      </div>
      <div className="row">
        <input
          placeholder="name, e.g. laptop"
          aria-label="New token's name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          maxLength={100}
        />
        <select
          aria-label="New token's scope"
          value={scope}
          onChange={(e) => setScope(e.target.value as 'cli' | 'worker')}
        >
          <option value="cli">cli</option>
          {isAdmin && <option value="worker">worker</option>}
        </select>
        <button disabled={!name || create.isPending} onClick={() => create.mutate({ name, scope })}>
          Create
        </button>
      </div>
      {create.error && <div className="alert error">{errorMessage(create.error)}</div>}
      {shown && (
        <div className="alert info">
          Copy it now, it will not be shown again: <code data-testid="new-token">{shown}</code>
        </div>
      )}
      {isAdmin && (
        <label className="row small">
          <input
            type="checkbox"
            checked={everyone}
            onChange={(e) => setEveryone(e.target.checked)}
            data-testid="tokens-everyone"
          />
          every user's tokens
        </label>
      )}
      {revoke.error && <div className="alert error">{errorMessage(revoke.error)}</div>}
      <div className="scroll-x">
        <table className="table" data-testid="tokens-table">
          <thead>
            <tr>
              <th>name</th>
              {everyone && <th>owner</th>}
              <th>scope</th>
              <th>prefix</th>
              <th>last used</th>
              <th>expires</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {tokens.data?.map((t) => (
              <tr key={t.id}>
                <td>{t.name}</td>
                {everyone && <td>{t.user.email}</td>}
                <td>{t.scope}</td>
                <td className="mono">{t.prefix}…</td>
                <td className="small muted">{t.lastUsedAt ? new Date(t.lastUsedAt).toLocaleString() : 'never'}</td>
                <td className="small muted">{t.expiresAt ? new Date(t.expiresAt).toLocaleString() : 'never'}</td>
                <td>
                  {tokenState(t) === 'revoked' ? (
                    <span className="badge bad">revoked</span>
                  ) : tokenState(t) === 'expired' ? (
                    <span className="badge warn">expired</span>
                  ) : (
                    <button
                      disabled={revoke.isPending}
                      aria-label={`Revoke ${t.name}${everyone ? ` of ${t.user.email}` : ''}`}
                      onClick={() => revoke.mutate({ id: t.id })}
                    >
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {tokens.data?.length === 0 && <div className="muted small">No tokens.</div>}
      </div>
    </div>
  )
}
