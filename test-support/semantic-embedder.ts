// A deterministic "semantic" embedder for tests and benchmarks: no model, no weights.
//
// Words are mapped to concept ids through a lexicon of synonym groups (a word outside the lexicon
// is its own concept), each concept is hashed to a few signed positions in d dimensions, counts
// are summed and the vector is L2-normalised. Two texts that share only meaning (synonyms) thus
// get identical or close vectors, while lexically different, unrelated texts stay near-orthogonal.
// This is what lets knowledge-base tests tell a real semantic retrieval path from a lexical one.

/** Synonym / concept groups. The first word of a group names the concept. */
export const DEFAULT_LEXICON: readonly (readonly string[])[] = [
  ['fast', 'quick', 'rapid', 'speedy', 'swift', 'efficient', 'performant'],
  ['slow', 'sluggish', 'leisurely', 'laggy', 'inefficient'],
  ['big', 'large', 'huge', 'enormous', 'massive', 'giant'],
  ['small', 'tiny', 'little', 'minute', 'compact', 'miniature'],
  ['car', 'automobile', 'vehicle', 'auto', 'motorcar'],
  ['sort', 'order', 'arrange', 'rank'],
  ['error', 'bug', 'fault', 'defect', 'mistake', 'flaw'],
  ['function', 'procedure', 'routine', 'subroutine', 'method'],
  ['array', 'list', 'vector', 'sequence'],
  ['optimize', 'optimise', 'improve', 'enhance', 'tune', 'refine'],
  ['minimize', 'minimise', 'reduce', 'decrease', 'lower', 'shrink', 'cut'],
  ['maximize', 'maximise', 'increase', 'raise', 'grow', 'boost'],
  ['begin', 'start', 'commence', 'initiate', 'launch'],
  ['end', 'finish', 'terminate', 'conclude', 'stop', 'halt'],
  ['happy', 'glad', 'joyful', 'cheerful', 'content'],
  ['sad', 'unhappy', 'sorrowful', 'gloomy', 'miserable'],
  ['cat', 'kitten', 'feline', 'kitty'],
  ['dog', 'puppy', 'canine', 'hound'],
  ['cost', 'price', 'expense', 'charge', 'fee'],
  ['path', 'route', 'tour', 'itinerary', 'trajectory'],
  ['distance', 'length', 'span'],
  ['container', 'bin', 'box', 'crate', 'bucket'],
  ['pack', 'packing', 'fit', 'stow', 'load'],
  ['random', 'stochastic', 'probabilistic', 'randomized', 'randomised'],
  ['search', 'explore', 'look', 'seek', 'scan'],
  ['neighbour', 'neighbor', 'adjacent', 'nearby', 'nearest'],
  ['swap', 'exchange', 'interchange', 'switch'],
  ['loop', 'iterate', 'iteration', 'repeat', 'cycle'],
  ['memory', 'ram', 'storage', 'cache'],
  ['matrix', 'grid', 'table', 'lattice'],
  ['greedy', 'myopic', 'shortsighted'],
  ['heuristic', 'rule', 'strategy', 'approach', 'technique'],
  ['temperature', 'heat', 'annealing', 'anneal'],
  ['city', 'town', 'node', 'vertex', 'location'],
  ['edge', 'link', 'connection', 'arc'],
  ['circle', 'disk', 'disc', 'ring', 'sphere'],
  ['accurate', 'precise', 'exact', 'correct'],
  ['good', 'great', 'excellent', 'fine', 'superb'],
  ['bad', 'poor', 'terrible', 'awful', 'lousy'],
]

const STOPWORDS = new Set(
  'a an the of to in on at by for with and or but is are was were be been being it its this that these those as from into than then so such not no do does did can could should would will may might must i you he she we they them our your their there here what which who whom how when where why all any each some very just also'.split(
    ' ',
  ),
)

export interface SemanticEmbedderOptions {
  /** synonym groups; defaults to DEFAULT_LEXICON */
  lexicon?: readonly (readonly string[])[]
  /** hash positions per concept (default 2) */
  hashesPerConcept?: number
}

export interface SemanticEmbedder {
  /** the concept ids a text maps to, in order (after stop-word removal) */
  concepts(text: string): string[]
  /** an L2-normalised vector of `dims` numbers (all zeros for a text with no concept) */
  embed(text: string, dims: number): number[]
}

/** Splits text into lower-case words, breaking camelCase and snake_case identifiers too. */
export function tokenizeWords(text: string): string[] {
  const spaced = text
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
  return spaced.match(/[a-z]+|[0-9]+/g) ?? []
}

function fnv1a(text: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  // final avalanche
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b) >>> 0
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35) >>> 0
  h ^= h >>> 16
  return h >>> 0
}

export function createSemanticEmbedder(options: SemanticEmbedderOptions = {}): SemanticEmbedder {
  const lexicon = options.lexicon ?? DEFAULT_LEXICON
  const k = Math.max(1, Math.floor(options.hashesPerConcept ?? 2))
  const conceptOf = new Map<string, string>()
  for (const group of lexicon) {
    if (group.length === 0) continue
    const id = `c:${group[0]!.toLowerCase()}`
    for (const word of group) {
      for (const w of tokenizeWords(word)) if (!conceptOf.has(w)) conceptOf.set(w, id)
    }
  }
  const lookup = (word: string): string => {
    const direct = conceptOf.get(word)
    if (direct) return direct
    // light stemming so plurals and simple inflections join their group
    for (const suffix of ['ies', 'es', 's', 'ing', 'ed', 'er', 'ly']) {
      if (word.length > suffix.length + 2 && word.endsWith(suffix)) {
        const stem = word.slice(0, -suffix.length)
        const hit = conceptOf.get(stem) ?? conceptOf.get(suffix === 'ies' ? `${stem}y` : `${stem}e`)
        if (hit) return hit
      }
    }
    return `w:${word}`
  }
  const concepts = (text: string): string[] =>
    tokenizeWords(text)
      .filter((w) => !STOPWORDS.has(w))
      .map(lookup)

  return {
    concepts,
    embed(text: string, dims: number): number[] {
      if (!Number.isInteger(dims) || dims < 1) throw new Error(`dims must be a positive integer, got ${dims}`)
      const v = new Float64Array(dims)
      for (const c of concepts(text)) {
        for (let j = 0; j < k; j++) {
          const h = fnv1a(c, j * 0x9e3779b1)
          const pos = h % dims
          const sign = (h >>> 31) & 1 ? -1 : 1
          v[pos]! += sign
        }
      }
      let norm = 0
      for (const x of v) norm += x * x
      norm = Math.sqrt(norm)
      // round-trip through float32 so the float and base64 encodings carry the same numbers
      return Array.from(v, (x) => (norm > 0 ? Math.fround(x / norm) : 0))
    },
  }
}

export function cosine(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`)
  let dot = 0
  let na = 0
  let nb = 0
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!
    na += a[i]! * a[i]!
    nb += b[i]! * b[i]!
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0
}
