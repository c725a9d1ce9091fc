/**
 * Which Kafka errors a retry can fix, and a budget for retrying them (KIP-572's task.timeout.ms is
 * the model): a streak of transient failures may last `timeoutMs` from its first error, each retry
 * waits a little longer (100 ms doubling to 1 s), and a success ends the streak. Readers, restore
 * and the registry's log all decide with these, so a leader move means the same thing everywhere.
 */
import { findErrorBy } from '@platformatic/kafka'

/** Error ids (the client's ProtocolError `apiId`) of stale metadata or a broker in transition: a retry can succeed. */
const TRANSIENT_API_IDS = [
  'NOT_LEADER_OR_FOLLOWER',
  'LEADER_NOT_AVAILABLE',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'UNKNOWN_TOPIC_ID',
  'FENCED_LEADER_EPOCH',
  'UNKNOWN_LEADER_EPOCH',
  'REPLICA_NOT_AVAILABLE',
  'OFFSET_NOT_AVAILABLE',
  'KAFKA_STORAGE_ERROR',
  'REQUEST_TIMED_OUT',
  'NOT_COORDINATOR',
  'COORDINATOR_NOT_AVAILABLE',
  'COORDINATOR_LOAD_IN_PROGRESS'
] as const
/** A retry cannot fix these, even when a network error came with them. */
const FATAL_API_IDS = ['TOPIC_AUTHORIZATION_FAILED', 'CLUSTER_AUTHORIZATION_FAILED', 'SASL_AUTHENTICATION_FAILED'] as const
/** The client's NetworkError and TimeoutError (connection closed or refused, request timeout) both carry this code. */
const NETWORK_ERROR_CODE = 'PLT_KFK_NETWORK'

/**
 * The transient error in `error` (itself, inside the client's MultipleErrors, or along the `cause`
 * chain) as a short reason, or undefined when the error is not one a retry can fix.
 */
export function transientErrorReason(error: unknown): string | undefined {
  const chain: Error[] = []
  for (let e: unknown = error; e instanceof Error && chain.length < 8; e = e.cause) chain.push(e)
  if (chain.some((e) => FATAL_API_IDS.some((id) => findErrorBy(e, 'apiId', id) !== null) || findErrorBy(e, 'code', 'PLT_KFK_AUTHENTICATION') !== null)) {
    return undefined
  }
  for (const e of chain) {
    for (const id of TRANSIENT_API_IDS) {
      const found = findErrorBy(e, 'apiId', id)
      if (found !== null) return `${id}: ${found.message}`
    }
    const network = findErrorBy(e, 'code', NETWORK_ERROR_CODE)
    if (network !== null) return `network error: ${network.message}`
  }
  return undefined
}

/** What a reader asks of its retry policy: how long to wait after a failure (or throw to give up), and that a call succeeded. */
export interface RetryPolicy {
  /**
   * The ms to wait before the next try after `error`; throws when the reader must give up.
   * `failingSinceMs` (performance.now() time) is when the oldest failure still unresolved began,
   * when the caller tracks it per partition; otherwise the policy counts from its own first failure.
   */
  failed(error: unknown, failingSinceMs?: number): number
  /** A call succeeded: a streak of failures, if any, is over. */
  succeeded(): void
}

/** One retry about to happen, as a budget reports it. */
export interface RetryAttempt {
  readonly reason: string
  readonly retryInMs: number
  /** Time since the streak's first error. */
  readonly spentMs: number
  readonly timeoutMs: number
}

export interface RetryBudgetOptions {
  /** How long a streak of transient errors may last from its first error; `Infinity` retries forever. 0 fails on the first error. */
  readonly timeoutMs: number
  /** The error to throw when the streak outlasts the budget (default: an Error naming the time and the reason, with the cause). */
  readonly timeoutError?: (spentMs: number, reason: string, cause: unknown) => Error
  /**
   * Which errors are retried, as a short reason (undefined: thrown at once). Default
   * `transientErrorReason`; a caller that retries everything within the budget passes its own.
   */
  readonly reasonOf?: (error: unknown) => string | undefined
  /** Called before each wait: log it here. */
  readonly onRetry?: (attempt: RetryAttempt, error: unknown) => void
  /** First and longest wait (default 100 ms doubling to 1000 ms). */
  readonly backoffMs?: number
  readonly maxBackoffMs?: number
}

/**
 * A `RetryPolicy` for transient errors within a time budget: other errors are thrown at once, and a
 * streak that outlasts `timeoutMs` throws `timeoutError`. Waits are cut to what is left of the budget.
 */
export class RetryBudget implements RetryPolicy {
  private readonly options: RetryBudgetOptions
  private streakStartMs: number | undefined
  private backoffMs: number

  constructor(options: RetryBudgetOptions) {
    if (!(options.timeoutMs >= 0)) throw new RangeError(`timeoutMs must be a non-negative number of ms, got ${options.timeoutMs}`)
    this.options = options
    this.backoffMs = options.backoffMs ?? 100
  }

  failed(error: unknown, failingSinceMs?: number): number {
    const { timeoutMs, onRetry, timeoutError } = this.options
    const reason = (this.options.reasonOf ?? transientErrorReason)(error)
    if (reason === undefined) throw error
    const now = performance.now()
    this.streakStartMs = failingSinceMs ?? this.streakStartMs ?? now
    const spentMs = Math.round(now - this.streakStartMs)
    if (spentMs >= timeoutMs) {
      throw (
        timeoutError?.(spentMs, reason, error) ?? new Error(`kept failing for ${spentMs} ms (budget ${timeoutMs} ms); last cause: ${reason}`, { cause: error })
      )
    }
    const retryInMs = Math.min(this.backoffMs, timeoutMs - spentMs)
    this.backoffMs = Math.min(this.backoffMs * 2, this.options.maxBackoffMs ?? 1000)
    onRetry?.({ reason, retryInMs, spentMs, timeoutMs }, error)
    return retryInMs
  }

  succeeded(): void {
    this.streakStartMs = undefined
    this.backoffMs = this.options.backoffMs ?? 100
  }

  /**
   * `call` until it succeeds: after a failure, waits what `failed` says (cut short by `signal`, which
   * then rejects with `aborted()`), runs `refresh` (a metadata update, say), and calls again.
   */
  async run<T>(call: () => Promise<T>, options: { refresh?: () => Promise<unknown>; signal?: AbortSignal; aborted?: () => Error } = {}): Promise<T> {
    const { refresh, signal, aborted } = options
    const checkAborted = (): void => {
      if (signal?.aborted === true) throw aborted?.() ?? signal.reason
    }
    let failed = false
    for (;;) {
      checkAborted()
      try {
        if (failed && refresh !== undefined) await untilAborted(refresh(), signal, aborted)
        const result = await untilAborted(call(), signal, aborted)
        this.succeeded()
        return result
      } catch (error) {
        checkAborted()
        await abortableSleep(this.failed(error), signal)
        checkAborted()
        failed = true
      }
    }
  }
}

/** Sleeps `ms`, or less when `signal` aborts (without throwing). */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted === true) return Promise.resolve()
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })
}

/** `promise`, or a rejection with `aborted()` as soon as `signal` aborts (the call is left to settle on its own). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined, aborted: (() => Error) | undefined): Promise<T> {
  if (signal === undefined) return promise
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(aborted?.() ?? signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error)
      }
    )
    if (signal.aborted) onAbort()
  })
}
