/**
 * Proof that the integration tests talk to a real Kafka broker: a compacted topic created with
 * @platformatic/kafka's admin, 10,000 keyed records across 6 partitions produced with
 * @platformatic/kafka and read back with both @platformatic/kafka and kafkajs.
 */
import { describe, expect, it } from 'vitest'
import { Admin, Consumer, Producer, compatibilityPartitioner, MessagesStreamModes } from '@platformatic/kafka'
import { Kafka, logLevel } from 'kafkajs'
import { createTopics, kafkaBrokers, uniqueName } from './support/kafka.ts'

const RECORDS = 10_000
const PARTITIONS = 6
const KEYS = 200

interface Seen { partition: number, offset: bigint, key: string, seq: number }

/** Every key must sit in one partition, and sequence numbers rise with offsets in each partition. */
function checkOrder(seen: Seen[]): void {
  expect(seen).toHaveLength(RECORDS)
  expect(new Set(seen.map((s) => s.seq)).size).toBe(RECORDS)
  const byPartition = new Map<number, Seen[]>()
  for (const s of seen) byPartition.set(s.partition, [...(byPartition.get(s.partition) ?? []), s])
  expect(byPartition.size).toBe(PARTITIONS)
  for (const records of byPartition.values()) {
    records.sort((a, b) => (a.offset < b.offset ? -1 : 1))
    for (let i = 1; i < records.length; i++) {
      const prev = records[i - 1]
      const cur = records[i]
      if (prev === undefined || cur === undefined) throw new Error('unreachable')
      expect(cur.seq).toBeGreaterThan(prev.seq)
    }
  }
  const partitionOfKey = new Map<string, number>()
  for (const s of seen) {
    const p = partitionOfKey.get(s.key)
    if (p === undefined) partitionOfKey.set(s.key, s.partition)
    else expect(s.partition).toBe(p)
  }
}

describe('the local Kafka broker', () => {
  it('keeps count, per-partition order and key placement of 10,000 records read by two different clients', async () => {
    const brokers = kafkaBrokers()
    const topic = uniqueName('proof')
    await createTopics(brokers, [{ name: topic, partitions: PARTITIONS, configs: { 'cleanup.policy': 'compact' } }])

    const admin = new Admin({ clientId: 'proof-admin', bootstrapBrokers: brokers })
    const configs = await admin.describeConfigs({ resources: [{ resourceType: 2, resourceName: topic, configurationKeys: ['cleanup.policy'] }] })
    await admin.close()
    expect(configs[0]?.configs.find((c) => c.name === 'cleanup.policy')?.value).toBe('compact')

    // Java-compatible murmur2 placement, the same as kafkajs' default partitioner.
    const producer = new Producer({ clientId: 'proof-producer', bootstrapBrokers: brokers, partitioner: compatibilityPartitioner })
    for (let start = 0; start < RECORDS; start += 1000) {
      const messages = []
      for (let seq = start; seq < start + 1000; seq++) {
        messages.push({ topic, key: Buffer.from(`key-${seq % KEYS}`), value: Buffer.from(String(seq)) })
      }
      await producer.send({ messages })
    }
    await producer.close()

    const platformatic: Seen[] = []
    const consumer = new Consumer({ clientId: 'proof-consumer', groupId: uniqueName('proof-group'), bootstrapBrokers: brokers })
    const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false })
    for await (const message of stream) {
      platformatic.push({ partition: message.partition, offset: message.offset, key: message.key.toString(), seq: Number(message.value.toString()) })
      if (platformatic.length === RECORDS) break
    }
    await stream.close()
    await consumer.close(true)
    checkOrder(platformatic)

    const kafka = new Kafka({ clientId: 'proof-kafkajs', brokers, logLevel: logLevel.NOTHING })
    const kjs = kafka.consumer({ groupId: uniqueName('proof-kafkajs-group') })
    await kjs.connect()
    await kjs.subscribe({ topic, fromBeginning: true })
    const viaKafkajs: Seen[] = []
    await new Promise<void>((resolve, reject) => {
      kjs.run({
        eachMessage: async ({ partition, message }) => {
          viaKafkajs.push({ partition, offset: BigInt(message.offset), key: message.key?.toString() ?? '', seq: Number(message.value?.toString()) })
          if (viaKafkajs.length === RECORDS) resolve()
        }
      }).catch(reject)
    })
    await kjs.disconnect()
    checkOrder(viaKafkajs)

    // Both clients saw the very same (partition, offset) -> record mapping.
    const key = (s: Seen): string => `${s.partition}/${s.offset}/${s.seq}`
    expect(new Set(viaKafkajs.map(key))).toEqual(new Set(platformatic.map(key)))

    // Placement equals kafkajs' own partitioner, so producers of either client co-partition.
    const { Partitioners } = await import('kafkajs')
    const kafkajsPartitioner = Partitioners.DefaultPartitioner()
    for (const s of platformatic.slice(0, 500)) {
      const expected = kafkajsPartitioner({ topic, partitionMetadata: Array.from({ length: PARTITIONS }, (_, i) => ({ partitionId: i, leader: 1, partitionErrorCode: 0, replicas: [1], isr: [1] })), message: { key: s.key, value: null } })
      expect(s.partition).toBe(expected)
    }
  })
})
