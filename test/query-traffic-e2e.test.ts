/**
 * The query API after a simulator run processed by a traffic worker (the real pipeline): the API
 * follows the outputs while the worker writes them; once the worker has consumed the input,
 * traffic.series for several filters equals the aggregation computed directly from the output
 * topics; every window the worker wrote reaches a traffic.live subscriber, ending at its final value;
 * a second instance started afterwards serves the same answers once ready; system.instances shows
 * the worker with its tasks and its own status report.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  estimatedObservationsPerSecond,
  groupHasConsumed,
  readTrafficOutputs,
  runSimulator,
  startTrafficWorker,
  type RunningTrafficWorker,
  type TrafficTopics
} from '../apps/traffic/index.ts'
import { createQueryClient, startQueryApi, type LiveEvent, type RunningQueryApi } from '../query-api/index.ts'
import { startRegistry, type RunningRegistry } from '../registry/index.ts'
import { SchemaRegistryClient, type TrafficWindowStats } from '../schemas/index.ts'
import { kafkaBrokers, uniqueName } from './support/kafka.ts'
import { eventually, expectedSeries, MIN, seriesDifference } from './query-support.ts'

const TOKEN = 'e2e-query-token-1'
const SENSORS = 4
const SIM_MINUTES = 12

let registry: RunningRegistry
let worker: RunningTrafficWorker | undefined
let dir: string
let topics: TrafficTopics
let applicationId: string
let startMs: number
const apis: RunningQueryApi[] = []
const events: LiveEvent[] = []
let unsubscribe: (() => void) | undefined

async function startApi(instanceId: string): Promise<RunningQueryApi> {
  const api = await startQueryApi(
    {
      port: 0,
      brokers: kafkaBrokers(),
      registryUrl: registry.url,
      tokens: [{ token: TOKEN, scopes: ['read', 'admin'] }],
      store: 'rocksdb',
      stateDir: join(dir, 'query-api'),
      instanceId,
      staticDir: null,
      topics: { stats1m: topics.stats1m, stats5m: topics.stats5m, sessions: topics.sessions },
      trafficApplicationId: applicationId,
      fetchMaxWaitMs: 100
    },
    { logger: pino({ level: 'warn' }), observationsTopic: topics.observations }
  )
  apis.push(api)
  return api
}

beforeAll(async () => {
  const brokers = kafkaBrokers()
  dir = await mkdtemp(join(tmpdir(), 'query-e2e-'))
  registry = await startRegistry({ port: 0, brokers, topic: uniqueName('_schemas-query-e2e') })
  topics = {
    observations: uniqueName('qe2e-observations'),
    stats1m: uniqueName('qe2e-stats1m'),
    stats5m: uniqueName('qe2e-stats5m'),
    sessions: uniqueName('qe2e-sessions')
  }
  applicationId = uniqueName('qe2e-traffic')
  startMs = Math.floor(Date.now() / MIN) * MIN - (SIM_MINUTES + 5) * MIN
  const observations = Math.round(estimatedObservationsPerSecond(SENSORS) * SIM_MINUTES * 60)
  await runSimulator({
    brokers,
    registryUrl: registry.url,
    topic: topics.observations,
    partitions: 3,
    generator: { seed: 8, sensors: SENSORS, observations, startMs },
    ratePerSecond: 0,
    batchSize: 2000,
    realtime: false,
    progress: null
  })
  // The output topics exist before the API starts: the worker creates them, with the contract's configs.
  worker = await startTrafficWorker({
    brokers,
    registryUrl: registry.url,
    topics,
    applicationId,
    stateDir: join(dir, 'worker'),
    instanceId: 'qe2e-worker-1',
    inputPartitions: 3,
    outputPartitions: 3,
    commitIntervalMs: 300
  })
  // Live from the start: the API follows the outputs while the worker writes them.
  const first = await startApi('qe2e-query-1')
  await first.whenReady()
  const subscribed = Promise.withResolvers<void>()
  const sub = createQueryClient({ url: first.url, token: TOKEN }).traffic.live.subscribe(
    { sensorId: 'all', travelerType: 'all', resolution: '1m' },
    {
      onData: (e) => {
        events.push(e)
        if (e.kind === 'subscribed') subscribed.resolve()
      },
      onError: (err) => subscribed.reject(err)
    }
  )
  unsubscribe = () => sub.unsubscribe()
  await subscribed.promise
  await eventually(() => groupHasConsumed(brokers, applicationId, topics.observations), 150_000, 'the worker to consume the simulated run')
})

afterAll(async () => {
  unsubscribe?.()
  for (const api of apis) await api.close()
  await worker?.close()
  await registry?.close()
  await rm(dir, { recursive: true, force: true })
})

async function compareWithOutputs(api: RunningQueryApi): Promise<string | null> {
  const outputs = await readTrafficOutputs(kafkaBrokers(), topics, new SchemaRegistryClient({ url: registry.url }))
  const client = createQueryClient({ url: api.url, token: TOKEN })
  const from = startMs - 5 * MIN
  const to = startMs + (SIM_MINUTES + 10) * MIN
  const sensorIds = [...new Set([...outputs.stats1m.values()].map((v) => v.sensor_id))].sort()
  const filters = [
    { sensorId: 'all', travelerType: 'all' as const, resolution: '1m' as const },
    { sensorId: 'all', travelerType: 'all' as const, resolution: '5m' as const },
    { sensorId: sensorIds[0] as string, travelerType: 'all' as const, resolution: '1m' as const },
    { sensorId: 'all', travelerType: 'CAR' as const, resolution: '5m' as const },
    { sensorId: sensorIds[1] as string, travelerType: 'PEDESTRIAN' as const, resolution: '1m' as const }
  ]
  for (const f of filters) {
    const latest: Map<string, TrafficWindowStats> = f.resolution === '1m' ? outputs.stats1m : outputs.stats5m
    const result = await client.traffic.series.query({ ...f, from, to })
    const diff = seriesDifference(result.points, expectedSeries(latest.values(), f.sensorId, f.travelerType, from, to))
    if (diff !== null) return `${JSON.stringify(f)}: ${diff}`
  }
  const sessionsSeen = (await client.traffic.sessions.query({ sensorId: 'all', from, to, limit: 500 })).items.length
  const sessionsExpected = [...outputs.sessions.values()].filter((s) => s.first_seen >= from && s.first_seen < to).length
  if (sessionsSeen !== Math.min(500, sessionsExpected)) return `sessions: ${sessionsSeen} != ${Math.min(500, sessionsExpected)}`
  return null
}

describe('query API on the traffic pipeline (simulator -> worker -> outputs)', () => {
  it('serves traffic.series equal to the aggregation of the output topics after the worker processed the run', async () => {
    const outputs = await readTrafficOutputs(kafkaBrokers(), topics, new SchemaRegistryClient({ url: registry.url }))
    expect(outputs.stats1m.size).toBeGreaterThan(SENSORS * SIM_MINUTES)
    let last: string | null = 'not compared yet'
    await eventually(async () => (last = await compareWithOutputs(apis[0] as RunningQueryApi)) === null, 30_000, 'the live-following instance to agree').catch(
      (err: unknown) => {
        throw new Error(`${(err as Error).message}: ${String(last)}`)
      }
    )
  })

  it('delivered every window the worker wrote to the live subscriber, the last event of each at its final value', async () => {
    const outputs = await readTrafficOutputs(kafkaBrokers(), topics, new SchemaRegistryClient({ url: registry.url }))
    const lastByKey = new Map<string, Extract<LiveEvent, { kind: 'window' }>>()
    await eventually(
      () => {
        lastByKey.clear()
        for (const e of events) if (e.kind === 'window') lastByKey.set(`${e.sensorId}|${e.travelerType}|${e.windowStart}`, e)
        return lastByKey.size >= outputs.stats1m.size
      },
      30_000,
      'every window to reach the subscriber'
    )
    expect(events.some((e) => e.kind === 'resync')).toBe(false)
    for (const [key, value] of outputs.stats1m) {
      expect(lastByKey.get(key)?.window, key).toEqual({
        observations: value.observations,
        travelers: value.travelers,
        speedSamples: value.speed_samples,
        speedMin: value.speed_min,
        speedMax: value.speed_max,
        speedMean: value.speed_mean
      })
    }
  })

  it('serves the same answers from a second instance started after the run, once it is ready', async () => {
    const second = await startApi('qe2e-query-2')
    await second.whenReady()
    expect(second.health()).toMatchObject({ status: 'ready', records: { refused: 0 } })
    expect(await compareWithOutputs(second)).toBeNull()
  })

  it('shows the worker in system.instances with its tasks and its status report, and its lag in system.lag', async () => {
    const admin = createQueryClient({ url: (apis[0] as RunningQueryApi).url, token: TOKEN })
    await eventually(async () => (await admin.system.instances.query()).instances[0]?.status?.state === 'RUNNING', 30_000, "the worker's status report")
    const { instances } = await admin.system.instances.query()
    expect(instances).toHaveLength(1)
    const [inst] = instances
    expect(inst?.tasks).toEqual(['0_0', '0_1', '0_2'])
    expect(inst?.status?.instanceId).toBe('qe2e-worker-1')
    expect(inst?.status?.tasks.map((t) => t.id)).toEqual(['0_0', '0_1', '0_2'])
    const lag = await admin.system.lag.query()
    // Partitions the worker committed (one without records has no committed offset) are all consumed.
    const input = lag.partitions.filter((p) => p.topic === topics.observations)
    expect(input.length).toBeGreaterThan(0)
    expect(input.every((p) => p.lag === 0 && p.committedOffset === p.endOffset)).toBe(true)
    const topology = await admin.system.topology.query()
    expect(topology.subtopologies[0]?.nodes.find((n) => n.type === 'source')).toMatchObject({ topics: [topics.observations] })
  })
})
