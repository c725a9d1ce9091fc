/**
 * The HTTP(S) edge: tRPC under `/trpc` (queries and SSE subscriptions, GET only), the seed's REST
 * endpoints under `/api/` (product-rest.ts), `/readyz` and `/livez` for load balancers, and the
 * static folder at `/`.
 */
import { readFile } from 'node:fs/promises'
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo, Socket } from 'node:net'
import { createHTTPHandler } from '@trpc/server/adapters/standalone'
import type { TokenAuthenticator } from './auth.ts'
import { QueryApiConfigError, QueryApiError } from './errors.ts'
import { REST_PREFIX, type RestHandler } from './product-rest.ts'
import type { AppRouter } from './router.ts'
import { serveStatic } from './static-files.ts'
import { preflightSubscription } from './subscription-preflight.ts'
import type { QueryContext } from './trpc.ts'

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
}

/** A listening server. */
export interface QueryServer {
  /** Base URL, e.g. `https://127.0.0.1:4000`. */
  readonly url: string
  readonly port: number
  close(): Promise<void>
}

function jsonError(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  const body = JSON.stringify({ error: { message, code: -32600, data: { code, httpStatus: status } } })
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers })
  res.end(body)
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
  const onInternalError = options.onInternalError ?? ((err: unknown, path?: string) => process.stderr.write(`query-api: internal error${path === undefined ? '' : ` in ${path}`}: ${(err as Error)?.stack ?? String(err)}\n`))
  const context = (authorization: string | undefined, connectionToken: string | undefined): QueryContext => ({
    auth: options.authenticator.authenticate(authorization, connectionToken)
  })
  const trpc = createHTTPHandler({
    router: options.router,
    basePath: '/trpc/',
    maxBodySize: options.maxBodyBytes ?? 64 * 1024,
    onError: ({ error, path }) => {
      if (error.code === 'INTERNAL_SERVER_ERROR' && !(error.cause instanceof QueryApiError)) onInternalError(error.cause ?? error, path)
    },
    createContext: ({ req, info }): QueryContext => context(req.headers.authorization, info.connectionParams?.token)
  })

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let pathname: string
    try {
      pathname = new URL(req.url ?? '/', 'http://localhost').pathname
    } catch {
      jsonError(res, 400, 'BAD_REQUEST', 'malformed request URL')
      return
    }
    if (pathname === '/trpc' || pathname.startsWith('/trpc/')) {
      // Every procedure is a query or an SSE subscription: both are GETs.
      if (req.method !== 'GET') {
        jsonError(res, 405, 'METHOD_NOT_SUPPORTED', `method ${req.method ?? '?'} is not supported; the query API takes GET requests`, { allow: 'GET' })
        return
      }
      const url = new URL(req.url ?? '/', 'http://localhost')
      const refusal = await preflightSubscription(options.router, pathname.slice('/trpc/'.length), url, (token) => context(req.headers.authorization, token))
      if (refusal !== undefined) {
        if (refusal.status >= 500) onInternalError(new Error(`subscription preflight failed: ${refusal.body}`), pathname)
        res.writeHead(refusal.status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(refusal.body)
        return
      }
      trpc(req, res)
      return
    }
    if (pathname === REST_PREFIX.slice(0, -1) || pathname.startsWith(REST_PREFIX)) {
      // Never the dashboard's index.html: REST clients get JSON, also for paths that do not exist.
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
    handle(req, res).catch((err: unknown) => {
      onInternalError(err)
      if (!res.headersSent) jsonError(res, 500, 'INTERNAL_SERVER_ERROR', 'internal error')
      else res.destroy()
    })
  }

  let server: Server
  if (options.tls === null) {
    server = createHttpServer(listener)
  } else {
    const [cert, key] = await Promise.all([readPem(options.tls.certFile, 'tls.certFile'), readPem(options.tls.keyFile, 'tls.keyFile')])
    try {
      server = createHttpsServer({ cert, key }, listener)
    } catch (err) {
      throw new QueryApiConfigError('tls', `the certificate or key is not valid PEM, or they do not match: ${(err as Error).message}`, { cause: err })
    }
  }
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
