/**
 * Bearer-token authentication and scopes. Tokens come from the configuration
 * (`QUERY_API_TOKENS="token1:read,token2:read+admin"`). Scopes are independent: `read` opens
 * `traffic.*`, `commerce.*` and the REST endpoints under `/api/product/`, `admin` opens `system.*`
 * (except `system.health`, which answers its readiness without a token and the full report with any
 * valid one). The token travels in the `Authorization` header; the HTTP edge (server.ts) accepts it
 * as a connection parameter only on SSE subscription requests.
 */
import { createHash } from 'node:crypto'
import { QueryApiConfigError, QueryApiError, QueryApiErrorCodes } from './errors.ts'

/** What a token may do. */
export const Scopes = { read: 'read', admin: 'admin' } as const
export type Scope = (typeof Scopes)[keyof typeof Scopes]
const SCOPE_VALUES: readonly string[] = Object.values(Scopes)

/** One configured API token. */
export interface ApiToken {
  readonly token: string
  readonly scopes: readonly Scope[]
}

/** Who made a request: the scopes of its token, or none without one. */
export interface Principal {
  /** A short, non-secret label of the token (first 4 characters and a hash prefix), for logs. */
  readonly label: string
  readonly scopes: ReadonlySet<Scope>
}

const TOKEN_TEXT = /^[A-Za-z0-9._~-]{8,256}$/

/**
 * Parses `token:scope[+scope...]` entries separated by commas. Throws `QueryApiConfigError` naming
 * `option` and the faulty entry (never the other tokens).
 */
export function parseApiTokens(text: string, option = 'tokens'): ApiToken[] {
  const tokens: ApiToken[] = []
  const seen = new Set<string>()
  const entries = text
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '')
  for (const [index, entry] of entries.entries()) {
    const colon = entry.lastIndexOf(':')
    if (colon <= 0) throw new QueryApiConfigError(option, `entry ${index + 1} must be "token:scope[+scope]" (scopes: ${SCOPE_VALUES.join(', ')})`)
    tokens.push(checkToken({ token: entry.slice(0, colon), scopes: entry.slice(colon + 1).split('+') as Scope[] }, option, index, seen))
  }
  return tokens
}

/** Validates tokens given as objects (configuration files, tests). */
export function checkApiTokens(tokens: readonly ApiToken[], option = 'tokens'): ApiToken[] {
  if (!Array.isArray(tokens)) throw new QueryApiConfigError(option, 'must be an array of { token, scopes }')
  const seen = new Set<string>()
  return tokens.map((t, i) => checkToken(t, option, i, seen))
}

function checkToken(t: ApiToken, option: string, index: number, seen: Set<string>): ApiToken {
  if (typeof t?.token !== 'string' || !TOKEN_TEXT.test(t.token)) {
    throw new QueryApiConfigError(option, `token ${index + 1} must be 8-256 characters of [A-Za-z0-9._~-]`)
  }
  if (seen.has(t.token)) throw new QueryApiConfigError(option, `token ${index + 1} is listed twice`)
  seen.add(t.token)
  if (!Array.isArray(t.scopes) || t.scopes.length === 0)
    throw new QueryApiConfigError(option, `token ${index + 1} needs at least one scope (${SCOPE_VALUES.join(', ')})`)
  for (const scope of t.scopes) {
    if (!SCOPE_VALUES.includes(scope)) {
      throw new QueryApiConfigError(option, `token ${index + 1} has unknown scope ${JSON.stringify(scope)}; known: ${SCOPE_VALUES.join(', ')}`)
    }
  }
  return { token: t.token, scopes: [...new Set(t.scopes)] }
}

function digest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex')
}

/**
 * Looks tokens up by their SHA-256, so the comparison time does not depend on how much of a guessed
 * token matches a real one.
 */
export class TokenAuthenticator {
  private readonly byDigest = new Map<string, Principal>()

  constructor(tokens: readonly ApiToken[]) {
    for (const t of checkApiTokens(tokens)) {
      const d = digest(t.token)
      this.byDigest.set(d, { label: `${t.token.slice(0, 4)}…${d.slice(0, 8)}`, scopes: new Set(t.scopes) })
    }
  }

  /** The principal of a raw token, or undefined when the token is unknown. */
  lookup(token: string): Principal | undefined {
    return this.byDigest.get(digest(token))
  }

  /**
   * Checks the credentials of a request: an `Authorization` header value (`Bearer <token>`), or a
   * bare token (what the SSE link sends in its connection params; the caller passes one only for
   * subscription requests). Never throws: a procedure that
   * needs a scope turns `none`/`invalid` into 401 (see `requireScope`), health ignores it.
   */
  authenticate(authorization: string | undefined, connectionToken: string | undefined): Authentication {
    let token: string | undefined
    if (authorization !== undefined && authorization !== '') {
      const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization)
      if (match === null) return { kind: 'invalid', reason: 'the Authorization header must be "Bearer <token>"' }
      token = match[1]
    } else if (connectionToken !== undefined && connectionToken !== '') {
      token = connectionToken
    }
    if (token === undefined) return { kind: 'none' }
    const principal = this.lookup(token)
    return principal === undefined ? { kind: 'invalid', reason: 'unknown API token' } : { kind: 'ok', principal }
  }
}

/** The outcome of checking a request's credentials. */
export type Authentication =
  { readonly kind: 'none' } | { readonly kind: 'invalid'; readonly reason: string } | { readonly kind: 'ok'; readonly principal: Principal }

/** Throws UNAUTHENTICATED without valid credentials, FORBIDDEN when the token lacks `scope`. */
export function requireScope(auth: Authentication, scope: Scope, what: string): Principal {
  switch (auth.kind) {
    case 'none':
      throw new QueryApiError(QueryApiErrorCodes.UNAUTHENTICATED, `${what} needs an API token (Authorization: Bearer <token>)`)
    case 'invalid':
      throw new QueryApiError(QueryApiErrorCodes.UNAUTHENTICATED, auth.reason)
    case 'ok':
      if (!auth.principal.scopes.has(scope)) throw new QueryApiError(QueryApiErrorCodes.FORBIDDEN, `a token with the "${scope}" scope is required for ${what}`)
      return auth.principal
  }
}
