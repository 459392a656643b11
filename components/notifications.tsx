'use client'
// Notifications: a run that completes, fails or stalls notifies the people watching it. In the
// browser (a system notification, when the user allowed them, from any console page), and by a
// webhook URL (the user's own, or the run's) that receives a JSON message from the server. The
// rules are shared with the server (client-safe/notify-messages.ts).
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import Link from 'next/link'
import { useRouter } from 'next/navigation'
import { useEffect, useRef, useState } from 'react'
import { foldStalls, NOTIFY_EVENTS, type NotifyEvent } from '../client-safe/notify-messages.ts'
import { Age, ErrorBox, shortId, useRole } from './run-ui.tsx'
import { errorMessage, useTRPC, useTRPCClient } from './trpc.tsx'

const BROWSER_KEY = 'fm.notify.browser'
const CURSOR_KEY = 'fm.notify.cursor'
// a tab's cursor outlives a page load (an event that lands while the next page loads is still
// news), but not a long absence: coming back after that starts from "now" instead of a backlog
const CURSOR_FRESH_MS = 10 * 60_000
const EVENT_LABEL: Record<NotifyEvent, string> = {
  'run.completed': 'completes',
  'run.failed': 'fails',
  'run.stalled': 'stalls',
}

// 'unknown' until the page has hydrated and read the browser's permission: the checkbox stays
// disabled meanwhile, so a click before hydration is not lost.
type Permission = NotificationPermission | 'unsupported' | 'unknown'

function usePermission(): [Permission, (p: Permission) => void] {
  const [p, setP] = useState<Permission>('unknown')
  useEffect(
    () => setP(typeof window !== 'undefined' && 'Notification' in window ? Notification.permission : 'unsupported'),
    [],
  )
  return [p, setP]
}

function savedCursor(): number | null {
  try {
    const saved = JSON.parse(window.sessionStorage.getItem(CURSOR_KEY) ?? 'null') as {
      cursor: number
      at: number
    } | null
    return saved && Number.isSafeInteger(saved.cursor) && Date.now() - saved.at < CURSOR_FRESH_MS ? saved.cursor : null
  } catch {
    return null
  }
}

function saveCursor(cursor: number) {
  window.sessionStorage.setItem(CURSOR_KEY, JSON.stringify({ cursor, at: Date.now() }))
}

function browserEnabled() {
  return typeof window !== 'undefined' && window.localStorage.getItem(BROWSER_KEY) === '1'
}

/**
 * Mounted once in the console's shell: while notifications are allowed and switched on, it follows
 * the events of the runs the user watches and raises a system notification for each that counts.
 */
export function RunNotifier() {
  const client = useTRPCClient()
  const router = useRouter()
  const [on, setOn] = useState(false)
  const lastStall = useRef(new Map<string, number>())
  useEffect(() => {
    const check = () => setOn(browserEnabled() && 'Notification' in window && Notification.permission === 'granted')
    check()
    window.addEventListener('fm-notify-changed', check)
    window.addEventListener('storage', check)
    return () => (window.removeEventListener('fm-notify-changed', check), window.removeEventListener('storage', check))
  }, [])
  useEffect(() => {
    if (!on) return
    let stopped = false
    let cursor = savedCursor()
    let timer: ReturnType<typeof setTimeout>
    const tick = async () => {
      try {
        const d = await client.notifications.feed.query({ after: cursor })
        // without a fresh cursor the first answer only says where "now" is: what happened before
        // this tab opened is old news
        if (cursor !== null) {
          for (const i of foldStalls(d.items, lastStall.current)) {
            const n = new Notification(i.title, { body: i.body, tag: `fm-${i.eventId}` })
            n.onclick = () => {
              window.focus()
              router.push(`/runs/${i.runId}`)
              n.close()
            }
          }
        }
        cursor = d.cursor
        saveCursor(cursor)
      } catch {
        // signed out or offline: try again later
      }
      if (!stopped) timer = setTimeout(tick, 4000)
    }
    timer = setTimeout(tick, 0)
    return () => {
      stopped = true
      clearTimeout(timer)
    }
  }, [on, client, router])
  return null
}

/** Watch / stop watching a run (the page header). */
export function WatchButton({ runId }: { runId: string }) {
  const trpc = useTRPC()
  const qc = useQueryClient()
  const state = useQuery(trpc.notifications.run.queryOptions({ runId }))
  const watch = useMutation(
    trpc.notifications.watch.mutationOptions({
      onSuccess: () => void qc.invalidateQueries({ queryKey: trpc.notifications.run.queryKey({ runId }) }),
    }),
  )
  if (!state.data) return null
  const w = state.data.watching
  return (
    <button
      className={w ? 'primary' : ''}
      aria-pressed={w}
      data-testid="watch"
      title={
        w
          ? 'you are notified when this run completes, fails or stalls (browser and your webhook)'
          : 'be notified when this run completes, fails or stalls'
      }
      onClick={() => watch.mutate({ runId, watching: !w })}
      disabled={watch.isPending}
    >
      {w ? '★ Watching' : '☆ Watch'}
    </button>
  )
}

function EventChoice({
  value,
  onChange,
  label,
}: {
  value: NotifyEvent[]
  onChange: (v: NotifyEvent[]) => void
  label: string
}) {
  return (
    <div className="row small" role="group" aria-label={label}>
      {NOTIFY_EVENTS.map((e) => (
        <label key={e} className="row" style={{ flexDirection: 'row', gap: 4 }}>
          <input
            type="checkbox"
            checked={value.includes(e)}
            onChange={(x) => onChange(x.target.checked ? [...value, e] : value.filter((v) => v !== e))}
          />{' '}
          when a run {EVENT_LABEL[e]}
        </label>
      ))}
    </div>
  )
}

type Delivery = {
  id: string
  type: string
  runId: string | null
  runName: string | null
  status: string
  attempts: number
  httpStatus: number | null
  error: string | null
  createdAt: number
}

function Deliveries({ rows }: { rows: Delivery[] }) {
  if (!rows.length) return <div className="muted small">Nothing sent yet.</div>
  return (
    <div className="scroll-x">
      <table className="table small" data-testid="deliveries">
        <thead>
          <tr>
            <th>when</th>
            <th>message</th>
            <th>run</th>
            <th>outcome</th>
            <th className="num">attempts</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((d) => (
            <tr key={d.id} data-testid="delivery" data-status={d.status} data-type={d.type}>
              <td>
                <Age t={d.createdAt} />
              </td>
              <td className="mono">{d.type}</td>
              <td>{d.runId ? <Link href={`/runs/${d.runId}`}>{d.runName || shortId(d.runId)}</Link> : '–'}</td>
              <td>
                <span className={`badge ${d.status === 'delivered' ? 'good' : d.status === 'failed' ? 'bad' : 'info'}`}>
                  {d.status}
                </span>{' '}
                {d.httpStatus !== null && <span className="mono">HTTP {d.httpStatus}</span>}{' '}
                {d.status !== 'delivered' && d.error && <span className="muted">{d.error}</span>}
              </td>
              <td className="num">{d.attempts}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

/** The user's notification settings (settings page): browser notifications, their webhook, what was sent. */
export function NotificationSettings() {
  const trpc = useTRPC()
  const qc = useQueryClient()
  const mine = useQuery(trpc.notifications.mine.queryOptions(undefined, { refetchInterval: 5000 }))
  const [permission, setPermission] = usePermission()
  const [browserOn, setBrowserOn] = useState(false)
  const [asking, setAsking] = useState(false)
  useEffect(() => setBrowserOn(browserEnabled()), [])
  const [url, setUrl] = useState<string | null>(null)
  const [events, setEvents] = useState<NotifyEvent[] | null>(null)
  const refresh = () => void qc.invalidateQueries({ queryKey: trpc.notifications.mine.queryKey() })
  const save = useMutation(
    trpc.notifications.setMyWebhook.mutationOptions({ onSuccess: () => (refresh(), setUrl(null), setEvents(null)) }),
  )
  const test = useMutation(trpc.notifications.testMine.mutationOptions({ onSettled: refresh }))
  const rotate = useMutation(trpc.notifications.rotateMySecret.mutationOptions({ onSuccess: refresh }))
  const unwatch = useMutation(trpc.notifications.watch.mutationOptions({ onSuccess: refresh }))
  const d = mine.data
  const shownUrl = url ?? d?.webhook?.url ?? ''
  const shownEvents = events ?? (d?.webhook?.events as NotifyEvent[] | undefined) ?? [...NOTIFY_EVENTS]
  const setBrowser = async (on: boolean) => {
    // shown as asked at once: the browser's permission prompt answers later
    setBrowserOn(on)
    if (on && permission !== 'granted' && permission !== 'unsupported') {
      setAsking(true)
      try {
        setPermission(await Notification.requestPermission())
      } finally {
        setAsking(false)
      }
    }
    window.localStorage.setItem(BROWSER_KEY, on ? '1' : '0')
    setBrowserOn(on)
    window.dispatchEvent(new Event('fm-notify-changed'))
  }
  return (
    <div className="card grid" data-testid="notification-settings">
      <h2 style={{ margin: 0 }}>Notifications</h2>
      <div className="small muted">
        You are notified about the runs you watch (★ on a run’s page; the runs you start are watched) when one
        completes, fails, or an island stalls.
      </div>
      <div>
        <h3>In this browser</h3>
        {permission === 'unsupported' ? (
          <div className="muted small">This browser has no notifications.</div>
        ) : (
          <label className="row" style={{ flexDirection: 'row' }}>
            <input
              type="checkbox"
              checked={browserOn && (permission === 'granted' || asking)}
              disabled={permission === 'unknown'}
              onChange={(e) => void setBrowser(e.target.checked)}
            />{' '}
            notify me here while a console tab is open
            {permission === 'denied' && <span className="badge bad">blocked in the browser’s site settings</span>}
          </label>
        )}
      </div>
      <div>
        <h3>Webhook</h3>
        <div className="small muted" style={{ marginBottom: 6 }}>
          A URL of your own service that receives a JSON message (
          <span className="mono">type, text, run: id, name, status, best, url</span>): no configuration, code or keys
          are ever in it. Retried up to 4 times over about 20 s.
        </div>
        <form
          className="grid"
          style={{ gap: 8 }}
          onSubmit={(e) => {
            e.preventDefault()
            save.mutate({ url: shownUrl.trim() || null, events: shownEvents })
          }}
        >
          <div className="row">
            <input
              aria-label="webhook URL"
              placeholder="https://chat.example.org/hooks/…"
              value={shownUrl}
              onChange={(e) => setUrl(e.target.value)}
              style={{ flex: 1, minWidth: 260 }}
            />
            <button type="submit" className="primary" disabled={save.isPending || !shownEvents.length}>
              Save
            </button>
            {d?.webhook && (
              <button type="button" onClick={() => save.mutate({ url: null })} disabled={save.isPending}>
                Remove
              </button>
            )}
            {d?.webhook && (
              <button type="button" onClick={() => test.mutate()} disabled={test.isPending}>
                {test.isPending ? 'Sending…' : 'Send a test'}
              </button>
            )}
          </div>
          <EventChoice value={shownEvents} onChange={setEvents} label="webhook events" />
          {d?.webhook && <SigningSecret secret={d.webhook.secret} rotate={rotate} onRotate={() => rotate.mutate()} />}
          {save.error && (
            <div className="alert error small" role="alert">
              {errorMessage(save.error)}
            </div>
          )}
          {test.data && (
            <div className={`alert small ${test.data.ok ? 'info' : 'error'}`} data-testid="test-outcome">
              {test.data.ok
                ? `Delivered (HTTP ${test.data.httpStatus}).`
                : `Not delivered after ${test.data.attempts} attempt(s): ${test.data.error}`}
            </div>
          )}
          {test.error && <div className="alert error small">{errorMessage(test.error)}</div>}
        </form>
        <div style={{ marginTop: 8 }}>{d && <Deliveries rows={d.deliveries} />}</div>
      </div>
      <div>
        <h3>Runs you watch</h3>
        {mine.error ? (
          <ErrorBox error={mine.error} />
        ) : !d ? (
          <div className="muted small">Loading…</div>
        ) : !d.watching.length ? (
          <div className="muted small" data-testid="watching-none">
            None.
          </div>
        ) : (
          <div className="row small" data-testid="watching">
            {d.watching.map((r) => (
              <span key={r.id} className="badge">
                <Link href={`/runs/${r.id}`}>{r.name || shortId(r.id)}</Link> <span className="muted">{r.status}</span>{' '}
                <button
                  className="small"
                  style={{ padding: '0 5px' }}
                  aria-label={`stop watching ${r.name || shortId(r.id)}`}
                  onClick={() => unwatch.mutate({ runId: r.id, watching: false })}
                >
                  ×
                </button>
              </span>
            ))}
          </div>
        )}
      </div>
    </div>
  )
}

/** A run's notifications (its own tab): who watches, the run's webhook (experts set it), what was sent. */
export function RunNotifications({ runId }: { runId: string }) {
  const trpc = useTRPC()
  const qc = useQueryClient()
  const { can } = useRole()
  const q = useQuery(trpc.notifications.run.queryOptions({ runId }, { refetchInterval: 5000 }))
  const [url, setUrl] = useState<string | null>(null)
  const [events, setEvents] = useState<NotifyEvent[] | null>(null)
  const refresh = () => void qc.invalidateQueries({ queryKey: trpc.notifications.run.queryKey({ runId }) })
  const save = useMutation(
    trpc.notifications.setRunWebhook.mutationOptions({ onSuccess: () => (refresh(), setUrl(null), setEvents(null)) }),
  )
  const test = useMutation(trpc.notifications.testRun.mutationOptions({ onSettled: refresh }))
  const rotate = useMutation(trpc.notifications.rotateRunSecret.mutationOptions({ onSuccess: refresh }))
  const d = q.data
  if (q.error) return <ErrorBox error={q.error} />
  if (!d) return <div className="muted">Loading…</div>
  const shownUrl = url ?? d.webhook?.url ?? ''
  const shownEvents = events ?? (d.webhook?.events as NotifyEvent[] | undefined) ?? [...NOTIFY_EVENTS]
  // another expert's address (it may hold a token) is not shown: an empty field must not remove it
  const hiddenUrl = !!d.webhook && d.webhook.url === null
  return (
    <div className="grid" data-testid="run-notifications">
      <div className="card">
        <strong>{d.watchers}</strong> {d.watchers === 1 ? 'person watches' : 'people watch'} this run
        {d.watching ? ', you among them' : ''} (★ in the header). Watchers are notified in their browser and at their
        own webhook (<Link href="/settings">settings</Link>).
      </div>
      <div className="card grid">
        <h2 style={{ margin: 0 }}>This run’s webhook</h2>
        <div className="small muted">Receives this run’s messages whoever watches it (a team channel, say).</div>
        {can('expert') ? (
          <form
            className="grid"
            style={{ gap: 8 }}
            onSubmit={(e) => {
              e.preventDefault()
              save.mutate({ runId, url: shownUrl.trim() || null, events: shownEvents })
            }}
          >
            <div className="row">
              <input
                aria-label="run webhook URL"
                placeholder="https://…"
                value={shownUrl}
                onChange={(e) => setUrl(e.target.value)}
                style={{ flex: 1, minWidth: 260 }}
              />
              <button
                type="submit"
                className="primary"
                disabled={save.isPending || !shownEvents.length || (hiddenUrl && !shownUrl.trim())}
              >
                Save
              </button>
              {d.webhook && (
                <button type="button" onClick={() => save.mutate({ runId, url: null })}>
                  Remove
                </button>
              )}
              {d.webhook && (
                <button type="button" onClick={() => test.mutate({ runId })} disabled={test.isPending}>
                  {test.isPending ? 'Sending…' : 'Send a test'}
                </button>
              )}
            </div>
            {hiddenUrl && (
              <div className="small muted" data-testid="run-webhook-hidden">
                Messages go to <span className="mono">{d.webhook!.to}</span>; another user set the full address (only
                they and admins see it). Saving a new address replaces it.
              </div>
            )}
            <EventChoice value={shownEvents} onChange={setEvents} label="run webhook events" />
            {d.webhook?.secret && (
              <SigningSecret secret={d.webhook.secret} rotate={rotate} onRotate={() => rotate.mutate({ runId })} />
            )}
            {save.error && (
              <div className="alert error small" role="alert">
                {errorMessage(save.error)}
              </div>
            )}
            {test.data && (
              <div className={`alert small ${test.data.ok ? 'info' : 'error'}`}>
                {test.data.ok ? `Delivered (HTTP ${test.data.httpStatus}).` : `Not delivered: ${test.data.error}`}
              </div>
            )}
          </form>
        ) : (
          <div className="small">
            {d.webhook ? (
              <>
                Messages go to <span className="mono">{d.webhook.to}</span>.
              </>
            ) : (
              'None. Experts set one.'
            )}
          </div>
        )}
        <h3 style={{ marginTop: 8 }}>Sent about this run</h3>
        <Deliveries rows={d.deliveries} />
      </div>
    </div>
  )
}

/** How a receiver tells this server's messages from forged ones (server/notify/webhook.ts), and a new secret for one that leaked. */
function SigningSecret({
  secret,
  rotate,
  onRotate,
}: {
  secret: string
  rotate: { isPending: boolean; error: unknown; isSuccess: boolean }
  onRotate: () => void
}) {
  const [shown, setShown] = useState(false)
  const [confirming, setConfirming] = useState(false)
  return (
    <div className="small muted" data-testid="webhook-secret">
      Signed: each message carries <span className="mono">x-fm-agent-signature: t=…,v1=…</span>, the HMAC-SHA256 of{' '}
      <span className="mono">{'"<t>.<body>"'}</span> with the secret{' '}
      {shown ? (
        <span className="mono" data-testid="webhook-secret-value">
          {secret}
        </span>
      ) : (
        <button type="button" className="small" onClick={() => setShown(true)}>
          Show the secret
        </button>
      )}
      .{' '}
      {confirming ? (
        <span role="group" aria-label="new secret">
          The receiver must be given the new secret: messages signed with the old one stop verifying.{' '}
          <button
            type="button"
            className="small danger"
            disabled={rotate.isPending}
            onClick={() => {
              onRotate()
              setConfirming(false)
              setShown(true)
            }}
          >
            Make a new secret
          </button>{' '}
          <button type="button" className="small" onClick={() => setConfirming(false)}>
            Keep this one
          </button>
        </span>
      ) : (
        <button type="button" className="small" onClick={() => setConfirming(true)} disabled={rotate.isPending}>
          {rotate.isPending ? 'Making a new secret…' : 'New secret…'}
        </button>
      )}
      {rotate.isSuccess && !rotate.isPending && <span data-testid="secret-rotated"> A new secret is in force.</span>}
      {rotate.error ? (
        <div className="alert error small" role="alert">
          {errorMessage(rotate.error)}
        </div>
      ) : null}
    </div>
  )
}
