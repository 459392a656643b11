// The project's TypeScript run as one plain ES module bundled with esbuild instead of through the
// tsx loader: a process starts about 3× faster and holds less memory (no loader thread, no compile
// cache). Packages stay external (resolved from the project's node_modules, beside the bundle), and
// each module's import.meta.url keeps pointing at its source file, so paths relative to it stay
// right. A bundle is rebuilt only when one of its source files changed: a manifest beside it holds
// their sizes and modification times. Plain JavaScript, because the CLI loads it before any loader.
import { createHash } from 'node:crypto'
import {
  accessSync,
  constants,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(import.meta.url)
/** spelled so that it is not itself rewritten when this module is bundled (the CLI's bundle holds it) */
const META_URL = ['import', 'meta', 'url'].join('.')
/** a bundle replaced this long ago is no longer being started by anyone */
const STALE_MS = 3_600_000

/** @type {string | undefined} */
let cache

/**
 * Where bundles are kept: the installation's node_modules/.cache/fm-agent, or, where this user
 * cannot write there (an installation another user owns, as in a container run as a non-root
 * user), a folder of the user's cache holding a link to the installation's node_modules, so that
 * the bundles' package imports resolve to the same files from there.
 * @returns {string}
 */
function cacheDir() {
  if (cache) return cache
  const own = join(ROOT, 'node_modules', '.cache', 'fm-agent')
  try {
    mkdirSync(own, { recursive: true })
    accessSync(own, constants.W_OK)
    cache = own
    return own
  } catch {
    // read-only to this user: the user's cache
  }
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache')
  const dir = join(base, 'fm-agent', 'bundles', createHash('sha256').update(ROOT).digest('hex').slice(0, 16))
  mkdirSync(dir, { recursive: true })
  const link = join(dir, 'node_modules')
  const target = join(ROOT, 'node_modules')
  let current = null
  try {
    current = readlinkSync(link)
  } catch {
    // no link yet
  }
  if (current !== target) {
    rmSync(link, { force: true })
    try {
      symlinkSync(target, link)
    } catch (e) {
      // another process starting at the same moment made it
      if (readlinkSync(link) !== target) throw e
    }
  }
  cache = dir
  return dir
}

/** @param {string} path */
function stamp(path) {
  const s = statSync(path)
  return `${s.size}:${s.mtimeMs}`
}

/** @param {string} text @param {string} path */
function writeAtomic(path, text) {
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, text)
  renameSync(tmp, path) // processes starting at once never load a half-written file
}

/** @type {Promise<unknown>} */
let queue = Promise.resolve()

/**
 * The bundle of a TypeScript entry module, built when missing or out of date.
 * @param {string} entry absolute path of the entry (.ts)
 * @param {string} name the bundle's name in the cache
 * @returns {Promise<string>} the bundle's path
 */
export function bundle(entry, name) {
  // one build at a time: each stops esbuild's service when done, which would fail a build in flight
  const built = queue.then(() => build(entry, name))
  queue = built.catch(() => undefined)
  return built
}

/** @param {string} entry @param {string} name @returns {Promise<string>} */
async function build(entry, name) {
  const dir = cacheDir()
  const manifestPath = join(dir, `${name}.json`)
  const esbuild = require('esbuild')
  try {
    /** @type {{ entry: string, esbuild: string, bundle: string, inputs: Record<string, string> }} */
    const m = JSON.parse(readFileSync(manifestPath, 'utf8'))
    if (
      m.entry === entry &&
      m.esbuild === esbuild.version &&
      stamp(m.bundle) &&
      Object.entries(m.inputs).every(([p, s]) => stamp(join(ROOT, p)) === s)
    )
      return m.bundle
  } catch {
    // no manifest yet, or a source file moved: build
  }
  let r
  try {
    r = await esbuild.build({
      entryPoints: [entry],
      absWorkingDir: ROOT,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      write: false,
      metafile: true,
      logLevel: 'silent',
      plugins: [
        {
          name: 'source-import-meta-url',
          setup(build) {
            build.onLoad({ filter: /\.(ts|mjs)$/ }, (args) => ({
              contents: readFileSync(args.path, 'utf8').replaceAll(
                META_URL,
                JSON.stringify(pathToFileURL(args.path).href),
              ),
              loader: args.path.endsWith('.ts') ? 'ts' : 'js',
            }))
          },
        },
      ],
    })
  } finally {
    // esbuild's service process (~50 MB) would otherwise live as long as this one: a run, a server
    await esbuild.stop()
  }
  const code = r.outputFiles[0].contents
  const path = join(dir, `${name}-${createHash('sha256').update(code).digest('hex').slice(0, 16)}.mjs`)
  mkdirSync(dir, { recursive: true })
  writeAtomic(path, code)
  const inputs = Object.fromEntries(Object.keys(r.metafile.inputs).map((p) => [p, stamp(join(ROOT, p))]))
  writeAtomic(manifestPath, JSON.stringify({ entry, esbuild: esbuild.version, bundle: path, inputs }))
  for (const f of readdirSync(dir)) {
    const old = join(dir, f)
    if (f.startsWith(`${name}-`) && f.endsWith('.mjs') && old !== path && Date.now() - statSync(old).mtimeMs > STALE_MS)
      rmSync(old, { force: true })
  }
  return path
}
