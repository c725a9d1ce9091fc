/**
 * Kafka's default key partitioner: `toPositive(murmur2(keyBytes)) % numPartitions`, bit for bit the
 * Java client's `Utils.murmur2` (and kafkajs' Java-compatible default partitioner), so that records
 * written by the test driver, the runtime and plain producers land on the same partitions.
 */

const SEED = 0x9747b28c
const M = 0x5bd1e995

/**
 * MurmurHash2 (32-bit) of `data` as a signed int32, as Kafka's `Utils.murmur2`.
 * Integer multiplication uses `Math.imul` to keep Java's 32-bit overflow semantics.
 */
export function murmur2(data: Uint8Array): number {
  const length = data.length
  let h = (SEED ^ length) | 0
  const length4 = length >>> 2
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4
    // Little-endian 4-byte block.
    let k = ((data[i4] ?? 0) & 0xff) | (((data[i4 + 1] ?? 0) & 0xff) << 8) | (((data[i4 + 2] ?? 0) & 0xff) << 16) | (((data[i4 + 3] ?? 0) & 0xff) << 24)
    k = Math.imul(k, M)
    k ^= k >>> 24
    k = Math.imul(k, M)
    h = Math.imul(h, M)
    h ^= k
  }
  const tail = length & ~3
  const rest = length % 4
  if (rest === 3) h ^= ((data[tail + 2] ?? 0) & 0xff) << 16
  if (rest >= 2) h ^= ((data[tail + 1] ?? 0) & 0xff) << 8
  if (rest >= 1) {
    h ^= (data[tail] ?? 0) & 0xff
    h = Math.imul(h, M)
  }
  h ^= h >>> 13
  h = Math.imul(h, M)
  h ^= h >>> 15
  return h | 0
}

/** Clears the sign bit (Kafka's `Utils.toPositive`). */
export function toPositive(n: number): number {
  return n & 0x7fffffff
}

/** The partition Kafka's default partitioner picks for a non-null serialized key. */
export function partitionForKey(keyBytes: Uint8Array, numPartitions: number): number {
  if (!Number.isInteger(numPartitions) || numPartitions < 1) {
    throw new RangeError(`numPartitions must be a positive integer, got ${numPartitions}`)
  }
  return toPositive(murmur2(keyBytes)) % numPartitions
}
