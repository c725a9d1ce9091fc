import { readUInt64BE, SEGMENT_PREFIX_BYTES, segmentPrefix, writeUInt64BE } from './key-schema.ts'
import type { Keyspace } from './keyspace.ts'

/**
 * Where a window/session store keeps its observed stream time in its keyspace. Segment ids are
 * below 2^53, so every segment key starts with 0x00; this key (0xff 'm') sorts after all of them.
 */
const META_STREAM_TIME_KEY = Buffer.from([0xff, 0x6d])
/** Upper bound (exclusive) of all segment data. */
export const SEGMENTS_END = Buffer.from([0xff])

/**
 * Time-bucketed segments of a window or session store. Segment `s` holds the entries whose segment
 * timestamp (window start, or session end) is in `[s * intervalMs, (s + 1) * intervalMs)`; it is a
 * key range of the store's keyspace. Expiry removes whole segments with one range deletion, so it
 * never scans live data.
 */
export class Segments {
  readonly intervalMs: number
  readonly retentionMs: number
  /** Ids of segments that may hold data, ascending. */
  private live: number[] = []
  private streamTimeMs = -1
  private persistedStreamTimeMs = -1

  constructor(intervalMs: number, retentionMs: number) {
    this.intervalMs = intervalMs
    this.retentionMs = retentionMs
  }

  get observedStreamTimeMs(): number {
    return this.streamTimeMs
  }

  /** The oldest timestamp still readable: `observed stream time - retention + 1`. */
  get minLiveTimeMs(): number {
    return this.streamTimeMs - this.retentionMs + 1
  }

  segmentId(timestampMs: number): number {
    return Math.floor(timestampMs / this.intervalMs)
  }

  /** Loads the segment ids and the stream time a persistent keyspace already holds. */
  load(keyspace: Keyspace): void {
    this.live = []
    let from: Buffer | undefined
    for (;;) {
      const it = keyspace.range(from, SEGMENTS_END, false)
      const first = it.next()
      it.close()
      if (first.done === true) break
      const id = readUInt64BE(first.value.key, 0)
      this.live.push(id)
      from = segmentPrefix(id + 1)
    }
    const meta = keyspace.get(META_STREAM_TIME_KEY)
    this.streamTimeMs = meta !== undefined && meta.length === 8 ? readUInt64BE(meta, 0) : -1
    this.persistedStreamTimeMs = this.streamTimeMs
  }

  /**
   * Advances the stream time to `timestampMs` and returns the id of the segment to write it to, or
   * -1 when the timestamp is already past retention. Drops segments that fell out of retention.
   */
  segmentForWrite(timestampMs: number, keyspace: Keyspace): number {
    if (timestampMs > this.streamTimeMs) {
      this.streamTimeMs = timestampMs
      this.dropExpired(keyspace)
    }
    if (timestampMs < this.minLiveTimeMs) return -1
    const id = this.segmentId(timestampMs)
    const live = this.live
    const n = live.length
    if (n === 0 || (live[n - 1] as number) < id) live.push(id)
    else if (!live.includes(id)) {
      live.push(id)
      live.sort((a, b) => a - b)
    }
    return id
  }

  /** Live segment ids in `[fromId, toId]`, ascending. */
  between(fromId: number, toId: number): number[] {
    const out: number[] = []
    for (const id of this.live) if (id >= fromId && id <= toId) out.push(id)
    return out
  }

  /** Writes the stream time to the keyspace when it moved (persistent stores, at flush). */
  persist(keyspace: Keyspace): void {
    if (!keyspace.persistent || this.persistedStreamTimeMs === this.streamTimeMs) return
    const b = Buffer.allocUnsafe(8)
    writeUInt64BE(b, this.streamTimeMs, 0)
    keyspace.put(META_STREAM_TIME_KEY, b)
    this.persistedStreamTimeMs = this.streamTimeMs
  }

  private dropExpired(keyspace: Keyspace): void {
    const minLive = this.minLiveTimeMs
    if (minLive <= 0) return
    const minSegment = this.segmentId(minLive)
    let dropped = 0
    while (dropped < this.live.length && (this.live[dropped] as number) < minSegment) {
      const id = this.live[dropped] as number
      keyspace.deleteRange(segmentPrefix(id), segmentPrefix(id + 1))
      dropped++
    }
    if (dropped > 0) this.live.splice(0, dropped)
  }
}

/** Key bounds `[from, to]` of a segment's entries for one record key (used by fetch and findSessions). */
export function segmentKeyBounds(segmentId: number, key: Buffer, suffixLow: Buffer, suffixHigh: Buffer): [Buffer, Buffer] {
  const n = key.length
  const low = Buffer.allocUnsafe(SEGMENT_PREFIX_BYTES + n + suffixLow.length)
  const high = Buffer.allocUnsafe(SEGMENT_PREFIX_BYTES + n + suffixHigh.length)
  writeUInt64BE(low, segmentId, 0)
  writeUInt64BE(high, segmentId, 0)
  key.copy(low, SEGMENT_PREFIX_BYTES)
  key.copy(high, SEGMENT_PREFIX_BYTES)
  suffixLow.copy(low, SEGMENT_PREFIX_BYTES + n)
  suffixHigh.copy(high, SEGMENT_PREFIX_BYTES + n)
  return [low, high]
}

/**
 * The writes of a batch whose timestamp is still live. A later write of the same batch may have
 * advanced stream time and dropped the segment of an earlier one before the batch is written.
 */
export function liveOnly<T>(batch: T[], timestampsMs: number[], minLiveTimeMs: number): T[] {
  let allLive = true
  for (const t of timestampsMs)
    if (t < minLiveTimeMs) {
      allLive = false
      break
    }
  return allLive ? batch : batch.filter((_w, i) => (timestampsMs[i] as number) >= minLiveTimeMs)
}
