/**
 * The instance's producer and, under exactly-once, its transaction (Kafka Streams' `StreamsProducer`).
 *
 * - at-least-once: `send` is a plain idempotent produce.
 * - exactly-once (`exactly_once_v2`, one transactional producer per instance, KIP-447): the first
 *   `send` after a commit begins a transaction; `commitTransaction` adds the input offsets with the
 *   group's generation and member id (so a member that lost its tasks cannot commit them: the broker
 *   answers ILLEGAL_GENERATION) and commits; `abortTransaction` aborts. A failure that means the tasks
 *   moved (fenced producer, lost generation) is turned into `TaskMigratedError`; any other commit
 *   failure is rethrown as it is. The caller aborts (`TaskManager` decides what the tasks do).
 *
 * The producer is replaced (a new InitProducerId bumps the epoch) after a failed send or abort, and
 * after a fencing: @platformatic/kafka keeps its idempotence sequence numbers across an abort.
 */
import type { MessageToProduce, ProduceResult } from '@platformatic/kafka'
import type { Logger } from 'pino'
import type { ByteConsumer, ByteProducer } from '../kafka/index.ts'
import { errorSummary, InstanceFencedError, migrationCause, TaskMigratedError, withDeadline } from './errors.ts'

type Message = MessageToProduce<Buffer, Buffer, Buffer, Buffer>
type ByteTransaction = Awaited<ReturnType<ByteProducer['beginTransaction']>>

/** An input offset to commit: the next offset to read, with the commit metadata string. */
export interface CommitOffset {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  readonly leaderEpoch: number
  readonly metadata: string | null
}

/** The group membership the tasks are owned under (KIP-447 fencing). */
export interface GroupMembership {
  readonly generationId: number
  readonly memberId: string
}

export interface StreamsProducerOptions {
  readonly exactlyOnce: boolean
  readonly groupId: string
  /** `<applicationId>-<instanceId>`, for messages. */
  readonly transactionalId: string
  /** Creates a producer; under exactly-once it is initialized (earlier incarnations fenced). */
  readonly create: () => Promise<ByteProducer>
  readonly logger: Logger
  readonly clock?: () => number
  /** Budget of a transaction commit (offsets + end) and of an abort, ms (default 60,000). */
  readonly apiTimeoutMs?: number
}

/** Fencings within a minute after which the instance stops: another one runs with the same id. */
const MAX_FENCINGS_PER_MINUTE = 5

export class StreamsProducer {
  private readonly options: StreamsProducerOptions
  private current: ByteProducer | undefined
  private txn: ByteTransaction | undefined
  private txnOpening: Promise<ByteTransaction> | undefined
  private fencings: number[] = []

  constructor(options: StreamsProducerOptions) {
    this.options = options
  }

  /** Creates the first producer (under exactly-once this fences an earlier incarnation). */
  async init(): Promise<void> {
    this.current = await this.options.create()
  }

  private get producer(): ByteProducer {
    if (!this.current) throw new Error('StreamsProducer: init() first')
    return this.current
  }

  /** Whether a transaction is open (exactly-once): it holds sends not yet committed. */
  get transactionInFlight(): boolean {
    return this.txn !== undefined || this.txnOpening !== undefined
  }

  /** Sends one batch; under exactly-once within the open transaction, which it begins if needed. */
  async send(messages: Message[]): Promise<ProduceResult> {
    if (!this.options.exactlyOnce) return this.producer.send({ messages })
    const txn = await this.ensureTransaction()
    return txn.send({ messages })
  }

  private ensureTransaction(): Promise<ByteTransaction> {
    if (this.txn) return Promise.resolve(this.txn)
    this.txnOpening ??= this.producer.beginTransaction().then(
      (txn) => {
        this.txn = txn
        this.txnOpening = undefined
        return txn
      },
      (err: unknown) => {
        this.txnOpening = undefined
        throw err
      }
    )
    return this.txnOpening
  }

  /**
   * Exactly-once: commits the input `offsets` (one TxnOffsetCommit, under `membership`) and the open
   * transaction. Call after every send of the transaction was acknowledged. On failure it throws
   * `TaskMigratedError` (tasks moved) or the original error; the caller then aborts.
   */
  async commitTransaction(offsets: readonly CommitOffset[], membership: GroupMembership, consumer: ByteConsumer): Promise<void> {
    if (offsets.length === 0 && !this.transactionInFlight) return
    try {
      await withDeadline(this.commitOpen(offsets, membership, consumer), this.apiTimeoutMs, 'RUNTIME_COMMIT_TIMEOUT', 'the transaction commit')
    } catch (err) {
      const migrated = migrationCause(err)
      if (migrated !== undefined) throw this.migrated(migrated, err)
      throw err
    }
  }

  private get apiTimeoutMs(): number {
    return this.options.apiTimeoutMs ?? 60_000
  }

  private async commitOpen(offsets: readonly CommitOffset[], membership: GroupMembership, consumer: ByteConsumer): Promise<void> {
    const txn = await this.ensureTransaction()
    if (offsets.length > 0) {
      await txn.addConsumer(consumer)
      const coordinatorId = await consumer.findGroupCoordinator()
      const group = { groupId: this.options.groupId, generationId: membership.generationId, memberId: membership.memberId, coordinatorId }
      // Patched @platformatic/kafka (patches/): `offsets` commits every partition in one request,
      // each with its metadata; like the client's own `offset`, each is the last consumed offset.
      const entries = offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: BigInt(o.offset - 1), metadata: o.metadata }))
      const message = {
        topic: entries[0]?.topic,
        partition: entries[0]?.partition,
        offset: entries[0]?.offset,
        offsets: entries,
        metadata: { consumer: group }
      }
      await txn.addOffset(message as unknown as Parameters<ByteTransaction['addOffset']>[0])
    }
    await txn.commit()
    // A commit that outlived its deadline may settle after an abort opened the next transaction.
    if (this.txn === txn) this.txn = undefined
  }

  private migrated(code: string, err: unknown): TaskMigratedError {
    if (code === 'PRODUCER_FENCED' || code === 'INVALID_PRODUCER_EPOCH') {
      const now = (this.options.clock ?? Date.now)()
      this.fencings = [...this.fencings.filter((t) => now - t < 60_000), now]
      if (this.fencings.length > MAX_FENCINGS_PER_MINUTE) {
        throw new InstanceFencedError(
          `the transactional producer ${this.options.transactionalId} was fenced ${this.fencings.length} times in a ` +
            'minute: is another instance running with the same instanceId?',
          { cause: err }
        )
      }
    }
    return new TaskMigratedError(`the commit was refused (${code}): this instance no longer owns its tasks`, { cause: err })
  }

  /**
   * Aborts the open transaction, if any. The producer is replaced when `replace` is set, when no
   * transaction could be opened or aborted, so that no later send reuses broken sequence numbers.
   */
  async abortTransaction(options: { replace?: boolean } = {}): Promise<void> {
    const opening = this.txnOpening
    let txn = this.txn
    this.txn = undefined
    this.txnOpening = undefined
    let renew = options.replace === true
    if (!txn && opening) {
      try {
        txn = await opening
      } catch {
        renew = true
      }
    }
    if (txn) {
      try {
        await withDeadline(txn.abort(), this.apiTimeoutMs, 'RUNTIME_ABORT_TIMEOUT', 'the transaction abort')
      } catch (err) {
        this.options.logger.warn({ err, reason: errorSummary(err) }, 'transaction abort failed: replacing the producer (its initialization aborts it)')
        renew = true
      }
    }
    if (renew && this.options.exactlyOnce) await this.replace()
  }

  /** Replaces the producer: under exactly-once the new one's initialization aborts what is open. */
  async replace(): Promise<void> {
    const old = this.current
    this.current = await this.options.create()
    await old?.close(true).catch((err: unknown) => this.options.logger.debug({ err }, 'closing the replaced producer failed'))
  }

  async close(force = false): Promise<void> {
    await this.current?.close(force)
  }
}
