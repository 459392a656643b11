// When the candidate page asks the server again: on the news of its one-candidate subscription
// (candidates.watch), not on a timer. A candidate evaluated or rejected never changes by itself
// again, so the page stops asking; while it waits and the subscription is down, a slow poll
// stands in for it. Pure.

/** statuses after which the candidate's page has nothing left to wait for */
export const SETTLED_STATUSES = ['evaluated', 'rejected'] as const

/** while the subscription is down (reconnecting, refused): what it would have said, at most this late */
export const FALLBACK_POLL_MS = 30_000

export function isSettled(status: string | null | undefined): boolean {
  return (SETTLED_STATUSES as readonly string[]).includes(status ?? '')
}

/** whether the page subscribes: it has the candidate and it is still waiting for it */
export function watchWanted(status: string | null | undefined): boolean {
  return status !== null && status !== undefined && !isSettled(status)
}

/**
 * The query's refetchInterval: none once settled, none while the subscription is open (its news
 * triggers the refetch), the slow fallback otherwise. `subscription` is tRPC's status of it.
 */
export function candidatePollMs(
  status: string | null | undefined,
  subscription: 'idle' | 'connecting' | 'pending' | 'error',
): number | false {
  if (isSettled(status)) return false
  return subscription === 'pending' ? false : FALLBACK_POLL_MS
}

/** whether a message of the subscription means the page's copy is out of date */
export function watchNews(shown: string | null | undefined, news: { status: string | null }): boolean {
  return news.status !== shown
}
