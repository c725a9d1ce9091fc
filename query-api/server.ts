/**
 * The HTTP(S) edge: tRPC under `/trpc` (queries and SSE subscriptions, GET only), the seed's REST
 * endpoints under `/api/` (product-rest.ts), `/readyz` and `/livez` for load balancers, and the
 * static folder at `/`.
 *
 * Every request is admitted here, in this order, before tRPC or the REST handler sees it (limits.ts):
 * 1. a client address past its failed authentications: 429 (tRPC and REST);
 * 2. a batch with more than `maxBatchCalls` calls, or asking for more than `maxRequestPoints` series
 *    points over its calls: 400;
 * 3. credentials: the `Authorization` header; a connection-parameter token only on subscription
 *    requests (EventSource cannot send headers); an unknown token counts as a failure of the address;
 * 4. a token past its call rate (a request costs its calls plus one per day of series points): 429
 *    with Retry-After;
 * 5. subscriptions: the preflight (subscription-preflight.ts), then the per-token (429) and total
 *    (503) caps of live streams; queries: the per-token cap of requests in flight (429), and the
 *    response body is held back until complete: past `maxResponseBytes` it becomes a 413.
 * One access-log line per request: method, path without the query string (which may carry a
 * token), status, duration and the token's label, never the token.
 */
import { readFile } from 'node:fs/promises'
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo, Socket } from 'node:net'
import { createHTTPHandler } from '@trpc/server/adapters/standalone'
import { TRPC_ERROR_CODES_BY_KEY, type TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc'
import type { Authentication, TokenAuthenticator } from './auth.ts'
import { onCpuLane } from './cpu-lane.ts'
import { QueryApiConfigError, QueryApiError, QueryApiErrorCodes, type QueryApiErrorCode } from './errors.ts'
import { DEFAULT_SERVER_LIMITS, FailureCounter, OpenCounter, POINTS_PER_CALL, seriesPointsOf, TokenRates, type ServerLimits } from './limits.ts'
import { REST_PREFIX, sendRestError, type RestHandler } from './product-rest.ts'
import type { AppRouter } from './router.ts'
import { serveStatic } from './static-files.ts'
import { preflightSubscription } from './subscription-preflight.ts'
import { SSE_PING_INTERVAL_MS, type QueryContext } from './trpc.ts'

/** Where the access log goes: one `info` line per request (pino's `Logger` fits). */
export interface AccessLogger {
  info(fields: Record<string, unknown>, message: string): void
}

/** Options of `createQueryServer`. */
export interface QueryServerOptions {
  router: AppRouter
  authenticator: TokenAuthenticator
  /** Whether this instance has caught up (answers `/readyz`). */
  ready: () => boolean
  host: string
  port: number
  tls: { certFile: string; keyFile: string } | null
  staticDir: string | null
  /** Answers requests under `/api/` (the seed's REST endpoints); without it they get a JSON 404. */
  rest?: RestHandler
  /** Largest request body, bytes. Default 64 KiB (the API takes GET requests only). */
  maxBodyBytes?: number
  /** Sees unexpected failures (a procedure's bug, the HTTP layer's); clients get a bare 500. */
  onInternalError?: (error: unknown, path?: string) => void
  /** The procedures' clock, epoch ms (default series ranges are estimated at it). Default `Date.now`. */
  now?: () => number
  /** Admission limits and timeouts. Default `DEFAULT_SERVER_LIMITS`. */
  limits?: ServerLimits
  /** Receives the access log; none without it. */
  accessLog?: AccessLogger
}

/** A listening server. */
export interface QueryServer {
  /** Base URL, e.g. `https://127.0.0.1:4000`. */
  readonly url: string
  readonly port: number
  close(): Promise<void>
}

/** An error answered by the edge itself, in tRPC's error shape (the JSON-RPC code of `code`). */
function jsonError(
  res: ServerResponse,
  status: number,
  code: TRPC_ERROR_CODE_KEY,
  message: string,
  headers: Record<string, string> = {},
  errorCode: QueryApiErrorCode | null = null
): void {
  const body = JSON.stringify({ error: { message, code: TRPC_ERROR_CODES_BY_KEY[code], data: { code, httpStatus: status, errorCode } } })
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers })
  res.end(body)
}

/** A 429 with `Retry-After` (whole seconds, at least 1). */
function tooMany(res: ServerResponse, retryAfterMs: number, message: string): void {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000))
  jsonError(res, 429, 'TOO_MANY_REQUESTS', `${message}; retry after ${seconds} s`, { 'retry-after': String(seconds) }, QueryApiErrorCodes.RATE_LIMITED)
}

type WriteArgs = [chunk: unknown, encodingOrCallback?: unknown, callback?: unknown]

/**
 * Holds back what tRPC writes to `res` until it ends, then sends it whole with its length, or, past
 * `maxBytes`, a 413 JSON error instead (headers are not sent before the end, so never a partial
 * body). Past the limit the chunks are dropped at once, so the copy never grows beyond it.
 */
function capResponse(res: ServerResponse, maxBytes: number): void {
  // Held as written (tRPC writes strings): counting bytes needs no copy, and the body is written
  // once at the end, so a 2.5 MB answer is not copied twice more on its way out.
  const chunks: Array<{ chunk: string | Uint8Array; encoding: BufferEncoding }> = []
  let size = 0
  let over = false
  const write = res.write.bind(res) as (chunk: string | Uint8Array, encoding: BufferEncoding) => boolean
  const end = res.end.bind(res) as () => ServerResponse
  const hold = (chunk: unknown, encoding: unknown): void => {
    if (chunk === undefined || chunk === null || typeof chunk === 'function') return
    const enc = typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8'
    const held = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array)
    size += typeof held === 'string' ? Buffer.byteLength(held, enc) : held.length
    if (over) return
    if (size > maxBytes) {
      over = true
      chunks.length = 0
    } else chunks.push({ chunk: held, encoding: enc })
  }
  const callbackOf = (args: unknown[]): (() => void) | undefined => args.find((a): a is () => void => typeof a === 'function')
  res.write = ((...args: WriteArgs): boolean => {
    hold(args[0], args[1])
    callbackOf(args.slice(1))?.()
    return true
  }) as typeof res.write
  res.end = ((...args: WriteArgs): ServerResponse => {
    hold(args[0], args[1])
    res.write = write as typeof res.write
    res.end = end as typeof res.end
    if (over) {
      for (const name of res.getHeaderNames()) res.removeHeader(name)
      jsonError(
        res,
        413,
        'PAYLOAD_TOO_LARGE',
        `the response would be ${size} bytes; at most ${maxBytes} bytes may be sent (limits.maxResponseBytes): ask for fewer calls per batch or shorter ranges`,
        {},
        QueryApiErrorCodes.RESPONSE_TOO_LARGE
      )
    } else {
      if (!res.headersSent) res.setHeader('content-length', String(size))
      for (const { chunk, encoding } of chunks) write(chunk, encoding)
      end()
    }
    callbackOf(args)?.()
    return res
  }) as typeof res.end
}

/** Series points the calls of a GET request ask for (limits.ts `seriesPointsOf`); 0 when its input is not JSON (tRPC refuses it). */
function requestedPoints(url: URL, paths: readonly string[], now: number): number {
  const raw = url.searchParams.get('input')
  if (raw === null) return 0
  let input: unknown
  try {
    input = JSON.parse(raw)
  } catch {
    return 0
  }
  if (url.searchParams.get('batch') !== '1') return seriesPointsOf(paths[0] ?? '', input, now)
  let sum = 0
  for (const [i, path] of paths.entries()) sum += seriesPointsOf(path, (input as Record<string, unknown> | null)?.[String(i)], now)
  return sum
}

/** The `token` of a request's `connectionParams` query parameter, when it is well-formed JSON. */
function connectionParamsToken(url: URL): string | undefined {
  const raw = url.searchParams.get('connectionParams')
  if (raw === null) return undefined
  try {
    const token = (JSON.parse(raw) as { token?: unknown } | null)?.token
    return typeof token === 'string' ? token : undefined
  } catch {
    return undefined // the preflight answers the malformed parameter with 400
  }
}

async function readPem(path: string, option: string): Promise<Buffer> {
  try {
    return await readFile(path)
  } catch (err) {
    throw new QueryApiConfigError(option, `cannot read ${path}: ${(err as Error).message}`, { cause: err })
  }
}

/** Starts listening. Rejects with `QueryApiConfigError` for unreadable or invalid TLS files. */
export async function createQueryServer(options: QueryServerOptions): Promise<QueryServer> {
  const onInternalError =
    options.onInternalError ??
    ((err: unknown, path?: string) =>
      process.stderr.write(`query-api: internal error${path === undefined ? '' : ` in ${path}`}: ${(err as Error)?.stack ?? String(err)}\n`))
  const limits = options.limits ?? DEFAULT_SERVER_LIMITS
  const rates = new TokenRates(limits.tokenRatePerSecond, limits.tokenRateBurst)
  const inFlight = new OpenCounter()
  const streams = new OpenCounter()
  const failures = new FailureCounter(limits.authFailuresPerMinute)
  // The authentication the edge made of each tRPC request, read back by createContext.
  const authOf = new WeakMap<IncomingMessage, Authentication>()
  const procedures = options.router._def.procedures as unknown as Record<string, { _def: { type: string } } | undefined>
  const trpc = createHTTPHandler({
    router: options.router,
    basePath: '/trpc/',
    maxBodySize: options.maxBodyBytes ?? 64 * 1024,
    // Checked before with a clearer message; this is tRPC's own guard behind it.
    maxBatchSize: limits.maxBatchCalls,
    onError: ({ error, path }) => {
      if (error.code === 'INTERNAL_SERVER_ERROR' && !(error.cause instanceof QueryApiError)) onInternalError(error.cause ?? error, path)
    },
    createContext: ({ req }): QueryContext => ({ auth: authOf.get(req) ?? { kind: 'none' } })
  })

  /** Authenticates `req`; an unknown token or a malformed header counts against the client address. */
  const authenticate = (req: IncomingMessage, connectionToken: string | undefined): Authentication => {
    const auth = options.authenticator.authenticate(req.headers.authorization, connectionToken)
    if (auth.kind === 'invalid') void failures.record(req.socket.remoteAddress ?? '?')
    return auth
  }

  /** Admits a live subscription (preflight, caps per token and in total) and hands it to tRPC. */
  const openSubscription = async (
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    url: URL,
    auth: Authentication,
    label: string | undefined
  ): Promise<void> => {
    const refusal = await preflightSubscription(options.router, path, url, () => ({ auth }))
    if (refusal !== undefined) {
      if (refusal.status >= 500) onInternalError(new Error(`subscription preflight failed: ${refusal.body}`), `/trpc/${path}`)
      res.writeHead(refusal.status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(refusal.body)
      return
    }
    // The preflight let only authenticated calls through: every subscription has a label.
    const key = label ?? '-'
    if (streams.count(key) >= limits.maxSubscriptionsPerToken) {
      tooMany(
        res,
        5000,
        `token ${key} already has ${streams.count(key)} live subscriptions; at most ${limits.maxSubscriptionsPerToken} per token (limits.maxSubscriptionsPerToken)`
      )
      return
    }
    if (streams.total >= limits.maxSubscriptions) {
      jsonError(
        res,
        503,
        'SERVICE_UNAVAILABLE',
        `this instance already serves ${streams.total} live subscriptions, its maximum (limits.maxSubscriptions); retry later or on another instance`,
        { 'retry-after': '5' },
        QueryApiErrorCodes.OVERLOADED
      )
      return
    }
    res.once('close', streams.acquire(key))
    // tRPC pings idle streams every SSE_PING_INTERVAL_MS: a stream is never idle that long while its client reads.
    req.socket.setTimeout(Math.max(limits.idleTimeoutMs, 3 * SSE_PING_INTERVAL_MS))
    trpc(req, res)
  }

  const handleTrpc = async (req: IncomingMessage, res: ServerResponse, pathname: string, log: { label?: string }): Promise<void> => {
    // Every procedure is a query or an SSE subscription: both are GETs.
    if (req.method !== 'GET') {
      jsonError(res, 405, 'METHOD_NOT_SUPPORTED', `method ${req.method ?? '?'} is not supported; the query API takes GET requests`, { allow: 'GET' })
      return
    }
    const url = new URL(req.url ?? '/', 'http://localhost')
    const path = pathname.slice('/trpc/'.length)
    const batch = url.searchParams.get('batch') === '1'
    const calls = batch ? path.split(',').length : 1
    if (calls > limits.maxBatchCalls) {
      jsonError(
        res,
        400,
        'BAD_REQUEST',
        `the batch has ${calls} calls; at most ${limits.maxBatchCalls} calls may be sent in one request (limits.maxBatchCalls)`,
        {},
        QueryApiErrorCodes.TOO_MANY_CALLS
      )
      return
    }
    const subscription = !batch && procedures[path]?._def.type === 'subscription'
    const points = subscription ? 0 : requestedPoints(url, batch ? path.split(',') : [path], (options.now ?? Date.now)())
    if (points > limits.maxRequestPoints) {
      jsonError(
        res,
        400,
        'BAD_REQUEST',
        `the request asks for ${points} series points over its calls; at most ${limits.maxRequestPoints} may be asked for in one request (limits.maxRequestPoints): split it or shorten the ranges`,
        {},
        QueryApiErrorCodes.TOO_MANY_POINTS
      )
      return
    }
    // Only subscriptions may carry the token in the URL: EventSource cannot set headers.
    const auth = authenticate(req, subscription ? connectionParamsToken(url) : undefined)
    authOf.set(req, auth)
    const label = auth.kind === 'ok' ? auth.principal.label : undefined
    if (label !== undefined) {
      log.label = label
      const waitMs = await rates.take(label, calls + Math.floor(points / POINTS_PER_CALL))
      if (waitMs > 0) {
        tooMany(
          res,
          waitMs,
          `token ${label} is past its rate of ${limits.tokenRatePerSecond} calls per second (burst ${limits.tokenRateBurst}; limits.tokenRatePerSecond)`
        )
        return
      }
    }
    if (subscription) {
      // Set up on the CPU lane, one per turn: hundreds of streams opening at once (a dashboard
      // fleet reconnecting) would otherwise run their set-ups back to back in one turn.
      await onCpuLane(() => openSubscription(req, res, path, url, auth, label))
      return
    }
    if (label !== undefined) {
      if (inFlight.count(label) >= limits.tokenConcurrency) {
        tooMany(
          res,
          1000,
          `token ${label} already has ${inFlight.count(label)} requests in flight; at most ${limits.tokenConcurrency} (limits.tokenConcurrency)`
        )
        return
      }
      res.once('close', inFlight.acquire(label))
    }
    capResponse(res, limits.maxResponseBytes)
    trpc(req, res)
  }

  const handle = async (req: IncomingMessage, res: ServerResponse, log: { label?: string }): Promise<void> => {
    let pathname: string
    try {
      pathname = new URL(req.url ?? '/', 'http://localhost').pathname
    } catch {
      jsonError(res, 400, 'BAD_REQUEST', 'malformed request URL')
      return
    }
    const trpcPath = pathname === '/trpc' || pathname.startsWith('/trpc/')
    const restPath = pathname === REST_PREFIX.slice(0, -1) || pathname.startsWith(REST_PREFIX)
    if (trpcPath || restPath) {
      const blockedMs = await failures.blockedForMs(req.socket.remoteAddress ?? '?')
      if (blockedMs > 0) {
        const message = `too many failed authentications from this address (at most ${limits.authFailuresPerMinute} per minute; limits.authFailuresPerMinute)`
        if (trpcPath) tooMany(res, blockedMs, message)
        else {
          // The REST endpoints keep their own error shape.
          const seconds = Math.max(1, Math.ceil(blockedMs / 1000))
          sendRestError(res, new QueryApiError(QueryApiErrorCodes.RATE_LIMITED, `${message}; retry after ${seconds} s`), { 'retry-after': String(seconds) })
        }
        return
      }
    }
    if (trpcPath) {
      await handleTrpc(req, res, pathname, log)
      return
    }
    if (restPath) {
      // Never the dashboard's index.html: REST clients get JSON, also for paths that do not exist.
      const auth = authenticate(req, undefined)
      if (auth.kind === 'ok') log.label = auth.principal.label
      if (options.rest !== undefined) options.rest(req, res, pathname)
      else jsonError(res, 404, 'NOT_FOUND', `no endpoint at ${pathname.slice(0, 200)}`)
      return
    }
    if (pathname === '/livez') {
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-store' }).end('ok\n')
      return
    }
    if (pathname === '/readyz') {
      const ready = options.ready()
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain', 'cache-control': 'no-store' }).end(ready ? 'ready\n' : 'catching up\n')
      return
    }
    await serveStatic(options.staticDir, pathname, req, res)
  }

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    const startedAt = performance.now()
    const log: { label?: string } = {}
    if (options.accessLog !== undefined) {
      const accessLog = options.accessLog
      res.once('close', () => {
        // The path only: the query string may carry connectionParams with a token.
        const raw = req.url ?? '/'
        const q = raw.indexOf('?')
        accessLog.info(
          {
            method: req.method,
            path: (q < 0 ? raw : raw.slice(0, q)).slice(0, 500),
            status: res.statusCode,
            durationMs: Math.round((performance.now() - startedAt) * 10) / 10,
            token: log.label ?? null,
            remote: req.socket.remoteAddress ?? null,
            ...(res.writableFinished ? {} : { aborted: true })
          },
          'request'
        )
      })
    }
    handle(req, res, log).catch((err: unknown) => {
      onInternalError(err)
      if (!res.headersSent) jsonError(res, 500, 'INTERNAL_SERVER_ERROR', 'internal error')
      else res.destroy()
    })
  }

  // How often Node checks headersTimeout and requestTimeout (default 30 s, longer than the timeouts themselves).
  const connectionsCheckingInterval = Math.max(100, Math.min(30_000, Math.floor(limits.headersTimeoutMs / 4)))
  let server: Server
  if (options.tls === null) {
    server = createHttpServer({ connectionsCheckingInterval }, listener)
  } else {
    const [cert, key] = await Promise.all([readPem(options.tls.certFile, 'tls.certFile'), readPem(options.tls.keyFile, 'tls.keyFile')])
    try {
      server = createHttpsServer({ cert, key, connectionsCheckingInterval }, listener)
    } catch (err) {
      throw new QueryApiConfigError('tls', `the certificate or key is not valid PEM, or they do not match: ${(err as Error).message}`, { cause: err })
    }
  }
  server.headersTimeout = limits.headersTimeoutMs
  server.requestTimeout = limits.requestTimeoutMs
  server.keepAliveTimeout = limits.keepAliveTimeoutMs
  // Sockets that send and receive nothing this long are destroyed (no 'timeout' listener on the
  // server), also before their first request; SSE streams get a longer timeout above.
  server.timeout = limits.idleTimeoutMs
  const sockets = new Set<Socket>()
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  const host = options.host.includes(':') ? `[${options.host}]` : options.host === '0.0.0.0' ? '127.0.0.1' : options.host
  let closing: Promise<void> | undefined
  return {
    url: `${options.tls === null ? 'http' : 'https'}://${host}:${port}`,
    port,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve())
        // SSE streams never end on their own.
        for (const s of sockets) s.destroy()
      })
      return closing
    }
  }
}
