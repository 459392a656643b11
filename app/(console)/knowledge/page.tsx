export default function KnowledgePage() {
  return (
    <div className="grid">
      <h1>Knowledge</h1>
      <div className="empty">The knowledge base is empty.</div>
    </div>
  )
}
