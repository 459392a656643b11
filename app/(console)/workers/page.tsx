export default function WorkersPage() {
  return (
    <div className="grid">
      <h1>Workers</h1>
      <div className="empty">No workers are connected.</div>
    </div>
  )
}
