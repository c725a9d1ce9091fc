/**
 * The registry keeps its state only in its compacted Kafka topic: a restarted instance and a second
 * instance on the same topic serve the same ids, and concurrent writers never collide.
 */
import { Admin } from '@platformatic/kafka'
import { afterEach, describe, expect, it } from 'vitest'
import { startRegistry, type RunningRegistry } from '../registry/index.ts'
import { kafkaBrokers, uniqueName } from './support/kafka.ts'

const running: RunningRegistry[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.close()))
})

async function start(topic: string): Promise<RunningRegistry> {
  const registry = await startRegistry({ port: 0, brokers: kafkaBrokers(), topic })
  running.push(registry)
  return registry
}

async function call(registry: RunningRegistry, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${registry.url}${path}`, {
    method,
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  return { status: res.status, body: (await res.json()) as unknown }
}

const schema = (name: string, extra: unknown[] = []) =>
  JSON.stringify({ type: 'record', name, namespace: 'it', fields: [{ name: 'id', type: 'long' }, ...extra] })

describe('registry persistence in Kafka', () => {
  it('creates its topic compacted with one partition', async () => {
    const topic = uniqueName('_schemas-test-topic')
    await start(topic)
    const admin = new Admin({ clientId: 'registry-test', bootstrapBrokers: kafkaBrokers() })
    try {
      const metadata = await admin.metadata({ topics: [topic] })
      expect(metadata.topics.get(topic)?.partitionsCount).toBe(1)
      const configs = await admin.describeConfigs({ resources: [{ resourceType: 2, resourceName: topic, configurationKeys: ['cleanup.policy'] }] })
      const policy = configs[0]?.configs.find((c) => c.name === 'cleanup.policy')?.value
      expect(policy).toBe('compact')
    } finally {
      await admin.close()
    }
  })

  it('a restarted registry serves the same ids, versions, configs and deletions', async () => {
    const topic = uniqueName('_schemas-test-restart')
    const first = await start(topic)
    const a = await call(first, 'POST', '/subjects/a-value/versions', { schema: schema('A') })
    const a2 = await call(first, 'POST', '/subjects/a-value/versions', { schema: schema('A', [{ name: 'n', type: 'int', default: 0 }]) })
    const b = await call(first, 'POST', '/subjects/b-value/versions', { schema: schema('B') })
    await call(first, 'PUT', '/config/b-value', { compatibility: 'FULL' })
    await call(first, 'POST', '/subjects/gone-value/versions', { schema: schema('Gone') })
    await call(first, 'DELETE', '/subjects/gone-value')
    await call(first, 'DELETE', '/subjects/gone-value?permanent=true')
    await first.close()

    const second = await start(topic)
    expect((await call(second, 'GET', '/subjects/a-value/versions')).body).toEqual([1, 2])
    expect((await call(second, 'GET', '/subjects/a-value/versions/1')).body).toMatchObject({ id: (a.body as { id: number }).id })
    expect((await call(second, 'GET', '/subjects/a-value/versions/2')).body).toMatchObject({ id: (a2.body as { id: number }).id })
    expect((await call(second, 'POST', '/subjects/b-value/versions', { schema: schema('B') })).body).toEqual(b.body)
    expect((await call(second, 'GET', '/config/b-value')).body).toEqual({ compatibilityLevel: 'FULL' })
    expect((await call(second, 'GET', '/subjects?deleted=true')).body).toEqual(['a-value', 'b-value'])
    // Ids keep growing after a restart: the permanently deleted schema's id is not reused.
    const c = await call(second, 'POST', '/subjects/c-value/versions', { schema: schema('C') })
    expect((c.body as { id: number }).id).toBe(5)
  })

  it('a second instance sees what the first registers, and both agree under concurrent registrations', async () => {
    const topic = uniqueName('_schemas-test-two')
    const one = await start(topic)
    const two = await start(topic)
    const { body } = await call(one, 'POST', '/subjects/x-value/versions', { schema: schema('X') })
    const id = (body as { id: number }).id
    expect((await call(two, 'GET', `/schemas/ids/${id}`)).status).toBe(200)
    expect((await call(two, 'GET', '/subjects/x-value/versions/latest')).body).toMatchObject({ id, version: 1 })
    expect((await call(two, 'POST', '/subjects/x-value', { schema: schema('X') })).body).toMatchObject({ id, version: 1 })

    await call(one, 'PUT', '/config', { compatibility: 'NONE' })
    const names = ['P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W']
    const results = await Promise.all(names.map((n, i) => call(i % 2 === 0 ? one : two, 'POST', '/subjects/race-value/versions', { schema: schema(n) })))
    expect(results.map((r) => r.status)).toEqual(names.map(() => 200))
    const ids = results.map((r) => (r.body as { id: number }).id)
    expect(new Set(ids).size).toBe(names.length)
    const fromOne = await Promise.all(names.map(async (_, i) => (await call(one, 'GET', `/subjects/race-value/versions/${i + 1}`)).body))
    await call(two, 'GET', '/subjects/race-value/versions/8')
    const fromTwo = await Promise.all(names.map(async (_, i) => (await call(two, 'GET', `/subjects/race-value/versions/${i + 1}`)).body))
    expect(fromTwo).toEqual(fromOne)
    expect(fromOne.map((v) => (v as { id: number }).id).sort((p, q) => p - q)).toEqual([...ids].sort((p, q) => p - q))

    // The same schema through both at once: one id, one version.
    const [p, q] = await Promise.all([
      call(one, 'POST', '/subjects/same-value/versions', { schema: schema('Same') }),
      call(two, 'POST', '/subjects/same-value/versions', { schema: schema('Same') })
    ])
    expect(p.body).toEqual(q.body)
    expect((await call(two, 'GET', '/subjects/same-value/versions')).body).toEqual([1])
  })

  it('refuses a topic with more than one partition, naming the problem', async () => {
    const topic = uniqueName('_schemas-test-partitions')
    const admin = new Admin({ clientId: 'registry-test', bootstrapBrokers: kafkaBrokers() })
    try {
      await admin.createTopics({ topics: [topic], partitions: 3, replicas: 1 })
    } finally {
      await admin.close()
    }
    await expect(startRegistry({ port: 0, brokers: kafkaBrokers(), topic })).rejects.toThrow(
      `the registry topic ${topic} has 3 partitions; it must have exactly 1`
    )
  })
})
