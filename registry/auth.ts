/**
 * Optional credentials of the registry: HTTP basic-auth users and bearer tokens, checked on every
 * request when any are configured (Confluent's registry does the same with its basic-auth and
 * bearer extensions). Without credentials the registry stays open, as the embedded local default.
 * Comparisons go through SHA-256 digests and `timingSafeEqual`, so their time does not depend on
 * how much of a secret a caller guessed.
 */
import { createHash, timingSafeEqual } from 'node:crypto'

/** A basic-auth user of the registry. */
export interface RegistryUser {
  /** Must not be empty nor contain `:` (basic auth joins user and password with the first colon). */
  readonly username: string
  readonly password: string
}

/** Credentials the registry accepts; none configured: the registry is open. */
export interface RegistryCredentials {
  /** Users accepted in `Authorization: Basic base64(user:password)`. */
  readonly basicAuthUsers?: readonly RegistryUser[]
  /** Tokens accepted in `Authorization: Bearer <token>`. */
  readonly bearerTokens?: readonly string[]
}

/** Checks the `Authorization` header of a request against configured credentials. */
export interface RegistryAuthenticator {
  /** True when `authorization` names a configured user (right password) or token. */
  accepts(authorization: string | undefined): boolean
  /** `WWW-Authenticate` challenges of a 401, one per configured scheme. */
  readonly challenges: readonly string[]
}

const REALM = 'schema-registry'

/**
 * The authenticator of `credentials`, or undefined when none are configured (an open registry).
 * Throws a TypeError naming the option when a user or token is malformed.
 */
export function createAuthenticator(credentials: RegistryCredentials, optionPrefix = 'startRegistry'): RegistryAuthenticator | undefined {
  const users = new Map<string, Buffer>()
  for (const [i, user] of (credentials.basicAuthUsers ?? []).entries()) {
    if (typeof user?.username !== 'string' || user.username === '' || user.username.includes(':')) {
      throw new TypeError(`${optionPrefix}: option "basicAuthUsers[${i}].username" must be a non-empty string without ":"`)
    }
    if (typeof user.password !== 'string' || user.password === '') {
      throw new TypeError(`${optionPrefix}: option "basicAuthUsers[${i}].password" must be a non-empty string (user ${user.username})`)
    }
    if (users.has(user.username)) throw new TypeError(`${optionPrefix}: option "basicAuthUsers" names user ${user.username} twice`)
    users.set(user.username, digest(user.password))
  }
  const tokens: Buffer[] = []
  for (const [i, token] of (credentials.bearerTokens ?? []).entries()) {
    if (typeof token !== 'string' || !/^[\x21-\x7e]+$/.test(token)) {
      throw new TypeError(`${optionPrefix}: option "bearerTokens[${i}]" must be a non-empty string of printable ASCII without spaces`)
    }
    tokens.push(digest(token))
  }
  if (users.size === 0 && tokens.length === 0) return undefined

  const challenges = [...(users.size > 0 ? [`Basic realm="${REALM}", charset="UTF-8"`] : []), ...(tokens.length > 0 ? [`Bearer realm="${REALM}"`] : [])]
  return {
    challenges,
    accepts(authorization) {
      if (authorization === undefined) return false
      const space = authorization.indexOf(' ')
      if (space < 0) return false
      const scheme = authorization.slice(0, space).toLowerCase()
      const value = authorization.slice(space + 1).trim()
      if (scheme === 'basic' && users.size > 0) {
        const decoded = Buffer.from(value, 'base64').toString('utf8')
        const colon = decoded.indexOf(':')
        if (colon < 0) return false
        const expected = users.get(decoded.slice(0, colon))
        // Hash even for an unknown user, so that both cases take the same time.
        const given = digest(decoded.slice(colon + 1))
        return expected !== undefined && timingSafeEqual(expected, given)
      }
      if (scheme === 'bearer' && tokens.length > 0) {
        const given = digest(value)
        let match = false
        for (const token of tokens) match = timingSafeEqual(token, given) || match
        return match
      }
      return false
    }
  }
}

/**
 * Credentials from the environment of `node registry/main.ts`:
 * `REGISTRY_BASIC_AUTH_USERS` (comma-separated `user:password` pairs; a password may contain `:`
 * but not `,`) and `REGISTRY_BEARER_TOKENS` (comma-separated tokens). Unset or empty: none.
 */
export function credentialsFromEnv(env: Record<string, string | undefined>): RegistryCredentials {
  const list = (name: string): string[] =>
    (env[name] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
  const basicAuthUsers = list('REGISTRY_BASIC_AUTH_USERS').map((pair, i) => {
    const colon = pair.indexOf(':')
    if (colon <= 0 || colon === pair.length - 1) {
      throw new TypeError(`REGISTRY_BASIC_AUTH_USERS: entry ${i + 1} must be user:password`)
    }
    return { username: pair.slice(0, colon), password: pair.slice(colon + 1) }
  })
  const bearerTokens = list('REGISTRY_BEARER_TOKENS')
  return { ...(basicAuthUsers.length > 0 ? { basicAuthUsers } : {}), ...(bearerTokens.length > 0 ? { bearerTokens } : {}) }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest()
}
