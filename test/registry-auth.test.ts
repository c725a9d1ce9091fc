/**
 * A schema registry that requires credentials, on the real broker, with the project's own clients
 * given them: the traffic simulator (kafkajs' Confluent client: basic auth through its option, a
 * bearer token through a request middleware), the traffic worker's serdes and the query API's
 * readers (`SchemaRegistryClient`). They register, produce, process and materialize as usual; a
 * request without credentials, or with wrong ones, gets 401.
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
import { createQueryClient, startQueryApi, type RunningQueryApi } from '../query-api/index.ts'
import { startRegistry, type RunningRegistry } from '../registry/index.ts'
import { SchemaRegistryClient, type SchemaRegistryAuth } from '../schemas/index.ts'
import { kafkaBrokers, uniqueName } from './support/kafka.ts'
import { eventually, MIN } from './query-support.ts'

const BASIC: SchemaRegistryAuth = { basic: { username: 'runnel', password: 'pa55:word' } }
const BEARER: SchemaRegistryAuth = { bearerToken: 'registry-token-7' }
const TOKEN = 'registry-auth-query-token'

let dir: string
let registry: RunningRegistry | undefined
let worker: RunningTrafficWorker | undefined
let api: RunningQueryApi | undefined
let topics: TrafficTopics
let applicationId: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'registry-auth-'))
  registry = await startRegistry({
    port: 0,
    brokers: kafkaBrokers(),
    topic: uniqueName('_schemas-auth'),
    basicAuthUsers: [{ username: 'runnel', password: 'pa55:word' }],
    bearerTokens: ['registry-token-7']
  })
  topics = {
    observations: uniqueName('rauth-observations'),
    stats1m: uniqueName('rauth-stats1m'),
    stats5m: uniqueName('rauth-stats5m'),
    sessions: uniqueName('rauth-sessions')
  }
  applicationId = uniqueName('rauth-traffic')
})

afterAll(async () => {
  await api?.close()
  await worker?.close()
  await registry?.close()
  await rm(dir, { recursive: true, force: true })
})

describe('a schema registry that requires credentials', () => {
  it('refuses requests without them or with wrong ones (401)', async () => {
    const url = (registry as RunningRegistry).url
    expect((await fetch(`${url}/subjects`)).status).toBe(401)
    const wrong = Buffer.from('runnel:wrong').toString('base64')
    expect((await fetch(`${url}/subjects`, { headers: { authorization: `Basic ${wrong}` } })).status).toBe(401)
    expect((await fetch(`${url}/subjects`, { headers: { authorization: 'Bearer not-the-token' } })).status).toBe(401)
    await expect(new SchemaRegistryClient({ url }).schemaById(1)).rejects.toMatchObject({ status: 401 })
  })

  it('works for the simulator (basic and bearer), the worker and the query API when they are given them', async () => {
    const brokers = kafkaBrokers()
    const registryUrl = (registry as RunningRegistry).url
    const startMs = Math.floor(Date.now() / MIN) * MIN - 20 * MIN
    const observations = Math.round(estimatedObservationsPerSecond(3) * 4 * 60)
    const sending = { brokers, topic: topics.observations, partitions: 3, ratePerSecond: 0, batchSize: 2000, realtime: false, progress: null } as const
    await runSimulator({ ...sending, registryUrl, registryAuth: BASIC, generator: { seed: 31, sensors: 3, observations, startMs } })
    await runSimulator({ ...sending, registryUrl, registryAuth: BEARER, generator: { seed: 32, sensors: 3, observations, startMs: startMs + 8 * MIN } })

    worker = await startTrafficWorker({
      brokers,
      registryUrl,
      registryAuth: BEARER,
      topics,
      applicationId,
      stateDir: join(dir, 'worker'),
      instanceId: 'rauth-worker',
      inputPartitions: 3,
      outputPartitions: 3,
      commitIntervalMs: 300
    })
    await eventually(() => groupHasConsumed(brokers, applicationId, topics.observations), 120_000, 'the worker to consume the simulated runs')
    const outputs = await readTrafficOutputs(brokers, topics, new SchemaRegistryClient({ url: registryUrl, auth: BASIC }))
    expect(outputs.stats1m.size).toBeGreaterThan(0)

    api = await startQueryApi(
      {
        port: 0,
        brokers,
        registryUrl,
        registryAuth: BASIC,
        tokens: [{ token: TOKEN, scopes: ['read', 'admin'] }],
        store: 'memory',
        stateDir: join(dir, 'query-api'),
        instanceId: 'rauth-query',
        staticDir: null,
        topics: { stats1m: topics.stats1m, stats5m: topics.stats5m, sessions: topics.sessions },
        trafficApplicationId: applicationId,
        fetchMaxWaitMs: 100
      },
      { logger: pino({ level: 'warn' }), observationsTopic: topics.observations }
    )
    await api.whenReady()
    const client = createQueryClient({ url: api.url, token: TOKEN })
    // Every window the worker wrote was decoded (its writer schema fetched with the credentials): none refused.
    await eventually(async () => (await client.traffic.sensors.query()).sensors.length === 3, 60_000, 'the query API to materialize the three sensors')
    const health = await client.system.health.query()
    expect(health).toMatchObject({ records: { refused: 0 } })
  }, 240_000)
})
