/**
 * The apps' downstream readers on the real broker (`readTopicToEnd`, `groupHasConsumed`), with a
 * transaction left open on a partition as a worker SIGKILLed mid-transaction leaves one: until the
 * broker aborts it, the last stable offset stays at its first record, and the records other producers
 * commit after it are not readable yet. Taking that offset for "the end" (as both readers did) made
 * the exactly-once commerce test stop its workers and read the outputs before the surviving workers
 * had consumed the typed records behind the dead worker's transaction: outputs lower than the
 * reference, only when the kill landed inside a transaction that had written to the typed topics.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Consumer, Producer } from '@platformatic/kafka'
import { groupHasConsumed, readTopicToEnd } from '../apps/shared/index.ts'
import { createTopics, kafkaBrokers, uniqueName } from './support/kafka.ts'

const closers: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined)
})

function transactionalProducer(brokers: string[]): Producer<Buffer, Buffer, Buffer, Buffer> {
  const producer = new Producer<Buffer, Buffer, Buffer, Buffer>({
    clientId: 'topic-reader-test',
    bootstrapBrokers: brokers,
    idempotent: true,
    transactionalId: uniqueName('topic-reader-txn'),
    producerId: -1n,
    producerEpoch: -1
  })
  closers.push(() => producer.close(true))
  return producer
}

const message = (topic: string, partition: number, text: string): { topic: string; partition: number; key: Buffer; value: Buffer } => ({
  topic,
  partition,
  key: Buffer.from(text),
  value: Buffer.from(text)
})

describe('readers of a topic with a transaction left open', () => {
  it('waits for an open transaction to end instead of stopping at its first record, and fails naming the partition if it does not', async () => {
    const brokers = kafkaBrokers()
    const topic = uniqueName('topic-reader')
    await createTopics(brokers, [{ name: topic, partitions: 2 }])
    const zombie = transactionalProducer(brokers)
    const live = transactionalProducer(brokers)

    const before = await live.beginTransaction()
    await before.send({ messages: [message(topic, 0, 'a')] })
    await before.commit()
    const open = await zombie.beginTransaction()
    await open.send({ messages: [message(topic, 0, 'zombie')] })
    const after = await live.beginTransaction()
    await after.send({ messages: [message(topic, 0, 'b'), message(topic, 1, 'c')] })
    await after.commit()

    // Offsets of partition 0: a, its commit marker, zombie, b, the commit marker of b.
    await expect(readTopicToEnd(brokers, topic, { stableWithinMs: 1_000 })).rejects.toThrow(
      new RegExp(`transaction is still open on ${topic}-0 \\(last stable offset 2, log end 5\\)`)
    )

    const reading = readTopicToEnd(brokers, topic, { stableWithinMs: 20_000 })
    await new Promise((resolve) => setTimeout(resolve, 500))
    await open.abort()
    const records = await reading
    expect(records.map((r) => `${r.partition}:${r.value?.toString()}`)).toEqual(['0:a', '0:b', '1:c'])
  })
  it('groupHasConsumed: a group at the last stable offset behind an open transaction has not consumed the topic', async () => {
    const brokers = kafkaBrokers()
    const topic = uniqueName('group-consumed')
    const groupId = uniqueName('group-consumed-group')
    await createTopics(brokers, [{ name: topic, partitions: 1 }])
    const zombie = transactionalProducer(brokers)
    const live = transactionalProducer(brokers)
    const open = await zombie.beginTransaction()
    await open.send({ messages: [message(topic, 0, 'zombie')] })
    const after = await live.beginTransaction()
    await after.send({ messages: [message(topic, 0, 'b')] })
    await after.commit()
    // Offsets: zombie (0), b (1), the commit marker of b (2); the last stable offset is 0.
    const consumer = new Consumer<Buffer, Buffer, Buffer, Buffer>({ clientId: 'group-consumed-test', bootstrapBrokers: brokers, groupId, autocommit: false })
    closers.push(() => consumer.close(true))
    consumer.topics.trackAll(topic)
    await consumer.joinGroup({})
    const commitAt = (offset: bigint): Promise<void> => consumer.commit({ offsets: [{ topic, partition: 0, offset, leaderEpoch: -1 }] })

    await commitAt(0n)
    expect(await groupHasConsumed(brokers, groupId, topic)).toBe(false)
    await open.abort()
    expect(await groupHasConsumed(brokers, groupId, topic)).toBe(false)
    await commitAt(4n) // past the abort marker (3)
    expect(await groupHasConsumed(brokers, groupId, [topic])).toBe(true)
  })
})
