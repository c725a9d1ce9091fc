/**
 * Comparing an application's outputs with its reference implementation: the latest value per key on
 * both sides, differences as readable lines for failure messages.
 */

/**
 * Differences between expected and actual latest values per key, at most `limit` of them, as
 * readable lines. Values compare deeply (arrays such as histograms element by element); numbers with
 * a relative tolerance of 1e-9 (sums may add in another order).
 */
export function diffLatestValues<V extends object>(expected: ReadonlyMap<string, V>, actual: ReadonlyMap<string, V>, limit = 10): string[] {
  const out: string[] = []
  for (const [key, value] of expected) {
    if (out.length >= limit) return out
    const got = actual.get(key)
    if (got === undefined) out.push(`missing ${key}: expected ${JSON.stringify(value)}`)
    else if (!sameValue(value, got)) out.push(`differs ${key}: expected ${JSON.stringify(value)}, got ${JSON.stringify(got)}`)
  }
  for (const [key, value] of actual) {
    if (out.length >= limit) return out
    if (!expected.has(key)) out.push(`unexpected ${key}: ${JSON.stringify(value)}`)
  }
  return out
}

/** Deep equality of decoded values: numbers within a relative 1e-9, arrays and records field by field. */
function sameValue(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b))
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a === b
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const x = a as Record<string, unknown>
  const y = b as Record<string, unknown>
  const keys = new Set([...Object.keys(x), ...Object.keys(y)])
  for (const k of keys) if (!sameValue(x[k], y[k])) return false
  return true
}
