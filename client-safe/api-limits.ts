/**
 * Calls in one batched API request, at most: the server refuses a larger batch (400) and the
 * console's client never sends one. Unbounded, one request could carry 140 calls of the costliest
 * query a viewer may make.
 */
export const MAX_BATCH_CALLS = 32
