/**
 * The seed's REST endpoints (CONTRACTS.md, "Commerce analytics"), GET only, bearer token with the
 * `read` scope in the Authorization header:
 *
 *   GET /api/product/sale/{id}    -> 200 {"total": <amount of the last hour, currency units>}
 *   GET /api/product/rating/{id}  -> 200 {"average_rating": <all-time average stars, null without ratings>}
 *
 * Checks in this order, each answering JSON `{"error": {"code", "message", "status"}}`: 405 for a
 * method other than GET, 404 for another path, 401 without a valid token, 403 without the `read`
 * scope, 400 for an id that is not a product id, 503 while the instance is catching up, 404 for a
 * product never seen on a commerce topic. Status codes come from the API's one mapping of domain
 * errors (trpc.ts, `toTRPCError`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { getHTTPStatusCodeFromError } from '@trpc/server/http'
import { parseProductKey } from '../apps/commerce/index.ts'
import { requireScope, Scopes, type TokenAuthenticator } from './auth.ts'
import { currencyUnits, lastHourSales, requireKnownProduct, type CommerceData } from './commerce-queries.ts'
import { QueryApiError, QueryApiErrorCodes } from './errors.ts'
import { toTRPCError } from './trpc.ts'

/** The endpoints by their path segment. */
export const ProductEndpoints = { sale: 'sale', rating: 'rating' } as const
export type ProductEndpoint = (typeof ProductEndpoints)[keyof typeof ProductEndpoints]

/** Path prefix of the REST endpoints: other paths under it answer a JSON 404, never the dashboard. */
export const REST_PREFIX = '/api/'

/** A matched REST path: the endpoint and its id segment, percent-decoded (not validated yet). */
export interface ProductRoute {
  readonly endpoint: ProductEndpoint
  readonly id: string
}

const ROUTE = /^\/api\/product\/(sale|rating)\/([^/]*)$/

/**
 * The endpoint of a URL path (as in the request, percent-encoded), or undefined for any other path.
 * An id segment that cannot be percent-decoded is kept as is (it fails as a malformed id).
 */
export function matchProductRoute(pathname: string): ProductRoute | undefined {
  const m = ROUTE.exec(pathname)
  if (m === null) return undefined
  const raw = m[2] as string
  let id: string
  try {
    id = decodeURIComponent(raw)
  } catch {
    id = raw
  }
  return { endpoint: m[1] as ProductEndpoint, id }
}

/** The product id of a path segment; throws BAD_REQUEST (400) for anything but a canonical decimal id. */
export function parseProductIdParam(id: string): number {
  const productId = parseProductKey(id)
  if (productId === undefined) {
    throw new QueryApiError(
      QueryApiErrorCodes.BAD_REQUEST,
      `${JSON.stringify(id.slice(0, 40))} is not a product id: a decimal integer from 0 to ${Number.MAX_SAFE_INTEGER} without sign or leading zeros`
    )
  }
  return productId
}

/** Options of `createProductRest`. */
export interface ProductRestOptions {
  readonly authenticator: TokenAuthenticator
  readonly data: CommerceData
  /** Wall clock, epoch ms ("the last hour" is measured at it). */
  readonly now: () => number
  /** Whether the instance has caught up with the topics. */
  readonly ready: () => boolean
}

/** Handles one request under `REST_PREFIX`. */
export type RestHandler = (req: IncomingMessage, res: ServerResponse, pathname: string) => void

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers })
  res.end(JSON.stringify(body))
}

/** Answers `error` in the REST endpoints' error shape (`{"error": {"code", "message", "status"}}`). */
export function sendRestError(res: ServerResponse, error: QueryApiError, headers: Record<string, string> = {}): void {
  const status = getHTTPStatusCodeFromError(toTRPCError(error))
  const extra: Record<string, string> = { ...headers }
  if (error.code === QueryApiErrorCodes.UNAUTHENTICATED) extra['www-authenticate'] = 'Bearer realm="runnel-query-api"'
  if (error.code === QueryApiErrorCodes.NOT_READY) extra['retry-after'] = '5'
  send(res, status, { error: { code: error.code, message: error.message, status } }, extra)
}

/** The answer body of an endpoint for a known product. */
function answer(options: ProductRestOptions, endpoint: ProductEndpoint, productId: number): object {
  switch (endpoint) {
    case 'sale':
      return { total: currencyUnits(lastHourSales(options.data, productId, options.now()).amountCents) }
    case 'rating':
      return { average_rating: options.data.ratings.product(productId)?.average ?? null }
  }
}

/** Creates the handler of the REST endpoints. */
export function createProductRest(options: ProductRestOptions): RestHandler {
  return (req, res, pathname) => {
    try {
      if (req.method !== 'GET') {
        send(
          res,
          405,
          {
            error: { code: 'METHOD_NOT_SUPPORTED', message: `method ${req.method ?? '?'} is not supported; the REST endpoints take GET requests`, status: 405 }
          },
          { allow: 'GET' }
        )
        return
      }
      const route = matchProductRoute(pathname)
      if (route === undefined) {
        throw new QueryApiError(
          QueryApiErrorCodes.NO_SUCH_ENDPOINT,
          `no endpoint at ${pathname.slice(0, 200)}; the REST endpoints are GET /api/product/sale/{id} and GET /api/product/rating/{id}`
        )
      }
      const auth = options.authenticator.authenticate(req.headers.authorization, undefined)
      requireScope(auth, Scopes.read, `GET /api/product/${route.endpoint}/{id}`)
      const productId = parseProductIdParam(route.id)
      if (!options.ready()) throw new QueryApiError(QueryApiErrorCodes.NOT_READY, 'the query API is still reading the topics; try again in a few seconds')
      requireKnownProduct(options.data, productId)
      send(res, 200, answer(options, route.endpoint, productId))
    } catch (err) {
      if (!(err instanceof QueryApiError)) throw err
      sendRestError(res, err)
    }
  }
}
