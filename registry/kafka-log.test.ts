import { describe, expect, it } from 'vitest'
import { withinTopicWait } from './kafka-log.ts'

describe('withinTopicWait', () => {
  it('retries a request that fails while the topic is not yet known everywhere', async () => {
    let calls = 0
    const result = await withinTopicWait('_schemas', async () => {
      if (++calls < 3) throw new Error('Unknown topic _schemas.')
      return 'ok'
    })
    expect(result).toBe('ok')
    expect(calls).toBe(3)
  })

  it('fails with the last error, its cause kept, once the deadline has passed', async () => {
    const last = new Error('Unknown topic _schemas.')
    const failing = withinTopicWait(
      '_schemas',
      async () => {
        throw last
      },
      Date.now() + 200
    )
    await expect(failing).rejects.toThrow(/^the registry topic _schemas is not usable after \d+ attempts: Unknown topic _schemas\.$/)
    await expect(failing).rejects.toMatchObject({ cause: last })
  })
})
