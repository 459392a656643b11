// The browser/server boundary, checked on the sources: the console's client code ('use client'
// files under app/ and components/, and everything they import) may reach only app/, components/
// and client-safe/, and client-safe/ modules may import (as values) only one another and packages
// that run in a browser. Type-only imports are erased and do not count. next.config.mjs runs this
// before every `next build` and `next dev`, so a server module that slips into the client bundle
// fails the build with the chain of imports that pulled it in.
//   node scripts/check-client-boundary.mjs   (exit 1 and one line per violation)
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

export const CLIENT_SAFE = 'client-safe'
const CLIENT_FOLDERS = ['app', 'components', CLIENT_SAFE]
/** packages that hold server-only code (database, queue, models, Node's own modules) */
const SERVER_PACKAGES = [
  /^node:/,
  /^(fs|path|os|child_process|crypto|net|http|https|zlib|stream|worker_threads)(\/|$)/,
  /^@prisma\//,
  /^pg$/,
  /^@electric-sql\//,
  /^pglite-prisma-adapter$/,
  /^graphile-worker$/,
  /^langchain$/,
  /^@langchain\//,
  /^server-only$/,
  /^tsx(\/|$)/,
]
const EXTENSIONS = ['', '.ts', '.tsx', '.mjs', '.js', '/index.ts', '/index.tsx']

function sourceFiles(dir) {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { recursive: true })
    .map((f) => join(dir, f))
    .filter((f) => /\.(ts|tsx|mjs|js)$/.test(f) && !/\.test\.tsx?$/.test(f) && statSync(f).isFile())
}

/** The value imports of a file: relative ones resolved to paths, packages by name. */
export function valueImports(file) {
  const text = readFileSync(file, 'utf8')
  const src = ts.createSourceFile(
    file,
    text,
    ts.ScriptTarget.Latest,
    false,
    file.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS,
  )
  const specs = []
  const visit = (node) => {
    if (ts.isImportDeclaration(node)) {
      const c = node.importClause
      const typeOnly =
        c &&
        (c.isTypeOnly ||
          (!c.name &&
            c.namedBindings &&
            ts.isNamedImports(c.namedBindings) &&
            c.namedBindings.elements.length > 0 &&
            c.namedBindings.elements.every((e) => e.isTypeOnly)))
      if (!typeOnly) specs.push(node.moduleSpecifier.text)
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && !node.isTypeOnly) {
      specs.push(node.moduleSpecifier.text)
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      specs.push(node.arguments[0].text)
    }
    ts.forEachChild(node, visit)
  }
  visit(src)
  return specs.map((spec) => {
    if (!spec.startsWith('.')) return { spec, package: spec }
    const base = resolve(dirname(file), spec)
    const path = EXTENSIONS.map((e) => base + e).find((p) => existsSync(p) && statSync(p).isFile())
    return { spec, path: path ?? base }
  })
}

const isClientFile = (file) =>
  /^\s*(\/\/[^\n]*\n\s*|\/\*[\s\S]*?\*\/\s*)*['"]use client['"]/.test(readFileSync(file, 'utf8'))

/** Every violation of the boundary under `root`, as readable lines (none: the boundary holds). */
export function checkClientBoundary(root) {
  const rel = (p) => relative(root, p).split(sep).join('/')
  const folderOf = (p) => rel(p).split('/')[0]
  const violations = []
  // client-safe modules: only one another and browser packages, whoever imports them
  for (const file of sourceFiles(join(root, CLIENT_SAFE))) {
    for (const imp of valueImports(file)) {
      if (imp.package ? SERVER_PACKAGES.some((re) => re.test(imp.package)) : folderOf(imp.path) !== CLIENT_SAFE) {
        violations.push(
          `${rel(file)} imports ${imp.spec}: a ${CLIENT_SAFE}/ module may import only ${CLIENT_SAFE}/ modules and browser packages`,
        )
      }
    }
  }
  // the client graph: from every 'use client' file, through relative value imports
  const seen = new Map()
  const queue = []
  for (const dir of ['app', 'components'])
    for (const f of sourceFiles(join(root, dir))) if (isClientFile(f)) seen.set(f, null), queue.push(f)
  const chain = (f) => {
    const out = []
    for (let at = f; at; at = seen.get(at)) out.unshift(rel(at))
    return out.join(' → ')
  }
  while (queue.length) {
    const file = queue.shift()
    for (const imp of valueImports(file)) {
      if (imp.package) {
        if (SERVER_PACKAGES.some((re) => re.test(imp.package)))
          violations.push(`${chain(file)} imports the server package ${imp.package}`)
        continue
      }
      if (!CLIENT_FOLDERS.includes(folderOf(imp.path))) {
        violations.push(
          `${chain(file)} imports ${rel(imp.path)}: browser code may import only app/, components/ and ${CLIENT_SAFE}/ (see ${CLIENT_SAFE}/README.md)`,
        )
        continue
      }
      if (!seen.has(imp.path) && existsSync(imp.path)) seen.set(imp.path, file), queue.push(imp.path)
    }
  }
  return [...new Set(violations)]
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
  const v = checkClientBoundary(root)
  for (const line of v) console.error(line)
  process.exit(v.length ? 1 : 0)
}
