import { fileURLToPath } from 'node:url'
import { PHASE_DEVELOPMENT_SERVER, PHASE_PRODUCTION_BUILD } from 'next/constants.js'

/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // the API, auth and security headers live in the custom server (server/api/http-server.ts);
  // Next only renders the console's pages
  typescript: {
    // `npm test` type-checks the whole project once; the build need not do it again
    ignoreBuildErrors: true,
  },
  devIndicators: false,
}

export default async function config(phase) {
  // browser code may import only app/, components/ and client-safe/: a build that would bundle a
  // server module fails here, naming the chain of imports (scripts/check-client-boundary.mjs)
  if (phase === PHASE_PRODUCTION_BUILD || phase === PHASE_DEVELOPMENT_SERVER) {
    const { checkClientBoundary } = await import('./scripts/check-client-boundary.mjs')
    const violations = checkClientBoundary(fileURLToPath(new URL('.', import.meta.url)))
    if (violations.length) throw new Error(`the client/server boundary is crossed:\n  ${violations.join('\n  ')}`)
  }
  return nextConfig
}
