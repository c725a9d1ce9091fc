/**
 * The runtime's patch to @platformatic/kafka 2.12.1 (patches/@platformatic+kafka+2.12.1.patch),
 * against the real broker:
 * - `consumer.commit` stores a metadata string per offset (the client always sent null);
 * - a transaction's `addOffset({ offsets: [...] })` commits several partitions, each with its
 *   metadata, in one TxnOffsetCommit (the client sent one partition per request, without metadata);
 * - a metadata request for a missing topic fails with an error that keeps the broker's code
 *   (UNKNOWN_TOPIC_OR_PARTITION), so callers match it by code instead of by its message;
 * - `consumer.commit({ rejoin: false })` fails when the generation is stale. Unpatched (and still by
 *   default) the client rejoins the group and commits the same offsets under the new generation, which
 *   for a Streams runtime means committing partitions that may belong to another member by then.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Admin, Consumer, findErrorBy, Producer } from '@platformatic/kafka'
import { createTopics, kafkaBrokers, uniqueName } from './support/kafka.ts'

const closers: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined)
})

async function committed(brokers: string[], groupId: string, topic: string): Promise<Map<number, { offset: bigint; metadata: string | null }>> {
  const admin = new Admin({ clientId: 'patch-test-admin', bootstrapBrokers: brokers })
  try {
    // requireStable: a transactional offset commit becomes visible only once the coordinator has
    // written its marker, which happens after EndTxn returns; until then the broker answers
    // UNSTABLE_OFFSET_COMMIT (without requireStable it would answer the previous offset, -1 here).
    let groups: Awaited<ReturnType<typeof admin.listConsumerGroupOffsets>>
    for (let attempt = 0; ; attempt++) {
      try {
        groups = await admin.listConsumerGroupOffsets({ groups: [{ groupId, topics: [{ name: topic, partitionIndexes: [0, 1, 2] }] }], requireStable: true })
        break
      } catch (err) {
        if (!findErrorBy(err as Error, 'apiId', 'UNSTABLE_OFFSET_COMMIT') || attempt >= 100) throw err
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
    const out = new Map<number, { offset: bigint; metadata: string | null }>()
    for (const t of groups[0]?.topics ?? [])
      for (const p of t.partitions) out.set(p.partitionIndex, { offset: p.committedOffset, metadata: p.metadata ?? null })
    return out
  } finally {
    await admin.close()
  }
}

async function joinedConsumer(brokers: string[], groupId: string, topic: string): Promise<Consumer<Buffer, Buffer, Buffer, Buffer>> {
  const consumer = new Consumer<Buffer, Buffer, Buffer, Buffer>({
    clientId: 'patch-test',
    bootstrapBrokers: brokers,
    groupId,
    autocommit: false,
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000
  })
  closers.push(() => consumer.close(true))
  consumer.topics.trackAll(topic)
  await consumer.joinGroup({})
  return consumer
}

describe('the @platformatic/kafka patch', () => {
  it('answers a metadata request for a missing topic with an error that carries the broker code', async () => {
    const admin = new Admin({ clientId: 'patch-test-admin', bootstrapBrokers: kafkaBrokers() })
    closers.push(() => admin.close())
    const missing = uniqueName('patch-missing')
    const err = await admin.metadata({ topics: [missing] }).then(
      () => undefined,
      (e: unknown) => e
    )
    expect(err).toBeInstanceOf(Error)
    expect(findErrorBy(err as Error, 'apiId', 'UNKNOWN_TOPIC_OR_PARTITION')).toMatchObject({ apiCode: 3, topic: missing, message: `Unknown topic ${missing}.` })
  })

  it('commits offsets with their metadata through the group consumer', async () => {
    const brokers = kafkaBrokers()
    const topic = uniqueName('patch-meta')
    const groupId = uniqueName('patch-meta-group')
    await createTopics(brokers, [{ name: topic, partitions: 3 }])
    const consumer = await joinedConsumer(brokers, groupId, topic)
    await consumer.commit({
      offsets: [
        { topic, partition: 0, offset: 0n, leaderEpoch: -1, metadata: 'AQAAAAAAAAAq' },
        { topic, partition: 2, offset: 0n, leaderEpoch: -1, metadata: null }
      ]
    })
    const stored = await committed(brokers, groupId, topic)
    expect(stored.get(0)).toEqual({ offset: 0n, metadata: 'AQAAAAAAAAAq' })
    expect(stored.get(2)?.metadata ?? '').toBe('')
  })

  it('commits several partitions with their metadata in one transactional offset commit', async () => {
    const brokers = kafkaBrokers()
    const topic = uniqueName('patch-txn')
    const groupId = uniqueName('patch-txn-group')
    await createTopics(brokers, [{ name: topic, partitions: 3 }])
    const consumer = await joinedConsumer(brokers, groupId, topic)
    const producer = new Producer<Buffer, Buffer, Buffer, Buffer>({
      clientId: 'patch-test-producer',
      bootstrapBrokers: brokers,
      idempotent: true,
      transactionalId: uniqueName('patch-txn-id'),
      producerId: -1n,
      producerEpoch: -1
    })
    closers.push(() => producer.close(true))
    const txn = await producer.beginTransaction()
    await txn.send({ messages: [{ topic, partition: 1, key: Buffer.from('k'), value: Buffer.from('v') }] })
    await txn.addConsumer(consumer)
    const coordinatorId = await consumer.findGroupCoordinator()
    const group = { groupId, generationId: consumer.generationId, memberId: consumer.memberId, coordinatorId }
    const offsets = [
      { topic, partition: 0, offset: 4n, metadata: 'zero' },
      { topic, partition: 1, offset: 9n, metadata: 'one' },
      { topic, partition: 2, offset: 0n, metadata: null }
    ]
    await txn.addOffset({ topic, partition: 0, offset: 4n, offsets, metadata: { consumer: group } } as unknown as Parameters<typeof txn.addOffset>[0])
    await txn.commit()
    const stored = await committed(brokers, groupId, topic)
    // Like the client's single-offset form, each offset is the last consumed one: committed + 1.
    expect(stored.get(0)).toEqual({ offset: 5n, metadata: 'zero' })
    expect(stored.get(1)).toEqual({ offset: 10n, metadata: 'one' })
    expect(stored.get(2)?.offset).toBe(1n)
  })

  it('fails a commit under a stale generation with rejoin: false, where the default rejoins and commits anyway', async () => {
    const brokers = kafkaBrokers()
    const topic = uniqueName('patch-rejoin')
    const groupId = uniqueName('patch-rejoin-group')
    await createTopics(brokers, [{ name: topic, partitions: 3 }])
    const consumer = await joinedConsumer(brokers, groupId, topic)
    const generation = consumer.generationId
    // As after a rebalance this member did not take part in: the broker knows a newer generation.
    consumer.generationId = generation - 1
    const offsets = [{ topic, partition: 0, offset: 3n, leaderEpoch: -1 }]
    const refused = await consumer.commit({ offsets, rejoin: false }).then(
      () => undefined,
      (err: unknown) => err as Error
    )
    expect(refused).toBeInstanceOf(Error)
    expect(findErrorBy(refused as Error, 'apiId', 'ILLEGAL_GENERATION')).toBeTruthy()
    expect((await committed(brokers, groupId, topic)).get(0)?.offset ?? -1n).toBe(-1n)
    // The client's default: rejoin, then commit the same offsets under the new generation.
    consumer.generationId = generation - 1
    await consumer.commit({ offsets })
    expect(consumer.generationId).toBeGreaterThan(generation - 1)
    expect((await committed(brokers, groupId, topic)).get(0)?.offset).toBe(3n)
  })
})
