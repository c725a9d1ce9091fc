/**
 * tRPC answers every SSE subscription with `200 text/event-stream` and reports a refused call (bad
 * input, no token) as an error event in the stream. The query API wants real status codes (400, 401,
 * 403) for those too, so before a subscription request reaches tRPC, the same procedure is called
 * once through a server-side caller with the same context: its middlewares (scope), input schema and
 * the resolver's synchronous checks (unknown sensor) run, and the generator it returns is closed
 * unstarted. A refusal is answered as JSON in the same error shape as queries.
 */
import { getErrorShape, TRPCError } from '@trpc/server'
import { getHTTPStatusCodeFromError } from '@trpc/server/http'
import type { AppRouter } from './router.ts'
import type { QueryContext } from './trpc.ts'

/** A refusal to send instead of starting the stream. */
export interface PreflightRefusal {
  readonly status: number
  readonly body: string
}

function parseJsonParam(url: URL, name: string): { ok: true; value: unknown } | { ok: false; error: TRPCError } {
  const raw = url.searchParams.get(name)
  if (raw === null) return { ok: true, value: undefined }
  try {
    return { ok: true, value: JSON.parse(raw) as unknown }
  } catch (cause) {
    return { ok: false, error: new TRPCError({ code: 'PARSE_ERROR', message: `the ${name} parameter is not valid JSON`, cause }) }
  }
}

/**
 * Runs the preflight for `path` when it is a subscription procedure; undefined when the request may
 * go on to tRPC (not a subscription, a batch, or the call was accepted).
 */
export async function preflightSubscription(
  router: AppRouter,
  path: string,
  url: URL,
  context: (connectionToken: string | undefined) => QueryContext
): Promise<PreflightRefusal | undefined> {
  const procedures = router._def.procedures as unknown as Record<string, { _def: { type: string } } | undefined>
  if (url.searchParams.has('batch') || procedures[path]?._def.type !== 'subscription') return undefined
  const refuse = (error: TRPCError, ctx: QueryContext | undefined, input: unknown): PreflightRefusal => ({
    status: getHTTPStatusCodeFromError(error),
    body: JSON.stringify({ error: getErrorShape({ config: router._def._config, error, type: 'subscription', path, input, ctx }) })
  })
  const params = parseJsonParam(url, 'connectionParams')
  if (!params.ok) return refuse(params.error, undefined, undefined)
  const token = (params.value as { token?: unknown } | null | undefined)?.token
  const ctx = context(typeof token === 'string' ? token : undefined)
  const input = parseJsonParam(url, 'input')
  if (!input.ok) return refuse(input.error, ctx, undefined)
  // Walk the caller to the procedure: `traffic.live` -> caller.traffic.live.
  let target: unknown = router.createCaller(ctx)
  for (const segment of path.split('.')) target = (target as Record<string, unknown>)[segment]
  try {
    const events = await (target as (input: unknown) => Promise<AsyncIterable<unknown>>)(input.value)
    // Close it unstarted: the real stream is the one tRPC opens next.
    await (events as AsyncGenerator<unknown>).return?.(undefined)
    return undefined
  } catch (err) {
    const error = err instanceof TRPCError ? err : new TRPCError({ code: 'INTERNAL_SERVER_ERROR', cause: err })
    return refuse(error, ctx, input.value)
  }
}
