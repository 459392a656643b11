// Errors services throw for bad requests. The API maps them to status codes (server/api/trpc.ts);
// the CLI prints their message. Anything else is an internal error.
export class NotFoundError extends Error {}
export class ConflictError extends Error {}
export class BadInputError extends Error {}
/** the caller's role allows the procedure, but not on this object (someone else's) */
export class ForbiddenError extends Error {}
/** This machine lacks what the request needs (a problem's prerequisites): the message names the fix. */
export class PrerequisiteError extends Error {}
/** the request is valid but the run is not in a state that allows it (412) */
export class PreconditionError extends Error {}
