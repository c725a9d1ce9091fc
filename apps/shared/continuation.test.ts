import { describe, expect, it } from 'vitest'
import { continuationStart } from './continuation.ts'

const MINUTE = 60_000
const now = Date.UTC(2026, 0, 1, 12, 0, 30)
const policy = { backfillMs: 30 * MINUTE, gapMs: 31_000 }

describe('continuationStart', () => {
  it('backfills an empty topic from backfillMs before now, on a minute', () => {
    expect(continuationStart(undefined, now, policy)).toEqual({ startMs: Date.UTC(2026, 0, 1, 11, 30), reason: 'backfill' })
  })

  it('continues gapMs after the newest record when that is within backfillMs, never writing before it', () => {
    const newest = now - 5 * MINUTE
    expect(continuationStart(newest, now, policy)).toEqual({ startMs: newest + 31_000, reason: 'continue' })
  })

  it('continues after a newest record that lies in the future (a real-time run waits for it)', () => {
    expect(continuationStart(now + 90_000, now, policy)).toEqual({ startMs: now + 121_000, reason: 'continue' })
  })

  it('starts from now when the newest record is older than backfillMs', () => {
    expect(continuationStart(now - 31 * MINUTE, now, policy)).toEqual({ startMs: now, reason: 'now' })
  })
})
