/**
 * What `start()` checks and prepares on the real broker: topics that must be co-partitioned and are
 * not, or a missing source topic, fail start with an error naming them (state ERROR, nothing
 * created); internal topics get the partition counts and configs the topology needs; global stores
 * are read to the end before processing and kept up to date; a clean close leaves checkpoints that
 * make the restart restore nothing, and counting goes on from the restored state; an input fetch that
 * keeps failing fails the instance after taskTimeoutMs.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Admin, ConfigResourceTypes, NetworkError, Producer } from '@platformatic/kafka'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import {
  defaultKafkaClientSupplier,
  KafkaStreams,
  MissingSourceTopicError,
  PartitionCountError,
  type KafkaClientSupplier,
  type StreamsConfig
} from '../runtime/index.ts'
import { stringSerde } from '../schemas/index.ts'
import { StreamsBuilder } from '../topology/index.ts'
import { createTopics, kafkaBrokers, uniqueName } from './support/kafka.ts'
import { diffCounts, produceEvents, readLatestCounts, readTopic, waitFor } from './fixtures/runtime-helpers.ts'
import { expectedCounts, makeEvents, windowedCountTopology } from './fixtures/windowed-count.ts'
import { groupCaughtUp } from './fixtures/workers.ts'

const str = { keySerde: stringSerde, valueSerde: stringSerde }
const cleanups: Array<() => Promise<unknown> | void> = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function streamsFor(topology: ConstructorParameters<typeof KafkaStreams>[0], appId: string, overrides: Partial<StreamsConfig> = {}): KafkaStreams {
  const stateDir = mkdtempSync(join(tmpdir(), 'runnel-rt-start-'))
  const streams = new KafkaStreams(topology, {
    applicationId: appId,
    bootstrapServers: kafkaBrokers(),
    stateDir,
    commitIntervalMs: 200,
    sessionTimeoutMs: 6000,
    heartbeatIntervalMs: 500,
    logger: pino({ level: 'silent' }),
    ...overrides
  })
  cleanups.push(async () => {
    await streams.close()
    rmSync(stateDir, { recursive: true, force: true })
  })
  return streams
}

describe('starting on a real cluster', () => {
  it('fails start with an error naming the joined topics when they are not co-partitioned', async () => {
    const brokers = kafkaBrokers()
    const appId = uniqueName('rt-copart')
    const clicks = `${appId}-clicks`
    const users = `${appId}-users`
    await createTopics(brokers, [
      { name: clicks, partitions: 3 },
      { name: users, partitions: 4 },
      { name: `${appId}-out`, partitions: 1 }
    ])
    const builder = new StreamsBuilder()
    builder
      .stream(clicks, str)
      .join(builder.table(users, str, { storeName: 'users' }), (c, u) => `${c}:${u}`)
      .to(`${appId}-out`, str)
    const streams = streamsFor(builder.build(), appId)
    const error = await streams.start().then(
      () => undefined,
      (err: unknown) => err
    )
    expect(error).toBeInstanceOf(PartitionCountError)
    expect((error as Error).message).toContain(`${clicks} (3)`)
    expect((error as Error).message).toContain(`${users} (4)`)
    expect(streams.state).toBe('ERROR')
    const admin = new Admin({ clientId: 'rt-start-check', bootstrapBrokers: brokers })
    cleanups.push(() => admin.close())
    expect((await admin.listTopics()).filter((t) => t.startsWith(`${appId}-users-changelog`))).toEqual([])
  })

  it('fails start with an error naming a missing source topic', async () => {
    const appId = uniqueName('rt-missing')
    const streams = streamsFor(windowedCountTopology(`${appId}-nowhere`, `${appId}-out`), appId)
    const error = await streams.start().then(
      () => undefined,
      (err: unknown) => err
    )
    expect(error).toBeInstanceOf(MissingSourceTopicError)
    expect((error as Error).message).toContain(`${appId}-nowhere`)
    expect(streams.state).toBe('ERROR')
  })

  it('creates the internal topics with the partition counts and configs the topology needs', async () => {
    const brokers = kafkaBrokers()
    const appId = uniqueName('rt-internal')
    await createTopics(brokers, [
      { name: `${appId}-in`, partitions: 5 },
      { name: `${appId}-out`, partitions: 1 }
    ])
    const streams = streamsFor(windowedCountTopology(`${appId}-in`, `${appId}-out`), appId)
    await streams.start()
    await waitFor('all tasks running', () => streams.status().tasks.filter((t) => t.phase === 'running').length === 10, 30_000)
    const admin = new Admin({ clientId: 'rt-start-check', bootstrapBrokers: brokers })
    cleanups.push(() => admin.close())
    const names = [`${appId}-by-group-repartition`, `${appId}-counts-changelog`, `${appId}-dlq`, `${appId}-status`]
    const metadata = await admin.metadata({ topics: names })
    expect(names.map((n) => metadata.topics.get(n)?.partitionsCount)).toEqual([5, 5, 1, 1])
    const configs = await admin.describeConfigs({ resources: names.map((resourceName) => ({ resourceType: ConfigResourceTypes.TOPIC, resourceName })) })
    const value = (topic: string, name: string): string | null | undefined =>
      configs.find((c) => c.resourceName === topic)?.configs.find((c) => c.name === name)?.value
    expect(value(`${appId}-by-group-repartition`, 'cleanup.policy')).toBe('delete')
    expect(value(`${appId}-counts-changelog`, 'cleanup.policy')).toBe('compact,delete')
    expect(Number(value(`${appId}-counts-changelog`, 'retention.ms'))).toBeGreaterThanOrEqual(86_400_000 + 86_400_000)
    expect(value(`${appId}-status`, 'cleanup.policy')).toBe('compact')
    // The status topic carries the instance's status, keyed by instance id.
    await waitFor('a status record', async () => (await readTopic(brokers, `${appId}-status`)).length > 0, 20_000, 500)
    const status = JSON.parse((await readTopic(brokers, `${appId}-status`)).at(-1)?.value?.toString() ?? '{}') as { applicationId?: string; tasks?: unknown[] }
    expect(status.applicationId).toBe(appId)
    expect(status.tasks).toHaveLength(10)
  })

  it('reads a global table to its end before processing and applies later updates to it', async () => {
    const brokers = kafkaBrokers()
    const appId = uniqueName('rt-global')
    const countries = `${appId}-countries`
    const orders = `${appId}-orders`
    const out = `${appId}-out`
    await createTopics(brokers, [
      { name: countries, partitions: 2 },
      { name: orders, partitions: 3 },
      { name: out, partitions: 1 }
    ])
    const producer = new Producer({ clientId: 'rt-global', bootstrapBrokers: brokers, idempotent: true })
    cleanups.push(() => producer.close())
    const send = async (topic: string, key: string, value: string): Promise<void> => {
      await producer.send({ messages: [{ topic, key: Buffer.from(key), value: Buffer.from(value) }] })
    }
    await send(countries, 'no', 'Norway')
    await send(countries, 'it', 'Italy')
    await send(orders, 'o1', 'no')
    const builder = new StreamsBuilder()
    const table = builder.globalTable(countries, str, { storeName: 'countries' })
    builder
      .stream(orders, str)
      .leftJoinGlobal(
        table,
        (_id, code) => code,
        (code, name) => `${code}=${name ?? '?'}`
      )
      .to(out, str)
    const streams = streamsFor(builder.build(), appId)
    await streams.start()
    await waitFor('the first order joined', async () => (await readTopic(brokers, out)).length === 1, 30_000, 300)
    await send(countries, 'se', 'Sweden')
    await sleepUntilApplied()
    await send(orders, 'o2', 'se')
    await send(orders, 'o3', 'it')
    await waitFor('three joined orders', async () => (await readTopic(brokers, out)).length === 3, 30_000, 300)
    expect((await readTopic(brokers, out)).map((r) => r.value?.toString()).sort()).toEqual(['it=Italy', 'no=Norway', 'se=Sweden'])
  })
})

/** Global updates are applied as they are fetched; give the fetch a moment (its wait is bounded by fetchMaxWaitMs). */
async function sleepUntilApplied(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 1500))
}

describe('restarting after a clean close', () => {
  for (const guarantee of ['at_least_once', 'exactly_once_v2'] as const) {
    it(`${guarantee}: writes checkpoints at close, restores nothing on restart and counts on from the restored state`, async () => {
      const brokers = kafkaBrokers()
      const appId = uniqueName(`rt-restart-${guarantee === 'exactly_once_v2' ? 'eos' : 'alos'}`)
      const input = `${appId}-in`
      const output = `${appId}-out`
      await createTopics(brokers, [
        { name: input, partitions: 2 },
        { name: output, partitions: 1, configs: { 'cleanup.policy': 'compact' } }
      ])
      const stateDir = mkdtempSync(join(tmpdir(), 'runnel-rt-restart-'))
      cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }))
      const instance = (): KafkaStreams => {
        const streams = new KafkaStreams(windowedCountTopology(input, output), {
          applicationId: appId,
          bootstrapServers: brokers,
          instanceId: 'only',
          stateDir,
          processingGuarantee: guarantee,
          commitIntervalMs: 200,
          sessionTimeoutMs: 6000,
          heartbeatIntervalMs: 500,
          statusIntervalMs: 0,
          logger: pino({ level: 'silent' })
        })
        cleanups.push(() => streams.close())
        return streams
      }
      const events = makeEvents(3000)
      await produceEvents(brokers, input, 2, events.slice(0, 2000))
      const first = instance()
      await first.start()
      await waitFor('the first 2000 events committed', () => groupCaughtUp(brokers, appId, [input, `${appId}-by-group-repartition`]), 60_000, 300)
      expect(await first.close()).toBe(true)
      for (const task of ['1_0', '1_1']) expect(existsSync(join(stateDir, appId, task, '.checkpoint'))).toBe(true)

      const second = instance()
      await second.start()
      await waitFor('every task running again', () => second.status().tasks.filter((t) => t.phase === 'running').length === 4, 30_000)
      expect(second.status().tasks.map((t) => t.restoredRecords)).toEqual([0, 0, 0, 0])
      await produceEvents(brokers, input, 2, events.slice(2000))
      await waitFor('all 3000 events committed', () => groupCaughtUp(brokers, appId, [input, `${appId}-by-group-repartition`]), 60_000, 300)
      expect(diffCounts(expectedCounts(events), await readLatestCounts(brokers, output))).toEqual([])
    })
  }
})

describe('a fetch that keeps failing', () => {
  it('fails the instance with RUNTIME_FETCH_TIMEOUT once a streak of failures outlasts taskTimeoutMs, instead of staying RUNNING', async () => {
    const brokers = kafkaBrokers()
    const appId = uniqueName('rt-fetch-timeout')
    const input = `${appId}-in`
    const output = `${appId}-out`
    await createTopics(brokers, [
      { name: input, partitions: 2 },
      { name: output, partitions: 1 }
    ])
    // Input fetches succeed until `broken`, then the connection is refused every time (as with a
    // broker that died and whose partitions found no new leader).
    let broken = false
    const supplier: KafkaClientSupplier = {
      ...defaultKafkaClientSupplier,
      getRestoreConsumer: (options) => {
        const consumer = defaultKafkaClientSupplier.getRestoreConsumer(options)
        const fetch = consumer.fetch.bind(consumer)
        consumer.fetch = ((...args: Parameters<typeof fetch>) =>
          broken ? Promise.reject(new NetworkError('Connection refused')) : fetch(...args)) as typeof consumer.fetch
        return consumer
      }
    }
    const streams = streamsFor(windowedCountTopology(input, output), appId, { taskTimeoutMs: 2000, statusIntervalMs: 0, clientSupplier: supplier })
    const events = makeEvents(200)
    await produceEvents(brokers, input, 2, events)
    await streams.start()
    await waitFor('the input committed', () => groupCaughtUp(brokers, appId, [input, `${appId}-by-group-repartition`]), 60_000, 300)
    broken = true
    const brokenAt = Date.now()
    await waitFor('the instance failed', () => streams.state === 'ERROR', 30_000, 100)
    expect(Date.now() - brokenAt).toBeGreaterThanOrEqual(2000)
    expect(streams.error).toMatchObject({ code: 'RUNTIME_FETCH_TIMEOUT' })
    expect(streams.error?.message).toMatch(/^fetching input kept failing for \d+ ms \(taskTimeoutMs 2000\); last cause: network error: Connection refused/)
  })
})
