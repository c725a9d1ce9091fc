/**
 * The processing loop of an instance (Kafka Streams' `StreamThread.runOnce`): between bounded rounds
 * of synchronous record processing it applies new group assignments, commits every
 * `commitIntervalMs`, fires wall-clock punctuators and idles when there is nothing to do. Records
 * arrive from the fetcher into task queues while the loop yields; the loop never awaits per record
 * (only the rare serde `resolve`). Assignment, commit and close rules live in `TaskManager`,
 * transactions in `StreamsProducer`.
 *
 * Rebalances: @platformatic/kafka rejoins the group by itself and does not wait for the application,
 * except for one callback: the subscription metadata, resolved before every JoinGroup. That is where
 * this member commits (`prepareRejoin`), as Kafka Streams commits in `onPartitionsRevoked` before it
 * rejoins: an eager rebalance cannot complete before every member rejoined, so no other member can
 * start a task before its previous owner's last commit is done (a clean hand-over never duplicates,
 * under at-least-once too). Processing pauses from the rebalance notice until the assignment arrives.
 */
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { setImmediate as yieldToEventLoop } from 'node:timers/promises'
import type { ConsumerGroupJoinPayload } from '@platformatic/kafka'
import type { Logger } from 'pino'
import type { DeserializationFailedError } from '../schemas/index.ts'
import type { RawRecord, TopologyPlan } from '../processors/index.ts'
import type { ActiveTask } from './active-task.ts'
import { encodeMemberInfo, parseTaskId } from './assignor.ts'
import type { ByteConsumer, PartitionReader } from '../kafka/index.ts'
import type { ResolvedConfig } from './config.ts'
import { errorSummary } from './errors.ts'
import type { RuntimeMetrics } from './metrics.ts'
import type { OutputCollector } from './output.ts'
import { tpKey, type Assignment, type TaskManager } from './task-manager.ts'

/** Longest synchronous processing round before yielding to I/O (ms). */
const ROUND_MS = 20
/** Longest wait for fetched data of a lagging partition before a multi-input task processes anyway (ms). */
const LAGGING_WAIT_MS = 2_000
/** Produce batches in flight before processing waits for acknowledgements. */
const MAX_INFLIGHT_BATCHES = 16
/** No progress for this long although there is work: `stall()` reports it (status, metrics). */
const STALL_AFTER_MS = 15_000

export interface StreamThreadOptions {
  readonly config: ResolvedConfig
  readonly plan: TopologyPlan
  readonly consumer: ByteConsumer
  readonly tasks: TaskManager
  readonly fetcher: PartitionReader
  readonly collector: OutputCollector
  readonly metrics: RuntimeMetrics
  readonly logger: Logger
  readonly onState: (state: 'REBALANCING' | 'RUNNING') => void
}

export class StreamThread {
  private readonly o: StreamThreadOptions
  private readonly logger: Logger
  /** Assignments not handled yet, in order: each generation is applied, so no revocation is missed. */
  private readonly pending: Assignment[] = []
  private commitRequested = false
  private lastCommitMs: number
  private wakeUp: (() => void) | undefined
  private stopping = false
  /** The loop runs and can commit (not blocked in a JoinGroup of its own). */
  private looping = false
  private rotation = 0
  private deserializationFailure: DeserializationFailedError | undefined
  /** The consumer gave up rejoining by itself. */
  private membershipLost = false
  /** A JoinGroup of this member is under way (its metadata was asked for; no assignment yet). */
  private joining = false
  /** Set by a rebalance notice: processing pauses until the new assignment is handled. */
  private rebalanceNoticeAtMs: number | undefined
  /** Resolved after every commit: what `prepareRejoin` waits on. */
  private commitWaiters: Array<() => void> = []
  private readonly idleSince = new Map<string, number>()
  /** The operation the loop awaits now (for `stall()`). */
  private step: { what: string; sinceMs: number } | undefined
  /** Last time the loop processed records or had none to process. */
  private lastProgressMs: number
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
    this.lastProgressMs = options.config.clock()
    this.rateSample.atMs = options.config.clock()
  }

  /**
   * Why the instance makes no progress, when it has made none for `STALL_AFTER_MS` although it has
   * work: one operation on the cluster (a commit, a restore, a rejoin) has lasted that long, or
   * records are buffered and none was processed. Null when it progresses or has nothing to do.
   */
  stall(nowMs: number = this.o.config.clock()): { reason: string; sinceMs: number } | null {
    const step = this.step
    if (step !== undefined && nowMs - step.sinceMs >= STALL_AFTER_MS) return { reason: step.what, sinceMs: step.sinceMs }
    if (step === undefined && this.looping && nowMs - this.lastProgressMs >= STALL_AFTER_MS) {
      const buffered = this.o.tasks.running().reduce((sum, t) => sum + t.task.bufferedCount, 0)
      if (buffered > 0) return { reason: `${buffered} records buffered and none processed`, sinceMs: this.lastProgressMs }
    }
    return null
  }

  private async during<T>(what: string, operation: Promise<T>): Promise<T> {
    this.step = { what, sinceMs: this.o.config.clock() }
    try {
      return await operation
    } finally {
      this.step = undefined
      this.lastProgressMs = this.o.config.clock()
    }
  }

  /** The generation and member id under which the current tasks are owned. */
  get ownership(): { generationId: number; memberId: string } {
    return this.o.tasks.membership
  }

  /** Group events: assignments and rebalance notices. */
  attach(): void {
    const consumer = this.o.consumer
    consumer.on('consumer:group:join', (payload: ConsumerGroupJoinPayload) => {
      this.joining = false
      this.pending.push({ generationId: payload.generationId ?? consumer.generationId, memberId: payload.memberId, assignments: payload.assignments ?? [] })
      this.wake()
    })
    consumer.on('consumer:group:rebalance', () => {
      this.commitRequested = true
      this.pause()
      this.wake()
    })
    consumer.on('error', (err: unknown) => {
      this.logger.warn({ err, reason: errorSummary(err) }, 'group membership lost: the group consumer could not rejoin; rejoining')
      this.membershipLost = true
      this.wake()
    })
  }

  private pause(): void {
    this.rebalanceNoticeAtMs ??= this.o.config.clock()
    this.o.onState('REBALANCING')
  }

  /**
   * What this member advertises when it (re)joins the group, resolved before every JoinGroup: first
   * the commit of all uncommitted work (see the file comment). The client sends no heartbeat while
   * it waits for this, so the wait is bounded by the session timeout less one heartbeat interval
   * (and by half the rebalance timeout): past it the member would be dropped from the group. If the
   * commit has not finished by then, the member joins anyway and its revoked tasks close dirty.
   */
  async memberInfo(): Promise<Buffer> {
    await this.prepareRejoin()
    return encodeMemberInfo({
      version: 1,
      instanceId: this.o.config.instanceId,
      ownedTasks: [...this.o.tasks.tasks.keys()],
      stateTasks: this.tasksWithState()
    })
  }

  private async prepareRejoin(): Promise<void> {
    this.joining = true
    this.pause()
    const { clock, rebalanceTimeoutMs, sessionTimeoutMs, heartbeatIntervalMs } = this.o.config
    const budgetMs = Math.max(500, Math.min(Math.floor(rebalanceTimeoutMs / 2), sessionTimeoutMs - heartbeatIntervalMs))
    const deadline = clock() + budgetMs
    while (this.looping && !this.stopping && this.o.tasks.hasUncommittedWork) {
      const left = deadline - clock()
      if (left <= 0) {
        this.logger.warn({ waitedMs: budgetMs }, 'rejoining with uncommitted work: the commit before the rejoin did not finish in time')
        return
      }
      this.commitRequested = true
      this.wake()
      let timer: NodeJS.Timeout | undefined
      await new Promise<void>((resolve) => {
        this.commitWaiters.push(resolve)
        timer = setTimeout(resolve, left)
      })
      clearTimeout(timer)
    }
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
    const task = this.o.tasks.byInput.get(tpKey(topic, partition))
    if (!task || task.phase !== 'running') return
    task.addRecords(topic, partition, records)
    this.wake()
  }

  /** Backpressure: fetch a partition only while its task buffers less than the limit per input. */
  canFetch(topic: string, partition: number): boolean {
    const task = this.o.tasks.byInput.get(tpKey(topic, partition))
    return (
      task !== undefined && task.phase === 'running' && task.task.bufferedCount < this.o.config.maxBufferedRecordsPerPartition * Math.max(1, task.inputs.length)
    )
  }

  wake(): void {
    const wake = this.wakeUp
    this.wakeUp = undefined
    wake?.()
  }

  /** Runs until `stop()`; rejects with the error that stopped it. */
  async run(): Promise<void> {
    this.looping = true
    try {
      await this.loop()
    } finally {
      this.looping = false
      this.releaseCommitWaiters()
    }
  }

  private async loop(): Promise<void> {
    const { config } = this.o
    while (!this.stopping) {
      const assignment = this.pending.shift()
      if (assignment) {
        if (this.pending.length === 0) this.rebalanceNoticeAtMs = undefined
        // Restoring is progress of its own (status: restoreRemainingOffsets), bounded by taskTimeoutMs.
        await this.o.tasks.handleAssignment(assignment)
        this.lastProgressMs = config.clock()
        continue
      }
      if (this.membershipLost) {
        await this.during('rejoining the group', this.rejoin(true))
        continue
      }
      if (this.o.tasks.needsRejoin) {
        await this.during('rejoining the group', this.rejoin(false))
        continue
      }
      const now = config.clock()
      if (this.commitRequested || now - this.lastCommitMs >= config.commitIntervalMs) {
        this.commitRequested = false
        await this.during('committing', this.commit())
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
      if (result > 0 || !this.o.tasks.running().some((t) => t.task.bufferedCount > 0)) this.lastProgressMs = now
      if (this.punctuate(now)) this.o.collector.dispatch()
      if (result > 0) this.o.fetcher.wake()
      if (this.o.collector.failed) {
        // Exactly-once: the transaction fails at the commit, which aborts it and resets the tasks.
        // At-least-once: a record that cannot be produced stops the instance (Kafka Streams' default).
        if (config.exactlyOnce) this.commitRequested = true
        else this.o.collector.throwIfFailed()
      }
      if (this.o.collector.inflightBatches > MAX_INFLIGHT_BATCHES) {
        await this.during('waiting for produce acknowledgements', this.o.collector.waitForCapacity(MAX_INFLIGHT_BATCHES / 2))
      }
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
    let waitMs = 0
    for (const tp of task.inputs) {
      const added = task.addedUpTo(tp.topic, tp.partition)
      if (added !== undefined && added > task.position(tp.topic, tp.partition)) continue
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

  /** Commits all running tasks through the task manager; statistics and waiters of `prepareRejoin`. */
  async commit(): Promise<void> {
    const started = performance.now()
    this.lastCommitMs = this.o.config.clock()
    try {
      const result = await this.o.tasks.commit()
      this.o.metrics.commits.inc({ result: result === 'ok' ? 'ok' : 'failed' })
      this.o.metrics.commitLatency.observe((performance.now() - started) / 1000)
      if (result === 'ok') this.recordCommit()
    } finally {
      this.lastCommitMs = this.o.config.clock()
      this.releaseCommitWaiters()
    }
  }

  private releaseCommitWaiters(): void {
    const waiters = this.commitWaiters
    this.commitWaiters = []
    for (const resolve of waiters) resolve()
  }

  private recordCommit(): void {
    const now = this.o.config.clock()
    this.commits++
    this.lastCommitAtMs = now
    if (now - this.rateSample.atMs >= 1000) {
      this.recordsPerSecond = Math.round(((this.processedTotal - this.rateSample.total) * 1000) / (now - this.rateSample.atMs))
      this.rateSample = { atMs: now, total: this.processedTotal }
    }
  }

  /**
   * Joins the group again. `lost`: the consumer gave up rejoining, so every task is closed dirty
   * first. Otherwise a commit found the tasks moved (already closed dirty); a JoinGroup already under
   * way (the heartbeat saw the lost generation) is enough.
   */
  private async rejoin(lost: boolean): Promise<void> {
    this.membershipLost = false
    this.o.tasks.needsRejoin = false
    if (lost) await this.o.tasks.handleLostAll()
    this.o.onState('REBALANCING')
    if (!lost && this.joining) return
    // The loop waits in this JoinGroup: `prepareRejoin` must not wait for it to commit (every task
    // is closed dirty by now, so there is nothing to commit).
    this.looping = false
    try {
      for (let attempt = 1; !this.stopping; attempt++) {
        try {
          await this.o.consumer.joinGroup({})
          return
        } catch (err) {
          this.logger.warn({ err, attempt, reason: errorSummary(err) }, 'rejoining the group failed; retrying')
          await new Promise((resolve) => setTimeout(resolve, Math.min(10_000, 500 * attempt)))
        }
      }
    } finally {
      this.looping = true
    }
  }

  /** Final step of a clean shutdown: commit, then close every task (see `TaskManager.shutdown`). */
  async shutdown(clean: boolean): Promise<void> {
    await this.o.tasks.shutdown(clean)
  }
}
