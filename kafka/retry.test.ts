import { NetworkError, ResponseError } from '@platformatic/kafka'
import { describe, expect, it } from 'vitest'
import { RetryBudget, transientErrorReason } from './retry.ts'

/** The Fetch API key and the error codes the broker answers with (the client turns them into a ResponseError). */
const FETCH_API = 1
const NOT_LEADER_OR_FOLLOWER = 6
const TOPIC_AUTHORIZATION_FAILED = 29

/** A broker's answer to a fetch whose partition failed, built the way the client builds it. */
function fetchError(errorCode: number): ResponseError {
  return new ResponseError(FETCH_API, 17, { '/responses/0/partitions/0': [errorCode, null] }, undefined)
}

describe('transientErrorReason', () => {
  it('finds leader moves and network errors inside the client errors and along causes, and nothing else', () => {
    expect(transientErrorReason(fetchError(NOT_LEADER_OR_FOLLOWER))).toMatch(/^NOT_LEADER_OR_FOLLOWER: /)
    expect(transientErrorReason(fetchError(74))).toMatch(/^FENCED_LEADER_EPOCH: /)
    expect(transientErrorReason(fetchError(7))).toMatch(/^REQUEST_TIMED_OUT: /)
    expect(transientErrorReason(new Error('wrapped', { cause: fetchError(5) }))).toMatch(/^LEADER_NOT_AVAILABLE: /)
    expect(transientErrorReason(new NetworkError('Connection closed'))).toBe('network error: Connection closed')
    expect(transientErrorReason(fetchError(TOPIC_AUTHORIZATION_FAILED))).toBeUndefined()
    expect(transientErrorReason(new Error('boom'))).toBeUndefined()
    expect(transientErrorReason('not an error')).toBeUndefined()
  })
})

describe('RetryBudget', () => {
  it('doubles its wait up to the longest, cuts it to what is left of the budget, and starts over after a success', () => {
    const attempts: number[] = []
    const budget = new RetryBudget({ timeoutMs: 60_000, maxBackoffMs: 400, onRetry: (a) => attempts.push(a.retryInMs) })
    for (let i = 0; i < 4; i++) budget.failed(new NetworkError('Connection closed'))
    budget.succeeded()
    budget.failed(new NetworkError('Connection closed'))
    expect(attempts).toEqual([100, 200, 400, 400, 100])
  })

  it('throws an error a retry cannot fix at once, and the timeout error once a streak outlasts the budget', () => {
    const budget = new RetryBudget({ timeoutMs: 0, timeoutError: (spentMs, reason) => new Error(`gave up after ${spentMs} ms: ${reason}`) })
    const unfixable = fetchError(TOPIC_AUTHORIZATION_FAILED)
    expect(() => budget.failed(unfixable)).toThrow(unfixable)
    expect(() => budget.failed(fetchError(NOT_LEADER_OR_FOLLOWER))).toThrow(/^gave up after 0 ms: NOT_LEADER_OR_FOLLOWER: /)
  })

  it('run: calls again after a transient failure, refreshing first, and rejects with the abort error once the signal aborts', async () => {
    const budget = new RetryBudget({ timeoutMs: 10_000 })
    const steps: string[] = []
    let calls = 0
    const value = await budget.run(
      () => {
        steps.push('call')
        return calls++ === 0 ? Promise.reject(new NetworkError('Connection refused')) : Promise.resolve(42)
      },
      { refresh: () => Promise.resolve(steps.push('refresh')) }
    )
    expect(value).toBe(42)
    expect(steps).toEqual(['call', 'refresh', 'call'])

    const controller = new AbortController()
    setTimeout(() => controller.abort(), 50)
    const started = performance.now()
    await expect(
      budget.run(() => Promise.reject(new NetworkError('Connection refused')), { signal: controller.signal, aborted: () => new Error('stopped') })
    ).rejects.toThrow('stopped')
    expect(performance.now() - started).toBeLessThan(1000)
  })
})
