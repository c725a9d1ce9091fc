/**
 * Traveler sessions held in a key-value store of state/ (RocksDB in production, memory in tests),
 * laid out so that "newest first" is a forward range scan, with opaque cursors for pagination.
 */
import { createHash } from 'node:crypto'
import { QueryApiError, QueryApiErrorCodes } from './errors.ts'
import type { SessionKey } from '../apps/traffic/index.ts'
import type { TravelerType } from '../schemas/index.ts'
import type { KeyValueStore } from '../state/index.ts'

/** One traveler session, as `traffic.sessions` returns it. */
export interface TravelerSessionView {
  readonly sensorId: string
  readonly travelerId: string
  readonly travelerType: TravelerType
  /** Session start and end, epoch ms (UTC). */
  readonly firstSeen: number
  readonly lastSeen: number
  readonly observations: number
  /** Metres travelled over the session's speed samples. */
  readonly distanceM: number
  /** m/s; null without speed samples. */
  readonly speedMax: number | null
  readonly speedMean: number | null
}

/** What a page of sessions is asked for. `'all'` matches every sensor or type. */
export interface SessionQuery {
  readonly sensorId: string
  readonly travelerType: TravelerType | 'all'
  /** Sessions whose `firstSeen` is in `[fromMs, toMs)`. */
  readonly fromMs: number
  readonly toMs: number
  readonly limit: number
  readonly cursor?: string | undefined
}

/** A page of sessions, newest `firstSeen` first (ties by sensor, then traveler id). */
export interface SessionPage {
  readonly items: TravelerSessionView[]
  /** Pass it back as `cursor` for the next page; null when there is none. */
  readonly nextCursor: string | null
}

/*
 * Key layout (bytes; every session is written under both keys, with the same JSON value):
 *   0x01 | sensor_id (UTF-8) | 0x00 | inv(first_seen) (uint64 BE) | traveler_id (UTF-8)   by sensor
 *   0x02 | inv(first_seen) (uint64 BE) | sensor_id (UTF-8) | 0x00 | traveler_id (UTF-8)  all sensors
 * inv(t) = 2^64 - 1 - t, so ascending keys are descending session starts. Sensor ids hold no NUL
 * (keys.ts refuses them) and UTF-8 never holds 0xFF, which therefore bounds a prefix from above.
 */
const BY_SENSOR = 0x01
const ALL_SENSORS = 0x02
const SEP = Buffer.from([0x00])
const TOP = Buffer.from([0xff])
const MAX_U64 = 0xffff_ffff_ffff_ffffn

function inv(ms: number): Buffer {
  const b = Buffer.allocUnsafe(8)
  b.writeBigUInt64BE(MAX_U64 - BigInt(ms))
  return b
}

function sensorPrefix(sensorId: string): Buffer {
  return Buffer.concat([Buffer.from([BY_SENSOR]), Buffer.from(sensorId, 'utf8'), SEP])
}

/** The two store keys of a session. */
export function sessionStoreKeys(key: SessionKey): [Buffer, Buffer] {
  const start = inv(key.sessionStart)
  const sensor = Buffer.from(key.sensorId, 'utf8')
  const traveler = Buffer.from(key.travelerId, 'utf8')
  return [Buffer.concat([Buffer.from([BY_SENSOR]), sensor, SEP, start, traveler]), Buffer.concat([Buffer.from([ALL_SENSORS]), start, sensor, SEP, traveler])]
}

/** Options of `SessionIndex`. */
export interface SessionIndexOptions {
  /**
   * Most store entries one page reads (a traveler-type filter may skip many). When reached, the page
   * ends early with a cursor where the scan stopped. Default 50,000.
   */
  maxScanEntries?: number
}

/** The sessions of the materialized topic, queried newest first. */
export class SessionIndex {
  private readonly store: KeyValueStore<Buffer, Buffer>
  private readonly maxScan: number
  private readonly sensors_ = new Set<string>()
  private count = 0

  constructor(store: KeyValueStore<Buffer, Buffer>, options: SessionIndexOptions = {}) {
    this.store = store
    this.maxScan = options.maxScanEntries ?? 50_000
    if (!Number.isSafeInteger(this.maxScan) || this.maxScan < 1) {
      throw new TypeError(`SessionIndex: option "maxScanEntries" must be a positive integer, got ${String(options.maxScanEntries)}`)
    }
  }

  /** Sensors that some session named since start (a later tombstone does not remove the name). */
  get sensors(): ReadonlySet<string> {
    return this.sensors_
  }

  /** Store entries (two per session). */
  approximateEntries(): number {
    return this.store.approximateNumEntries()
  }

  /** Sessions held (exact). */
  get size(): number {
    return this.count
  }

  /** Writes sessions and deletes tombstoned ones, in order, as one store batch. */
  apply(writes: ReadonlyArray<{ key: SessionKey; value: TravelerSessionView | null }>): void {
    if (writes.length === 0) return
    const entries: Array<{ key: Buffer; value: Buffer | null }> = []
    // Whether each key holds a session after the writes so far (the batch is written at the end).
    const present = new Map<string, boolean>()
    for (const { key, value } of writes) {
      const [bySensor, all] = sessionStoreKeys(key)
      const id = bySensor.toString('latin1')
      const existed = present.get(id) ?? this.store.get(bySensor) !== undefined
      if (value === null && existed) this.count--
      if (value !== null && !existed) this.count++
      present.set(id, value !== null)
      const bytes = value === null ? null : Buffer.from(JSON.stringify(value), 'utf8')
      entries.push({ key: bySensor, value: bytes }, { key: all, value: bytes })
      if (value !== null) this.sensors_.add(key.sensorId)
    }
    this.store.putAll(entries)
  }

  /**
   * Deletes the sessions that started before `cutoffMs` (retention: the topic drops them without
   * tombstones). They are the tail of the all-sensors keys; returns how many were deleted.
   */
  deleteStartedBefore(cutoffMs: number): number {
    if (cutoffMs <= 0) return 0
    const doomed: Buffer[] = []
    const iterator = this.store.range(Buffer.concat([Buffer.from([ALL_SENSORS]), inv(cutoffMs - 1)]), Buffer.concat([Buffer.from([ALL_SENSORS]), inv(0), TOP]))
    try {
      for (const { key } of iterator) {
        const firstSeen = Number(MAX_U64 - key.readBigUInt64BE(1))
        const rest = key.subarray(9)
        const sep = rest.indexOf(0)
        doomed.push(
          key,
          sessionStoreKeys({
            sensorId: rest.subarray(0, sep).toString('utf8'),
            travelerId: rest.subarray(sep + 1).toString('utf8'),
            sessionStart: firstSeen
          })[0]
        )
      }
    } finally {
      iterator.close()
    }
    if (doomed.length > 0) this.store.putAll(doomed.map((key) => ({ key, value: null })))
    this.count -= doomed.length / 2
    return doomed.length / 2
  }

  /** One page of sessions; throws BAD_CURSOR for a cursor not issued for this query. */
  page(query: SessionQuery): SessionPage {
    const { fromMs, toMs, limit } = query
    if (toMs <= fromMs) return { items: [], nextCursor: null }
    const prefix = query.sensorId === 'all' ? Buffer.from([ALL_SENSORS]) : sensorPrefix(query.sensorId)
    const lower = Buffer.concat([prefix, inv(toMs - 1)])
    const upper = Buffer.concat([prefix, inv(fromMs), TOP])
    const fingerprint = queryFingerprint(query)
    let from = lower
    if (query.cursor !== undefined) {
      const after = decodeCursor(query.cursor, fingerprint)
      if (Buffer.compare(after, lower) < 0 || Buffer.compare(after, upper) > 0) {
        throw new QueryApiError(QueryApiErrorCodes.BAD_CURSOR, 'cursor is outside the range of this query')
      }
      // The smallest key after the cursor's.
      from = Buffer.concat([after, SEP])
    }
    const items: TravelerSessionView[] = []
    // The last entry this page has accounted for: the next page starts after it.
    let lastKey: Buffer | undefined
    let scanned = 0
    let more = false
    const iterator = this.store.range(from, upper)
    try {
      for (const { key, value } of iterator) {
        // An entry beyond the scan budget or beyond a full page: there is a next page.
        if (scanned === this.maxScan) {
          more = true
          break
        }
        const session = JSON.parse(value.toString('utf8')) as TravelerSessionView
        if (query.travelerType === 'all' || session.travelerType === query.travelerType) {
          if (items.length === limit) {
            more = true
            break
          }
          items.push(session)
        }
        scanned++
        lastKey = key
      }
    } finally {
      iterator.close()
    }
    return { items, nextCursor: more && lastKey !== undefined ? encodeCursor(lastKey, fingerprint) : null }
  }
}

function queryFingerprint(query: SessionQuery): string {
  return createHash('sha256')
    .update(JSON.stringify([query.sensorId, query.travelerType, query.fromMs, query.toMs]))
    .digest('base64url')
    .slice(0, 12)
}

/** Cursor text: base64url of JSON `{ v: 1, q: <query fingerprint>, k: <base64url store key> }`. */
function encodeCursor(key: Buffer, fingerprint: string): string {
  return Buffer.from(JSON.stringify({ v: 1, q: fingerprint, k: key.toString('base64url') }), 'utf8').toString('base64url')
}

function decodeCursor(cursor: string, fingerprint: string): Buffer {
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    throw new QueryApiError(QueryApiErrorCodes.BAD_CURSOR, 'cursor is not one this API issued')
  }
  const c = parsed as { v?: unknown; q?: unknown; k?: unknown }
  if (typeof parsed !== 'object' || parsed === null || c.v !== 1 || typeof c.q !== 'string' || typeof c.k !== 'string' || !/^[A-Za-z0-9_-]+$/.test(c.k)) {
    throw new QueryApiError(QueryApiErrorCodes.BAD_CURSOR, 'cursor is not one this API issued')
  }
  if (c.q !== fingerprint) {
    throw new QueryApiError(QueryApiErrorCodes.BAD_CURSOR, 'cursor was issued for a different query (sensorId, travelerType, from and to must stay the same)')
  }
  return Buffer.from(c.k, 'base64url')
}
