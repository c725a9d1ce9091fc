/**
 * The tRPC instance of the query API: request context, the one place where domain errors become
 * tRPC/HTTP codes (`toTRPCError`), the error shape clients see, and the procedure bases with their
 * scope checks.
 */
import { initTRPC, TRPCError, type TRPC_ERROR_CODE_KEY } from '@trpc/server'
import { ZodError } from 'zod'
import { requireScope, Scopes, type Authentication, type Scope } from './auth.ts'
import { onCpuLane } from './cpu-lane.ts'
import { QueryApiError, QueryApiErrorCodes, type QueryApiErrorCode } from './errors.ts'
import { describeIssues } from './inputs.ts'

/** What every procedure sees about its request. */
export interface QueryContext {
  readonly auth: Authentication
}

/** Domain error code -> tRPC code (and so HTTP status). The only such mapping. */
const TRPC_CODE: Readonly<Record<QueryApiErrorCode, TRPC_ERROR_CODE_KEY>> = {
  [QueryApiErrorCodes.BAD_CONFIG]: 'INTERNAL_SERVER_ERROR',
  [QueryApiErrorCodes.BAD_QUERY]: 'BAD_REQUEST',
  [QueryApiErrorCodes.RANGE_TOO_LONG]: 'BAD_REQUEST',
  [QueryApiErrorCodes.TOO_MANY_POINTS]: 'BAD_REQUEST',
  [QueryApiErrorCodes.TOO_MANY_CALLS]: 'BAD_REQUEST',
  [QueryApiErrorCodes.RESPONSE_TOO_LARGE]: 'PAYLOAD_TOO_LARGE',
  [QueryApiErrorCodes.RATE_LIMITED]: 'TOO_MANY_REQUESTS',
  [QueryApiErrorCodes.OVERLOADED]: 'SERVICE_UNAVAILABLE',
  [QueryApiErrorCodes.UNKNOWN_SENSOR]: 'BAD_REQUEST',
  [QueryApiErrorCodes.UNKNOWN_PRODUCT]: 'NOT_FOUND',
  [QueryApiErrorCodes.BAD_REQUEST]: 'BAD_REQUEST',
  [QueryApiErrorCodes.NO_SUCH_ENDPOINT]: 'NOT_FOUND',
  [QueryApiErrorCodes.NOT_READY]: 'SERVICE_UNAVAILABLE',
  [QueryApiErrorCodes.BAD_CURSOR]: 'BAD_REQUEST',
  [QueryApiErrorCodes.UNAUTHENTICATED]: 'UNAUTHORIZED',
  [QueryApiErrorCodes.FORBIDDEN]: 'FORBIDDEN',
  [QueryApiErrorCodes.KAFKA_UNAVAILABLE]: 'SERVICE_UNAVAILABLE',
  [QueryApiErrorCodes.NOT_AVAILABLE]: 'PRECONDITION_FAILED'
}

/** Turns a domain error into the TRPCError the API answers with. */
export function toTRPCError(error: QueryApiError): TRPCError {
  return new TRPCError({ code: TRPC_CODE[error.code], message: error.message, cause: error })
}

/** Extra fields of an error's `data`, besides tRPC's code, httpStatus and path. */
export interface QueryErrorData {
  /** The domain error code (QUERY_...), when the error is one. */
  readonly errorCode: QueryApiErrorCode | null
  /** Input validation issues, for 400s from the input schemas. */
  readonly issues: Array<{ path: string; message: string }> | null
}

/**
 * Interval of the SSE pings tRPC sends on idle subscription streams, ms. They keep a live stream
 * from looking idle to the server's socket timeout (server.ts) and to proxies.
 */
export const SSE_PING_INTERVAL_MS = 10_000

export const t = initTRPC.context<QueryContext>().create({
  // Never ship stack traces to clients.
  isDev: false,
  sse: {
    ping: { enabled: true, intervalMs: SSE_PING_INTERVAL_MS },
    client: { reconnectAfterInactivityMs: 25_000 }
  },
  errorFormatter({ shape, error }) {
    const zod = error.cause instanceof ZodError ? error.cause : undefined
    const domain = error.cause instanceof QueryApiError ? error.cause : undefined
    let message = shape.message
    if (zod !== undefined) message = `invalid input: ${describeIssues(zod.issues)}`
    // Unexpected failures keep their details out of answers; the server logs them (server.ts onError).
    else if (error.code === 'INTERNAL_SERVER_ERROR' && domain === undefined) message = 'internal error'
    const data: QueryErrorData = {
      errorCode: domain?.code ?? null,
      issues: zod === undefined ? null : zod.issues.slice(0, 20).map((i) => ({ path: i.path.map(String).join('.'), message: i.message }))
    }
    return { ...shape, message, data: { code: shape.data.code, httpStatus: shape.data.httpStatus, path: shape.data.path, ...data } }
  }
})

/** Converts domain errors thrown below it; everything else passes through. */
const mapDomainErrors = t.middleware(async ({ next }) => {
  const result = await next()
  if (!result.ok && result.error.cause instanceof QueryApiError) throw toTRPCError(result.error.cause)
  return result
})

/** Throws a domain error directly as its tRPC error (for code outside procedures' bodies). */
export function rethrow(error: unknown): never {
  if (error instanceof QueryApiError) throw toTRPCError(error)
  throw error
}

function scoped(scope: Scope, what: string) {
  return t.middleware(({ ctx, next }) => {
    try {
      requireScope(ctx.auth, scope, what)
    } catch (err) {
      rethrow(err)
    }
    return next()
  })
}

/** No token needed (system.health). */
export const publicProcedure = t.procedure.use(mapDomainErrors)
/** Queries take turns on the CPU lane (cpu-lane.ts); subscriptions are set up at once. */
const oneQueryPerTurn = t.middleware(({ type, next }) => (type === 'query' ? onCpuLane(() => next()) : next()))

/** Needs a token with the `read` scope (traffic.*, commerce.*); its queries take turns (cpu-lane.ts). */
export const readProcedure = publicProcedure.use(scoped(Scopes.read, 'traffic.* and commerce.* procedures')).use(oneQueryPerTurn)
/** Needs a token with the `admin` scope (system.* except health). */
export const adminProcedure = publicProcedure.use(scoped(Scopes.admin, 'system.* procedures'))

/** Throws a BAD_QUERY domain error (400). */
export function badQuery(message: string): never {
  throw new QueryApiError(QueryApiErrorCodes.BAD_QUERY, message)
}
