import { describe, expect, it } from 'vitest'
import { retryWithin } from './topics.ts'

describe('retryWithin', () => {
  it('retries a request that fails while the topic is not yet known everywhere', async () => {
    let calls = 0
    const result = await retryWithin(30_000, 'consuming _schemas', async () => {
      if (++calls < 3) throw new Error('Unknown topic _schemas.')
      return 'ok'
    })
    expect(result).toBe('ok')
    expect(calls).toBe(3)
  })

  it('fails with the last error, its cause kept, once its time has passed', async () => {
    const last = new Error('Unknown topic _schemas.')
    const failing = retryWithin(200, 'consuming _schemas', async () => {
      throw last
    })
    await expect(failing).rejects.toThrow(/^consuming _schemas failed \d+ times in 0 s: Unknown topic _schemas\.$/)
    await expect(failing).rejects.toMatchObject({ cause: last })
  })
})
