import { type Admin, ProduceAcks } from '@platformatic/kafka'
import { awaitTopicsReady, createReadConsumer, defaultKafkaClientSupplier, PartitionReader, RetryBudget, type KafkaClientSupplier } from '../kafka/index.ts'
import type { RegistryLog } from './log.ts'

/** Options of the Kafka-backed registry log. */
export interface KafkaLogOptions {
  readonly brokers: readonly string[]
  /** The registry topic; created compacted with one partition when missing. */
  readonly topic: string
  readonly clientId: string
  /** Replication factor when creating the topic. Default: min(3, brokers in the cluster). */
  readonly replicationFactor?: number
  /** Where the clients come from (TLS, authentication). Default: plain clients. */
  readonly clients?: KafkaClientSupplier
  /** Retries of the reader are logged here at warn. */
  readonly logger?: { warn(obj: object, msg: string): void }
}

/**
 * Opens the registry topic: creates it (compacted, one partition) when missing and checks that it
 * has exactly one partition, since the registry's arbitration relies on one total order.
 */
export async function openKafkaLog(options: KafkaLogOptions): Promise<RegistryLog> {
  const bootstrapBrokers = [...options.brokers]
  const clients = options.clients ?? defaultKafkaClientSupplier
  const admin = clients.getAdmin({ clientId: options.clientId, bootstrapBrokers })
  try {
    await ensureTopic(admin, options)
  } finally {
    await admin.close()
  }
  const producer = clients.getProducer({ clientId: options.clientId, bootstrapBrokers, acks: ProduceAcks.ALL, autocreateTopics: false })
  // The reader joins no group and commits nothing: every start replays the topic from the beginning.
  const consumer = createReadConsumer(clients, { bootstrapBrokers, clientId: options.clientId })
  let reader: PartitionReader | undefined
  const topic = options.topic

  return {
    async start(onRecord, onError) {
      reader = new PartitionReader({
        consumer,
        maxWaitMs: 500,
        onFetched: (_, records) => {
          for (const r of records) onRecord({ key: r.key, value: r.value, offset: BigInt(r.offset) })
        },
        // Leader moves, a broker that restarts, a topic that a busy broker does not know yet: the
        // log is read again once the cluster answers. Any other failure makes the log unusable.
        retry: new RetryBudget({
          timeoutMs: Infinity,
          onRetry: ({ reason, retryInMs }) => options.logger?.warn({ topic, reason, retryInMs }, 'registry: reading the schemas topic failed; retrying')
        }),
        onFailed: (err) => onError(err instanceof Error ? err : new Error(String(err)))
      })
      reader.assign(topic, 0, 0)
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
      await reader?.close()
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
