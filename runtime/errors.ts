/**
 * Errors of the runtime. Every error has a stable string `code` and keeps its `cause`.
 */
import { findErrorBy } from '@platformatic/kafka'
import type { Logger } from 'pino'
import { errorCodes, RunnelError, type CodeOf } from '../errors/index.ts'
import { RetryBudget, transientErrorReason } from '../kafka/index.ts'

/** Codes of the runtime's errors. */
export const RuntimeErrorCodes = errorCodes(
  'RUNTIME_ABORT_TIMEOUT',
  'RUNTIME_BAD_CONFIG',
  'RUNTIME_BAD_OPTION',
  'RUNTIME_COMMIT_TIMEOUT',
  'RUNTIME_FETCH_TIMEOUT',
  'RUNTIME_BAD_TOPOLOGY',
  'RUNTIME_ILLEGAL_STATE',
  'RUNTIME_INSTANCE_FENCED',
  'RUNTIME_MISSING_SINK_TOPIC',
  'RUNTIME_MISSING_SOURCE_TOPIC',
  'RUNTIME_PARTITION_MISMATCH',
  'RUNTIME_PRODUCE_FAILED',
  'RUNTIME_PRODUCE_TIMEOUT',
  'RUNTIME_TASK_CORRUPTED',
  'RUNTIME_TASK_MIGRATED',
  'RUNTIME_TOPIC_CREATION_FAILED',
  'RUNTIME_UNKNOWN_TASK'
)
export type RuntimeErrorCode = CodeOf<typeof RuntimeErrorCodes>

/** Base error of the runtime (`KafkaStreams` and what it runs). */
export class RuntimeError extends RunnelError<RuntimeErrorCode> {}

/** A configuration option is missing or invalid; `option` names it. Thrown at construction. */
export class StreamsConfigError extends RuntimeError {
  readonly option: string
  constructor(option: string, message: string) {
    super('RUNTIME_BAD_CONFIG', `invalid option "${option}": ${message}`)
    this.option = option
  }
}

/** A source topic of the topology does not exist on the cluster (at start). */
export class MissingSourceTopicError extends RuntimeError {
  readonly topics: readonly string[]
  constructor(topics: readonly string[]) {
    super('RUNTIME_MISSING_SOURCE_TOPIC', `source topic(s) ${topics.join(', ')} do not exist: create them before starting the application`)
    this.topics = topics
  }
}

/**
 * Topics that must be co-partitioned (joined or co-grouped) have different partition counts, or an
 * existing internal topic has a partition count other than the one the topology needs.
 */
export class PartitionCountError extends RuntimeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('RUNTIME_PARTITION_MISMATCH', message, options)
  }
}

/** Another instance runs with the same application and instance id (its producer fenced ours). */
export class InstanceFencedError extends RuntimeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('RUNTIME_INSTANCE_FENCED', message, options)
  }
}

/**
 * The instance lost its tasks: its generation or member id is no longer valid in the group (it was
 * kicked out or the group moved on), or its transactional producer was fenced. Recoverable: every
 * task is closed dirty (its uncommitted work abandoned) and the member rejoins.
 */
export class TaskMigratedError extends RuntimeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('RUNTIME_TASK_MIGRATED', message, options)
  }
}

/**
 * A commit failed while this member still owns its tasks (a send or the transaction failed).
 * Recoverable: the tasks with uncommitted work are closed dirty and created again from their last
 * committed state.
 */
export class TaskCorruptedError extends RuntimeError {
  readonly taskIds: readonly string[]
  constructor(taskIds: readonly string[], message: string, options?: { cause?: unknown }) {
    super('RUNTIME_TASK_CORRUPTED', message, options)
    this.taskIds = taskIds
  }
}

/** Broker errors that mean this member no longer owns what it committed for. */
const MIGRATION_ERRORS = [
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
  'REBALANCE_IN_PROGRESS',
  'FENCED_INSTANCE_ID',
  'PRODUCER_FENCED',
  'INVALID_PRODUCER_EPOCH'
] as const

/** The broker error code (`apiId`) inside `err` that means the tasks migrated, if any. */
export function migrationCause(err: unknown): string | undefined {
  // Runtime errors wrap client errors in `cause`; the client's own errors nest in `errors`.
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const error = e
    const code = MIGRATION_ERRORS.find((c) => findErrorBy(error, 'apiId', c))
    if (code !== undefined) return code
  }
  return undefined
}

/** `start()` on an instance that is not in state CREATED, or an operation after close. */
export class IllegalStateError extends RuntimeError {
  constructor(message: string) {
    super('RUNTIME_ILLEGAL_STATE', message)
  }
}

/**
 * A one-line summary of an error and what it wraps (aggregated errors, causes, Kafka error codes),
 * for logs: client errors often say only "Producing messages failed." at the top.
 */
export function errorSummary(err: unknown): string {
  const parts: string[] = []
  const seen = new Set<unknown>()
  const walk = (e: unknown, depth: number): void => {
    if (e === null || e === undefined || seen.has(e) || depth > 6 || parts.length > 12) return
    seen.add(e)
    if (typeof e !== 'object') {
      parts.push(String(e))
      return
    }
    const x = e as { message?: string; apiId?: string; errors?: unknown[]; cause?: unknown }
    parts.push(x.apiId ? `${x.apiId}` : (x.message ?? String(e)))
    for (const nested of x.errors ?? []) walk(nested, depth + 1)
    walk(x.cause, depth + 1)
  }
  walk(err, 0)
  return [...new Set(parts)].join(' <- ')
}

/** A call to the cluster did not complete within its budget (`deliveryTimeoutMs`, `apiTimeoutMs`). */
export class RuntimeTimeoutError extends RuntimeError {
  readonly timeoutMs: number
  constructor(code: RuntimeErrorCode, what: string, timeoutMs: number) {
    super(code, `${what} did not complete within ${timeoutMs} ms`)
    this.timeoutMs = timeoutMs
  }
}

/**
 * How the runtime's readers (input and global stores) retry: every failure, transient or not, is
 * retried (100 ms doubling to 1 s, logged at warn) as long as a streak of failures lasts less than
 * `taskTimeoutMs` (Kafka Streams' task.timeout.ms); then the reader stops and the instance fails with
 * RUNTIME_FETCH_TIMEOUT naming the last cause, instead of sitting in RUNNING without progress.
 */
export function fetchRetryBudget(what: string, taskTimeoutMs: number, logger: Logger): RetryBudget {
  return new RetryBudget({
    timeoutMs: taskTimeoutMs,
    reasonOf: (err) => transientErrorReason(err) ?? errorSummary(err),
    timeoutError: (spentMs, reason, cause) =>
      new RuntimeError('RUNTIME_FETCH_TIMEOUT', `${what} kept failing for ${spentMs} ms (taskTimeoutMs ${taskTimeoutMs}); last cause: ${reason}`, { cause }),
    onRetry: ({ reason, retryInMs, spentMs }, err) => logger.warn({ err, reason, retryInMs, spentMs, taskTimeoutMs }, `${what} failed; retrying`)
  })
}

/**
 * `promise`, or a `RuntimeTimeoutError` with `code` once `timeoutMs` passed. The promise keeps
 * running (it cannot be cancelled); whatever it settles to later is ignored.
 */
export async function withDeadline<T>(promise: Promise<T>, timeoutMs: number, code: RuntimeErrorCode, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new RuntimeTimeoutError(code, what, timeoutMs)), timeoutMs)
  })
  promise.catch(() => {})
  try {
    return await Promise.race([promise, deadline])
  } finally {
    clearTimeout(timer)
  }
}
