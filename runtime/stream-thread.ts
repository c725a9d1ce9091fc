/**
 * The processing loop of an instance (Kafka Streams' `StreamThread`): one async loop that, between
 * bounded rounds of synchronous record processing, applies new group assignments, commits every
 * `commitIntervalMs`, fires wall-clock punctuators and idles when there is nothing to do. Records
 * arrive from the fetcher into task queues while the loop yields; the loop never awaits per record
 * (only the rare serde `resolve`).
 *
 * Rebalances: @platformatic/kafka rejoins the group by itself and does not wait for the application,
 * so ownership is tracked here. A rebalance notice (heartbeat saw REBALANCE_IN_PROGRESS) triggers an
 * immediate commit while the old generation may still be valid; a new assignment closes revoked
 * tasks (at-least-once: after committing them; exactly-once: an open transaction may hold their work
 * and can no longer be committed safely, so it is aborted and the retained tasks with uncommitted
 * work restart from their last committed state), then creates, restores and starts new tasks.
 *
 * Exactly-once: outputs, changelog writes and input offsets of all tasks go into one transaction
 * per commit; the offsets carry the generation under which the tasks are owned, so a member that
 * lost its tasks cannot commit them (the broker answers ILLEGAL_GENERATION and the transaction aborts).
 */
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { setImmediate as yieldToEventLoop } from 'node:timers/promises'
import { findErrorBy, type ConsumerGroupJoinPayload, type GroupAssignment } from '@platformatic/kafka'
import type { Logger } from 'pino'
import type { DeserializationFailedError } from '../schemas/index.ts'
import type { RawRecord, TopologyPlan } from '../processors/index.ts'
import type { ActiveTask } from './active-task.ts'
import { encodeMemberInfo, parseTaskId, tasksOfPartitions } from './assignor.ts'
import type { ByteConsumer, ByteProducer } from './client-supplier.ts'
import type { ResolvedConfig } from './config.ts'
import { errorSummary, InstanceFencedError } from './errors.ts'
import type { Fetcher } from './fetcher.ts'
import type { RuntimeMetrics } from './metrics.ts'
import type { OutputCollector } from './output.ts'
import { tpKey, type TaskManager } from './task-manager.ts'

type ByteTransaction = Awaited<ReturnType<ByteProducer['beginTransaction']>>
type OffsetMessage = Parameters<ByteTransaction['addOffset']>[0]

/** Longest synchronous processing round before yielding to I/O (ms). */
const ROUND_MS = 20
/** Longest wait for fetched data of a lagging partition before a multi-input task processes anyway (ms). */
const LAGGING_WAIT_MS = 2_000
/** Produce batches in flight before processing waits for acknowledgements. */
const MAX_INFLIGHT_BATCHES = 16

export interface StreamThreadOptions {
  readonly config: ResolvedConfig
  readonly plan: TopologyPlan
  readonly consumer: ByteConsumer
  readonly tasks: TaskManager
  readonly fetcher: Fetcher
  readonly collector: OutputCollector
  readonly metrics: RuntimeMetrics
  readonly logger: Logger
  /** The producer in use and a way to replace it after a failed abort or a fencing. */
  readonly producer: () => ByteProducer
  readonly replaceProducer: () => Promise<void>
  readonly onState: (state: 'REBALANCING' | 'RUNNING') => void
}

interface PendingAssignment {
  readonly generationId: number
  readonly memberId: string
  readonly assignments: readonly GroupAssignment[]
}

export class StreamThread {
  private readonly o: StreamThreadOptions
  private readonly logger: Logger
  private txn: ByteTransaction | undefined
  private txnOpening: Promise<ByteTransaction> | undefined
  /** Assignments not handled yet, in order: each generation is applied, so no revocation is missed. */
  private readonly pending: PendingAssignment[] = []
  private owned = { generationId: -1, memberId: '' }
  private commitRequested = false
  private lastCommitMs: number
  private wakeUp: (() => void) | undefined
  private stopping = false
  private rotation = 0
  private fencings: number[] = []
  private deserializationFailure: DeserializationFailedError | undefined
  private rejoinNeeded = false
  /** Set by a rebalance notice: processing pauses until the new assignment is handled. */
  private rebalanceNoticeAtMs: number | undefined
  /** Next offset after the last record handed to a task, per input partition (for idle decisions). */
  private readonly lastAdded = new Map<string, number>()
  private readonly idleSince = new Map<string, number>()
  /** Statistics for status(). */
  commits = 0
  lastCommitAtMs: number | undefined
  processedTotal = 0
  recordsPerSecond = 0
  private rateSample = { atMs: 0, total: 0 }

  constructor(options: StreamThreadOptions) {
    this.o = options
    this.logger = options.logger
    this.lastCommitMs = options.config.clock()
    this.rateSample.atMs = options.config.clock()
  }

  /** The generation and member id under which the current tasks are owned. */
  get ownership(): { generationId: number; memberId: string } {
    return this.owned
  }

  /** Group events: assignments and rebalance notices. */
  attach(): void {
    const consumer = this.o.consumer
    consumer.on('consumer:group:join', (payload: ConsumerGroupJoinPayload) => {
      this.pending.push({ generationId: payload.generationId ?? consumer.generationId, memberId: payload.memberId, assignments: payload.assignments ?? [] })
      this.wake()
    })
    consumer.on('consumer:group:rebalance', () => {
      this.commitRequested = true
      this.rebalanceNoticeAtMs ??= this.o.config.clock()
      this.o.onState('REBALANCING')
      this.wake()
    })
    consumer.on('error', (err: unknown) => {
      this.logger.warn({ err }, 'group membership lost: the group consumer could not rejoin; rejoining')
      this.rejoinNeeded = true
      this.wake()
    })
  }

  /** What this member advertises when it (re)joins the group. */
  async memberInfo(): Promise<Buffer> {
    return encodeMemberInfo({
      version: 1, instanceId: this.o.config.instanceId, ownedTasks: [...this.o.tasks.tasks.keys()], stateTasks: this.tasksWithState()
    })
  }

  private tasksWithState(): string[] {
    const dir = this.o.tasks.stateDir
    try {
      return readdirSync(dir).filter((name) => parseTaskId(name) !== undefined && existsSync(join(dir, name, '.checkpoint')))
    } catch {
      return []
    }
  }

  /** Records fetched for an input partition. */
  onRecords(topic: string, partition: number, records: RawRecord[]): void {
    const k = tpKey(topic, partition)
    const task = this.o.tasks.byInput.get(k)
    if (!task || task.phase !== 'running') return
    task.task.addRecords(topic, partition, records)
    const last = records[records.length - 1]
    if (last) this.lastAdded.set(k, last.offset + 1)
    this.wake()
  }

  /** Backpressure: fetch a partition only while its task buffers less than the limit per input. */
  canFetch(topic: string, partition: number): boolean {
    const task = this.o.tasks.byInput.get(tpKey(topic, partition))
    return task !== undefined && task.phase === 'running' &&
      task.task.bufferedCount < this.o.config.maxBufferedRecordsPerPartition * Math.max(1, task.inputs.length)
  }

  wake(): void {
    const wake = this.wakeUp
    this.wakeUp = undefined
    wake?.()
  }

  /** Runs until `stop()`; rejects with the error that stopped it. */
  async run(): Promise<void> {
    const { config } = this.o
    while (!this.stopping) {
      if (this.pending.length > 0) {
        await this.handleAssignment()
        continue
      }
      if (this.rejoinNeeded) {
        await this.rejoin()
        continue
      }
      const now = config.clock()
      if (this.commitRequested || now - this.lastCommitMs >= config.commitIntervalMs) {
        this.commitRequested = false
        await this.commit()
        continue
      }
      if (this.rebalanceNoticeAtMs !== undefined) {
        // Work done now would only be aborted (exactly-once) or processed twice (at-least-once) when
        // tasks move: wait for the assignment, as Kafka Streams' eager rebalancing does.
        if (now - this.rebalanceNoticeAtMs < config.rebalanceTimeoutMs) {
          await this.idle(50)
          continue
        }
        this.rebalanceNoticeAtMs = undefined
      }
      let result: number | Promise<void>
      try {
        result = this.processRound()
      } catch (err) {
        // Under log-and-fail the handler recorded the schemas' error naming the record and policy.
        throw this.deserializationFailure ?? err
      }
      if (typeof result !== 'number') {
        await result
        continue
      }
      if (this.punctuate(now)) this.o.collector.dispatch()
      if (result > 0) this.o.fetcher.wake()
      if (this.o.collector.failed) {
        // Exactly-once: the transaction fails at the commit, which aborts it and resets the tasks.
        // At-least-once: a record that cannot be produced stops the instance (Kafka Streams' default).
        if (config.exactlyOnce) this.commitRequested = true
        else this.o.collector.throwIfFailed()
      }
      if (this.o.collector.inflightBatches > MAX_INFLIGHT_BATCHES) await this.o.collector.waitForCapacity(MAX_INFLIGHT_BATCHES / 2)
      if (result === 0) {
        this.o.collector.dispatch()
        this.o.fetcher.wake()
        await this.idle(Math.max(1, Math.min(config.commitIntervalMs - (config.clock() - this.lastCommitMs), 100)))
      } else {
        await yieldToEventLoop()
      }
    }
  }

  /** Stops the loop after the current step. */
  stop(): void {
    this.stopping = true
    this.wake()
  }

  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wakeUp = undefined
        resolve()
      }, ms)
      this.wakeUp = () => {
        clearTimeout(timer)
        resolve()
      }
    })
  }

  /**
   * One bounded round: each running task with processable input takes records until its queues are
   * empty or the round's time is up; the starting task rotates so that every task gets its turn.
   * Returns the records taken, or the Promise of a serde resolution to await.
   */
  private processRound(): number | Promise<void> {
    const running = this.o.tasks.running()
    if (running.length === 0) return 0
    const deadline = performance.now() + ROUND_MS
    const start = this.rotation++ % running.length
    let total = 0
    for (let i = 0; i < running.length; i++) {
      const task = running[(start + i) % running.length] as ActiveTask
      const core = task.task
      if (core.bufferedCount === 0 || !this.processable(task)) continue
      let n = 0
      try {
        for (;;) {
          const result = core.process()
          if (result === true) {
            if ((++n & 255) === 0 && performance.now() > deadline) break
            continue
          }
          if (result === false) break
          this.account(task, n)
          return result
        }
      } catch (err) {
        this.account(task, n)
        throw err
      }
      this.account(task, n)
      total += n
      if (performance.now() > deadline) break
    }
    return total
  }

  private account(task: ActiveTask, n: number): void {
    if (n === 0) return
    task.processedSinceCommit += n
    task.processedTotal += n
    task.dirty = true
    this.processedTotal += n
    this.o.metrics.recordsProcessed.inc({ task: task.id }, n)
  }

  /**
   * Whether a task may take its next record now. With one input, whenever it has records. With
   * several, an empty input that still has data on the broker (lag) is waited for, so that records
   * are taken in timestamp order across inputs; and with `maxTaskIdleMs` > 0 an empty input is
   * waited for that long. Waiting is bounded: then the task processes what it has.
   */
  private processable(task: ActiveTask): boolean {
    const { maxTaskIdleMs } = this.o.config
    if (task.inputs.length <= 1 || maxTaskIdleMs < 0 || task.task.allPartitionsBuffered) {
      this.idleSince.delete(task.id)
      return true
    }
    const consumed = new Map(task.task.offsetsToCommit().map((o) => [tpKey(o.topic, o.partition), o.offset]))
    let waitMs = 0
    for (const tp of task.inputs) {
      const k = tpKey(tp.topic, tp.partition)
      const added = this.lastAdded.get(k)
      const position = consumed.get(k) ?? this.o.tasks.committed.get(k)?.offset ?? 0
      if (added !== undefined && added > position) continue
      const fetched = this.o.fetcher.get(tp.topic, tp.partition)
      const end = fetched ? (fetched.lastStableOffset >= 0 ? fetched.lastStableOffset : fetched.highWatermark) : -1
      const lagging = fetched === undefined || end < 0 || fetched.position < end
      waitMs = Math.max(waitMs, lagging ? Math.max(maxTaskIdleMs, LAGGING_WAIT_MS) : maxTaskIdleMs)
    }
    if (waitMs === 0) return true
    const now = this.o.config.clock()
    const since = this.idleSince.get(task.id) ?? now
    this.idleSince.set(task.id, since)
    if (now - since < waitMs) return false
    this.logger.debug({ taskId: task.id, waitedMs: now - since }, 'processing a task with an empty input partition after waiting')
    return true
  }

  private punctuate(now: number): boolean {
    let fired = false
    for (const task of this.o.tasks.running()) {
      if (task.task.punctuateWallClock(now)) {
        task.dirty = true
        fired = true
      }
    }
    return fired
  }

  /** The deserialization handler of every task: dead letters under log-and-continue. */
  setDeserializationFailure(error: DeserializationFailedError): void {
    this.deserializationFailure ??= error
  }

  /**
   * Offsets to commit: per owned input partition, the offset after the last record its task took.
   * When the task took every record handed to it from that partition, the fetch position is used
   * instead (as Kafka Streams does): it is past transaction markers and aborted records, so that a
   * drained partition shows no lag.
   */
  private offsetsToCommit(running: readonly ActiveTask[]): Array<{ topic: string; partition: number; offset: number; leaderEpoch: number }> {
    const out: Array<{ topic: string; partition: number; offset: number; leaderEpoch: number }> = []
    for (const task of running) {
      const consumed = new Map(task.task.offsetsToCommit().map((o) => [tpKey(o.topic, o.partition), o.offset]))
      for (const tp of task.inputs) {
        const k = tpKey(tp.topic, tp.partition)
        const committed = this.o.tasks.committed.get(k)
        if (!committed) continue
        let offset = Math.max(consumed.get(k) ?? committed.offset, committed.offset)
        const fetched = this.o.fetcher.get(tp.topic, tp.partition)
        const added = this.lastAdded.get(k)
        if (fetched && (added === undefined || offset >= added)) offset = Math.max(offset, fetched.position)
        if (offset <= committed.offset) continue
        out.push({ topic: tp.topic, partition: tp.partition, offset, leaderEpoch: fetched?.leaderEpoch ?? -1 })
      }
    }
    return out
  }

  private markCommitted(running: readonly ActiveTask[], offsets: ReadonlyArray<{ topic: string; partition: number; offset: number; leaderEpoch: number }>): void {
    for (const o of offsets) this.o.tasks.committed.set(tpKey(o.topic, o.partition), o)
    for (const task of running) {
      task.processedSinceCommit = 0
      task.dirty = false
    }
    const now = this.o.config.clock()
    this.commits++
    this.lastCommitAtMs = now
    if (now - this.rateSample.atMs >= 1000) {
      this.recordsPerSecond = Math.round((this.processedTotal - this.rateSample.total) * 1000 / (now - this.rateSample.atMs))
      this.rateSample = { atMs: now, total: this.processedTotal }
    }
  }

  /** Commits all running tasks (see the file comment); failures of exactly-once commits reset tasks. */
  async commit(): Promise<void> {
    const started = performance.now()
    this.lastCommitMs = this.o.config.clock()
    const running = this.o.tasks.running()
    for (const task of running) task.task.flush()
    const ok = this.o.config.exactlyOnce ? await this.commitTransaction(running) : await this.commitOffsets(running)
    this.o.metrics.commits.inc({ result: ok ? 'ok' : 'failed' })
    this.o.metrics.commitLatency.observe((performance.now() - started) / 1000)
    this.lastCommitMs = this.o.config.clock()
  }

  private async commitOffsets(running: readonly ActiveTask[]): Promise<boolean> {
    // A produce failure is fatal under at-least-once (Kafka Streams' default production handler).
    await this.o.collector.flush()
    const offsets = this.offsetsToCommit(running)
    let ok = true
    if (offsets.length > 0) {
      try {
        await this.o.consumer.commit({ offsets: offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: BigInt(o.offset), leaderEpoch: o.leaderEpoch })) })
      } catch (err) {
        ok = false
        this.logger.warn({ err, reason: errorSummary(err) }, 'offset commit failed; under at-least-once the uncommitted records will be processed again')
      }
    }
    if (ok) this.markCommitted(running, offsets)
    for (const task of running) if (task.checkpointOffsets().length > 0) task.writeCheckpoint()
    return ok
  }

  private ensureTransaction(): Promise<ByteTransaction> {
    if (this.txn) return Promise.resolve(this.txn)
    this.txnOpening ??= this.o.producer().beginTransaction().then((txn) => {
      this.txn = txn
      this.txnOpening = undefined
      return txn
    }, (err: unknown) => {
      this.txnOpening = undefined
      throw err
    })
    return this.txnOpening
  }

  /** The collector's sender under exactly-once: every batch goes into the open transaction. */
  async transactionalSender(): Promise<(messages: Parameters<ByteTransaction['send']>[0]['messages']) => ReturnType<ByteTransaction['send']>> {
    const txn = await this.ensureTransaction()
    return (messages) => txn.send({ messages })
  }

  private async commitTransaction(running: readonly ActiveTask[]): Promise<boolean> {
    const offsets = this.offsetsToCommit(running)
    if (!this.txn && !this.txnOpening && offsets.length === 0 && this.o.collector.pendingCount === 0) {
      this.markCommitted(running, offsets)
      return true
    }
    try {
      await this.o.collector.flush()
      const txn = await this.ensureTransaction()
      if (offsets.length > 0) {
        await txn.addConsumer(this.o.consumer)
        const coordinatorId = await this.o.consumer.findGroupCoordinator()
        const consumer = { groupId: this.o.config.applicationId, generationId: this.owned.generationId, memberId: this.owned.memberId, coordinatorId }
        // One TxnOffsetCommit per partition, sequentially: the client deduplicates concurrent ones.
        for (const o of offsets) {
          await txn.addOffset({ topic: o.topic, partition: o.partition, offset: BigInt(o.offset - 1), metadata: { consumer } } as unknown as OffsetMessage)
        }
      }
      await txn.commit()
      this.txn = undefined
    } catch (err) {
      await this.onTransactionFailure(err)
      return false
    }
    this.markCommitted(running, offsets)
    return true
  }

  private async onTransactionFailure(err: unknown): Promise<void> {
    const fenced = findErrorBy(err as Error, 'apiId', 'PRODUCER_FENCED') ?? findErrorBy(err as Error, 'apiId', 'INVALID_PRODUCER_EPOCH')
    if (fenced) {
      const now = Date.now()
      this.fencings = [...this.fencings.filter((t) => now - t < 60_000), now]
      if (this.fencings.length > 5) {
        throw new InstanceFencedError(`the transactional producer ${this.o.config.applicationId}-${this.o.config.instanceId} was fenced ${this.fencings.length} times in a minute: ` +
          'is another instance running with the same instanceId?', { cause: err })
      }
    }
    this.logger.warn({ err, reason: errorSummary(err), fenced: fenced !== null && fenced !== undefined }, 'transaction failed: aborting it; tasks with uncommitted work restart from their last committed state')
    await this.abortTransaction(true)
    const dirty = this.o.tasks.running().filter((t) => t.dirty || t.processedSinceCommit > 0).map((t) => t.id)
    await this.resetTasks(dirty)
  }

  /**
   * Aborts the open transaction (if any) and drops unsent output. The producer is replaced (a new
   * InitProducerId bumps the epoch) when asked, when a send had failed or when the abort fails: the
   * client keeps its idempotence sequence numbers across an abort, so after a failed send every later
   * send to that partition would fail with OUT_OF_ORDER_SEQUENCE_NUMBER.
   */
  private async abortTransaction(replace: boolean): Promise<void> {
    const sendFailed = await this.o.collector.discard()
    const txn = this.txn ?? await this.txnOpening?.catch(() => undefined)
    this.txn = undefined
    this.txnOpening = undefined
    let renew = replace || sendFailed
    if (txn) {
      try {
        await txn.abort()
      } catch (err) {
        this.logger.warn({ err, reason: errorSummary(err) }, 'transaction abort failed: replacing the producer (its initialization aborts the transaction)')
        renew = true
      }
    }
    if (renew) await this.o.replaceProducer()
  }

  /** Closes tasks dirty and creates them again: state from the changelog, inputs from the committed offsets. */
  private async resetTasks(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return
    this.o.onState('REBALANCING')
    await this.o.tasks.closeTasks(ids, () => false)
    for (const k of [...this.lastAdded.keys()]) if (!this.o.tasks.byInput.has(k)) this.lastAdded.delete(k)
    await this.o.tasks.createTasks(ids, [...this.o.tasks.tasks.keys(), ...ids])
    this.o.onState('RUNNING')
  }

  private async handleAssignment(): Promise<void> {
    const assignment = this.pending.shift() as PendingAssignment
    if (this.pending.length === 0) this.rebalanceNoticeAtMs = undefined
    const assigned = new Set(tasksOfPartitions(this.o.plan, assignment.assignments))
    const owned = [...this.o.tasks.tasks.keys()]
    // A generation we did not see (our membership lapsed, or a sync failed and the client joined
    // again) may have given our tasks to others, who processed and committed them: a task kept
    // across such a gap is stale, so it is closed and created again like any revoked task.
    const continuous = this.owned.generationId < 0 ||
      (assignment.memberId === this.owned.memberId && assignment.generationId === this.owned.generationId + 1)
    const revoked = continuous ? owned.filter((id) => !assigned.has(id)) : owned
    const added = [...assigned].filter((id) => revoked.includes(id) || !this.o.tasks.tasks.has(id))
    this.logger.info({ generationId: assignment.generationId, assigned: [...assigned], revoked, added, continuous }, 'assignment received')
    if (revoked.length > 0 || added.length > 0) this.o.onState('REBALANCING')
    if (revoked.length === 0) {
      // Every task owned stays owned in the new generation: commit under it before restoring new
      // tasks, so that no transaction stays open during restores.
      this.owned = { generationId: assignment.generationId, memberId: assignment.memberId }
      if (added.length > 0) await this.commit()
    } else if (!this.o.config.exactlyOnce) {
      await this.commit()
      await this.o.tasks.closeTasks(revoked, () => true)
    } else {
      const running = this.o.tasks.running()
      const uncommitted = this.txn !== undefined || this.txnOpening !== undefined || this.o.collector.pendingCount > 0 ||
        running.some((t) => t.dirty || t.processedSinceCommit > 0)
      if (uncommitted) {
        this.logger.info({ revoked }, 'tasks revoked with an open transaction: aborting it (the new generation cannot commit it)')
        await this.abortTransaction(false)
      }
      const retainedDirty = running.filter((t) => !revoked.includes(t.id) && (t.dirty || t.processedSinceCommit > 0)).map((t) => t.id)
      await this.o.tasks.closeTasks(revoked, (t) => !(t.dirty || t.processedSinceCommit > 0))
      this.owned = { generationId: assignment.generationId, memberId: assignment.memberId }
      if (uncommitted) await this.resetTasks(retainedDirty)
    }
    this.owned = { generationId: assignment.generationId, memberId: assignment.memberId }
    for (const k of [...this.lastAdded.keys()]) if (!this.o.tasks.byInput.has(k)) this.lastAdded.delete(k)
    if (added.length > 0) await this.o.tasks.createTasks(added, [...assigned])
    this.o.onState('RUNNING')
  }

  /** The consumer gave up rejoining: everything it owned is lost; close it all and join again. */
  private async rejoin(): Promise<void> {
    this.rejoinNeeded = false
    const ids = [...this.o.tasks.tasks.keys()]
    if (this.o.config.exactlyOnce) await this.abortTransaction(false)
    await this.o.tasks.closeTasks(ids, () => !this.o.config.exactlyOnce)
    this.o.onState('REBALANCING')
    for (let attempt = 1; !this.stopping; attempt++) {
      try {
        await this.o.consumer.joinGroup({})
        return
      } catch (err) {
        this.logger.warn({ err, attempt }, 'rejoining the group failed; retrying')
        await new Promise((resolve) => setTimeout(resolve, Math.min(10_000, 500 * attempt)))
      }
    }
  }

  /**
   * Final step of a clean shutdown: commit, then close every task (checkpoints written). Under
   * exactly-once a failed final commit leaves the tasks dirty (restored from changelogs next time).
   */
  async shutdown(clean: boolean): Promise<void> {
    let committed = false
    if (clean) {
      try {
        const before = this.commits
        await this.commit()
        committed = this.commits > before
      } catch (err) {
        this.logger.warn({ err }, 'final commit failed')
      }
    }
    if (!committed && this.o.config.exactlyOnce) await this.abortTransaction(false).catch(() => {})
    await this.o.tasks.closeTasks([...this.o.tasks.tasks.keys()], () => committed || (clean && !this.o.config.exactlyOnce))
  }
}
