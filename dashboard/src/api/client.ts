/**
 * The typed query API client. Queries go through one batching HTTP link with the bearer token in
 * the Authorization header (the only place the query API reads it for queries); subscriptions use
 * Server-Sent Events, where browsers cannot set headers, so the token travels as the link's
 * connection parameter `token` (accepted on subscription requests only).
 */
import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink, type TRPCClient } from '@trpc/client'
import { describeProblem, type ApiProblem } from './errors.ts'
import { signOut, token } from './session.ts'
import type { AppRouter } from './types.ts'

/** The client of the query API's router. */
export type ApiClient = TRPCClient<AppRouter>

/** Creates a client for `apiToken` against the tRPC endpoint `url` (absolute or relative to the page). */
export function createApiClient(apiToken: string, url: string): ApiClient {
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({ url, connectionParams: () => ({ token: apiToken }) }),
        false: httpBatchLink({
          url,
          // GET requests (the API takes only GETs); long batches are split rather than sent as huge URLs,
          // and past the API's 20 calls per batch (QUERY_API_MAX_BATCH_CALLS).
          maxURLLength: 4000,
          maxItems: 20,
          headers: () => ({ authorization: `Bearer ${apiToken}` })
        })
      })
    ]
  })
}

/** The tRPC endpoint of the page's origin (the query API serves the dashboard and `/trpc`). */
export function defaultApiUrl(): string {
  return new URL('/trpc', globalThis.location?.href ?? 'http://127.0.0.1:4000/').href
}

let cached: { token: string; client: ApiClient } | undefined

/** The client of the signed-in token. Throws when signed out (pages only render signed in). */
export function api(): ApiClient {
  const current = token()
  if (current === null) throw new Error('not signed in')
  if (cached?.token !== current) cached = { token: current, client: createApiClient(current, defaultApiUrl()) }
  return cached.client
}

/** Thrown by `call` with the classified failure. */
export class ApiCallError extends Error {
  readonly problem: ApiProblem
  constructor(problem: ApiProblem, options?: ErrorOptions) {
    super(problem.message, options)
    this.name = 'ApiCallError'
    this.problem = problem
  }
}

/**
 * Runs one API call. A 401 signs out (back to sign-in, saying why); every failure is rethrown as an
 * `ApiCallError` carrying its classification.
 */
export async function call<T>(run: (client: ApiClient) => Promise<T>): Promise<T> {
  try {
    return await run(api())
  } catch (err) {
    const problem = describeProblem(err)
    if (problem.kind === 'unauthorized') handleUnauthorized(problem)
    throw new ApiCallError(problem, { cause: err })
  }
}

/** Signs out after a 401, with the API's reason. */
export function handleUnauthorized(problem: ApiProblem): void {
  signOut(`The query API did not accept your token (${problem.message}). Sign in again.`)
}

/** The classification of anything `call` or a subscription threw. */
export function problemOf(error: unknown): ApiProblem {
  return error instanceof ApiCallError ? error.problem : describeProblem(error)
}
