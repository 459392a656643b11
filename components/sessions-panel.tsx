'use client'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useState } from 'react'
import { endedText, sessionRows } from '../client-safe/session-view.ts'
import { errorMessage, useTRPC } from './trpc.tsx'

/** The user's own sign-in sessions: a browser left signed in on a shared machine is ended from here. */
export function SessionsPanel() {
  const trpc = useTRPC()
  const qc = useQueryClient()
  const sessions = useQuery(trpc.account.sessions.queryOptions())
  const [notice, setNotice] = useState<string | null>(null)
  const refresh = () => qc.invalidateQueries({ queryKey: trpc.account.sessions.queryKey() })
  const end = useMutation(
    trpc.account.endSession.mutationOptions({ onMutate: () => setNotice(null), onSettled: refresh }),
  )
  const endOthers = useMutation(
    trpc.account.endOtherSessions.mutationOptions({
      onMutate: () => setNotice(null),
      onSuccess: (r) => setNotice(endedText(r.sessionsEnded)),
      onSettled: refresh,
    }),
  )
  const rows = sessionRows(sessions.data?.sessions ?? [])
  const hidden = (sessions.data?.total ?? 0) - rows.length
  const error = sessions.error ?? end.error ?? endOthers.error
  return (
    <div className="card form" data-testid="sessions-panel">
      <h2>Sessions</h2>
      <div className="muted small">
        Where you are signed in to the console. End a session you do not recognise, or one left open on a shared
        machine; changing your password ends all but this one.
      </div>
      {error && <div className="alert error">{errorMessage(error)}</div>}
      {notice && (
        <div className="alert info" role="status">
          {notice}
        </div>
      )}
      <div className="scroll-x">
        <table className="table" data-testid="sessions-table">
          <thead>
            <tr>
              <th>browser</th>
              <th>address</th>
              <th>signed in</th>
              <th>last renewed</th>
              <th>expires</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((s) => (
              <tr key={s.id}>
                <td>
                  {s.device} {s.current && <span className="badge good">this session</span>}
                </td>
                <td className="mono small">{s.address}</td>
                <td className="small muted">{s.createdAt.toLocaleString()}</td>
                <td className="small muted">{s.renewedAt.toLocaleString()}</td>
                <td className="small muted">{s.expiresAt.toLocaleString()}</td>
                <td>
                  {!s.current && (
                    <button
                      disabled={end.isPending}
                      aria-label={`End the session of ${s.device} from ${s.address}`}
                      onClick={() => end.mutate({ sessionId: s.id })}
                    >
                      End
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {sessions.data && rows.length === 0 && <div className="muted small">No sessions.</div>}
        {hidden > 0 && <div className="muted small">and {hidden} older session(s) not listed</div>}
      </div>
      <div>
        <button
          disabled={endOthers.isPending || !rows.some((s) => !s.current)}
          onClick={() => endOthers.mutate()}
          data-testid="sessions-end-others"
        >
          Sign out everywhere else
        </button>
      </div>
    </div>
  )
}
