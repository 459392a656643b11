// The offline default embedder, `lexical-hash-512`: a signed feature-hashing vectorizer.
//
// It is LEXICAL, not semantic. Two texts are close when they share words (and parts of words),
// never because they mean the same thing: "fast car" and "quick automobile" are unrelated to it.
// It exists so that the knowledge base works with no model at all; configure an embeddings
// endpoint or a local ONNX model for retrieval by meaning.
//
// Features, each hashed (FNV-1a with a final mix) to one of 512 signed positions:
//  - words, with code identifiers split (camelCase, PascalCase, snake_case, kebab-case, letters
//    vs digits), lower-cased, lightly stemmed (packing/packed/packs → pack), stop words dropped;
//  - whole identifiers lower-cased ("computetourlength"), so an exact identifier match counts more;
//  - adjacent word pairs (phrases), at half weight;
//  - character trigrams of each word with boundary marks, at low weight, for inflections and
//    typos that the stemmer misses;
//  - Chinese, Japanese and Korean text, written without spaces between words, as overlapping
//    character pairs (模拟退火 → 模拟 拟退 退火), the usual way to index it without a dictionary: a
//    word of two or more characters is found inside any run that contains it.
// Term counts are dampened (1 + ln tf), and the vector is L2-normalized, so cosine similarity is
// a dot product. The feature set and the hash are part of the model id: changing them needs a
// new id (old vectors would not be comparable).
import type { Embedder } from '../llm/embedder.ts'

export const LEXICAL_HASH_ID = 'lexical-hash-512'
export const LEXICAL_HASH_DIMS = 512

const STOPWORDS = new Set(
  (
    'a an the of to in on at by for with and or but is are was were be been being it its this that these those as from into ' +
    'than then so such not no do does did can could should would will may might must i you he she we they them our your ' +
    'their there here what which who whom how when where why all any each some very just also if else'
  ).split(' '),
)

const WORD_WEIGHT = 1
const IDENTIFIER_WEIGHT = 1
const BIGRAM_WEIGHT = 0.5
const TRIGRAM_WEIGHT = 0.15

/** Splits text into lower-case word parts, breaking code identifiers apart. */
export function identifierParts(identifier: string): string[] {
  return identifier
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .replace(/([A-Za-z])([0-9])/g, '$1 $2')
    .replace(/([0-9])([A-Za-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean)
}

/** A deliberately light stemmer: plural and common verb endings only. */
export function stem(word: string): string {
  if (word.length <= 3 || /^\d/.test(word)) return word
  if (word.endsWith('ies') && word.length > 4) return word.slice(0, -3) + 'y'
  for (const suffix of ['ing', 'ed', 'es', 's']) {
    if (word.endsWith(suffix) && word.length - suffix.length >= 3) {
      let base = word.slice(0, -suffix.length)
      if (suffix === 's' && base.endsWith('s')) return word // "class", "less"
      if (suffix === 'es' && !/(ss|sh|ch|x|z)$/.test(base)) base = word.slice(0, -1) // "sizes" -> "size"
      // packing -> pack, stopped -> stop (doubled consonant)
      if ((suffix === 'ing' || suffix === 'ed') && /([b-df-hj-np-tv-z])\1$/.test(base) && !/(ll|ss|zz)$/.test(base))
        base = base.slice(0, -1)
      return base
    }
  }
  return word
}

export interface LexicalFeatures {
  words: string[]
  identifiers: string[]
}

// one capturing group: split() keeps the runs, at the odd positions
const CJK_RUN = /([\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\u30fc]+)/u

/** A word's segments, alternately not CJK (even positions, maybe empty) and a CJK run (odd). */
export function cjkSegments(word: string): string[] {
  return word.split(CJK_RUN)
}

/** A run of CJK characters as its overlapping pairs (one character alone is itself). */
export function cjkPairs(run: string): string[] {
  const chars = [...run]
  if (chars.length < 2) return chars
  return chars.slice(1).map((c, i) => chars[i] + c)
}

/** The words and whole identifiers of a text, in order (exported for tests and the docs). */
export function lexicalFeatures(text: string): LexicalFeatures {
  const words: string[] = []
  const identifiers: string[] = []
  for (const m of text.matchAll(/[\p{L}\p{N}_]+(?:[-.][\p{L}\p{N}_]+)*/gu)) {
    // "2-opt法": the CJK run becomes pairs, what is around it is read as usual
    cjkSegments(m[0]).forEach((segment, i) => {
      if (i % 2) words.push(...cjkPairs(segment))
      else if (segment) addWords(segment, words, identifiers)
    })
  }
  return { words, identifiers }
}

function addWords(raw: string, words: string[], identifiers: string[]): void {
  for (const piece of raw.split(/[-.]/)) {
    const parts = identifierParts(piece)
    if (parts.length > 1) identifiers.push(parts.join(''))
    for (const p of parts) {
      if (STOPWORDS.has(p)) continue
      if (p.length < 2 && !/\d/.test(p)) continue
      words.push(stem(p))
    }
  }
}

function fnv1a(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** The vector of one text. A text with no features gets a fixed unit vector (never all zeros: cosine needs a norm). */
export function lexicalHashVector(text: string, dims = LEXICAL_HASH_DIMS): number[] {
  const weights = new Map<string, number>()
  const add = (feature: string, w: number) => weights.set(feature, (weights.get(feature) ?? 0) + w)
  const { words, identifiers } = lexicalFeatures(text)
  for (const w of words) add(`w:${w}`, WORD_WEIGHT)
  for (const id of identifiers) add(`i:${id}`, IDENTIFIER_WEIGHT)
  for (let i = 1; i < words.length; i++) add(`b:${words[i - 1]} ${words[i]}`, BIGRAM_WEIGHT)
  for (const w of words) {
    if (w.length < 4) continue
    const padded = `<${w}>`
    for (let i = 0; i + 3 <= padded.length; i++) add(`t:${padded.slice(i, i + 3)}`, TRIGRAM_WEIGHT)
  }
  const v = new Float64Array(dims)
  for (const [feature, w] of weights) {
    // dampened term frequency: repeating a word ten times is not ten times the evidence
    const value = w >= 1 ? 1 + Math.log(w) : w
    const h = fnv1a(feature)
    v[h % dims] += h & 0x80000000 ? -value : value
  }
  let norm = 0
  for (const x of v) norm += x * x
  if (norm === 0) {
    const out = new Array<number>(dims).fill(0)
    out[0] = 1
    return out
  }
  norm = Math.sqrt(norm)
  return Array.from(v, (x) => x / norm)
}

export interface LexicalHashEmbedder extends Embedder {
  readonly lexical: true
}

export function createLexicalHashEmbedder(): LexicalHashEmbedder {
  return {
    id: LEXICAL_HASH_ID,
    dims: LEXICAL_HASH_DIMS,
    lexical: true,
    async embed(texts, options) {
      options?.signal?.throwIfAborted()
      return texts.map((t) => lexicalHashVector(t))
    },
  }
}
