/** What a token's row says: the API refuses a revoked and an expired one alike, so neither offers Revoke. */
export function tokenState(
  t: { revokedAt: Date | string | null; expiresAt: Date | string | null },
  now = Date.now(),
): 'revoked' | 'expired' | 'active' {
  if (t.revokedAt) return 'revoked'
  if (t.expiresAt && new Date(t.expiresAt).getTime() <= now) return 'expired'
  return 'active'
}
