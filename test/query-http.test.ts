/**
 * The query API's edge on a real instance: 401/403/400 over real HTTP, TLS with a self-signed
 * certificate, and the system.* procedures against a real consumer group on the broker.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Consumer, ListOffsetTimestamps, Producer, stringDeserializer, stringSerializer } from '@platformatic/kafka'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTrafficTopology } from '../apps/traffic/index.ts'
import { createQueryClient, startQueryApi, type LiveEvent, type QueryApiOptions, type RunningQueryApi } from '../query-api/index.ts'
import { startRegistry, type RunningRegistry } from '../registry/index.ts'
import { SchemaRegistryClient } from '../schemas/index.ts'
import { createTopics, kafkaBrokers, uniqueName } from './support/kafka.ts'
import {
  ContractProducer,
  createOutputTopics,
  eventually,
  MIN,
  prng,
  randomStats,
  recentStart,
  selfSignedCertificate,
  type OutputTopics
} from './query-support.ts'

const T0 = recentStart()
const READ = 'http-it-reader-1'
const ADMIN = 'http-it-admin-01'

let registry: RunningRegistry
let topics: OutputTopics
let dir: string
let api: RunningQueryApi
const appId = uniqueName('query-it-traffic-app')
const observations = uniqueName('query-it-observations')

function options(extra: Partial<QueryApiOptions> = {}): QueryApiOptions {
  return {
    port: 0,
    brokers: kafkaBrokers(),
    registryUrl: registry.url,
    tokens: [
      { token: READ, scopes: ['read'] },
      { token: ADMIN, scopes: ['admin'] }
    ],
    store: 'memory',
    stateDir: dir,
    instanceId: uniqueName('qa-http'),
    staticDir: null,
    topics,
    trafficApplicationId: appId,
    maxRangeMs: 6 * 60 * MIN,
    ...extra
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'query-http-it-'))
  registry = await startRegistry({ port: 0, brokers: kafkaBrokers(), topic: uniqueName('_schemas-query-http') })
  topics = await createOutputTopics(kafkaBrokers(), 'query-http')
  const producer = await ContractProducer.open(kafkaBrokers(), registry.url, topics)
  const v = randomStats(prng(1), 's-1', 'CAR', T0, MIN)
  await producer.sendStats([{ resolution: '1m', key: `s-1|CAR|${T0}`, value: v }])
  await producer.close()
  // The workers' status topic exists before the API starts (the runtime creates it); reports come later.
  await createTopics(kafkaBrokers(), [{ name: `${appId}-status`, partitions: 1, configs: { 'cleanup.policy': 'compact' } }])
  api = await startQueryApi(options(), { logger: pino({ level: 'warn' }), observationsTopic: observations })
  await api.whenReady()
})

afterAll(async () => {
  await api?.close()
  await registry?.close()
  await rm(dir, { recursive: true, force: true })
})

async function get(path: string, input: unknown, token?: string): Promise<{ status: number; message: string | undefined }> {
  const query = input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`
  const res = await fetch(`${api.url}/trpc/${path}${query}`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } })
  const body = (await res.json()) as { error?: { message: string } }
  return { status: res.status, message: body.error?.message }
}

describe('query API auth and input errors over real HTTP', () => {
  const series = { sensorId: 's-1', travelerType: 'all', from: T0, to: T0 + 10 * MIN, resolution: '1m' }

  it('answers 401 without or with an unknown token, on every procedure but health', async () => {
    for (const path of ['traffic.sensors', 'traffic.series', 'traffic.sessions', 'system.topology', 'system.lag', 'system.instances']) {
      expect((await get(path, undefined)).status).toBe(401)
      expect((await get(path, undefined, 'not-a-real-token')).status).toBe(401)
    }
    expect((await get('system.health', undefined)).status).toBe(200)
  })

  it('answers system.health without a token with its readiness only, and the full report with a read or admin token', async () => {
    const health = async (token?: string): Promise<unknown> => {
      const res = await fetch(`${api.url}/trpc/system.health`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } })
      expect(res.status).toBe(200)
      return ((await res.json()) as { result: { data: unknown } }).result.data
    }
    expect(await health()).toEqual({ status: 'ready', ready: true })
    expect(await health('not-a-real-token')).toEqual({ status: 'ready', ready: true })
    for (const token of [READ, ADMIN]) {
      expect(await health(token)).toMatchObject({
        status: 'ready',
        ready: true,
        instanceId: api.config.instanceId,
        kafka: { topics: expect.arrayContaining([topics.stats1m]) }
      })
    }
  })

  it('answers 403 when the token lacks the scope', async () => {
    expect(await get('traffic.series', series, ADMIN)).toMatchObject({
      status: 403,
      message: 'a token with the "read" scope is required for traffic.* and commerce.* procedures'
    })
    expect((await get('system.lag', undefined, READ)).status).toBe(403)
    expect((await get('traffic.series', series, READ)).status).toBe(200)
  })

  it('answers 400 with a clear message for malformed input, an unknown sensor and a range past the maximum', async () => {
    expect(await get('traffic.series', { ...series, from: T0 + MIN, to: T0 }, READ)).toMatchObject({
      status: 400,
      message: expect.stringMatching(/from .* must not be after to/)
    })
    expect(await get('traffic.series', { ...series, sensorId: 'ghost' }, READ)).toMatchObject({
      status: 400,
      message: expect.stringMatching(/unknown sensor "ghost"/)
    })
    expect(await get('traffic.series', { ...series, to: T0 + 7 * 60 * MIN }, READ)).toMatchObject({
      status: 400,
      message: expect.stringMatching(/at most 21600000 ms \(6 h\)/)
    })
    expect(await get('traffic.series', { ...series, from: '2025-01-01' }, READ)).toMatchObject({
      status: 400,
      message: 'invalid input: from: must be a number of epoch milliseconds'
    })
    expect(await get('traffic.sessions', { from: T0, to: T0 + MIN, cursor: 'x'.repeat(3000) }, READ)).toMatchObject({ status: 400 })
  })
})

describe('query API system procedures against a real consumer group', () => {
  it("reports the workers' lag per partition, their instances with tasks, and the traffic topology", async () => {
    const brokers = kafkaBrokers()
    await createTopics(brokers, [{ name: observations, partitions: 4 }])
    const producer = new Producer({
      clientId: 'query-it-obs',
      bootstrapBrokers: brokers,
      idempotent: true,
      acks: -1,
      serializers: { key: stringSerializer, value: stringSerializer, headerKey: stringSerializer, headerValue: stringSerializer }
    })
    await producer.send({ messages: Array.from({ length: 40 }, (_, i) => ({ topic: observations, partition: i % 4, key: `s-${i}`, value: `v-${i}` })) })
    await producer.close()
    // A stand-in worker: a member of the application's group that commits some offsets.
    const consumer = new Consumer({
      clientId: `${appId}-worker-1`,
      groupId: appId,
      bootstrapBrokers: brokers,
      deserializers: { key: stringDeserializer, value: stringDeserializer, headerKey: stringDeserializer, headerValue: stringDeserializer }
    })
    const ends = (await consumer.listOffsets({ topics: [observations], timestamp: ListOffsetTimestamps.LATEST })).get(observations)?.map(Number) ?? []
    expect(ends).toHaveLength(4)
    const stream = await consumer.consume({ topics: [observations], mode: 'earliest', autocommit: false })
    try {
      for await (const message of stream) {
        if (message.offset >= 0n) break
      }
      // Commit 4 short of the end on partition 0 and the end elsewhere: lag 4, on partition 0 only.
      const committed = ends.map((end, partition) => (partition === 0 ? end - 4 : end))
      await consumer.commit({ offsets: committed.map((offset, partition) => ({ topic: observations, partition, offset: BigInt(offset), leaderEpoch: 0 })) })
      const admin = createQueryClient({ url: api.url, token: ADMIN })
      await eventually(async () => (await admin.system.lag.query()).partitions.length === 4, 20_000, 'committed offsets')
      const lag = await admin.system.lag.query()
      expect(lag.groupId).toBe(appId)
      expect(lag.partitions).toEqual(
        [0, 1, 2, 3].map((partition) => ({
          topic: observations,
          partition,
          committedOffset: committed[partition],
          endOffset: ends[partition],
          lag: partition === 0 ? 4 : 0
        }))
      )
      expect(lag.totalLag).toBe(4)

      const topology = await admin.system.topology.query()
      const expected = buildTrafficTopology({ registry: new SchemaRegistryClient({ url: registry.url }), topics: { ...topics, observations } }).describe()
      expect(topology.subtopologies).toEqual(JSON.parse(JSON.stringify(expected.subtopologies)))
      expect(topology.text).toBe(expected.toString())
      const sourceSub = topology.subtopologies.find((s) => s.nodes.some((n) => n.type === 'source' && n.topics.includes(observations)))
      expect(sourceSub).toBeDefined()

      // Status reports as the runtime publishes them: one for this member, one for an instance that left.
      const statusProducer = new Producer({
        clientId: 'query-it-status',
        bootstrapBrokers: brokers,
        idempotent: true,
        acks: -1,
        serializers: { key: stringSerializer, value: stringSerializer, headerKey: stringSerializer, headerValue: stringSerializer }
      })
      const report = (instanceId: string, memberId: string): string =>
        JSON.stringify({
          applicationId: appId,
          instanceId,
          state: 'RUNNING',
          processingGuarantee: 'at_least_once',
          memberId,
          generationId: 1,
          startedAtMs: Date.now() - 1000,
          updatedAtMs: Date.now(),
          recordsProcessedTotal: 40,
          recordsPerSecond: 12.5,
          commits: 2,
          lastCommitAtMs: Date.now(),
          error: null,
          metricsPort: null,
          tasks: [
            {
              id: `${sourceSub?.id}_0`,
              subtopology: 0,
              partition: 0,
              phase: 'running',
              inputs: [],
              recordsProcessed: 10,
              streamTimeMs: 5,
              bufferedRecords: 0,
              restoredRecords: 0,
              restoreRemainingOffsets: 0,
              droppedRecords: {}
            }
          ],
          partitions: [{ topic: observations, partition: 0, task: '0_0', position: 10, committedOffset: 6, endOffset: 10, lag: 4 }]
        })
      await statusProducer.send({
        messages: [
          { topic: `${appId}-status`, key: 'worker-1', value: report('worker-1', consumer.memberId ?? '') },
          { topic: `${appId}-status`, key: 'worker-gone', value: report('worker-gone', 'member-that-left') }
        ]
      })
      await statusProducer.close()
      await eventually(async () => (await admin.system.instances.query()).unattachedReports?.length === 1, 20_000, 'the status reports')

      const instances = await admin.system.instances.query()
      expect(instances.groupId).toBe(appId)
      expect(instances.instances[0]?.status).toMatchObject({
        instanceId: 'worker-1',
        state: 'RUNNING',
        recordsPerSecond: 12.5,
        inputLag: 4,
        stale: false,
        tasks: [{ id: `${sourceSub?.id}_0`, phase: 'running' }]
      })
      expect(instances.unattachedReports?.map((r) => r.instanceId)).toEqual(['worker-gone'])
      expect(instances.state).toMatch(/STABLE/i)
      expect(instances.instances).toHaveLength(1)
      expect(instances.instances[0]).toMatchObject({
        clientId: `${appId}-worker-1`,
        assignments: [{ topic: observations, partitions: [0, 1, 2, 3] }],
        tasks: [0, 1, 2, 3].map((p) => `${sourceSub?.id}_${p}`)
      })
    } finally {
      await stream.close()
      await consumer.close(true)
    }
  })

  it('reports an unknown group as empty rather than failing', async () => {
    const other = await startQueryApi(options({ trafficApplicationId: uniqueName('no-such-app'), instanceId: uniqueName('qa-http-2') }), {
      logger: pino({ level: 'warn' })
    })
    try {
      const admin = createQueryClient({ url: other.url, token: ADMIN })
      expect(await admin.system.lag.query()).toMatchObject({ partitions: [], totalLag: 0 })
      expect((await admin.system.instances.query()).instances).toEqual([])
    } finally {
      await other.close()
    }
  })
})

describe('query API over TLS', () => {
  it('serves https with the configured certificate and key, and refuses plain http on that port', async () => {
    const tls = selfSignedCertificate(dir)
    // The openssl CLI is part of the machine's setup; without it this test cannot make a certificate.
    expect(tls, 'openssl must be installed to generate the test certificate').toBeDefined()
    if (tls === undefined) return
    const ca = await readFile(tls.certFile)
    const secure = await startQueryApi(options({ tls, instanceId: uniqueName('qa-tls') }), { logger: pino({ level: 'warn' }) })
    try {
      expect(secure.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
      await secure.whenReady()
      const fetchTls = (path: string, token?: string): Promise<{ status: number; body: string }> =>
        new Promise((resolve, reject) => {
          const req = httpsRequest(`${secure.url}${path}`, { ca, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } }, (res) => {
            let body = ''
            res
              .setEncoding('utf8')
              .on('data', (c: string) => {
                body += c
              })
              .on('end', () => resolve({ status: res.statusCode ?? 0, body }))
          })
          req.on('error', reject)
          req.end()
        })
      const health = await fetchTls('/trpc/system.health')
      expect(health.status).toBe(200)
      expect(JSON.parse(health.body).result.data).toEqual({ status: 'ready', ready: true })
      expect((await fetchTls('/trpc/traffic.sensors')).status).toBe(401)
      const sensors = await fetchTls('/trpc/traffic.sensors', READ)
      expect(sensors.status).toBe(200)
      expect(JSON.parse(sensors.body).result.data.sensors.map((s: { sensorId: string }) => s.sensorId)).toEqual(['s-1'])
      // An untrusted certificate is refused by the client.
      await expect(
        new Promise((resolve, reject) => {
          const req = httpsRequest(`${secure.url}/trpc/system.health`, (res) => resolve(res.statusCode))
          req.on('error', reject)
          req.end()
        })
      ).rejects.toThrow(/self-signed|certificate/i)
      // Plain HTTP gets no HTTP answer from a TLS port.
      const plain = await new Promise<string>((resolve) => {
        const req = httpRequest(secure.url.replace('https:', 'http:') + '/trpc/system.health', (res) => resolve(`status ${res.statusCode}`))
        req.on('error', (err) => resolve(`error ${err.message}`))
        req.setTimeout(5000, () => req.destroy(new Error('timeout')))
        req.end()
      })
      expect(plain).not.toBe('status 200')
      // Subscriptions over TLS with the Node EventSource trusting the CA.
      const client = createQueryClient({ url: secure.url, token: READ, ca })
      const first = await new Promise<LiveEvent>((resolve, reject) => {
        const sub = client.traffic.live.subscribe(
          {},
          {
            onData: (e) => {
              sub.unsubscribe()
              resolve(e)
            },
            onError: reject
          }
        )
      })
      expect(first).toMatchObject({ kind: 'subscribed', ready: true })
    } finally {
      await secure.close()
    }
  })
})
