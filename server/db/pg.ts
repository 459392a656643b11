// node-postgres, for server mode only: loaded on first use, so that the embedded commands (a run,
// the console on PGlite) never load it (~35–55 ms of CPU at every start on a small machine).
import { createRequire } from 'node:module'
import type Pg from 'pg'

const require = createRequire(import.meta.url)
let loaded: typeof Pg | null = null

export function pg(): typeof Pg {
  if (!loaded) {
    loaded = require('pg') as typeof Pg
    presentCatalogTypesAsText()
  }
  return loaded
}

// prisma/orm#27403: @prisma/adapter-pg rejects catalog types ("char", name, regproc, ...) that raw
// queries on catalogs (pg_extension.extname) and the WASM schema engine's introspection return.
// Present them as text / text[].
function presentCatalogTypesAsText() {
  const Result = require('pg/lib/result.js')
  const TO_TEXT = new Set([18, 19, 22, 24, 28, 29, 30, 194, 2202, 2203, 2204, 2205, 2206, 3734, 3769, 4089, 4096])
  const TO_TEXT_ARRAY = new Set([1002, 1003, 1006, 1008, 1011, 1012, 1013, 2207, 2208, 2209, 2210, 2211])
  const addFields = Result.prototype.addFields
  Result.prototype.addFields = function (fields: Array<{ dataTypeID: number }>) {
    for (const f of fields) {
      if (TO_TEXT.has(f.dataTypeID)) f.dataTypeID = 25
      else if (TO_TEXT_ARRAY.has(f.dataTypeID)) f.dataTypeID = 1009
    }
    return addFields.call(this, fields)
  }
}
