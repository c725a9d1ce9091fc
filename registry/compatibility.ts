import type avro from 'avsc'

/**
 * Avro compatibility levels, as Confluent defines them, checked with avsc's schema resolution: "A
 * can read B" means `A.createResolver(B)` succeeds, i.e. data written with B decodes as A.
 * - BACKWARD: the new schema can read data written with the latest version;
 * - FORWARD: the latest version can read data written with the new schema;
 * - FULL: both;
 * - *_TRANSITIVE: the same against every live (not deleted) version, not only the latest;
 * - NONE: no check.
 */
export const CompatibilityLevels = {
  BACKWARD: 'BACKWARD',
  BACKWARD_TRANSITIVE: 'BACKWARD_TRANSITIVE',
  FORWARD: 'FORWARD',
  FORWARD_TRANSITIVE: 'FORWARD_TRANSITIVE',
  FULL: 'FULL',
  FULL_TRANSITIVE: 'FULL_TRANSITIVE',
  NONE: 'NONE'
} as const

/** One of `CompatibilityLevels`. */
export type CompatibilityLevel = (typeof CompatibilityLevels)[keyof typeof CompatibilityLevels]

/** The level of a subject without its own configuration, unless `PUT /config` changed it. */
export const DEFAULT_COMPATIBILITY_LEVEL: CompatibilityLevel = CompatibilityLevels.BACKWARD

/** The level named by `value` (case-insensitive), or undefined when it names none. */
export function parseCompatibilityLevel(value: unknown): CompatibilityLevel | undefined {
  if (typeof value !== 'string') return undefined
  const upper = value.toUpperCase()
  return (Object.values(CompatibilityLevels) as string[]).includes(upper) ? (upper as CompatibilityLevel) : undefined
}

/** A registered version the candidate is checked against. */
export interface ExistingVersion {
  readonly version: number
  readonly type: avro.Type
}

/**
 * Why `candidate` is not compatible with `existing` (live versions, oldest first) under `level`;
 * an empty list means compatible. A subject without versions accepts anything.
 */
export function compatibilityProblems(level: CompatibilityLevel, candidate: avro.Type, existing: readonly ExistingVersion[]): string[] {
  if (level === CompatibilityLevels.NONE || existing.length === 0) return []
  const transitive = level.endsWith('_TRANSITIVE')
  const against = transitive ? existing : existing.slice(-1)
  const backward = level.startsWith('BACKWARD') || level.startsWith('FULL')
  const forward = level.startsWith('FORWARD') || level.startsWith('FULL')
  const problems: string[] = []
  // Newest first, as Confluent reports them.
  for (const old of [...against].reverse()) {
    if (backward) {
      const problem = cannotRead(candidate, old.type)
      if (problem !== undefined) problems.push(`the new schema cannot read data written with version ${old.version} (${level}): ${problem}`)
    }
    if (forward) {
      const problem = cannotRead(old.type, candidate)
      if (problem !== undefined) problems.push(`version ${old.version} cannot read data written with the new schema (${level}): ${problem}`)
    }
  }
  return problems
}

/** Why `reader` cannot read data written with `writer`, or undefined when it can. */
export function cannotRead(reader: avro.Type, writer: avro.Type): string | undefined {
  try {
    reader.createResolver(writer)
    return undefined
  } catch (err) {
    return (err as Error).message
  }
}
