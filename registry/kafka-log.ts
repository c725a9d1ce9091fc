import { randomUUID } from 'node:crypto'
import { Admin, Consumer, type MessagesStream, ProduceAcks, Producer } from '@platformatic/kafka'
import { awaitTopicsReady, retryWithin } from '../kafka/index.ts'
import type { RegistryLog } from './log.ts'
import type { LogRecord } from './records.ts'

/** Options of the Kafka-backed registry log. */
export interface KafkaLogOptions {
  readonly brokers: readonly string[]
  /** The registry topic; created compacted with one partition when missing. */
  readonly topic: string
  readonly clientId: string
  /** Replication factor when creating the topic. Default: min(3, brokers in the cluster). */
  readonly replicationFactor?: number
}

/**
 * Opens the registry topic: creates it (compacted, one partition) when missing and checks that it
 * has exactly one partition, since the registry's arbitration relies on one total order.
 */
export async function openKafkaLog(options: KafkaLogOptions): Promise<RegistryLog> {
  const bootstrapBrokers = [...options.brokers]
  const admin = new Admin({ clientId: options.clientId, bootstrapBrokers })
  try {
    await ensureTopic(admin, options)
  } finally {
    await admin.close()
  }
  const producer = new Producer({ clientId: options.clientId, bootstrapBrokers, acks: ProduceAcks.ALL, autocreateTopics: false })
  // The reader joins a group of its own only because @platformatic/kafka streams need one; nothing
  // is committed: every start replays the topic from the beginning.
  const consumer = new Consumer({ clientId: options.clientId, groupId: `${options.clientId}-${randomUUID()}`, bootstrapBrokers, autocommit: false })
  let stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined
  const topic = options.topic

  return {
    async start(onRecord, onError) {
      // A rebalance of the private group restarts the stream at the earliest offset: records
      // already delivered are skipped by offset, so each one is applied exactly once.
      let last = -1n
      // Right after the topic was created, a busy broker can still answer "unknown topic" to
      // another client's metadata request for a moment.
      stream = await retryWithin(TOPIC_WAIT_MS, `consuming the registry topic ${topic}`, () =>
        consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false })
      )
      stream.on('data', (message) => {
        if (message.offset <= last) return
        last = message.offset
        const record: LogRecord = { key: message.key ?? null, value: message.value ?? null, offset: message.offset }
        onRecord(record)
      })
      stream.on('error', (error: Error) => onError(error))
    },
    async append(entries) {
      // Tombstones are sent without a value, which Kafka stores as a null value.
      const result = await producer.send({
        messages: entries.map((e) => ({ topic, partition: 0, key: e.key, ...(e.value === null ? {} : { value: e.value }) }))
      })
      const base = result.offsets?.find((o) => o.topic === topic && o.partition === 0)?.offset
      if (base === undefined) throw new Error(`the broker did not return the offset of the write to ${topic}`)
      // One send to one partition is one batch: its records have consecutive offsets.
      return base + BigInt(entries.length - 1)
    },
    async close() {
      await stream?.close()
      await consumer.close()
      await producer.close()
    }
  }
}

async function ensureTopic(admin: Admin, options: KafkaLogOptions): Promise<void> {
  const { topic } = options
  const exists = async (): Promise<boolean> => (await admin.listTopics()).includes(topic)
  if (!(await exists())) {
    const metadata = await admin.metadata({ topics: [] })
    const replicas = options.replicationFactor ?? Math.min(3, Math.max(1, metadata.brokers.size))
    try {
      await admin.createTopics({
        topics: [topic],
        partitions: 1,
        replicas,
        configs: [{ name: 'cleanup.policy', value: 'compact' }]
      })
    } catch (err) {
      // Another registry instance may have created it at the same time.
      if (!(await exists())) throw new Error(`could not create the registry topic ${topic}: ${(err as Error).message}`, { cause: err })
    }
  }
  await awaitTopicsReady(admin, [{ name: topic }], TOPIC_WAIT_MS)
  const info = (await admin.metadata({ topics: [topic] })).topics.get(topic)
  if (info !== undefined && info.partitionsCount !== 1) {
    throw new Error(`the registry topic ${topic} has ${info.partitionsCount} partitions; it must have exactly 1 (one total order of registrations)`)
  }
}

/** How long the registry waits for its topic to be usable after creating or finding it. */
const TOPIC_WAIT_MS = 30_000
