import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry'
import { SchemaRegistryClient as ConfluentClient } from '@confluentinc/schemaregistry'
import { afterEach, describe, expect, it } from 'vitest'
import { canonicalAvroSchema, SchemaRegistryClient } from '../schemas/index.ts'
import { acceptedContentType } from './http.ts'
import { MemoryLog } from './log.ts'
import { type RunningRegistry, serveRegistry, type ServingOptions } from './server.ts'

const running: RunningRegistry[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.close()))
})

async function start(log = new MemoryLog(), options: ServingOptions = {}): Promise<{ log: MemoryLog; registry: RunningRegistry; call: Caller }> {
  const registry = await serveRegistry(log.open(), { port: 0, onInternalError: () => undefined, ...options })
  running.push(registry)
  return { log, registry, call: caller(registry.url) }
}

type Caller = (method: string, path: string, body?: unknown) => Promise<{ status: number; body: unknown; contentType: string | null }>

function caller(url: string): Caller {
  return async (method, path, body) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) })
    })
    return { status: res.status, body: (await res.json()) as unknown, contentType: res.headers.get('content-type') }
  }
}

const record = (name: string, fields: unknown[]) => JSON.stringify({ type: 'record', name, namespace: 'test', fields })
const v1 = record('Thing', [{ name: 'a', type: 'int' }])
const v2 = record('Thing', [
  { name: 'a', type: 'int' },
  { name: 'b', type: 'string', default: '' }
])
const breaking = record('Thing', [{ name: 'a', type: 'string' }])

describe('registry REST API', () => {
  it('registers a schema, returns the same id for the same schema however it is spelled, and serves it back', async () => {
    const { call } = await start()
    const first = await call('POST', '/subjects/things-value/versions', { schema: v1 })
    expect(first).toMatchObject({ status: 200, body: { id: 1 }, contentType: 'application/vnd.schemaregistry.v1+json' })
    const respelled = JSON.stringify({ fields: [{ type: 'int', name: 'a' }], name: 'test.Thing', type: 'record' })
    expect((await call('POST', '/subjects/things-value/versions?normalize=true', { schema: respelled })).body).toEqual({ id: 1 })
    expect((await call('POST', '/subjects/other-value/versions', { schema: v1, schemaType: 'AVRO' })).body).toEqual({ id: 1 })
    expect((await call('GET', '/subjects/things-value/versions')).body).toEqual([1])
    const latest = await call('GET', '/subjects/things-value/versions/latest')
    expect(latest.body).toEqual({
      subject: 'things-value',
      id: 1,
      version: 1,
      schema: '{"type":"record","name":"test.Thing","fields":[{"name":"a","type":"int"}]}'
    })
    expect((await call('GET', '/subjects/things-value/versions/-1')).body).toEqual(latest.body)
    expect((await call('GET', '/schemas/ids/1')).body).toEqual({ schema: (latest.body as { schema: string }).schema })
    expect((await call('GET', '/schemas/ids/1?subject=whatever')).status).toBe(200)
    expect((await call('GET', '/schemas/ids/1/schema')).body).toEqual({ type: 'record', name: 'test.Thing', fields: [{ name: 'a', type: 'int' }] })
    expect((await call('GET', '/schemas/ids/1/versions')).body).toEqual([
      { subject: 'other-value', version: 1 },
      { subject: 'things-value', version: 1 }
    ])
    expect((await call('GET', '/schemas/ids/1/subjects')).body).toEqual(['other-value', 'things-value'])
    expect((await call('GET', '/subjects')).body).toEqual(['other-value', 'things-value'])
    expect((await call('GET', '/schemas/types')).body).toEqual(['AVRO'])
  })

  it('evolves a subject compatibly and refuses an incompatible schema with 409 / 40901', async () => {
    const { call } = await start()
    await call('POST', '/subjects/s/versions', { schema: v1 })
    expect((await call('POST', '/subjects/s/versions', { schema: v2 })).body).toEqual({ id: 2 })
    const refused = await call('POST', '/subjects/s/versions', { schema: breaking })
    expect(refused.status).toBe(409)
    expect(refused.body).toMatchObject({ error_code: 40901 })
    expect((refused.body as { message: string }).message).toContain('incompatible with an earlier schema for subject "s"')
    expect((await call('GET', '/subjects/s/versions')).body).toEqual([1, 2])
    expect((await call('POST', '/compatibility/subjects/s/versions/latest', { schema: breaking })).body).toEqual({ is_compatible: false })
    const verbose = await call('POST', '/compatibility/subjects/s/versions/1?verbose=true', { schema: breaking })
    expect(verbose.body).toMatchObject({ is_compatible: false, messages: [expect.stringContaining('cannot read "int" as "string"')] })
    expect((await call('POST', '/compatibility/subjects/s/versions/latest', { schema: v2 })).body).toEqual({ is_compatible: true })
    expect((await call('POST', '/compatibility/subjects/new/versions/latest', { schema: breaking })).body).toEqual({ is_compatible: true })
    expect((await call('POST', '/compatibility/subjects/s/versions', { schema: v1 })).body).toEqual({ is_compatible: true })
    // With NONE on the subject, the breaking schema is accepted.
    expect((await call('PUT', '/config/s', { compatibility: 'NONE' })).body).toEqual({ compatibility: 'NONE' })
    expect((await call('POST', '/subjects/s/versions', { schema: breaking })).body).toEqual({ id: 3 })
  })

  it('looks a schema up under a subject, with Confluent errors for an unknown subject or schema', async () => {
    const { call } = await start()
    await call('POST', '/subjects/s/versions', { schema: v1 })
    expect((await call('POST', '/subjects/s', { schema: v1 })).body).toEqual({ subject: 's', id: 1, version: 1, schema: canonicalAvroSchema(v1) })
    expect(await call('POST', '/subjects/s', { schema: v2 })).toMatchObject({ status: 404, body: { error_code: 40403 } })
    expect(await call('POST', '/subjects/nope', { schema: v1 })).toMatchObject({ status: 404, body: { error_code: 40401 } })
    expect(await call('GET', '/subjects/nope/versions')).toMatchObject({ status: 404, body: { error_code: 40401 } })
    expect(await call('GET', '/subjects/s/versions/7')).toMatchObject({ status: 404, body: { error_code: 40402 } })
    expect(await call('GET', '/schemas/ids/99')).toMatchObject({ status: 404, body: { error_code: 40403, message: 'Schema 99 not found' } })
  })

  it('answers bad requests with the Confluent codes for invalid schema, version, level and body', async () => {
    const { call } = await start()
    expect(await call('POST', '/subjects/s/versions', { schema: '{"type":"record","name":"R","fields":[{"name":"a","type":"Nope"}]}' })).toMatchObject({
      status: 422,
      body: { error_code: 42201 }
    })
    expect(await call('POST', '/subjects/s/versions', { schema: 'syntax = "proto3";', schemaType: 'PROTOBUF' })).toMatchObject({
      status: 422,
      body: { error_code: 42201, message: expect.stringContaining('Avro only') }
    })
    expect(await call('POST', '/subjects/s/versions', {})).toMatchObject({ status: 422, body: { error_code: 42201 } })
    expect(await call('POST', '/subjects/s/versions', '{not json')).toMatchObject({ status: 400, body: { error_code: 400 } })
    expect(await call('GET', '/subjects/s/versions/zero')).toMatchObject({ status: 422, body: { error_code: 42202 } })
    expect(await call('GET', '/subjects/s/versions/0')).toMatchObject({ status: 422, body: { error_code: 42202 } })
    expect(await call('PUT', '/config', { compatibility: 'SIDEWAYS' })).toMatchObject({ status: 422, body: { error_code: 42203 } })
    expect(await call('GET', '/nothing/here')).toMatchObject({ status: 404, body: { error_code: 404 } })
    expect(await call('PATCH', '/subjects')).toMatchObject({ status: 405, body: { error_code: 405 } })
  })

  it('keeps a global level and per-subject levels; a subject without one is 404 / 40408', async () => {
    const { call } = await start()
    expect((await call('GET', '/config')).body).toEqual({ compatibilityLevel: 'BACKWARD' })
    expect(await call('GET', '/config/s')).toMatchObject({ status: 404, body: { error_code: 40408 } })
    expect((await call('GET', '/config/s?defaultToGlobal=true')).body).toEqual({ compatibilityLevel: 'BACKWARD' })
    expect((await call('PUT', '/config', { compatibility: 'full_transitive' })).body).toEqual({ compatibility: 'FULL_TRANSITIVE' })
    expect((await call('PUT', '/config/s', { compatibility: 'FORWARD' })).body).toEqual({ compatibility: 'FORWARD' })
    expect((await call('GET', '/config/s')).body).toEqual({ compatibilityLevel: 'FORWARD' })
    expect((await call('GET', '/config')).body).toEqual({ compatibilityLevel: 'FULL_TRANSITIVE' })
    expect((await call('DELETE', '/config/s')).body).toEqual({ compatibilityLevel: 'FORWARD' })
    expect(await call('DELETE', '/config/s')).toMatchObject({ status: 404, body: { error_code: 40408 } })
  })

  it('soft-deletes then permanently deletes subjects and versions, in Confluent order', async () => {
    const { call } = await start()
    await call('POST', '/subjects/s/versions', { schema: v1 })
    await call('POST', '/subjects/s/versions', { schema: v2 })
    expect(await call('DELETE', '/subjects/s?permanent=true')).toMatchObject({ status: 404, body: { error_code: 40405 } })
    expect(await call('DELETE', '/subjects/s/versions/1?permanent=true')).toMatchObject({ status: 404, body: { error_code: 40407 } })
    expect((await call('DELETE', '/subjects/s/versions/1')).body).toBe(1)
    expect(await call('DELETE', '/subjects/s/versions/1')).toMatchObject({ status: 404, body: { error_code: 40406 } })
    expect((await call('GET', '/subjects/s/versions')).body).toEqual([2])
    expect((await call('GET', '/subjects/s/versions?deleted=true')).body).toEqual([1, 2])
    expect((await call('GET', '/subjects/s/versions/1?deleted=true')).body).toMatchObject({ version: 1, id: 1 })
    expect((await call('GET', '/schemas/ids/1')).status).toBe(200)
    expect((await call('DELETE', '/subjects/s')).body).toEqual([2])
    expect(await call('DELETE', '/subjects/s')).toMatchObject({ status: 404, body: { error_code: 40404 } })
    expect((await call('GET', '/subjects')).body).toEqual([])
    expect((await call('GET', '/subjects?deleted=true')).body).toEqual(['s'])
    expect((await call('POST', '/subjects/s?deleted=true', { schema: v2 })).body).toMatchObject({ id: 2, version: 2 })
    expect((await call('DELETE', '/subjects/s?permanent=true')).body).toEqual([1, 2])
    expect((await call('GET', '/subjects?deleted=true')).body).toEqual([])
    expect(await call('GET', '/schemas/ids/1')).toMatchObject({ status: 404, body: { error_code: 40403 } })
    // A new registration after a permanent delete starts again at version 1, with a fresh id.
    expect((await call('POST', '/subjects/s/versions', { schema: v1 })).body).toEqual({ id: 3 })
    expect((await call('GET', '/subjects/s/versions')).body).toEqual([1])
  })

  it('a restarted registry on the same log serves the same ids', async () => {
    const { log, registry, call } = await start()
    await call('POST', '/subjects/a/versions', { schema: v1 })
    await call('POST', '/subjects/a/versions', { schema: v2 })
    await registry.close()
    const again = await start(log)
    expect((await again.call('GET', '/subjects/a/versions/2')).body).toMatchObject({ id: 2 })
    expect((await again.call('POST', '/subjects/a/versions', { schema: v1 })).body).toEqual({ id: 1 })
    expect((await again.call('POST', '/subjects/b/versions', { schema: breaking })).body).toEqual({ id: 3 })
  })

  it('two instances on one log agree on every id and version, even when they register at the same time', async () => {
    const { log, call: callA } = await start()
    const { call: callB } = await start(log)
    await callA('PUT', '/config', { compatibility: 'NONE' })
    const schemas = Array.from({ length: 6 }, (_, i) => record(`R${i}`, [{ name: 'f', type: 'int' }]))
    const results = await Promise.all(schemas.map((schema, i) => (i % 2 === 0 ? callA : callB)('POST', '/subjects/shared/versions', { schema })))
    const ids = results.map((r) => (r.body as { id: number }).id)
    expect(results.every((r) => r.status === 200)).toBe(true)
    expect(new Set(ids).size).toBe(6)
    // The race happened: some claims lost and were retried (and later tombstoned as garbage).
    const claims = log.records().filter((r) => r.value !== null && r.key?.toString('utf8').includes('"REGISTER"') === true)
    expect(claims.length).toBeGreaterThan(6)
    const versionsA = (await callA('GET', '/subjects/shared/versions')).body
    expect(versionsA).toEqual([1, 2, 3, 4, 5, 6])
    for (const [i, id] of ids.entries()) {
      const served = (await callB('GET', `/schemas/ids/${id}`)).body as { schema: string }
      expect(served.schema).toBe(canonicalAvroSchema(schemas[i]))
    }
    // Both instances see the same versions with the same ids.
    const a = await Promise.all([1, 2, 3, 4, 5, 6].map(async (v) => (await callA('GET', `/subjects/shared/versions/${v}`)).body))
    const b = await Promise.all([1, 2, 3, 4, 5, 6].map(async (v) => (await callB('GET', `/subjects/shared/versions/${v}`)).body))
    expect(b).toEqual(a)
    // The same schema registered through both at once gets one id and one version.
    const same = record('Same', [{ name: 'x', type: 'long' }])
    const [x, y] = await Promise.all([callA('POST', '/subjects/same/versions', { schema: same }), callB('POST', '/subjects/same/versions', { schema: same })])
    expect(x.body).toEqual(y.body)
    expect((await callB('GET', '/subjects/same/versions')).body).toEqual([1])
  })
})

describe('registry writes need a Confluent or JSON content type', () => {
  // A raw request: `contentType` undefined sends none (a byte body gets no default type).
  async function raw(url: string, method: string, path: string, contentType: string | undefined, body?: string) {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: contentType === undefined ? {} : { 'content-type': contentType },
      ...(body === undefined ? {} : { body: contentType === undefined ? new TextEncoder().encode(body) : body })
    })
    return { status: res.status, body: (await res.json()) as unknown, contentType: res.headers.get('content-type') }
  }

  it('refuses text/plain, form-encoded and missing types with 415 and a Confluent error, and changes nothing', async () => {
    const { registry, call } = await start()
    const body = JSON.stringify({ schema: v1 })
    for (const type of ['text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', undefined]) {
      const refused = await raw(registry.url, 'POST', '/subjects/s/versions', type, body)
      expect(refused, String(type)).toEqual({
        status: 415,
        body: { error_code: 415, message: 'HTTP 415 Unsupported Media Type' },
        contentType: 'application/vnd.schemaregistry.v1+json'
      })
    }
    expect((await raw(registry.url, 'PUT', '/config', 'text/plain', JSON.stringify({ compatibility: 'NONE' }))).status).toBe(415)
    expect((await raw(registry.url, 'PUT', '/config/s', 'application/x-www-form-urlencoded', 'compatibility=NONE')).status).toBe(415)
    expect((await raw(registry.url, 'POST', '/compatibility/subjects/s/versions/latest', 'text/plain', body)).status).toBe(415)
    expect(await call('GET', '/subjects')).toMatchObject({ status: 200, body: [] })
    expect((await call('GET', '/config')).body).toEqual({ compatibilityLevel: 'BACKWARD' })
    expect((await call('GET', '/config/s')).status).toBe(404)
  })

  it('accepts the Confluent types and application/json, with a UTF-8 charset or none', async () => {
    const { registry, call } = await start()
    const types = [
      'application/vnd.schemaregistry.v1+json',
      'application/vnd.schemaregistry+json',
      'application/json',
      'application/json; charset=utf-8',
      'Application/JSON;charset="UTF-8"',
      'application/vnd.schemaregistry.v1+json; charset=utf8'
    ]
    for (const [i, type] of types.entries()) {
      const schema = record(`T${i}`, [{ name: 'a', type: 'int' }])
      expect(await raw(registry.url, 'POST', `/subjects/t${i}/versions`, type, JSON.stringify({ schema })), type).toMatchObject({
        status: 200,
        body: { id: i + 1 }
      })
    }
    expect(await raw(registry.url, 'PUT', '/config', 'application/json', JSON.stringify({ compatibility: 'NONE' }))).toMatchObject({ status: 200 })
    // Bodies are read as UTF-8: another charset is refused rather than misread.
    expect((await raw(registry.url, 'POST', '/subjects/x/versions', 'application/json; charset=iso-8859-1', JSON.stringify({ schema: v1 }))).status).toBe(415)
    expect((await call('GET', '/subjects')).body).toHaveLength(types.length)
  })

  it('refuses a DELETE that carries a body of another type, and lets a DELETE without a body through', async () => {
    const { registry, call } = await start()
    await call('POST', '/subjects/s/versions', { schema: v1 })
    expect((await raw(registry.url, 'DELETE', '/subjects/s', 'text/plain', '{}')).status).toBe(415)
    expect((await call('GET', '/subjects')).body).toEqual(['s'])
    expect(await raw(registry.url, 'DELETE', '/subjects/s', undefined)).toMatchObject({ status: 200, body: [1] })
    expect((await call('GET', '/subjects')).body).toEqual([])
  })

  it('leaves reads alone whatever their content type', async () => {
    const { registry } = await start()
    expect(await raw(registry.url, 'GET', '/subjects', 'text/plain')).toMatchObject({ status: 200, body: [] })
    expect(await raw(registry.url, 'GET', '/config', undefined)).toMatchObject({ status: 200 })
  })

  it('parses the header as a media type with parameters', () => {
    expect(acceptedContentType(undefined)).toBe(false)
    expect(acceptedContentType('')).toBe(false)
    expect(acceptedContentType('application/json')).toBe(true)
    expect(acceptedContentType(' application/json ; charset=UTF-8 ')).toBe(true)
    expect(acceptedContentType('application/json;charset=latin1')).toBe(false)
    expect(acceptedContentType('application/jsonp')).toBe(false)
    expect(acceptedContentType('application/json-patch+json')).toBe(false)
    expect(acceptedContentType('application/octet-stream')).toBe(false)
  })
})

describe('registry credentials', () => {
  const users = [
    { username: 'app', password: 's3cret:with-colon' },
    { username: 'ops', password: 'other' }
  ]
  const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`

  async function status(url: string, path: string, authorization?: string): Promise<{ status: number; challenge: string | null; body: unknown }> {
    const res = await fetch(`${url}${path}`, { headers: authorization === undefined ? {} : { authorization } })
    return { status: res.status, challenge: res.headers.get('www-authenticate'), body: (await res.json()) as unknown }
  }

  it('is open without credentials configured', async () => {
    const { registry } = await start()
    expect(registry.authenticated).toBe(false)
    expect((await status(registry.url, '/subjects')).status).toBe(200)
    expect((await status(registry.url, '/subjects', 'Bearer anything')).status).toBe(200)
  })

  it('answers 401 with challenges to requests without the right basic-auth user or bearer token', async () => {
    const { registry } = await start(new MemoryLog(), { basicAuthUsers: users, bearerTokens: ['tok-1', 'tok-2'] })
    expect(registry.authenticated).toBe(true)
    const refused = await status(registry.url, '/subjects')
    expect(refused).toEqual({
      status: 401,
      challenge: 'Basic realm="schema-registry", charset="UTF-8", Bearer realm="schema-registry"',
      body: { error_code: 401, message: 'Unauthorized' }
    })
    for (const wrong of [
      basic('app', 'nope'),
      basic('app', 's3cret'),
      basic('nobody', 'other'),
      basic('ops', 's3cret:with-colon'),
      'Bearer tok-3',
      'Bearer tok-1x',
      'Bearer ',
      'Basic',
      'Basic !!!',
      `Digest ${basic('app', 's3cret:with-colon').slice(6)}`,
      'tok-1'
    ]) {
      expect((await status(registry.url, '/subjects', wrong)).status, wrong).toBe(401)
    }
    // Writes are refused before their body is looked at.
    const write = await fetch(`${registry.url}/subjects/s/versions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ schema: v1 })
    })
    expect(write.status).toBe(401)
    for (const right of [basic('app', 's3cret:with-colon'), basic('ops', 'other'), 'Bearer tok-1', 'bearer tok-2']) {
      expect(await status(registry.url, '/subjects', right), right).toMatchObject({ status: 200, body: [] })
    }
    expect((await status(registry.url, '/subjects')).status).toBe(401)
  })

  it('challenges only with the configured schemes', async () => {
    const onlyTokens = await start(new MemoryLog(), { bearerTokens: ['t'] })
    expect(await status(onlyTokens.registry.url, '/')).toMatchObject({ status: 401, challenge: 'Bearer realm="schema-registry"' })
    expect((await status(onlyTokens.registry.url, '/', basic('t', 't'))).status).toBe(401)
    const onlyUsers = await start(new MemoryLog(), { basicAuthUsers: users })
    expect(await status(onlyUsers.registry.url, '/')).toMatchObject({ status: 401, challenge: 'Basic realm="schema-registry", charset="UTF-8"' })
    expect((await status(onlyUsers.registry.url, '/', 'Bearer t')).status).toBe(401)
  })

  it('rejects malformed credentials at start, naming the option', async () => {
    const log = new MemoryLog()
    await expect(serveRegistry(log.open(), { port: 0, basicAuthUsers: [{ username: 'a:b', password: 'x' }] })).rejects.toThrow(/basicAuthUsers\[0\]\.username/)
    await expect(serveRegistry(log.open(), { port: 0, basicAuthUsers: [{ username: 'a', password: '' }] })).rejects.toThrow(/basicAuthUsers\[0\]\.password/)
    await expect(
      serveRegistry(log.open(), { port: 0, basicAuthUsers: [users[1] ?? users[0] ?? { username: '', password: '' }, { username: 'ops', password: 'y' }] })
    ).rejects.toThrow(/names user ops twice/)
    await expect(serveRegistry(log.open(), { port: 0, bearerTokens: ['has space'] })).rejects.toThrow(/bearerTokens\[0\]/)
  })

  it('the Confluent-compatible clients register and read with credentials, and fail without', async () => {
    const { registry } = await start(new MemoryLog(), { basicAuthUsers: users, bearerTokens: ['tok-1'] })
    // @kafkajs/confluent-schema-registry: basic auth through its `auth` option.
    const kafkajs = new SchemaRegistry({ host: registry.url, auth: { username: 'app', password: 's3cret:with-colon' }, retry: { retries: 0 } })
    const { id } = await kafkajs.register({ type: SchemaType.AVRO, schema: v1 }, { subject: 'kafkajs-value' })
    expect(await kafkajs.decode(await kafkajs.encode(id, { a: 7 }))).toEqual({ a: 7 })
    await expect(new SchemaRegistry({ host: registry.url, retry: { retries: 0 } }).getLatestSchemaId('kafkajs-value')).rejects.toMatchObject({ status: 401 })
    // ... and a bearer token through a mappersmith middleware.
    const kafkajsBearer = new SchemaRegistry({
      host: registry.url,
      retry: { retries: 0 },
      middlewares: [() => ({ request: (req) => req.enhance({ headers: { authorization: 'Bearer tok-1' } }) })]
    })
    expect(await kafkajsBearer.getLatestSchemaId('kafkajs-value')).toBe(id)
    // @confluentinc/schemaregistry: basic auth (USER_INFO) and a static bearer token.
    const confluentBasic = new ConfluentClient({
      baseURLs: [registry.url],
      maxRetries: 0,
      basicAuthCredentials: { credentialsSource: 'USER_INFO', userInfo: 'ops:other' }
    })
    expect(await confluentBasic.register('confluent-value', { schemaType: 'AVRO', schema: v2 })).toBe(id + 1)
    const confluentBearer = new ConfluentClient({
      baseURLs: [registry.url],
      maxRetries: 0,
      bearerAuthCredentials: { credentialsSource: 'STATIC_TOKEN', token: 'tok-1', logicalCluster: 'local', identityPoolId: 'none' }
    })
    expect(await confluentBearer.getAllSubjects()).toEqual(['confluent-value', 'kafkajs-value'])
    await expect(new ConfluentClient({ baseURLs: [registry.url], maxRetries: 0 }).getAllSubjects()).rejects.toMatchObject({ status: 401 })
    // Runnel's SchemaRegistryClient takes a `fetch`: one that adds the header passes the credentials.
    const authorization = `Basic ${Buffer.from('app:s3cret:with-colon').toString('base64')}`
    const withAuth: typeof fetch = (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), authorization } })
    const runnel = new SchemaRegistryClient({ url: registry.url, fetch: withAuth })
    expect(await runnel.register('kafkajs-value', v1)).toBe(id)
    expect((await runnel.schemaById(id + 1)).schema).toBe(canonicalAvroSchema(v2))
    await expect(new SchemaRegistryClient({ url: registry.url }).schemaById(id)).rejects.toMatchObject({ status: 401 })
  })
})
