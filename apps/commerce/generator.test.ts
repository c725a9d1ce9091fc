import { describe, expect, it } from 'vitest'
import { bridgeEvent, BridgeErrorCodes } from './bridge.ts'
import { commerceCatalogue, generateCommerceRecords, INVALID_VARIANTS, toSeedJson, type InvalidVariant } from './generator.ts'

const T = 1_763_726_400_000

/** The bridge's reason for each invalid variant the generator makes. */
const EXPECTED_CODES: Record<InvalidVariant, readonly string[]> = {
  'not-json': [BridgeErrorCodes.NOT_JSON],
  'not-object': [BridgeErrorCodes.NOT_OBJECT],
  'unknown-event': [BridgeErrorCodes.UNKNOWN_EVENT],
  'missing-field': [BridgeErrorCodes.MISSING_FIELD],
  'mistyped-field': [BridgeErrorCodes.INVALID_FIELD],
  'rating-out-of-range': [BridgeErrorCodes.RATING_OUT_OF_RANGE],
  'negative-amount': [BridgeErrorCodes.NEGATIVE_AMOUNT],
  'non-numeric-amount': [BridgeErrorCodes.NON_NUMERIC_AMOUNT]
}

describe('commerce generator', () => {
  it('gives the same records for the same options and different ones for another seed', () => {
    const a = generateCommerceRecords({ seed: 5, events: 500, startMs: T, invalidFraction: 0.1 })
    expect(generateCommerceRecords({ seed: 5, events: 500, startMs: T, invalidFraction: 0.1 })).toEqual(a)
    expect(generateCommerceRecords({ seed: 6, events: 500, startMs: T, invalidFraction: 0.1 })).not.toEqual(a)
    expect(a.filter((r) => r.kind !== 'invalid')).toHaveLength(500)
  })

  it('sells catalogue products at their price and rates them 1 to 5 in their category', () => {
    const catalogue = new Map(commerceCatalogue({ seed: 9, products: 20 }).map((p) => [p.id, p]))
    const records = generateCommerceRecords({ seed: 9, events: 3000, startMs: T, products: 20, recategorizeFraction: 0 })
    let sales = 0
    for (const r of records) {
      if (r.kind === 'sold') {
        sales++
        const product = catalogue.get(r.value.product_id)
        expect(r.value.amount_cents).toBe(r.value.units * (product?.priceCents ?? NaN))
        expect(r.value.units).toBeGreaterThanOrEqual(1)
      } else if (r.kind === 'rated') {
        expect(r.value.rating).toBeGreaterThanOrEqual(1)
        expect(r.value.rating).toBeLessThanOrEqual(5)
        expect(r.value.category).toBe(catalogue.get(r.value.product_id)?.category)
      }
    }
    expect(sales / 3000).toBeGreaterThan(0.6)
    expect(sales / 3000).toBeLessThan(0.8)
  })

  it('delivers a fraction out of order, within grace, and a few beyond it', () => {
    const records = generateCommerceRecords({ seed: 3, events: 20_000, startMs: T, outOfOrderFraction: 0.05, lateFraction: 0.005 })
    let max = -1
    let outOfOrder = 0
    let late = 0
    for (const r of records) {
      if (r.kind === 'invalid') continue
      const behind = max - r.value.timestamp
      if (behind > 0 && behind <= 60_000) outOfOrder++
      if (behind > 60_000) late++
      max = Math.max(max, r.value.timestamp)
    }
    expect(outOfOrder).toBeGreaterThan(500)
    expect(late).toBeGreaterThan(20)
    expect(late).toBeLessThan(300)
  })

  it('makes invalid records of every kind, each rejected by the bridge for its own reason', () => {
    const records = generateCommerceRecords({ seed: 4, events: 4000, startMs: T, invalidFraction: 0.2 })
    const seen = new Set<InvalidVariant>()
    for (const r of records) {
      if (r.kind !== 'invalid') continue
      seen.add(r.variant)
      const result = bridgeEvent(Buffer.from(r.text, 'utf8'), r.timestampMs)
      expect(result.kind, r.text).toBe('invalid')
      if (result.kind === 'invalid') expect(EXPECTED_CODES[r.variant], r.text).toContain(result.rejection.code)
    }
    expect([...seen].sort()).toEqual([...INVALID_VARIANTS].sort())
  })

  it('writes seed JSON in every spelling that the bridge turns back into the same typed event', () => {
    const records = generateCommerceRecords({ seed: 8, events: 2000, startMs: T })
    const spellings = new Set<string>()
    for (const r of records) {
      if (r.kind === 'invalid') continue
      const text = toSeedJson(r)
      const json = JSON.parse(text) as Record<string, unknown>
      spellings.add(`${'event' in json ? 'event' : 'event_name'}:${typeof json.amount}`)
      expect(bridgeEvent(Buffer.from(text, 'utf8'), r.value.timestamp)).toEqual({ kind: r.kind, event: r.value })
    }
    expect([...spellings].sort()).toEqual(['event:number', 'event:string', 'event:undefined', 'event_name:number', 'event_name:string', 'event_name:undefined'])
  })

  it('rejects bad options naming them', () => {
    expect(() => generateCommerceRecords({ seed: -1, events: 1, startMs: T })).toThrow(/seed/)
    expect(() => generateCommerceRecords({ seed: 1, events: 1, startMs: T, products: 0 })).toThrow(/products/)
    expect(() => generateCommerceRecords({ seed: 1, events: 1, startMs: T, lateFraction: 2 })).toThrow(/lateFraction/)
  })
})
