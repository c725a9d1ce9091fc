import { describe, expect, it } from 'vitest'
import { LiveQueue, windowChangeKey } from './live-queue.ts'
import type { WindowChange } from './materializer.ts'

const change = (windowStart: number, observations: number): WindowChange => ({
  resolution: '1m',
  sensorId: 's-1',
  travelerType: 'CAR',
  windowStart,
  stats: { observations, travelers: 1, speedSamples: 0, speedMin: null, speedMax: null, speedMean: null }
})

describe('LiveQueue', () => {
  it('coalesces changes of one window into its latest state, in order of last change', async () => {
    const q = new LiveQueue(10, windowChangeKey)
    const signal = new AbortController().signal
    q.push(change(0, 1))
    q.push(change(60_000, 1))
    q.push(change(0, 2))
    expect(q.size).toBe(2)
    expect(await q.next(signal)).toEqual({ kind: 'change', change: change(60_000, 1) })
    expect(await q.next(signal)).toEqual({ kind: 'change', change: change(0, 2) })
  })

  it('waits for the next push', async () => {
    const q = new LiveQueue(10, windowChangeKey)
    const pending = q.next(new AbortController().signal)
    setTimeout(() => q.push(change(0, 7)), 5)
    expect(await pending).toEqual({ kind: 'change', change: change(0, 7) })
  })

  it('asks for a resync instead of growing past maxPending windows', async () => {
    const q = new LiveQueue(3, windowChangeKey)
    const signal = new AbortController().signal
    for (let i = 0; i < 4; i++) q.push(change(i * 60_000, 1))
    expect(await q.next(signal)).toEqual({ kind: 'resync' })
    q.push(change(0, 9))
    expect(await q.next(signal)).toEqual({ kind: 'change', change: change(0, 9) })
  })

  it('ends waiting with undefined when the subscriber goes away', async () => {
    const q = new LiveQueue(3, windowChangeKey)
    const controller = new AbortController()
    const pending = q.next(controller.signal)
    controller.abort()
    expect(await pending).toBeUndefined()
  })

  it('coalesces by the key it is given', async () => {
    const q = new LiveQueue<{ id: string; n: number }>(10, (c) => c.id)
    const signal = new AbortController().signal
    q.push({ id: 'a', n: 1 })
    q.push({ id: 'b', n: 1 })
    q.push({ id: 'a', n: 2 })
    expect(await q.next(signal)).toEqual({ kind: 'change', change: { id: 'b', n: 1 } })
    expect(await q.next(signal)).toEqual({ kind: 'change', change: { id: 'a', n: 2 } })
    expect(q.size).toBe(0)
  })
})
