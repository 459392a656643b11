export default function RunsPage() {
  return (
    <div className="grid">
      <h1>Runs</h1>
      <div className="empty">No runs yet. Start one from the command line: <code>fm-agent run circle-packing-26 --operators local</code>.</div>
    </div>
  )
}
