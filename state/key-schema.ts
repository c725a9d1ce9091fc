/**
 * Byte layouts of window and session store keys, and of the keys their changelogs carry, and the
 * key schema that lets one set of segmented store layers serve both (see `SegmentedKeySchema`).
 * Timestamps are written as unsigned big-endian 64-bit integers so that byte order is time order;
 * they must be non-negative safe integers (checked by the stores before encoding).
 */
import { StateStoreError } from './errors.ts'

const TWO_POW_32 = 0x1_0000_0000

/** Writes a non-negative safe integer as 8 big-endian bytes at `offset`. */
export function writeUInt64BE(buf: Buffer, value: number, offset: number): void {
  const hi = Math.floor(value / TWO_POW_32)
  buf.writeUInt32BE(hi, offset)
  buf.writeUInt32BE(value - hi * TWO_POW_32, offset + 4)
}

/** Reads 8 big-endian bytes at `offset` as a number (exact below 2^53). */
export function readUInt64BE(buf: Buffer, offset: number): number {
  return buf.readUInt32BE(offset) * TWO_POW_32 + buf.readUInt32BE(offset + 4)
}

/** Throws a clear error unless `ms` can be encoded in a store key. */
export function checkTimestamp(ms: number, what: string): void {
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw new StateStoreError('STATE_BAD_TIMESTAMP', `${what} must be a non-negative integer of milliseconds, got ${ms}`)
  }
}

/** Throws a clear error unless `[startMs, endMs]` is a valid session of store `storeName`. */
export function checkSession(storeName: string, startMs: number, endMs: number): void {
  checkTimestamp(startMs, `session start of store "${storeName}"`)
  checkTimestamp(endMs, `session end of store "${storeName}"`)
  if (endMs < startMs) {
    throw new StateStoreError('STATE_BAD_SESSION', `session of store "${storeName}" ends (${endMs}) before it starts (${startMs})`)
  }
}

/** Suffix lengths of the layouts below. */
export const WINDOW_SUFFIX_BYTES = 12
export const SESSION_SUFFIX_BYTES = 16
/** Every window/session inner key starts with its segment id. */
export const SEGMENT_PREFIX_BYTES = 8

/*
 * Window store, inner key (one keyspace per store, segments are key ranges):
 *
 *   offset 0                8                  8+n                 16+n           20+n
 *          | segment id     | record key bytes | window start (ms) | sequence no.  |
 *          | uint64 BE      | n bytes          | uint64 BE         | uint32 BE     |
 *
 *   segment id = floor(window start / segment interval). The sequence number is 0 unless the store
 *   retains duplicates, where it makes repeated puts of one key and window distinct, in put order.
 *
 * Window changelog key: the same without the segment id:
 *   | record key bytes | window start uint64 BE | sequence uint32 BE |
 *   Restore recomputes the segment from the window start.
 *
 * Within one segment, entries sort by record key bytes, then window start, then sequence; a record
 * key that is a prefix of another may interleave with it, so readers check the key length
 * (total length - 20) and bytes.
 */
export function encodeWindowKey(segmentId: number, key: Buffer, windowStartMs: number, seq: number): Buffer {
  const n = key.length
  const out = Buffer.allocUnsafe(SEGMENT_PREFIX_BYTES + n + WINDOW_SUFFIX_BYTES)
  writeUInt64BE(out, segmentId, 0)
  key.copy(out, SEGMENT_PREFIX_BYTES)
  writeUInt64BE(out, windowStartMs, SEGMENT_PREFIX_BYTES + n)
  out.writeUInt32BE(seq, SEGMENT_PREFIX_BYTES + n + 8)
  return out
}

/*
 * Session store, inner key:
 *
 *   offset 0                8                  8+n                 16+n                24+n
 *          | segment id     | record key bytes | session end (ms)  | session start (ms) |
 *          | uint64 BE      | n bytes          | uint64 BE         | uint64 BE          |
 *
 *   segment id = floor(session end / segment interval): sessions expire by their end. Within a
 *   segment and key, sessions sort by end then start, which is the order findSessions returns.
 *
 * Session changelog key: | record key bytes | end uint64 BE | start uint64 BE |
 */
export function encodeSessionKey(segmentId: number, key: Buffer, endMs: number, startMs: number): Buffer {
  const n = key.length
  const out = Buffer.allocUnsafe(SEGMENT_PREFIX_BYTES + n + SESSION_SUFFIX_BYTES)
  writeUInt64BE(out, segmentId, 0)
  key.copy(out, SEGMENT_PREFIX_BYTES)
  writeUInt64BE(out, endMs, SEGMENT_PREFIX_BYTES + n)
  writeUInt64BE(out, startMs, SEGMENT_PREFIX_BYTES + n + 8)
  return out
}

/** The window start of a window store key. */
export function windowStartOf(storeKey: Buffer): number {
  return readUInt64BE(storeKey, storeKey.length - WINDOW_SUFFIX_BYTES)
}

/** The sequence number of a window store or changelog key (both end with the window suffix). */
export function windowSequenceOf(key: Buffer): number {
  return key.readUInt32BE(key.length - 4)
}

/** The session end of a session store key. */
export function sessionEndOf(storeKey: Buffer): number {
  return readUInt64BE(storeKey, storeKey.length - SESSION_SUFFIX_BYTES)
}

/** The session start of a session store key. */
export function sessionStartOf(storeKey: Buffer): number {
  return readUInt64BE(storeKey, storeKey.length - 8)
}

/**
 * What the segmented store layers (inner, change-logging, caching) know of a key layout, as Kafka
 * Streams' `SegmentedBytesStore.KeySchema`. Both layouts above are
 *
 *   | segment id uint64 BE | record key bytes | suffix (suffixBytes) |
 *
 * with a suffix that opens with the segment timestamp (window start, or session end) as uint64 BE.
 * So the entries of one record key sort by segment timestamp within and across segments, and the
 * changelog key is the store key without its segment id. Only the typed facades (the metered window
 * and session stores) know what else the suffix holds.
 */
export class SegmentedKeySchema {
  /** Names the layout in errors: `window` or `session`. */
  readonly name: string
  readonly suffixBytes: number

  constructor(name: string, suffixBytes: number) {
    this.name = name
    this.suffixBytes = suffixBytes
  }

  /** The timestamp that places a store key in its segment and in retention. */
  segmentTimeMs(storeKey: Buffer): number {
    return readUInt64BE(storeKey, storeKey.length - this.suffixBytes)
  }

  /** The segment timestamp of a changelog key; throws on keys too short to be one. */
  changelogTimeMs(changelogKey: Buffer): number {
    if (changelogKey.length < this.suffixBytes) {
      throw new StateStoreError('STATE_BAD_CHANGELOG_KEY', `a ${this.name} changelog key needs at least ${this.suffixBytes} bytes, got ${changelogKey.length}`)
    }
    return readUInt64BE(changelogKey, changelogKey.length - this.suffixBytes)
  }

  /** The record key bytes of a store key (a view, not a copy). */
  recordKey(storeKey: Buffer): Buffer {
    return storeKey.subarray(SEGMENT_PREFIX_BYTES, storeKey.length - this.suffixBytes)
  }

  /** True when a store key holds exactly `key` (not a longer key starting with the same bytes). */
  hasRecordKey(storeKey: Buffer, key: Buffer): boolean {
    const n = key.length
    return storeKey.length === SEGMENT_PREFIX_BYTES + n + this.suffixBytes && storeKey.compare(key, 0, n, SEGMENT_PREFIX_BYTES, SEGMENT_PREFIX_BYTES + n) === 0
  }

  /**
   * The lowest and highest suffix of segment timestamps in `[fromMs, toMs]`: with a record key and a
   * segment id in front (`segmentKeyBounds`), the inclusive key range of that key's entries.
   */
  suffixBounds(fromMs: number, toMs: number): [Buffer, Buffer] {
    const low = Buffer.alloc(this.suffixBytes, 0)
    writeUInt64BE(low, fromMs, 0)
    const high = Buffer.alloc(this.suffixBytes, 0xff)
    writeUInt64BE(high, Math.min(toMs, Number.MAX_SAFE_INTEGER), 0)
    return [low, high]
  }

  /** The changelog key of a store key: the same bytes without the segment id (a view). */
  changelogKey(storeKey: Buffer): Buffer {
    return storeKey.subarray(SEGMENT_PREFIX_BYTES)
  }

  /** The store key of a changelog key in segment `segmentId`. */
  storeKey(segmentId: number, changelogKey: Buffer): Buffer {
    const out = Buffer.allocUnsafe(SEGMENT_PREFIX_BYTES + changelogKey.length)
    writeUInt64BE(out, segmentId, 0)
    changelogKey.copy(out, SEGMENT_PREFIX_BYTES)
    return out
  }
}

/** Window store keys: suffix = window start, sequence number. */
export const windowKeySchema = new SegmentedKeySchema('window', WINDOW_SUFFIX_BYTES)
/** Session store keys: suffix = session end, session start. */
export const sessionKeySchema = new SegmentedKeySchema('session', SESSION_SUFFIX_BYTES)

/** The 8-byte key prefix of a segment. */
export function segmentPrefix(segmentId: number): Buffer {
  const out = Buffer.allocUnsafe(SEGMENT_PREFIX_BYTES)
  writeUInt64BE(out, segmentId, 0)
  return out
}

/** The smallest key greater than every key starting with `prefix`, or undefined when none (all 0xff). */
export function prefixEnd(prefix: Buffer): Buffer | undefined {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const b = prefix[i] as number
    if (b !== 0xff) {
      const out = Buffer.allocUnsafe(i + 1)
      prefix.copy(out, 0, 0, i)
      out[i] = b + 1
      return out
    }
  }
  return undefined
}
