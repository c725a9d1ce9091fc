import { setImmediate as nextTurn } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { cpuLaneWaiting, onCpuLane } from './cpu-lane.ts'

describe('onCpuLane', () => {
  it('runs queued work one at a time, each in its own turn, so that callbacks queued by one run before the next', async () => {
    const order: string[] = []
    const works = [1, 2, 3].map((i) =>
      onCpuLane(() => {
        order.push(`work ${i}`)
        setImmediate(() => order.push(`after ${i}`))
        return i
      })
    )
    expect(cpuLaneWaiting()).toBeGreaterThan(0)
    expect(await Promise.all(works)).toEqual([1, 2, 3])
    await nextTurn()
    expect(order).toEqual(['work 1', 'after 1', 'work 2', 'after 2', 'work 3', 'after 3'])
  })

  it('passes a failure to its caller and goes on with the next work', async () => {
    const failing = onCpuLane(() => {
      throw new Error('boom')
    })
    const next = onCpuLane(async () => 'next')
    await expect(failing).rejects.toThrow('boom')
    expect(await next).toBe('next')
  })
})
