/**
 * The 3-node local cluster (dev/kafka, ports 19092/29092/39092) tolerates losing a node: a topic with
 * replication factor 3 and min.insync.replicas 2 still takes writes and serves reads with one node down,
 * and the schema registry (its log read through kafka/PartitionReader) keeps registering after the
 * leader of its topic was killed. These tests start and stop that cluster themselves, independently
 * of the broker the other tests use.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { Admin, Consumer, ListOffsetTimestamps, Producer, ProduceAcks, compatibilityPartitioner, MessagesStreamModes } from '@platformatic/kafka'
import { startKafka, startNode, stopKafka, stopNode } from '../dev/kafka/cluster.ts'
import { startRegistry } from '../registry/index.ts'
import { createTopics, uniqueName } from './support/kafka.ts'

async function produce(brokers: string[], topic: string, from: number, count: number): Promise<void> {
  const producer = new Producer({
    clientId: 'cluster-producer',
    bootstrapBrokers: brokers,
    partitioner: compatibilityPartitioner,
    acks: ProduceAcks.ALL,
    // A send retried after the leader moved (its first attempt may have been written) must not
    // write the record twice: without idempotence the log held duplicates under load.
    idempotent: true,
    retries: 10,
    retryDelay: 500
  })
  try {
    const messages = Array.from({ length: count }, (_, i) => ({ topic, key: Buffer.from(`k${(from + i) % 50}`), value: Buffer.from(String(from + i)) }))
    await producer.send({ messages })
  } finally {
    await producer.close()
  }
}

async function consumeOnce(brokers: string[], topic: string, expected: number, stallMs: number): Promise<number[] | undefined> {
  const consumer = new Consumer({ clientId: 'cluster-consumer', groupId: uniqueName('cluster-group'), bootstrapBrokers: brokers, retries: 10, retryDelay: 500 })
  const values: number[] = []
  let timer: NodeJS.Timeout | undefined
  try {
    const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false })
    const drained = (async () => {
      for await (const message of stream) {
        values.push(Number(message.value.toString()))
        if (values.length === expected) return true
      }
      return false
    })()
    const stalled = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), stallMs)
    })
    const done = await Promise.race([drained, stalled])
    await stream.close()
    return done ? values.sort((a, b) => a - b) : undefined
  } finally {
    clearTimeout(timer)
    await consumer.close(true).catch(() => undefined)
  }
}

/**
 * Reads `expected` records. The group coordinator may have lived on the stopped node; a consumer
 * that stalls while the client rediscovers it is replaced by a fresh one (at most 3 tries).
 */
async function consumeAll(brokers: string[], topic: string, expected: number): Promise<number[]> {
  for (let attempt = 1; attempt <= 3; attempt++) {
    const values = await consumeOnce(brokers, topic, expected, 25_000)
    if (values !== undefined) return values
  }
  throw new Error(`could not read ${expected} records from ${topic} in 3 attempts`)
}

/** Waits until every partition of `topic` is led by one of `nodeIds`. */
async function waitForLeaders(brokers: string[], topic: string, nodeIds: number[]): Promise<void> {
  const admin = new Admin({ clientId: 'cluster-admin', bootstrapBrokers: brokers })
  try {
    const deadline = Date.now() + 30_000
    for (;;) {
      const metadata = await admin.metadata({ topics: [topic], forceUpdate: true })
      const partitions = metadata.topics.get(topic)?.partitions ?? []
      if (partitions.length > 0 && partitions.every((p) => nodeIds.includes(p.leader))) return
      if (Date.now() > deadline) throw new Error(`partitions of ${topic} still led by a stopped node`)
      await new Promise((r) => setTimeout(r, 250))
    }
  } finally {
    await admin.close()
  }
}

/** The node that leads `partition` of `topic`. */
async function leaderOf(brokers: string[], topic: string, partition: number): Promise<number> {
  const admin = new Admin({ clientId: 'cluster-admin', bootstrapBrokers: brokers })
  try {
    const leader = (await admin.metadata({ topics: [topic], forceUpdate: true })).topics.get(topic)?.partitions[partition]?.leader
    if (leader === undefined || leader < 0) throw new Error(`${topic}-${partition} has no leader`)
    return leader
  } finally {
    await admin.close()
  }
}

/** Registers a record schema with one field `field` under `subject`; the HTTP status and body. */
async function register(url: string, subject: string, field: string): Promise<{ status: number; body: string }> {
  const schema = JSON.stringify({ type: 'record', name: 'Reading', fields: [{ name: field, type: ['null', 'int'], default: null }] })
  const res = await fetch(`${url}/subjects/${subject}/versions`, {
    method: 'POST',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ schema })
  })
  return { status: res.status, body: await res.text() }
}

describe('the 3-node local cluster', () => {
  afterAll(async () => {
    await stopKafka('cluster')
  })

  it('keeps the schema registry writable after the leader of its topic is killed', async () => {
    const { brokers } = await startKafka('cluster')
    const topic = uniqueName('_schemas-cluster')
    const registry = await startRegistry({ port: 0, brokers, topic })
    let killed: number | undefined
    try {
      expect((await register(registry.url, 'before-value', 'a')).status).toBe(200)
      killed = await leaderOf(brokers, topic, 0)
      await stopNode('cluster', killed, 'SIGKILL')
      // A registration waits for its own record to come back through the log: it fails while the
      // partition has no leader and the clients have not found the new one, then succeeds. The
      // budget is the time the cluster needs to elect (session timeout) plus the clients' refresh.
      const deadline = Date.now() + 90_000
      let last = { status: 0, body: '' }
      while (Date.now() < deadline) {
        last = await register(registry.url, 'after-value', 'b').catch((err: unknown) => ({ status: 0, body: String(err) }))
        if (last.status === 200) break
        await new Promise((resolve) => setTimeout(resolve, 1000))
      }
      expect(last).toMatchObject({ status: 200 })
      // Later registrations go straight through, and a new instance replays both from the log.
      expect((await register(registry.url, 'after-value', 'c')).status).toBe(200)
      const second = await startRegistry({ port: 0, brokers, topic })
      try {
        const subjects = (await (await fetch(`${second.url}/subjects`)).json()) as string[]
        expect(subjects.sort()).toEqual(['after-value', 'before-value'])
        const versions = (await (await fetch(`${second.url}/subjects/after-value/versions`)).json()) as number[]
        expect(versions).toEqual([1, 2])
      } finally {
        await second.close()
      }
    } finally {
      await registry.close()
      if (killed !== undefined) await startNode('cluster', killed)
    }
  })

  it('still produces and consumes a replicated topic with one node stopped', async () => {
    const { brokers } = await startKafka('cluster')
    expect(brokers).toEqual(['127.0.0.1:19092', '127.0.0.1:29092', '127.0.0.1:39092'])
    const topic = uniqueName('replicated')
    await createTopics(brokers, [{ name: topic, partitions: 3, replicas: 3, configs: { 'min.insync.replicas': '2' } }])

    await produce(brokers, topic, 0, 300)
    // Consuming before the failure creates __consumer_offsets (replication factor 3), as it exists
    // in any running cluster: with one node fenced it could no longer be created with 3 replicas.
    expect(await consumeAll(brokers, topic, 300)).toEqual(Array.from({ length: 300 }, (_, i) => i))
    await stopNode('cluster', 3, 'SIGKILL')
    const survivors = brokers.slice(0, 2)
    await waitForLeaders(survivors, topic, [1, 2])
    await produce(survivors, topic, 300, 300)

    // Exactly 600 records in the log (no duplicate written by a retried send), then all of them read.
    const offsets = new Consumer({
      clientId: 'cluster-offsets',
      groupId: uniqueName('cluster-offsets'),
      bootstrapBrokers: survivors,
      retries: 10,
      retryDelay: 500
    })
    try {
      const ends = (await offsets.listOffsets({ topics: [topic], timestamp: ListOffsetTimestamps.LATEST })).get(topic) ?? []
      expect(ends.reduce((n, end) => n + Number(end), 0)).toBe(600)
    } finally {
      await offsets.close(true)
    }
    const values = await consumeAll(survivors, topic, 600)
    expect(values).toEqual(Array.from({ length: 600 }, (_, i) => i))
  })
})
