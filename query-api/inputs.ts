/**
 * Input schemas of the procedures (zod), traffic and commerce. Shape errors (wrong types, unknown
 * fields, from > to, a limit out of range) fail here with 400; checks that need the data or the
 * configuration (unknown sensor, range longer than the maximum, a foreign cursor) fail in the
 * procedures, also with 400 (an unknown product: 404).
 */
import { z } from 'zod'
import { QueryApiError, QueryApiErrorCodes } from './errors.ts'
import { TravelerTypeSymbols } from '../schemas/index.ts'

/** Epoch milliseconds, within what `Date` can represent. */
const epochMs = z
  .number({ error: 'must be a number of epoch milliseconds' })
  .int('must be an integer number of milliseconds')
  .min(0, 'must not be negative')
  .max(8.64e15, 'is past the largest date')

/** A sensor id, or `'all'` for every sensor. */
const sensorFilter = z.string({ error: 'must be a sensor id or "all"' }).min(1, 'must not be empty').max(200, 'is longer than 200 characters')
const travelerTypeFilter = z.enum([...TravelerTypeSymbols, 'all'], { error: `must be one of ${[...TravelerTypeSymbols, 'all'].join(', ')}` })
const resolution = z.enum(['1m', '5m'], { error: 'must be "1m" or "5m"' })

function orderedRange<T extends { from: number; to: number }>(value: T, ctx: z.RefinementCtx): void {
  if (value.from > value.to) ctx.addIssue({ code: 'custom', path: ['from'], message: `from (${value.from}) must not be after to (${value.to})` })
}

/** `traffic.series` input. Windows whose start is in `[from, to)` are returned. */
export const seriesInput = z
  .strictObject({
    sensorId: sensorFilter.default('all'),
    travelerType: travelerTypeFilter.default('all'),
    from: epochMs,
    to: epochMs,
    resolution: resolution.default('1m')
  })
  .superRefine(orderedRange)

/** `traffic.sessions` input. Sessions whose `firstSeen` is in `[from, to)`, newest first. */
export const sessionsInput = z
  .strictObject({
    sensorId: sensorFilter.default('all'),
    travelerType: travelerTypeFilter.default('all'),
    from: epochMs,
    to: epochMs,
    limit: z.number({ error: 'must be a number' }).int('must be an integer').min(1, 'must be at least 1').max(500, 'must be at most 500').default(50),
    cursor: z.string({ error: 'must be the nextCursor of a previous page' }).min(1, 'must not be empty').max(2048, 'is not a cursor this API issued').nullish()
  })
  .superRefine(orderedRange)

/** `traffic.live` input: which windows to push. */
export const liveInput = z.strictObject({
  sensorId: sensorFilter.default('all'),
  travelerType: travelerTypeFilter.default('all'),
  resolution: resolution.default('1m')
})

/** A readable one-line summary of validation issues: `from: must not be negative; limit: ...`. */
export function describeIssues(issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>): string {
  return issues
    .slice(0, 10)
    .map((i) => `${i.path.length > 0 ? i.path.map(String).join('.') : 'input'}: ${i.message}`)
    .join('; ')
}

/** A product id: the non-negative integer of the commerce topics' keys. */
const productId = z
  .number({ error: 'must be a product id (a non-negative integer)' })
  .int('must be an integer')
  .min(0, 'must not be negative')
  .max(Number.MAX_SAFE_INTEGER, 'is past the largest product id')

function orderedOptionalRange<T extends { from?: number | undefined; to?: number | undefined }>(value: T, ctx: z.RefinementCtx): void {
  if (value.from !== undefined && value.to !== undefined) orderedRange({ from: value.from, to: value.to }, ctx)
}

/**
 * `commerce.sales` input: the product, the moment its last hour is measured at (default now), and
 * the window ends of its series `[from, to)` (default: the 6 hours up to and including the last hour).
 */
export const commerceSalesInput = z
  .strictObject({
    productId,
    at: epochMs.optional(),
    from: epochMs.optional(),
    to: epochMs.optional()
  })
  .superRefine(orderedOptionalRange)

/** `commerce.top` input: how many products, at which moment (default now). */
export const commerceTopInput = z.strictObject({
  limit: z.number({ error: 'must be a number' }).int('must be an integer').min(1, 'must be at least 1').max(100, 'must be at most 100').default(10),
  at: epochMs.optional()
})

/** `commerce.products` input: the moment the last hour is measured at (default now). */
export const commerceProductsInput = z.strictObject({
  at: epochMs.optional()
})

/** `commerce.productRatings` input: one category or all, and how many products. */
export const productRatingsInput = z.strictObject({
  category: z.string({ error: 'must be a category or null' }).min(1, 'must not be empty').max(200, 'is longer than 200 characters').nullable().default(null),
  limit: z.number({ error: 'must be a number' }).int('must be an integer').min(1, 'must be at least 1').max(1000, 'must be at most 1000').default(200)
})

/** `commerce.live` input: the products whose sales windows to push, and the length of the pushed top list. */
export const commerceLiveInput = z.strictObject({
  products: z.array(productId, { error: 'must be a list of product ids' }).max(50, 'may name at most 50 products').default([]),
  topLimit: z.number({ error: 'must be a number' }).int('must be an integer').min(1, 'must be at least 1').max(100, 'must be at most 100').default(10)
})

/** Throws RANGE_TOO_LONG (400) when `[from, to)` is longer than `maxRangeMs` (a configuration, not a shape, limit). */
export function checkRange(from: number, to: number, maxRangeMs: number): void {
  if (to - from > maxRangeMs) {
    throw new QueryApiError(
      QueryApiErrorCodes.RANGE_TOO_LONG,
      `the range from ${from} to ${to} is ${to - from} ms long; at most ${maxRangeMs} ms (${Math.round(maxRangeMs / 3_600_000)} h) may be asked for`
    )
  }
}

/**
 * Throws TOO_MANY_POINTS (400) when a series over `[from, to)` with one point per `stepMs` would have
 * more than `maxPoints` points: range x resolution, whatever `maxRangeMs` allows.
 */
export function checkSeriesPoints(from: number, to: number, stepMs: number, maxPoints: number): void {
  const points = Math.max(0, Math.ceil(to / stepMs) - Math.ceil(from / stepMs))
  if (points > maxPoints) {
    throw new QueryApiError(
      QueryApiErrorCodes.TOO_MANY_POINTS,
      `the series from ${from} to ${to} would have ${points} points (one per ${stepMs} ms); at most ${maxPoints} points may be asked for in one call (limits.maxSeriesPoints)`
    )
  }
}
