// Runs PGlite's initdb for a new embedded database in a process of its own: initdb compiles and
// runs a second WebAssembly module whose memory (several hundred MB) is only released when its
// process exits, and the server that opens the database afterwards should not carry it.
//   node server/db/initdb-child.mjs <folder>
import { PGlite } from '@electric-sql/pglite'
import { vector } from '@electric-sql/pglite-pgvector'

const dir = process.argv[2]
if (!dir) {
  process.stderr.write('usage: initdb-child.mjs <folder>\n')
  process.exit(2)
}
const db = await PGlite.create({ dataDir: dir, extensions: { vector } })
await db.close()
