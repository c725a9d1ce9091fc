import { describe, expect, it } from 'vitest'
import { parseApiTokens, requireScope, TokenAuthenticator } from './auth.ts'
import { QueryApiConfigError, type QueryApiError } from './errors.ts'

const READER = 'reader-token-123'
const ADMIN = 'admin-token-456'
const BOTH = 'both-token-789'

describe('parseApiTokens', () => {
  it('reads token:scope entries with + between scopes', () => {
    expect(parseApiTokens(` ${READER}:read , ${BOTH}:read+admin,${ADMIN}:admin `)).toEqual([
      { token: READER, scopes: ['read'] },
      { token: BOTH, scopes: ['read', 'admin'] },
      { token: ADMIN, scopes: ['admin'] }
    ])
  })

  it('names the option and the entry for each kind of mistake, without echoing tokens', () => {
    const cases: Array<[string, RegExp]> = [
      ['justatoken', /entry 1 must be "token:scope/],
      [`${READER}:write`, /token 1 has unknown scope "write"/],
      [`${READER}:`, /token 1 has unknown scope ""/],
      ['short:read', /token 1 must be 8-256 characters/],
      [`${READER}:read,${READER}:admin`, /token 2 is listed twice/],
      [`sp ace-token-1:read`, /token 1 must be 8-256 characters/]
    ]
    for (const [text, message] of cases) {
      let error: unknown
      try {
        parseApiTokens(text, 'tokens (QUERY_API_TOKENS)')
      } catch (err) {
        error = err
      }
      expect(error).toBeInstanceOf(QueryApiConfigError)
      expect((error as Error).message).toMatch(message)
      expect((error as Error).message).toMatch(/^query-api: option tokens \(QUERY_API_TOKENS\): /)
      expect((error as Error).message).not.toContain(READER)
    }
  })
})

describe('TokenAuthenticator', () => {
  const auth = new TokenAuthenticator(parseApiTokens(`${READER}:read,${ADMIN}:admin`))

  it('accepts a Bearer header or a connection-params token, and reports none when neither is sent', () => {
    const header = auth.authenticate(`Bearer ${READER}`, undefined)
    expect(header.kind).toBe('ok')
    expect(header.kind === 'ok' && [...header.principal.scopes]).toEqual(['read'])
    expect(auth.authenticate(undefined, ADMIN).kind).toBe('ok')
    expect(auth.authenticate(`bearer   ${ADMIN}  `, undefined).kind).toBe('ok')
    expect(auth.authenticate(undefined, undefined)).toEqual({ kind: 'none' })
    expect(auth.authenticate('', '')).toEqual({ kind: 'none' })
  })

  it('marks unknown tokens and malformed headers invalid instead of throwing', () => {
    expect(auth.authenticate('Bearer nope-nope-nope', undefined)).toEqual({ kind: 'invalid', reason: 'unknown API token' })
    expect(auth.authenticate(`Basic ${READER}`, undefined).kind).toBe('invalid')
    expect(auth.authenticate('Bearer', undefined).kind).toBe('invalid')
    // A header wins over connection params: a bad header is not rescued by a good param.
    expect(auth.authenticate('Bearer wrong-token-1', READER).kind).toBe('invalid')
  })

  it('labels principals without revealing the whole token', () => {
    const result = auth.authenticate(`Bearer ${READER}`, undefined)
    expect(result.kind === 'ok' && result.principal.label).toMatch(/^read…[0-9a-f]{8}$/)
  })
})

describe('requireScope', () => {
  const auth = new TokenAuthenticator(parseApiTokens(`${READER}:read,${ADMIN}:admin,${BOTH}:read+admin`))
  const code = (fn: () => unknown): string | undefined => {
    try {
      fn()
    } catch (err) {
      return (err as QueryApiError).code
    }
    return undefined
  }

  it('is UNAUTHENTICATED without or with a bad token and FORBIDDEN without the scope', () => {
    expect(code(() => requireScope(auth.authenticate(undefined, undefined), 'read', 'traffic.*'))).toBe('QUERY_UNAUTHENTICATED')
    expect(code(() => requireScope(auth.authenticate('Bearer unknown-token', undefined), 'read', 'traffic.*'))).toBe('QUERY_UNAUTHENTICATED')
    expect(code(() => requireScope(auth.authenticate(`Bearer ${ADMIN}`, undefined), 'read', 'traffic.*'))).toBe('QUERY_FORBIDDEN')
    expect(code(() => requireScope(auth.authenticate(`Bearer ${READER}`, undefined), 'admin', 'system.*'))).toBe('QUERY_FORBIDDEN')
  })

  it('passes a token that has the scope', () => {
    expect(code(() => requireScope(auth.authenticate(`Bearer ${READER}`, undefined), 'read', 'traffic.*'))).toBeUndefined()
    expect(code(() => requireScope(auth.authenticate(`Bearer ${BOTH}`, undefined), 'admin', 'system.*'))).toBeUndefined()
    expect(code(() => requireScope(auth.authenticate(`Bearer ${BOTH}`, undefined), 'read', 'traffic.*'))).toBeUndefined()
  })
})
