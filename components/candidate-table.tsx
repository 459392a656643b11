'use client'
// A run's candidates: sortable, filterable (island, origin, operator, model, status, score…),
// virtualized, with paging, sorting and filtering done by the server, so 100,000 rows scroll
// like 100. Filters and sort live in the URL (back from a candidate keeps them). Export writes
// CSV or JSON of every matching row, fetched page by page.
import { useQueries, useQuery, useQueryClient } from '@tanstack/react-query'
import { useVirtualizer } from '@tanstack/react-virtual'
import { usePathname, useRouter, useSearchParams } from 'next/navigation'
import Link from 'next/link'
import { useEffect, useMemo, useRef, useState } from 'react'
import {
  checkFilterBoxes,
  compareExportRows,
  filterFromParams,
  toCsv,
  type CandidateSort,
  type ExportRow,
  type FilterBoxes,
  type SortField,
} from '../client-safe/candidate-query.ts'
import { fmt } from '../client-safe/format.ts'
import { useRunLive } from './run-live.tsx'
import { Age, ErrorBox, shortId, StatusBadge } from './run-ui.tsx'
import { errorMessage, useTRPC, useTRPCClient } from './trpc.tsx'

const PAGE = 100
const ROW_H = 30
const COLS: Array<{
  key: SortField | 'flags' | 'parents'
  label: string
  w: string
  num?: boolean
  sortable?: boolean
}> = [
  { key: 'seq', label: '#', w: '64px', num: true, sortable: true },
  { key: 'evalIndex', label: 'eval #', w: '70px', num: true, sortable: true },
  { key: 'island', label: 'island', w: '56px', num: true, sortable: true },
  { key: 'origin', label: 'origin', w: '96px', sortable: true },
  { key: 'operator', label: 'operator', w: 'minmax(120px, 1.2fr)', sortable: true },
  { key: 'model', label: 'model', w: 'minmax(90px, 1fr)', sortable: true },
  { key: 'status', label: 'status', w: '90px', sortable: true },
  { key: 'score', label: 'score', w: '110px', num: true, sortable: true },
  { key: 'parents', label: 'parents', w: '130px' },
  { key: 'flags', label: '', w: '110px' },
  { key: 'createdAt', label: 'made', w: '110px', sortable: true },
]
const GRID = COLS.map((c) => c.w).join(' ')
// the columns' least widths: below it the table scrolls sideways (in .vtable) instead of squeezing
const GRID_MIN = COLS.reduce((n, c) => n + Number(/(\d+)px/.exec(c.w)?.[1] ?? 80), 0)

export function CandidateTable() {
  const { runId, live, overview } = useRunLive()
  const trpc = useTRPC()
  const client = useTRPCClient()
  const qc = useQueryClient()
  const router = useRouter()
  const pathname = usePathname()
  const sp = useSearchParams()
  const filter = useMemo(() => filterFromParams(new URLSearchParams(sp.toString())), [sp])
  const sort: CandidateSort = {
    field: (sp.get('sort') as SortField) || 'seq',
    dir: sp.get('dir') === 'asc' ? 'asc' : 'desc',
  }
  const selected = sp.get('sel')
  const [follow, setFollow] = useState(true)
  const setParams = (patch: Record<string, string | null>) => {
    const next = new URLSearchParams(sp.toString())
    for (const [k, v] of Object.entries(patch)) v === null || v === '' ? next.delete(k) : next.set(k, v)
    router.replace(`${pathname}?${next.toString()}`, { scroll: false })
  }
  // the typed filters are drafts until Enter or leaving the box; the URL resets them (Clear filters, back)
  const urlMin = sp.get('min') ?? ''
  const urlMax = sp.get('max') ?? ''
  const urlId = sp.get('id') ?? ''
  const [boxes, setBoxes] = useState<FilterBoxes>({ min: urlMin, max: urlMax, id: urlId })
  useEffect(() => setBoxes({ min: urlMin, max: urlMax, id: urlId }), [urlMin, urlMax, urlId])
  const boxCheck = checkFilterBoxes(boxes)
  const applyBoxes = () => setParams(boxCheck.apply)
  const box = (k: keyof FilterBoxes, label: string, aria: string, width: number) => (
    <label>
      {label}
      <input
        aria-label={aria}
        aria-invalid={boxCheck.errors[k] ? true : undefined}
        aria-describedby={boxCheck.errors[k] ? `filter-${k}-error` : undefined}
        style={{ width }}
        value={boxes[k]}
        onChange={(e) => setBoxes((b) => ({ ...b, [k]: e.target.value }))}
        onKeyDown={(e) => {
          if (e.key === 'Enter') applyBoxes()
        }}
        onBlur={applyBoxes}
      />
      {boxCheck.errors[k] && (
        <span id={`filter-${k}-error`} className="small" style={{ color: 'var(--bad)' }} role="alert">
          {boxCheck.errors[k]}
        </span>
      )}
    </label>
  )
  const facets = useQuery(trpc.candidates.facets.queryOptions({ runId }, { refetchInterval: 10_000 }))
  const first = useQuery(
    trpc.candidates.list.queryOptions(
      { runId, filter, sort, offset: 0, limit: PAGE },
      { placeholderData: (prev) => prev },
    ),
  )
  const total = first.data?.total ?? 0

  // new evaluations arrive: refresh what is shown (at most every 2 s)
  const lastRefresh = useRef(0)
  useEffect(() => {
    if (!follow || live.received === 0) return
    const wait = Math.max(0, 2000 - (Date.now() - lastRefresh.current))
    const t = setTimeout(() => {
      lastRefresh.current = Date.now()
      void qc.invalidateQueries({ queryKey: trpc.candidates.list.pathKey() })
    }, wait)
    return () => clearTimeout(t)
  }, [live.received, follow, qc, trpc])

  const scroller = useRef<HTMLDivElement>(null)
  const virt = useVirtualizer({
    count: total,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_H,
    overscan: 20,
  })
  const items = virt.getVirtualItems()
  const pages = useMemo(() => {
    if (!items.length) return [0]
    const a = Math.floor(items[0]!.index / PAGE)
    const b = Math.floor(items[items.length - 1]!.index / PAGE)
    return Array.from({ length: b - a + 1 }, (_, i) => a + i)
  }, [items])
  const pageQueries = useQueries({
    queries: pages.map((p) =>
      trpc.candidates.list.queryOptions(
        { runId, filter, sort, offset: p * PAGE, limit: PAGE },
        { placeholderData: (prev) => prev, staleTime: 5000 },
      ),
    ),
  })
  const rowAt = (i: number) => {
    const k = pages.indexOf(Math.floor(i / PAGE))
    const d = k >= 0 ? pageQueries[k]?.data : undefined
    return d?.rows[i - Math.floor(i / PAGE) * PAGE]
  }

  const [exporting, setExporting] = useState<string | null>(null)
  const [exportError, setExportError] = useState<unknown>(null)
  const [withCode, setWithCode] = useState(false)
  const doExport = async (format: 'csv' | 'json') => {
    setExportError(null)
    try {
      // a snapshot as of now: the first page's upToSeq bounds the others, read by keyset in # order
      const rows: ExportRow[] = []
      let upToSeq: number | undefined
      let afterSeq: number | null = -1
      let expected = total
      while (afterSeq !== null) {
        setExporting(`${rows.length} / ${expected}`)
        const page = await client.candidates.export.query({ runId, filter, limit: 2000, withCode, upToSeq, afterSeq })
        upToSeq = page.upToSeq
        expected = page.total ?? expected
        rows.push(...page.rows)
        afterSeq = page.nextAfterSeq
      }
      rows.sort(compareExportRows(sort))
      const body =
        format === 'csv'
          ? toCsv(rows, withCode)
          : JSON.stringify({ runId, filter, sort, exportedAt: new Date().toISOString(), candidates: rows }, null, 1)
      const blob = new Blob([body], { type: format === 'csv' ? 'text/csv' : 'application/json' })
      const a = document.createElement('a')
      a.href = URL.createObjectURL(blob)
      a.download = `run-${runId.slice(0, 8)}-candidates.${format}`
      a.click()
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000)
    } catch (e) {
      setExportError(e)
    } finally {
      setExporting(null)
    }
  }

  const f = facets.data
  const multi = (
    key: string,
    label: string,
    values: Array<{ value: string | number | null; count: number }> | undefined,
    fmtValue: (v: string | number | null) => string = (v) => String(v ?? '(none)'),
  ) => {
    const current = (sp.get(key) ?? '').split(',').filter(Boolean)
    return (
      <label>
        {label}
        <select
          aria-label={`filter ${label}`}
          multiple
          value={current}
          onChange={(e) => setParams({ [key]: [...e.target.selectedOptions].map((o) => o.value).join(',') || null })}
        >
          {values?.map((v) => (
            <option key={String(v.value)} value={v.value === null ? '(none)' : String(v.value)}>
              {fmtValue(v.value)} ({v.count})
            </option>
          ))}
        </select>
      </label>
    )
  }

  return (
    <div className="grid" style={{ gap: 10 }}>
      <div className="filters card">
        {multi('island', 'island', f?.islands, (v) => (v === -1 ? 'cold start' : String(v)))}
        {multi('origin', 'origin', f?.origins)}
        {multi(
          'operator',
          'operator',
          f?.operators?.filter((o) => o.value !== null),
        )}
        {multi('model', 'model', f?.models)}
        {multi('status', 'status', f?.statuses)}
        <label>
          validity
          <select
            aria-label="filter validity"
            value={sp.get('valid') ?? ''}
            onChange={(e) => setParams({ valid: e.target.value || null })}
          >
            <option value="">any</option>
            <option value="true">valid</option>
            <option value="false">invalid</option>
          </select>
        </label>
        {box('min', 'score ≥', 'score min', 90)}
        {box('max', 'score ≤', 'score max', 90)}
        {box('id', 'id starts with', 'id prefix', 100)}
        <label className="row" style={{ flexDirection: 'row', alignItems: 'center' }}>
          <input
            type="checkbox"
            checked={sp.get('pinned') === 'true'}
            onChange={(e) => setParams({ pinned: e.target.checked ? 'true' : null })}
          />{' '}
          pinned only
        </label>
        <label>
          rating
          <select
            aria-label="filter rating"
            value={sp.get('rating') ?? ''}
            onChange={(e) => setParams({ rating: e.target.value || null })}
          >
            <option value="">any</option>
            <option value="up">▲ promising</option>
            <option value="down">▼ dead end</option>
          </select>
        </label>
        {filter.guidanceId && (
          <span className="badge info">
            made under hint {shortId(filter.guidanceId)}{' '}
            <button className="small" style={{ padding: '0 5px' }} onClick={() => setParams({ guidance: null })}>
              ×
            </button>
          </span>
        )}
        <button
          onClick={() => {
            setBoxes({ min: '', max: '', id: '' })
            router.replace(pathname, { scroll: false })
          }}
        >
          Clear filters
        </button>
      </div>
      <div className="row between">
        <div className="small muted" data-testid="candidate-count">
          {first.isFetching && !first.data
            ? 'Loading…'
            : `${total.toLocaleString()} candidate${total === 1 ? '' : 's'}`}{' '}
          · {overview.data?.problem.direction === 'max' ? 'higher' : 'lower'} score is better
        </div>
        <div className="row small">
          <label className="row" style={{ flexDirection: 'row' }}>
            <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> follow new
            candidates
          </label>
          <label className="row" style={{ flexDirection: 'row' }}>
            <input type="checkbox" checked={withCode} onChange={(e) => setWithCode(e.target.checked)} /> export code too
          </label>
          <button onClick={() => void doExport('csv')} disabled={!!exporting || total === 0}>
            Export CSV
          </button>
          <button onClick={() => void doExport('json')} disabled={!!exporting || total === 0}>
            Export JSON
          </button>
          {exporting && <span className="muted">exporting {exporting}…</span>}
        </div>
      </div>
      <ErrorBox error={first.error ?? exportError} />
      <div className="vtable" data-testid="candidate-table" data-total={total}>
        <div className="vhead" style={{ gridTemplateColumns: GRID, minWidth: GRID_MIN }}>
          {COLS.map((c) => (
            <div key={c.key} className={c.num ? 'num' : ''} style={{ padding: 0 }}>
              {c.sortable ? (
                <button
                  className={sort.field === c.key ? 'sorted' : ''}
                  style={{ textAlign: c.num ? 'right' : 'left' }}
                  onClick={() =>
                    setParams({ sort: c.key, dir: sort.field === c.key && sort.dir === 'desc' ? 'asc' : 'desc' })
                  }
                  aria-sort={sort.field === c.key ? (sort.dir === 'asc' ? 'ascending' : 'descending') : 'none'}
                >
                  {c.label} {sort.field === c.key ? (sort.dir === 'asc' ? '▲' : '▼') : ''}
                </button>
              ) : (
                <div style={{ padding: '7px 8px' }}>{c.label}</div>
              )}
            </div>
          ))}
        </div>
        <div
          ref={scroller}
          data-testid="candidate-scroller"
          style={{ height: 560, overflowY: 'auto', overflowX: 'hidden', position: 'relative', minWidth: GRID_MIN }}
        >
          {total === 0 && first.data && (
            <div className="empty" style={{ margin: 12 }}>
              No candidate matches these filters.
            </div>
          )}
          <div style={{ height: virt.getTotalSize(), position: 'relative' }}>
            {items.map((it) => {
              const r = rowAt(it.index)
              const rowStyle = {
                gridTemplateColumns: GRID,
                top: it.start,
                height: ROW_H,
                background: r && r.id === selected ? 'var(--panel-2)' : undefined,
              }
              // a loaded row is a link: middle-click and the keyboard open it as any link does
              return r ? (
                <Link
                  key={it.key}
                  className="vrow"
                  data-testid="candidate-row"
                  style={rowStyle}
                  href={`/runs/${runId}/candidates/${r.id}`}
                  onClick={() => setParams({ sel: r.id })}
                >
                  <div className="num mono muted">{r.seq}</div>
                  <div className="num mono">{r.evalIndex ?? '–'}</div>
                  <div className="num">{r.island < 0 ? '–' : r.island}</div>
                  <div>{r.origin}</div>
                  <div className="mono" title={r.operator ?? ''}>
                    {r.operator ?? '–'}
                  </div>
                  <div className="mono" title={r.model ?? ''}>
                    {r.model ?? '–'}
                  </div>
                  <div>
                    <StatusBadge
                      status={r.status === 'evaluated' && r.valid === false ? 'invalid' : r.status}
                      title={r.rejectReason ?? undefined}
                    />
                  </div>
                  <div className="num mono">{fmt(r.score, 6)}</div>
                  <div className="mono small">{r.parentIds.map(shortId).join(' ') || '–'}</div>
                  <div>
                    {r.pinned && <span className="badge info">pinned</span>}{' '}
                    {r.banned && <span className="badge bad">banned</span>}{' '}
                    {r.rating !== 0 && (
                      <span
                        className={`badge ${r.rating > 0 ? 'good' : 'bad'}`}
                        data-testid="row-rating"
                        title={r.rating > 0 ? 'rated promising' : 'rated a dead end'}
                      >
                        {r.rating > 0 ? '▲' : '▼'}
                      </span>
                    )}{' '}
                    {r.guidanceCount > 0 && (
                      <span className="badge good" title="made under expert guidance">
                        hint
                      </span>
                    )}
                  </div>
                  <div className="small">
                    <Age t={r.evaluatedAt ?? r.createdAt} />
                  </div>
                </Link>
              ) : (
                <div key={it.key} className="vrow" data-testid="candidate-row" style={rowStyle}>
                  <div className="muted" style={{ gridColumn: '1 / -1' }}>
                    …
                  </div>
                </div>
              )
            })}
          </div>
        </div>
      </div>
      {pageQueries.some((q) => q.error) && (
        <div className="alert error">{errorMessage(pageQueries.find((q) => q.error)!.error)}</div>
      )}
    </div>
  )
}
