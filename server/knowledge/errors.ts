// Errors the knowledge base throws on bad requests. They live here, not in server/api, so that the
// engine and the CLI can use this module without tRPC; the knowledge router maps them to tRPC codes.

/** The request itself is wrong (empty, huge, binary, malformed, unknown option): a 400. */
export class KnowledgeInputError extends Error {
  override name = 'KnowledgeInputError'
}

/** A document, chunk, lesson or retrieval that does not exist: a 404. */
export class KnowledgeNotFoundError extends Error {
  override name = 'KnowledgeNotFoundError'
}

/** The request conflicts with the current state (a lesson already reviewed, a re-embed running): a 409. */
export class KnowledgeConflictError extends Error {
  override name = 'KnowledgeConflictError'
}
