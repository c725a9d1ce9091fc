import { describe, expect, it } from 'vitest'
import { parseSessionKey, parseStatsKey, sessionKey, statsKey } from './contract.ts'

describe('traffic contract keys', () => {
  it('parses back what the encoders write, also with `|` inside the free-text part', () => {
    expect(parseStatsKey(statsKey('s-1', 'CAR', 1_700_000_000_000))).toEqual({ sensorId: 's-1', travelerType: 'CAR', windowStart: 1_700_000_000_000 })
    expect(parseStatsKey(statsKey('s|odd', 'BUS', 0))).toEqual({ sensorId: 's|odd', travelerType: 'BUS', windowStart: 0 })
    expect(parseSessionKey(sessionKey('s-1', 't|42', 5))).toEqual({ sensorId: 's-1', travelerId: 't|42', sessionStart: 5 })
  })

  it('refuses keys that do not follow the contract', () => {
    for (const key of ['no-pipes-here', 's-1|PLANE|0', 's-1|CAR|x', '|CAR|1', 's\u0000|CAR|1']) expect(parseStatsKey(key)).toBeUndefined()
    for (const key of ['no-pipes-here', 's-1|t-1|-1', 's-1||1', '|t|1', 's|t\u0000|1', 's|t|1.5']) expect(parseSessionKey(key)).toBeUndefined()
  })
})
