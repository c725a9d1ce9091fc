import { afterEach, describe, expect, it } from 'vitest'
import { canonicalAvroSchema } from '../schemas/index.ts'
import { MemoryLog } from './log.ts'
import { type RunningRegistry, serveRegistry } from './server.ts'

const running: RunningRegistry[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.close()))
})

async function start(log = new MemoryLog()): Promise<{ log: MemoryLog, registry: RunningRegistry, call: Caller }> {
  const registry = await serveRegistry(log.open(), { port: 0, onInternalError: () => undefined })
  running.push(registry)
  return { log, registry, call: caller(registry.url) }
}

type Caller = (method: string, path: string, body?: unknown) => Promise<{ status: number, body: unknown, contentType: string | null }>

function caller(url: string): Caller {
  return async (method, path, body) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) })
    })
    return { status: res.status, body: await res.json() as unknown, contentType: res.headers.get('content-type') }
  }
}

const record = (name: string, fields: unknown[]) => JSON.stringify({ type: 'record', name, namespace: 'test', fields })
const v1 = record('Thing', [{ name: 'a', type: 'int' }])
const v2 = record('Thing', [{ name: 'a', type: 'int' }, { name: 'b', type: 'string', default: '' }])
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
    expect(latest.body).toEqual({ subject: 'things-value', id: 1, version: 1, schema: '{"type":"record","name":"test.Thing","fields":[{"name":"a","type":"int"}]}' })
    expect((await call('GET', '/subjects/things-value/versions/-1')).body).toEqual(latest.body)
    expect((await call('GET', '/schemas/ids/1')).body).toEqual({ schema: (latest.body as { schema: string }).schema })
    expect((await call('GET', '/schemas/ids/1?subject=whatever')).status).toBe(200)
    expect((await call('GET', '/schemas/ids/1/schema')).body).toEqual({ type: 'record', name: 'test.Thing', fields: [{ name: 'a', type: 'int' }] })
    expect((await call('GET', '/schemas/ids/1/versions')).body).toEqual([{ subject: 'other-value', version: 1 }, { subject: 'things-value', version: 1 }])
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
    expect(await call('POST', '/subjects/s/versions', { schema: '{"type":"record","name":"R","fields":[{"name":"a","type":"Nope"}]}' }))
      .toMatchObject({ status: 422, body: { error_code: 42201 } })
    expect(await call('POST', '/subjects/s/versions', { schema: 'syntax = "proto3";', schemaType: 'PROTOBUF' }))
      .toMatchObject({ status: 422, body: { error_code: 42201, message: expect.stringContaining('Avro only') } })
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
