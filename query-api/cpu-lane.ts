/**
 * The query API's one lane for query work: read queries run one at a time, each starting in its own
 * turn of the event loop (after `setImmediate`), so that between two of them Node polls its sockets.
 * A query is synchronous work on in-memory indexes (a 7-day series at 1 minute is 10,080 points), so
 * without the lane a batch or a few concurrent requests run back to back in one turn and `/livez`,
 * SSE pings and cheap queries wait behind all of them. With it they wait for at most one query.
 */
import { setImmediate as nextTurn } from 'node:timers/promises'
import pLimit from 'p-limit'

const lane = pLimit(1)

/** Runs `work` on the lane: after the queries queued before it, in a turn of its own. */
export function onCpuLane<T>(work: () => Promise<T> | T): Promise<T> {
  return lane(async () => {
    await nextTurn()
    return work()
  })
}

/** Queries waiting for the lane (for metrics and tests). */
export function cpuLaneWaiting(): number {
  return lane.pendingCount
}
