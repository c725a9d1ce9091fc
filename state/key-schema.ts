/**
 * Byte layouts of window and session store keys, and of the keys their changelogs carry.
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

/** The changelog key of a window entry (see the layout above encodeWindowKey). */
export function encodeWindowChangelogKey(key: Buffer, windowStartMs: number, seq: number): Buffer {
  const n = key.length
  const out = Buffer.allocUnsafe(n + WINDOW_SUFFIX_BYTES)
  key.copy(out, 0)
  writeUInt64BE(out, windowStartMs, n)
  out.writeUInt32BE(seq, n + 8)
  return out
}

/** Parts of a window changelog key; throws on keys too short to be one. */
export function decodeWindowChangelogKey(data: Buffer): { key: Buffer; windowStartMs: number; seq: number } {
  if (data.length < WINDOW_SUFFIX_BYTES) {
    throw new StateStoreError('STATE_BAD_CHANGELOG_KEY', `a window changelog key needs at least ${WINDOW_SUFFIX_BYTES} bytes, got ${data.length}`)
  }
  const n = data.length - WINDOW_SUFFIX_BYTES
  return { key: data.subarray(0, n), windowStartMs: readUInt64BE(data, n), seq: data.readUInt32BE(n + 8) }
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

/** The changelog key of a session (see the layout above encodeSessionKey). */
export function encodeSessionChangelogKey(key: Buffer, endMs: number, startMs: number): Buffer {
  const n = key.length
  const out = Buffer.allocUnsafe(n + SESSION_SUFFIX_BYTES)
  key.copy(out, 0)
  writeUInt64BE(out, endMs, n)
  writeUInt64BE(out, startMs, n + 8)
  return out
}

/** Parts of a session changelog key; throws on keys too short to be one. */
export function decodeSessionChangelogKey(data: Buffer): { key: Buffer; endMs: number; startMs: number } {
  if (data.length < SESSION_SUFFIX_BYTES) {
    throw new StateStoreError('STATE_BAD_CHANGELOG_KEY', `a session changelog key needs at least ${SESSION_SUFFIX_BYTES} bytes, got ${data.length}`)
  }
  const n = data.length - SESSION_SUFFIX_BYTES
  return { key: data.subarray(0, n), endMs: readUInt64BE(data, n), startMs: readUInt64BE(data, n + 8) }
}

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
