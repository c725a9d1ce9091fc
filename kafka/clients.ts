/**
 * Where every part of the project gets its Kafka clients (Kafka Streams' `KafkaClientSupplier`):
 * the runtime, restore, the query API's followers and the registry. The caller builds the options
 * (group id, assignor, transactional id...) and the supplier only constructs the clients, so a
 * deployment can add authentication, TLS or instrumentation in one place and tests can wrap
 * clients. Every client exchanges raw bytes: serdes run above this layer.
 */
import { Admin, Consumer, FetchIsolationLevels, Producer, type AdminOptions, type ConsumerOptions, type ProducerOptions } from '@platformatic/kafka'

/** A consumer of raw bytes. */
export type ByteConsumer = Consumer<Buffer, Buffer, Buffer, Buffer>
/** A producer of raw bytes. */
export type ByteProducer = Producer<Buffer, Buffer, Buffer, Buffer>

export interface KafkaClientSupplier {
  /** Creates topics, reads metadata and (stable) committed offsets. */
  getAdmin(options: AdminOptions): Admin
  /**
   * The group member of the instance: joins the application's group with the runtime's assignor and
   * commits offsets under at-least-once. It never consumes a stream: fetching is done separately.
   */
  getConsumer(options: ConsumerOptions<Buffer, Buffer, Buffer, Buffer>): ByteConsumer
  /** The producer of task output and changelogs; transactional under exactly-once. */
  getProducer(options: ProducerOptions<Buffer, Buffer, Buffer, Buffer>): ByteProducer
  /**
   * A consumer that never joins its group: its `fetch`, `listOffsets` and `metadata` read
   * partitions at explicit positions (a `PartitionReader`), to process input, restore changelogs,
   * follow output topics or replay the registry's log.
   */
  getRestoreConsumer(options: ConsumerOptions<Buffer, Buffer, Buffer, Buffer>): ByteConsumer
}

/** The default supplier: plain @platformatic/kafka clients with the options the runtime gives. */
export const defaultKafkaClientSupplier: KafkaClientSupplier = {
  getAdmin: (options) => new Admin(options),
  getConsumer: (options) => new Consumer(options),
  getProducer: (options) => new Producer(options),
  getRestoreConsumer: (options) => new Consumer(options)
}

/**
 * A read_committed consumer for a `PartitionReader` (from `supplier.getRestoreConsumer`): it never
 * joins its group, whose id only satisfies the client's options.
 */
export function createReadConsumer(
  supplier: KafkaClientSupplier,
  options: { readonly bootstrapBrokers: readonly string[]; readonly clientId: string }
): ByteConsumer {
  return supplier.getRestoreConsumer({
    clientId: options.clientId,
    bootstrapBrokers: [...options.bootstrapBrokers],
    groupId: `${options.clientId}-unused-group`,
    isolationLevel: FetchIsolationLevels.READ_COMMITTED
  })
}
