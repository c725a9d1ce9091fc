/**
 * A typed client of the query API for Node (tests, benchmarks, scripts): queries over GET batches,
 * subscriptions over SSE with `NodeEventSource` (which can send the bearer token as a header).
 * Browsers use `@trpc/client` directly with the same `AppRouter` type.
 */
import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink, type TRPCClient } from '@trpc/client'
import { NodeEventSource } from './event-source.ts'
import { DEFAULT_SERVER_LIMITS } from './limits.ts'
import type { AppRouter } from './router.ts'

/** Options of `createQueryClient`. */
export interface QueryClientOptions {
  /** Base URL of the API (without `/trpc`), e.g. `http://127.0.0.1:4000`. */
  url: string
  /** API token; omitted: no Authorization header (only system.health works). */
  token?: string
  /**
   * PEM CA to trust for subscriptions over https. Queries go through the global `fetch`, which
   * trusts the CAs of NODE_EXTRA_CA_CERTS.
   */
  ca?: string | Buffer
}

/** A typed tRPC client of `AppRouter`. */
export function createQueryClient(options: QueryClientOptions): TRPCClient<AppRouter> {
  const url = `${options.url.replace(/\/+$/, '')}/trpc`
  const headers: Record<string, string> = options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({
          url,
          EventSource: NodeEventSource,
          eventSourceOptions: { headers, ...(options.ca === undefined ? {} : { ca: options.ca }) }
        }),
        // At most the API's default calls per batch (limits.maxBatchCalls).
        false: httpBatchLink({ url, headers, maxURLLength: 8000, maxItems: DEFAULT_SERVER_LIMITS.maxBatchCalls })
      })
    ]
  })
}
