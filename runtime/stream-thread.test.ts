import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import type { ResolvedConfig } from './config.ts'
import { StreamThread, type StreamThreadOptions } from './stream-thread.ts'

/** A thread over fakes: `commit` is what the task manager's commit does; the clock is ours. */
function thread(commit: () => Promise<'ok'>, buffered: number): { thread: StreamThread; clock: { now: number } } {
  const clock = { now: 1_000_000 }
  const task = { task: { bufferedCount: buffered, process: () => false, punctuateWallClock: () => false }, inputs: [], phase: 'running' }
  const options = {
    config: {
      clock: () => clock.now,
      commitIntervalMs: 1_000,
      rebalanceTimeoutMs: 30_000,
      maxTaskIdleMs: 0,
      maxBufferedRecordsPerPartition: 1000
    } as unknown as ResolvedConfig,
    tasks: { commit, running: () => [task], needsRejoin: false, membership: { generationId: 1, memberId: 'm' } },
    metrics: { commits: { inc: () => {} }, commitLatency: { observe: () => {} } },
    collector: { dispatch: () => {}, failed: false, inflightBatches: 0 },
    fetcher: { wake: () => {}, get: () => undefined },
    logger: pino({ level: 'silent' }),
    onState: () => {}
  } as unknown as StreamThreadOptions
  return { thread: new StreamThread(options), clock }
}

describe('StreamThread.stall', () => {
  it('names the operation the loop has waited on for 15 s (a commit that never answers)', async () => {
    let started = false
    const { thread: t, clock } = thread(() => {
      started = true
      return new Promise(() => {})
    }, 0)
    clock.now += 2_000
    void t.run()
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(started).toBe(true)
    expect(t.stall(clock.now + 14_000)).toBeNull()
    expect(t.stall(clock.now + 15_000)).toEqual({ reason: 'committing', sinceMs: clock.now })
    t.stop()
  })

  it('reports buffered records that are not processed, and nothing when there is no work', async () => {
    const idle = thread(async () => 'ok', 0)
    const stuck = thread(async () => 'ok', 7)
    for (const { thread: t } of [idle, stuck]) void t.run()
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(idle.thread.stall(idle.clock.now + 60_000)).toBeNull()
    expect(stuck.thread.stall(stuck.clock.now + 60_000)).toEqual({ reason: '7 records buffered and none processed', sinceMs: stuck.clock.now })
    for (const { thread: t } of [idle, stuck]) t.stop()
  })
})
