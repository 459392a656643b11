'use client'
import { useParams } from 'next/navigation'
import { CandidateEditor } from '../../../../../../../components/candidate-editor.tsx'

export default function EditCandidatePage() {
  const { runId, candidateId } = useParams<{ runId: string; candidateId: string }>()
  return <CandidateEditor key={candidateId} runId={runId} id={candidateId} />
}
