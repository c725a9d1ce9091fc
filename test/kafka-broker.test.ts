/**
 * Proof that the integration tests talk to a real Kafka broker: a compacted topic created with
 * @platformatic/kafka's admin, 10,000 keyed records across 6 partitions produced with
 * @platformatic/kafka and read back with both @platformatic/kafka and kafkajs.
 *
 * A consumer group may rebalance under load and deliver a record again (at-least-once delivery), so
 * the checks are on distinct (partition, offset) pairs and on the first delivery of each: every
 * produced record must be there, exactly where kafkajs' partitioner puts its key.
 */
import { describe, expect, it } from 'vitest'
import { Admin, Consumer, Producer, compatibilityPartitioner, MessagesStreamModes } from '@platformatic/kafka'
import { Kafka, logLevel, Partitioners } from 'kafkajs'
import { createTopics, kafkaBrokers, uniqueName } from './support/kafka.ts'

const RECORDS = 10_000
const PARTITIONS = 6
const KEYS = 200

interface Seen {
  partition: number
  offset: bigint
  key: string
  seq: number
}

const position = (s: Seen): string => `${s.partition}/${s.offset}`

/** Collects deliveries; `firsts` keeps the first delivery of each (partition, offset), in delivery order. */
class Deliveries {
  readonly firsts: Seen[] = []
  total = 0
  private readonly positions = new Set<string>()

  add(s: Seen): void {
    this.total++
    const at = position(s)
    if (this.positions.has(at)) return
    this.positions.add(at)
    this.firsts.push(s)
  }

  get distinct(): number {
    return this.positions.size
  }
}

/** kafkajs' default partitioner (Java-compatible murmur2) for a key of the topic. */
function kafkajsPartition(topic: string, key: string): number {
  const partitioner = Partitioners.DefaultPartitioner()
  const partitionMetadata = Array.from({ length: PARTITIONS }, (_, i) => ({ partitionId: i, leader: 1, partitionErrorCode: 0, replicas: [1], isr: [1] }))
  return partitioner({ topic, partitionMetadata, message: { key, value: null } })
}

/**
 * Every produced sequence number was delivered, once per (partition, offset), at the partition of its
 * key; first deliveries come in offset order per partition with sequence numbers rising.
 */
function checkDeliveries(topic: string, deliveries: Deliveries): void {
  const { firsts } = deliveries
  expect(deliveries.total).toBeGreaterThanOrEqual(RECORDS)
  expect(firsts).toHaveLength(RECORDS)
  const bySeq = new Map<number, Seen>()
  for (const s of firsts) {
    const other = bySeq.get(s.seq)
    // Two positions holding one sequence number: the producer wrote a record twice.
    expect(other === undefined ? undefined : position(other), `sequence number ${s.seq} also at ${position(s)}`).toBeUndefined()
    bySeq.set(s.seq, s)
  }
  const partitionOfKey = new Map<string, number>()
  const missing: number[] = []
  for (let seq = 0; seq < RECORDS; seq++) {
    const s = bySeq.get(seq)
    if (s === undefined) {
      missing.push(seq)
      continue
    }
    const key = `key-${seq % KEYS}`
    expect(s.key).toBe(key)
    let expected = partitionOfKey.get(key)
    if (expected === undefined) {
      expected = kafkajsPartition(topic, key)
      partitionOfKey.set(key, expected)
    }
    expect(s.partition, `partition of sequence number ${seq}`).toBe(expected)
  }
  expect(missing.slice(0, 20), `${missing.length} sequence numbers never delivered`).toEqual([])
  const byPartition = new Map<number, Seen[]>()
  for (const s of firsts) {
    const list = byPartition.get(s.partition)
    if (list === undefined) byPartition.set(s.partition, [s])
    else list.push(s)
  }
  expect(byPartition.size).toBe(PARTITIONS)
  for (const records of byPartition.values()) {
    for (let i = 1; i < records.length; i++) {
      const prev = records[i - 1]
      const cur = records[i]
      if (prev === undefined || cur === undefined) throw new Error('unreachable')
      expect(cur.offset).toBeGreaterThan(prev.offset)
      expect(cur.seq).toBeGreaterThan(prev.seq)
    }
  }
}

describe('the local Kafka broker', () => {
  it('keeps every one of 10,000 records, their per-partition order and key placement, as read by two different clients', async () => {
    const brokers = kafkaBrokers()
    const topic = uniqueName('proof')
    await createTopics(brokers, [{ name: topic, partitions: PARTITIONS, configs: { 'cleanup.policy': 'compact' } }])
    const admin = new Admin({ clientId: 'proof-admin', bootstrapBrokers: brokers })
    try {
      const configs = await admin.describeConfigs({ resources: [{ resourceType: 2, resourceName: topic, configurationKeys: ['cleanup.policy'] }] })
      expect(configs[0]?.configs.find((c) => c.name === 'cleanup.policy')?.value).toBe('compact')

      // Java-compatible murmur2 placement, the same as kafkajs' default partitioner. Idempotent: a send
      // retried right after the topic's creation (leaders still moving) must not write a batch twice.
      const producer = new Producer({ clientId: 'proof-producer', bootstrapBrokers: brokers, partitioner: compatibilityPartitioner, idempotent: true })
      try {
        for (let start = 0; start < RECORDS; start += 1000) {
          const messages = []
          for (let seq = start; seq < start + 1000; seq++) {
            messages.push({ topic, key: Buffer.from(`key-${seq % KEYS}`), value: Buffer.from(String(seq)) })
          }
          await producer.send({ messages })
        }
      } finally {
        await producer.close()
      }

      const platformatic = new Deliveries()
      const consumer = new Consumer({ clientId: 'proof-consumer', groupId: uniqueName('proof-group'), bootstrapBrokers: brokers })
      try {
        const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false })
        const timer = setTimeout(() => {
          stream.close().catch(() => {})
        }, 60_000)
        try {
          for await (const message of stream) {
            platformatic.add({ partition: message.partition, offset: message.offset, key: message.key.toString(), seq: Number(message.value.toString()) })
            if (platformatic.distinct === RECORDS) break
          }
        } finally {
          clearTimeout(timer)
          await stream.close()
        }
      } finally {
        await consumer.close(true)
      }
      checkDeliveries(topic, platformatic)

      const kafka = new Kafka({ clientId: 'proof-kafkajs', brokers, logLevel: logLevel.NOTHING })
      const kjs = kafka.consumer({ groupId: uniqueName('proof-kafkajs-group') })
      const viaKafkajs = new Deliveries()
      await kjs.connect()
      try {
        await kjs.subscribe({ topic, fromBeginning: true })
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`kafkajs saw ${viaKafkajs.distinct} of ${RECORDS} records after 60 s`)), 60_000)
          kjs
            .run({
              eachMessage: async ({ partition, message }) => {
                viaKafkajs.add({ partition, offset: BigInt(message.offset), key: message.key?.toString() ?? '', seq: Number(message.value?.toString()) })
                if (viaKafkajs.distinct === RECORDS) {
                  clearTimeout(timer)
                  resolve()
                }
              }
            })
            .catch(reject)
        })
      } finally {
        await kjs.disconnect()
      }
      checkDeliveries(topic, viaKafkajs)

      // Both clients saw the very same (partition, offset) -> record mapping.
      const record = (s: Seen): string => `${position(s)}/${s.seq}`
      expect(new Set(viaKafkajs.firsts.map(record))).toEqual(new Set(platformatic.firsts.map(record)))
    } finally {
      await admin.deleteTopics({ topics: [topic] }).catch(() => {})
      await admin.close()
    }
  })
})
