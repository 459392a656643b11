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

export default nextConfig
