// fm-agent kb: the knowledge base from the command line.
//   kb import <path> [--problem ID] [--tag T]…   a file or a folder (markdown, text, code)
//   kb import --starter                           the starter documents (techniques per problem family); idempotent
//   kb search "<text>" [--problem ID] [--tag T]… [-k N] [--json]
//   kb status [--json]                            the embedding model and how many documents it covers
//   kb list [--problem ID] [--tag T] [--json]     the documents, newest first
//   kb delete <document id or source path>        a document and its chunks
//   kb export <folder> [--problem ID] [--tag T] [--json]   one markdown file per document, for kb import
// Files are read here, on the user's machine, and sent to the API, so import works the same
// in-process and against a running server. `kb search --json` prints one JSON array, best first,
// each entry with the document's `title`, its `sourcePath` and the chunk `text` (a contract).
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readSync, statSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { connectApi, type ApiClient } from '../../api/client.ts'
import { sendImportBatches } from '../../../client-safe/knowledge-import.ts'
import type { DocDetail, ImportFile, ImportResult } from '../../knowledge/documents.ts'
import {
  documentIdPages,
  documentToMarkdown,
  EXPORT_MARKER,
  exportFileName,
  LIST_PAGE,
} from '../../../client-safe/knowledge-export.ts'
import { splitFrontMatter } from '../../../client-safe/front-matter.ts'
import { KnowledgeInputError } from '../../knowledge/errors.ts'
import { batchFiles, collectImportFiles, displayPath, storedPath } from '../../knowledge/import-files.ts'
import type { EmbeddingStatus } from '../../knowledge/reembed.ts'
import { MAX_QUERY_CHARS } from '../../knowledge/limits.ts'
import { highlightRuns, type SearchResult } from '../../knowledge/search.ts'
import { NO_WORD_MATCH, wordMatch } from '../../../client-safe/knowledge-search.ts'
import { sectionOf } from '../../../client-safe/knowledge-title.ts'
import { InputError, intOption, parse, UsageError } from '../args.ts'
import type { Command, CommandContext } from '../main.ts'

const USAGE = [
  'fm-agent kb import <path> [--problem ID] [--tag T]... [--json]',
  '       fm-agent kb import --starter [--json]',
  '       fm-agent kb search "<text>" [--problem ID] [--tag T]... [-k N] [--json]',
  '       fm-agent kb status [--json]',
  '       fm-agent kb list [--problem ID] [--tag T] [--json]',
  '       fm-agent kb delete <document id or source path> [--json]',
  '       fm-agent kb export <folder> [--problem ID] [--tag T] [--json]',
  '  kb export: one markdown file per document (front matter: title, tags, problem; then the text as stored) that',
  '    kb import reads back; --problem: the documents that problem sees (its own and the global ones). It writes into',
  '    a folder holding files already, rather than refusing it: a document keeps its file name from one export to the',
  '    next, so exporting into a git checkout again shows what changed; the files it replaced are counted, and files',
  '    of an earlier export whose documents were not exported this time are named, never deleted',
].join('\n')

interface DocRow {
  id: string
  title: string
  sourcePath: string | null
  problemId: string | null
  tags: string[]
  chunkCount: number
  chars: number
  embedStatus: string
  updatedAt: string | Date
}

async function listCommand(ctx: CommandContext, argv: string[]): Promise<number> {
  const { values } = parse('kb list', argv, {
    problem: { type: 'string' },
    tag: { type: 'string' },
    json: { type: 'boolean' },
  })
  const docs: DocRow[] = []
  let total = 0
  await withApi(ctx, values, false, async (api) => {
    // every page: a knowledge base of thousands of documents is listed whole
    do {
      const page = await api.query<{ total: number; docs: DocRow[] }>('knowledge.list', {
        limit: 500,
        offset: docs.length,
        ...(values.problem ? { problemId: values.problem } : {}),
        ...(values.tag ? { tag: values.tag } : {}),
      })
      total = page.total
      docs.push(...page.docs)
      if (!page.docs.length) break
    } while (docs.length < total)
  })
  if (values.json) ctx.out(JSON.stringify(docs))
  else
    ctx.out(
      docs.length
        ? docs
            .map(
              (d) =>
                `${d.id}  ${d.title}${d.sourcePath ? ` — ${shownSource(d.sourcePath)}` : ''}  (${d.chunkCount} chunks${d.problemId ? `, ${d.problemId}` : ''}${d.tags.length ? `, ${d.tags.join(' ')}` : ''}${d.embedStatus === 'ready' ? '' : `, embedding ${d.embedStatus}`})`,
            )
            .join('\n')
        : 'no documents',
    )
  return 0
}

/** A document's source path as the CLI shows it: a file's from where the user stands (stored absolute). */
const shownSource = (path: string) => (path.startsWith('/') ? displayPath(path) : path)

async function deleteCommand(ctx: CommandContext, argv: string[]): Promise<number> {
  const { values, positionals } = parse('kb delete', argv, { json: { type: 'boolean' } }, 1)
  const which = positionals[0]
  if (!which) throw new UsageError('kb delete needs a document id or its source path (kb list shows both)')
  const r = await withApi(ctx, values, false, async (api) => {
    let id = which
    if (!/^[0-9a-f-]{36}$/i.test(which)) {
      // a source path, as import stored it; more than one match is the user's to pick by id
      const page = await api.query<{ total: number; docs: DocRow[] }>('knowledge.list', {
        text: basename(which).slice(-200),
        limit: 500,
      })
      // a file's path as typed here (stored absolute), else the path as given (a console upload's name)
      const file = storedPath(resolve(which))
      const byFile = page.docs.filter((d) => d.sourcePath === file)
      const same = byFile.length ? byFile : page.docs.filter((d) => d.sourcePath === which)
      if (!same.length) throw new InputError(`no document with the source path ${which} (kb list shows them)`)
      if (same.length > 1)
        throw new InputError(
          `${same.length} documents have the source path ${which}: delete one by its id (${same.map((d) => d.id).join(', ')})`,
        )
      id = same[0]!.id
    }
    return api.mutate<{ id: string; title: string }>('knowledge.delete', { id }).catch((e: Error) => {
      throw new InputError(e.message)
    })
  })
  ctx.out(values.json ? JSON.stringify(r) : `deleted ${r.title} (${r.id})`)
  return 0
}

/** Documents between two progress lines on stderr. */
const EXPORT_PROGRESS_EVERY = 100

interface ExportedFile {
  file: string
  id: string
  title: string
  overwritten: boolean
}

async function exportCommand(ctx: CommandContext, argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    'kb export',
    argv,
    { problem: { type: 'string' }, tag: { type: 'string' }, json: { type: 'boolean' } },
    1,
  )
  const folder = positionals[0]
  if (!folder) throw new UsageError('kb export needs the folder to write the documents into')
  const root = resolve(folder)
  if (existsSync(root) && !statSync(root).isDirectory())
    throw new InputError(`${folder} is a file, not a folder: give a folder to export into`)
  try {
    mkdirSync(root, { recursive: true })
  } catch (e) {
    throw new InputError(`cannot create the folder ${folder} (${(e as NodeJS.ErrnoException).code ?? e}): give another`)
  }
  const written: ExportedFile[] = []
  const names = new Set<string>()
  await withApi(ctx, values, false, async (api) => {
    // page by page, and one document in memory at a time: a base of any size is exported
    const pages = documentIdPages((offset) =>
      api.query<{ total: number; docs: DocRow[] }>('knowledge.list', {
        limit: LIST_PAGE,
        offset,
        ...(values.problem ? { problemId: values.problem } : {}),
        ...(values.tag ? { tag: values.tag } : {}),
      }),
    )
    for await (const { ids, total } of pages) {
      for (const id of ids) {
        const doc = await api.query<DocDetail>('knowledge.get', { id })
        const file = join(root, exportFileName(doc, names))
        // the name holds only [a-z0-9-.]: checked all the same, nothing is ever written outside the folder
        if (dirname(file) !== root) throw new Error(`refusing to write ${file}, outside ${root}`)
        const overwritten = existsSync(file)
        writeFileSync(file, documentToMarkdown(doc))
        written.push({ file, id: doc.id, title: doc.title, overwritten })
        if (written.length % EXPORT_PROGRESS_EVERY === 0)
          ctx.log.info(`exported ${written.length} of ${total} documents`)
      }
    }
  })
  const stale = staleExports(root, names)
  if (values.json) ctx.out(JSON.stringify(written))
  else {
    const replaced = written.filter((w) => w.overwritten).length
    const lines = [
      `exported ${written.length} document${written.length === 1 ? '' : 's'} to ${displayPath(root)}${replaced ? ` (${replaced} file${replaced === 1 ? '' : 's'} replaced)` : ''}`,
    ]
    if (stale.length)
      lines.push(
        `${stale.length} file${stale.length === 1 ? '' : 's'} from an earlier export hold documents not exported now (deleted, or outside --problem/--tag); kb import of the folder would bring them back, so delete them if they should go: ${stale.join(', ')}`,
      )
    ctx.out(lines.join('\n'))
  }
  return 0
}

const EXPORTED_FILE_START = new RegExp(`^\uFEFF?---[ \t]*\r?\n${EXPORT_MARKER}:`)

/** The files in `root` that an earlier `kb export` wrote and this one did not (read by their first bytes only). */
function staleExports(root: string, written: Set<string>): string[] {
  const head = Buffer.alloc(64)
  const out: string[] = []
  for (const e of readdirSync(root, { withFileTypes: true })) {
    if (!e.isFile() || !e.name.endsWith('.md') || written.has(e.name.toLowerCase())) continue
    const fd = openSync(join(root, e.name), 'r')
    try {
      const n = readSync(fd, head, 0, head.length, 0)
      if (EXPORTED_FILE_START.test(head.subarray(0, n).toString('utf8'))) out.push(e.name)
    } finally {
      closeSync(fd)
    }
  }
  return out.sort()
}

const codeOf = (e: unknown) => {
  const err = e as { code?: string; data?: { code?: string } } | null
  return err?.data?.code ?? err?.code
}

/**
 * A refused request's reason in words: a schema refusal's own messages (its `message` is the
 * issues as JSON), else the message.
 */
function reasonOf(e: unknown): string {
  const err = e as { message?: string; cause?: { issues?: unknown }; data?: { zodIssues?: unknown } } | null
  const issues = (err?.data?.zodIssues ?? err?.cause?.issues) as Array<{ path: unknown; message: string }> | undefined
  if (Array.isArray(issues) && issues.length)
    return issues
      .map((i) => {
        const at = Array.isArray(i.path) ? i.path.join('.') : String(i.path ?? '')
        return at ? `${at}: ${i.message}` : i.message
      })
      .join('; ')
  return err?.message ?? String(e)
}

/** An API error caused by the request (bad input, unknown id) rather than by the system. */
function requestError(e: unknown): string | null {
  const code = codeOf(e)
  return code === 'BAD_REQUEST' || code === 'NOT_FOUND' || code === 'CONFLICT' ? reasonOf(e) : null
}

async function withApi<T>(
  ctx: CommandContext,
  values: Record<string, unknown>,
  syncProblems: boolean,
  fn: (api: ApiClient) => Promise<T>,
): Promise<T> {
  const api = await connectApi({
    dataDir: ctx.dataDir(values),
    databaseUrl: ctx.env.DATABASE_URL,
    log: ctx.log,
    syncProblems,
  })
  try {
    return await fn(api)
  } catch (e) {
    // the command line was well formed: what the server refused is the input, said without the usage
    const msg = requestError(e)
    if (msg) throw new InputError(msg)
    throw e
  } finally {
    await api.close()
  }
}

const tagsOf = (v: unknown): string[] => (Array.isArray(v) ? (v as string[]) : typeof v === 'string' ? [v] : [])

async function importCommand(ctx: CommandContext, argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    'kb import',
    argv,
    {
      problem: { type: 'string' },
      tag: { type: 'string', multiple: true },
      json: { type: 'boolean' },
      starter: { type: 'boolean' },
    },
    1,
  )
  const path = positionals[0]
  if (values.starter) {
    if (path || values.problem || values.tag)
      throw new UsageError(
        'kb import --starter takes no path, --problem or --tag: the starter documents are global and tagged by problem family',
      )
    const results = await withApi(ctx, values, false, (api) =>
      api.mutate<ImportResult[]>('knowledge.importStarter', undefined),
    )
    return reportImport(ctx, results, !!values.json)
  }
  if (!path) throw new UsageError('kb import needs a file or folder path (or --starter)')
  let collected: ReturnType<typeof collectImportFiles>
  try {
    collected = collectImportFiles(path)
  } catch (e) {
    if (e instanceof KnowledgeInputError) throw new InputError(e.message)
    throw e
  }
  const results: ImportResult[] = [...collected.skipped]
  if (collected.files.length) {
    // a file may name its problem in its front matter (an exported document does): the built-in ones must be there
    const scoped =
      !!values.problem ||
      collected.files.some((f) => /^problem[ \t]*:/m.test(splitFrontMatter(f.content).frontMatter ?? ''))
    await withApi(ctx, values, scoped, async (api) => {
      const send = (files: ImportFile[]) =>
        api.mutate<ImportResult[]>('knowledge.import', {
          files,
          problemId: (values.problem as string | undefined) ?? null,
          tags: tagsOf(values.tag),
        })
      // a problem or a tag the server refuses fails every file alike: said once, as an input error
      const first = collected.files.slice(0, 1)
      results.push(...(await send(first)))
      results.push(
        ...(await sendImportBatches(batchFiles(collected.files.slice(1)), send, {
          describe: reasonOf,
          isBadRequest: (e) => codeOf(e) === 'BAD_REQUEST',
          onProgress: (p) => {
            if (p.batches > 1) ctx.log.info(`importing batch ${p.batch} of ${p.batches} (${p.files} files)`)
          },
        })),
      )
    })
  }
  return reportImport(ctx, results, !!values.json)
}

function reportImport(ctx: CommandContext, results: ImportResult[], json: boolean): number {
  const imported = results.filter((r) => r.status === 'created' || r.status === 'updated' || r.status === 'unchanged')
  const failed = results.filter((r) => r.status === 'failed')
  if (json) ctx.out(JSON.stringify(results))
  else {
    const lines = results.map((r) => {
      const what =
        r.status === 'failed' || r.status === 'skipped'
          ? `: ${r.reason}`
          : ` → "${r.title}" (${r.chunks} chunk${r.chunks === 1 ? '' : 's'}${r.embedStatus !== 'ready' ? `, embedding ${r.embedStatus}${r.reason ? `: ${r.reason}` : ''}` : ''})`
      const shown = shownSource(r.path)
      return `${r.status.padEnd(9)} ${shown}${what.replaceAll(r.path, shown)}`
    })
    const count = (status: ImportResult['status']) => results.filter((r) => r.status === status).length
    lines.push(
      `${count('created')} created, ${count('updated')} updated, ${count('unchanged')} unchanged, ${count('skipped')} skipped, ${failed.length} failed`,
    )
    const pending = imported.filter((r) => r.embedStatus && r.embedStatus !== 'ready')
    if (pending.length)
      lines.push(
        `${pending.length} document(s) are saved but not embedded yet (the embedding model failed); the console's Knowledge page re-embeds them`,
      )
    ctx.out(lines.join('\n'))
  }
  // a file skipped as already there (same content) is in the knowledge base: importing it again
  // is not an error, so a script can import the same folder or file every time
  const present = imported.length + results.filter((r) => r.status === 'skipped' && r.docId).length
  if (present === 0) return 2
  return failed.length ? 1 : 0
}

function formatHits(r: SearchResult): string {
  if (r.hits.length === 0) return 'no matching knowledge'
  const lines: string[] = []
  // the vector half always returns its nearest rows, however far: said when they are all there is
  if (!wordMatch(r)) lines.push(NO_WORD_MATCH)
  r.hits.forEach((h, i) => {
    lines.push(`${i + 1}. ${h.title}${h.sourcePath ? ` — ${shownSource(h.sourcePath)}` : ''}`)
    const why = [
      h.textRank ? `words #${h.textRank}` : null,
      h.vectorRank
        ? `vector #${h.vectorRank}${h.similarity !== null ? `, similarity ${h.similarity.toFixed(3)}` : ''}`
        : null,
    ]
      .filter(Boolean)
      .join(', ')
    const section = sectionOf(h.title, h.heading)
    lines.push(`   ${section ? `§ ${section}  ` : ''}(score ${h.score.toFixed(4)}; ${why})`)
    const excerpt = highlightRuns(h.highlight)
      .map((run) => (run.mark ? `«${run.text}»` : run.text))
      .join('')
      .replace(/\s+/g, ' ')
      .trim()
    lines.push(`   ${excerpt}`)
  })
  if (!r.vector.used && r.vector.error) lines.push(`(full-text only: ${r.vector.error})`)
  return lines.join('\n')
}

async function searchCommand(ctx: CommandContext, argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    'kb search',
    argv,
    {
      problem: { type: 'string' },
      tag: { type: 'string', multiple: true },
      k: { type: 'string', short: 'k' },
      json: { type: 'boolean' },
    },
    1,
  )
  const text = positionals[0]
  if (!text?.trim()) throw new UsageError('kb search needs the text to look for, in quotes')
  if (text.length > MAX_QUERY_CHARS)
    throw new InputError(
      `the query has ${text.length.toLocaleString('en-US')} characters, over the ${MAX_QUERY_CHARS.toLocaleString('en-US')}-character limit: search for its key words`,
    )
  const k = intOption('k', values.k, 1, 100) ?? 10
  const r = await withApi(ctx, values, false, (api) =>
    api.query<SearchResult>('knowledge.search', {
      text,
      k,
      ...(values.problem ? { problemId: values.problem } : {}),
      ...(tagsOf(values.tag).length ? { tags: tagsOf(values.tag) } : {}),
    }),
  )
  if (values.json) {
    ctx.out(
      JSON.stringify(
        r.hits.map((h) => ({
          title: h.title,
          sourcePath: h.sourcePath,
          text: h.content,
          heading: h.heading,
          score: h.score,
          docId: h.docId,
          chunkId: h.chunkId,
          problemId: h.problemId,
          tags: h.tags,
          vectorRank: h.vectorRank,
          textRank: h.textRank,
        })),
      ),
    )
  } else ctx.out(formatHits(r))
  return 0
}

async function statusCommand(ctx: CommandContext, argv: string[]): Promise<number> {
  const { values } = parse('kb status', argv, { json: { type: 'boolean' } })
  const s = await withApi(ctx, values, false, (api) => api.query<EmbeddingStatus>('knowledge.embeddingStatus'))
  ctx.out(
    values.json
      ? JSON.stringify(s)
      : `embedding model ${s.modelId}: ${s.ready} of ${s.total} documents embedded, ${s.pending} pending, ${s.failed} failed` +
          (s.job?.running ? `\nre-embedding: ${s.job.done} of ${s.job.total}` : ''),
  )
  return 0
}

export const kb: Command = {
  summary: 'knowledge base: import files or folders, search, embedding status, list, delete, export to markdown files',
  usage: USAGE,
  async run(ctx) {
    // the subcommand is the first argument that is neither an option nor an option's value
    // (global options such as --data-dir may come before it)
    const takesValue = new Set(['--data-dir', '--problem', '--tag', '-k', '--k'])
    let idx = -1
    for (let i = 0; i < ctx.argv.length; i++) {
      const a = ctx.argv[i]
      if (takesValue.has(a)) i++
      else if (!a.startsWith('-')) {
        idx = i
        break
      }
    }
    const name = idx >= 0 ? ctx.argv[idx] : undefined
    const argv = idx >= 0 ? [...ctx.argv.slice(0, idx), ...ctx.argv.slice(idx + 1)] : ctx.argv
    if (name === 'import') return importCommand(ctx, argv)
    if (name === 'search') return searchCommand(ctx, argv)
    if (name === 'status') return statusCommand(ctx, argv)
    if (name === 'list') return listCommand(ctx, argv)
    if (name === 'delete') return deleteCommand(ctx, argv)
    if (name === 'export') return exportCommand(ctx, argv)
    throw new UsageError(
      name
        ? `unknown subcommand "kb ${name}" (import, search, status, list, delete, export)`
        : 'missing subcommand (import, search, status, list, delete, export)',
    )
  },
}
