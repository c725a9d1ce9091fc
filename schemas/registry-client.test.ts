import { describe, expect, it } from 'vitest'
import { fakeRegistry } from './fake-registry-fetch.ts'
import {
  DEFAULT_SCHEMA_REGISTRY_URL,
  SchemaRegistryClient,
  SchemaRegistryRequestError,
  schemaRegistryAuthFromEnv,
  schemaRegistryUrlFromEnv
} from './registry-client.ts'

describe('schema registry client', () => {
  it('caches registrations per subject and schemas per id, sharing concurrent calls', async () => {
    const fake = fakeRegistry()
    const client = new SchemaRegistryClient({ url: 'http://r.test/', fetch: fake.fetch })
    const [a, b] = await Promise.all([client.register('s-value', '"string"'), client.register('s-value', '"string"')])
    expect(a).toBe(b)
    expect(await client.register('s-value', '"string"')).toBe(a)
    await Promise.all([client.schemaById(a), client.schemaById(a)])
    expect(await client.schemaById(a)).toEqual({ schema: '"string"', schemaType: 'AVRO' })
    expect(fake.requests).toEqual(['POST /subjects/s-value/versions', `GET /schemas/ids/${a}`])
  })

  it('surfaces the HTTP status and Confluent error code, and does not cache failures', async () => {
    const fake = fakeRegistry()
    const client = new SchemaRegistryClient({ url: 'http://r.test', fetch: fake.fetch })
    const err = await client.schemaById(5).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SchemaRegistryRequestError)
    expect(err).toMatchObject({ status: 404, errorCode: 40403 })
    expect((err as Error).message).toBe('GET http://r.test/schemas/ids/5: HTTP 404: Schema 5 not found')
    await client.schemaById(5).catch(() => undefined)
    expect(fake.requests).toEqual(['GET /schemas/ids/5', 'GET /schemas/ids/5'])
  })

  it('reports an unreachable registry with status 0', async () => {
    const fake = fakeRegistry()
    fake.down = true
    const client = new SchemaRegistryClient({ url: 'http://r.test', fetch: fake.fetch })
    await expect(client.register('s', '"int"')).rejects.toMatchObject({ status: 0, errorCode: undefined })
  })

  it('validates its options, naming the bad one', () => {
    expect(() => new SchemaRegistryClient({ url: 'localhost:8081' })).toThrow('option "url" must be an http(s) URL, got "localhost:8081"')
    expect(() => new SchemaRegistryClient({ url: 'http://x', requestTimeoutMs: 0 })).toThrow('option "requestTimeoutMs"')
  })

  it('takes its URL from SCHEMA_REGISTRY_URL, defaulting to the local registry', () => {
    expect(schemaRegistryUrlFromEnv({})).toBe(DEFAULT_SCHEMA_REGISTRY_URL)
    expect(DEFAULT_SCHEMA_REGISTRY_URL).toBe('http://127.0.0.1:8081')
    expect(schemaRegistryUrlFromEnv({ SCHEMA_REGISTRY_URL: ' http://sr:8081 ' })).toBe('http://sr:8081')
  })
})

describe('schema registry client credentials', () => {
  /** A fetch that answers one registration and records the Authorization header it got. */
  function capturing(): { fetch: typeof fetch; seen: Array<string | null> } {
    const seen: Array<string | null> = []
    const fetchFn = (async (_url: string, init?: RequestInit) => {
      seen.push(new Headers(init?.headers).get('authorization'))
      return new Response(JSON.stringify({ id: 7 }), { status: 200 })
    }) as unknown as typeof fetch
    return { fetch: fetchFn, seen }
  }

  it('sends basic-auth or bearer credentials with every request, and none when not given', async () => {
    const basic = capturing()
    await new SchemaRegistryClient({ url: 'http://r.test', fetch: basic.fetch, auth: { basic: { username: 'svc', password: 'p:w' } } }).register('a', '"int"')
    expect(basic.seen).toEqual([`Basic ${Buffer.from('svc:p:w').toString('base64')}`])
    const bearer = capturing()
    await new SchemaRegistryClient({ url: 'http://r.test', fetch: bearer.fetch, auth: { bearerToken: 'tok-1' } }).register('a', '"int"')
    expect(bearer.seen).toEqual(['Bearer tok-1'])
    const open = capturing()
    await new SchemaRegistryClient({ url: 'http://r.test', fetch: open.fetch }).register('a', '"int"')
    expect(open.seen).toEqual([null])
  })

  it('refuses malformed credentials naming the option', () => {
    expect(() => new SchemaRegistryClient({ url: 'http://r.test', auth: { bearerToken: 'has space' } })).toThrow('option "auth.bearerToken"')
    expect(() => new SchemaRegistryClient({ url: 'http://r.test', auth: { basic: { username: 'a:b', password: 'x' } } })).toThrow('option "auth.basic"')
  })

  it('reads Confluent-named variables, refusing both at once or a user info without a colon', () => {
    expect(schemaRegistryAuthFromEnv({})).toBeUndefined()
    expect(schemaRegistryAuthFromEnv({ SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO: 'u:p:q' })).toEqual({ basic: { username: 'u', password: 'p:q' } })
    expect(schemaRegistryAuthFromEnv({ SCHEMA_REGISTRY_BEARER_AUTH_TOKEN: ' t ' })).toEqual({ bearerToken: 't' })
    expect(() => schemaRegistryAuthFromEnv({ SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO: 'nocolon' })).toThrow('SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO')
    expect(() => schemaRegistryAuthFromEnv({ SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO: 'u:p', SCHEMA_REGISTRY_BEARER_AUTH_TOKEN: 't' })).toThrow('not both')
  })
})
