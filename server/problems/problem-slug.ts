// The id of a problem whose format has no id of its own (OpenEvolve and ShinkaEvolve folders,
// KernelBench task files): made from the folder's or the file's name.
import { createHash } from 'node:crypto'

const MAX = 64
/** shorter than this, an id says too little to tell folders apart: the name's hash is added */
const MIN = 3
const HASH_CHARS = 6

/**
 * A problem id (lower-case letters, digits, ".", "_", "-") from a name. Accented Latin letters keep
 * their base letter (ünïcödé → unicode); when letters or digits of other scripts are lost (数学), or
 * too little is left, a short hash of the name is appended so that different names never share an id.
 */
export function slug(name: string): string {
  // NFC first: macOS gives file names decomposed, and the same name must give the same id everywhere
  const nfc = name.normalize('NFC')
  const latin = nfc.normalize('NFKD').replace(/\p{M}/gu, '')
  const lost = /[^\x00-\x7f]/.test(latin.replace(/[^\p{L}\p{N}]/gu, ''))
  const trim = (s: string) => s.replace(/^[^a-z0-9]+/, '').replace(/[^a-z0-9]+$/, '')
  let base = trim(latin.toLowerCase().replace(/[^a-z0-9._-]+/g, '-'))
  if (!lost && base.length >= MIN) return trim(base.slice(0, MAX))
  const hash = createHash('sha256').update(nfc).digest('hex').slice(0, HASH_CHARS)
  base = trim(base.slice(0, MAX - HASH_CHARS - 1))
  return `${base || 'problem'}-${hash}`
}
