import { describe, expect, it } from 'vitest'
import { fakeRegistry } from './fake-registry-fetch.ts'
import { DEFAULT_SCHEMA_REGISTRY_URL, SchemaRegistryClient, SchemaRegistryRequestError, schemaRegistryUrlFromEnv } from './registry-client.ts'

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
