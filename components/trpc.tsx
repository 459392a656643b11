'use client'
// The console's tRPC client: queries and mutations over HTTP batches, subscriptions over SSE.
import './zod-no-eval.ts'
import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink, TRPCClientError } from '@trpc/client'
import { MAX_BATCH_CALLS } from '../client-safe/api-limits.ts'
import { createTRPCContext } from '@trpc/tanstack-react-query'
import { useState, type ReactNode } from 'react'
import superjson from 'superjson'
import type { AppRouter } from '../server/api/root.ts'

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>()

function makeQueryClient() {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 5_000,
        retry: (count, err) => {
          const code = err instanceof TRPCClientError ? err.data?.code : undefined
          return !['UNAUTHORIZED', 'FORBIDDEN', 'NOT_FOUND', 'BAD_REQUEST'].includes(code) && count < 2
        },
      },
    },
  })
}

export function ApiProvider({ children }: { children: ReactNode }) {
  const [queryClient] = useState(makeQueryClient)
  const [trpcClient] = useState(() =>
    createTRPCClient<AppRouter>({
      links: [
        splitLink({
          condition: (op) => op.type === 'subscription',
          true: httpSubscriptionLink({ url: '/api/trpc', transformer: superjson }),
          false: httpBatchLink({
            url: '/api/trpc',
            transformer: superjson,
            maxURLLength: 4000,
            maxItems: MAX_BATCH_CALLS,
          }),
        }),
      ],
    }),
  )
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        {children}
      </TRPCProvider>
    </QueryClientProvider>
  )
}

export function errorMessage(e: unknown): string {
  if (e instanceof TRPCClientError) {
    const issues = (e.data as { zodIssues?: Array<{ path: string; message: string }> } | undefined)?.zodIssues
    if (issues?.length) return issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')
    return e.message
  }
  return e instanceof Error ? e.message : String(e)
}
