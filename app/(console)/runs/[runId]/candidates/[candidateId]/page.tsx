'use client'
import { useParams } from 'next/navigation'
import { CandidateDetail } from '../../../../../../components/candidate-detail.tsx'

export default function CandidatePage() {
  const { runId, candidateId } = useParams<{ runId: string; candidateId: string }>()
  return <CandidateDetail key={candidateId} runId={runId} id={candidateId} />
}
