'use client'
// The lessons inbox: notes proposed when a candidate beat its island's best, for an expert to
// approve into the knowledge base (as a document of the problem, tagged `lesson`), edit or discard.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import Link from 'next/link'
import { useState } from 'react'
import { Markdown } from '../../../../components/knowledge-markdown.tsx'
import { KnowledgeTabs } from '../../../../components/knowledge-tabs.tsx'
import { errorMessage, useTRPC } from '../../../../components/trpc.tsx'

type Status = 'proposed' | 'approved' | 'discarded'

function LessonCard({
  lesson,
  canWrite,
}: {
  lesson: {
    id: string
    title: string
    text: string
    status: Status
    runId: string
    candidateId: string
    problemId: string
    docId: string | null
    createdAt: Date
  }
  canWrite: boolean
}) {
  const trpc = useTRPC()
  const qc = useQueryClient()
  const [editing, setEditing] = useState(false)
  const [title, setTitle] = useState(lesson.title)
  const [text, setText] = useState(lesson.text)
  const done = () => qc.invalidateQueries({ queryKey: trpc.knowledge.pathKey() })
  const edit = useMutation(trpc.knowledge.lessonEdit.mutationOptions({ onSuccess: () => (setEditing(false), done()) }))
  const approve = useMutation(trpc.knowledge.lessonApprove.mutationOptions({ onSuccess: done }))
  const discard = useMutation(trpc.knowledge.lessonDiscard.mutationOptions({ onSuccess: done }))
  const error = edit.error ?? approve.error ?? discard.error
  const busy = edit.isPending || approve.isPending || discard.isPending
  return (
    <div className="card form" data-testid="lesson">
      <div className="row between">
        {editing ? (
          <input
            aria-label="Lesson title"
            value={title}
            onChange={(e) => setTitle(e.target.value)}
            maxLength={200}
            style={{ flex: 1 }}
          />
        ) : (
          <h2 style={{ margin: 0 }}>{lesson.title}</h2>
        )}
        <span
          className={`badge ${lesson.status === 'approved' ? 'good' : lesson.status === 'discarded' ? 'bad' : 'info'}`}
        >
          {lesson.status}
        </span>
      </div>
      <div className="muted small">
        problem <span className="mono">{lesson.problemId}</span> · run{' '}
        <a href={`/runs/${lesson.runId}`} className="mono">
          {lesson.runId.slice(0, 8)}
        </a>{' '}
        · candidate <span className="mono">{lesson.candidateId.slice(0, 8)}</span> ·{' '}
        {new Date(lesson.createdAt).toLocaleString()}
        {lesson.docId && (
          <>
            {' '}
            · <Link href={`/knowledge/doc/${lesson.docId}`}>its document</Link> (what prompts read: edit it there)
          </>
        )}
        {lesson.status === 'approved' && !lesson.docId && <> · its document was deleted: it reaches no prompt</>}
      </div>
      {editing ? (
        <textarea
          aria-label="Lesson text"
          value={text}
          onChange={(e) => setText(e.target.value)}
          rows={12}
          maxLength={4000}
          className="mono"
        />
      ) : (
        <Markdown source={lesson.text} />
      )}
      {error && <div className="alert error">{errorMessage(error)}</div>}
      {canWrite && lesson.status === 'proposed' && (
        <div className="row">
          <button
            className="primary"
            disabled={busy}
            onClick={() => approve.mutate({ lessonId: lesson.id, ...(editing ? { title, text } : {}) })}
          >
            Approve into the knowledge base
          </button>
          {editing ? (
            <>
              <button disabled={busy} onClick={() => edit.mutate({ lessonId: lesson.id, title, text })}>
                Save edit
              </button>
              <button onClick={() => (setEditing(false), setTitle(lesson.title), setText(lesson.text))}>Cancel</button>
            </>
          ) : (
            <button onClick={() => setEditing(true)}>Edit</button>
          )}
          <button className="danger" disabled={busy} onClick={() => discard.mutate({ lessonId: lesson.id })}>
            Discard
          </button>
        </div>
      )}
    </div>
  )
}

export default function LessonsPage() {
  const trpc = useTRPC()
  const me = useQuery(trpc.account.me.queryOptions())
  const canWrite = me.data?.role === 'expert' || me.data?.role === 'admin'
  const [status, setStatus] = useState<Status>('proposed')
  const lessons = useQuery(trpc.knowledge.lessons.queryOptions({ status, limit: 200 }, { refetchInterval: 10_000 }))
  return (
    <div className="grid">
      <h1 style={{ margin: 0 }}>Knowledge</h1>
      <KnowledgeTabs />
      <div className="row">
        {(['proposed', 'approved', 'discarded'] as const).map((s) => (
          <button
            key={s}
            className={status === s ? 'primary' : ''}
            onClick={() => setStatus(s)}
            aria-pressed={status === s}
          >
            {s}
          </button>
        ))}
        <span className="muted small">
          Lessons are proposed when a candidate beats its island&apos;s best: from the model&apos;s own explanation, or
          from the diff and the metrics under offline operators. Approved ones reach the prompts of the problem&apos;s
          runs started or resumed after the approval.
        </span>
      </div>
      {lessons.isLoading ? (
        <div className="muted">Loading…</div>
      ) : lessons.error ? (
        <div className="alert error">{errorMessage(lessons.error)}</div>
      ) : !lessons.data?.length ? (
        <div className="empty">No {status} lessons.</div>
      ) : (
        lessons.data.map((l) => <LessonCard key={l.id} lesson={l} canWrite={canWrite} />)
      )}
    </div>
  )
}
