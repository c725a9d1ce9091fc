import { describe, expect, it } from 'vitest'
import { createAuthenticator, credentialsFromEnv } from './auth.ts'

describe('createAuthenticator', () => {
  it('is undefined without users or tokens: an open registry', () => {
    expect(createAuthenticator({})).toBeUndefined()
    expect(createAuthenticator({ basicAuthUsers: [], bearerTokens: [] })).toBeUndefined()
  })

  it('accepts a basic-auth user only with its own password, and a bearer token only whole', () => {
    const auth = createAuthenticator({ basicAuthUsers: [{ username: 'ü', password: 'pä:ss' }], bearerTokens: ['abc.def'] })
    const basic = (text: string) => `Basic ${Buffer.from(text, 'utf8').toString('base64')}`
    expect(auth?.accepts(basic('ü:pä:ss'))).toBe(true)
    expect(auth?.accepts(basic('ü:pä'))).toBe(false)
    expect(auth?.accepts(basic('u:pä:ss'))).toBe(false)
    expect(auth?.accepts(basic('ü'))).toBe(false)
    expect(auth?.accepts('Bearer abc.def')).toBe(true)
    expect(auth?.accepts('BEARER   abc.def')).toBe(true)
    expect(auth?.accepts('Bearer abc')).toBe(false)
    expect(auth?.accepts('abc.def')).toBe(false)
    expect(auth?.accepts(undefined)).toBe(false)
  })
})

describe('credentialsFromEnv', () => {
  it('reads comma-separated user:password pairs and tokens; passwords may contain colons', () => {
    expect(credentialsFromEnv({ REGISTRY_BASIC_AUTH_USERS: 'app:pw:1, ops:x', REGISTRY_BEARER_TOKENS: 't1,,t2 ' })).toEqual({
      basicAuthUsers: [
        { username: 'app', password: 'pw:1' },
        { username: 'ops', password: 'x' }
      ],
      bearerTokens: ['t1', 't2']
    })
  })

  it('gives no credentials when the variables are unset or empty', () => {
    expect(credentialsFromEnv({})).toEqual({})
    expect(credentialsFromEnv({ REGISTRY_BASIC_AUTH_USERS: ' ', REGISTRY_BEARER_TOKENS: '' })).toEqual({})
  })

  it('names the malformed entry', () => {
    expect(() => credentialsFromEnv({ REGISTRY_BASIC_AUTH_USERS: 'app:pw,ops' })).toThrow('REGISTRY_BASIC_AUTH_USERS: entry 2 must be user:password')
    expect(() => credentialsFromEnv({ REGISTRY_BASIC_AUTH_USERS: ':pw' })).toThrow(/entry 1/)
    expect(() => credentialsFromEnv({ REGISTRY_BASIC_AUTH_USERS: 'app:' })).toThrow(/entry 1/)
  })
})
