/**
 * The tests' deterministic PRNG (mulberry32): uniform in [0, 1), the same sequence for a seed, so
 * that a failing seed can be replayed. Shared by unit and integration tests; the applications' own
 * generators use apps/shared's `Prng`.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}
