import type avro from 'avsc'
import { parseAvroSchema } from '../schemas/index.ts'
import { type CompatibilityLevel, parseCompatibilityLevel } from './compatibility.ts'
import { keyText, parseKey, parseValue, RecordKinds, type LogRecord } from './records.ts'

/** A schema known by global id. */
export interface SchemaEntry {
  readonly id: number
  /** Canonical text: what GET /schemas/ids/{id} answers and what identifies the schema. */
  readonly canonical: string
  readonly type: avro.Type
}

/** One version of a subject. */
export interface VersionEntry {
  readonly subject: string
  readonly version: number
  readonly id: number
  /** Soft-deleted: hidden unless `deleted=true`, skipped by compatibility checks. */
  readonly deleted: boolean
}

interface MutableVersion {
  readonly subject: string
  readonly version: number
  readonly id: number
  deleted: boolean
  /** REGISTER key that created it and DELETE_VERSION keys naming it: what a permanent delete tombstones. */
  readonly keys: string[]
}

/** Outcome of a REGISTER record once the state has read it. */
export type RegisterOutcome = 'accepted' | 'rejected' | 'unseen'

/**
 * The registry's state, built only by replaying the topic in order (`apply`). Every instance applies
 * the same deterministic rules to the same records, so all agree on ids and versions.
 *
 * Arbitration: a REGISTER record is accepted unless an earlier record already
 * - holds its subject and version (two writers picked the same next version), or
 * - binds its id to another schema, or its schema to another id (two writers picked ids at once), or
 * - assigned ids up to or above it (its id is neither new nor the schema's own: a freed id is never reused), or
 * - registered the same schema as a live version of the subject (a duplicate).
 * Rejected records change nothing; their writer sees the rejection after reading its record back, and
 * retries. Writers tombstone rejected records they know of with their next write, so that a later
 * permanent delete of the winner cannot let a loser win on a replay of the compacted topic.
 */
export class RegistryState {
  private readonly schemas = new Map<number, SchemaEntry & { refs: number }>()
  private readonly idByCanonical = new Map<string, number>()
  private readonly subjects_ = new Map<string, Map<number, MutableVersion>>()
  private readonly versionByKey = new Map<string, MutableVersion>()
  private readonly rejected = new Set<string>()
  private readonly subjectLevels = new Map<string, CompatibilityLevel>()
  private globalLevel_: CompatibilityLevel | undefined
  private maxId = 0
  /** Records skipped because this registry does not understand them. */
  skippedRecords = 0

  /** Applies one record of the topic; records must come in log order. */
  apply(record: LogRecord): void {
    const key = parseKey(record.key)
    if (key === undefined) {
      this.skippedRecords++
      return
    }
    const text = keyText(key)
    if (record.value === null) {
      this.applyTombstone(key.kind, text)
      return
    }
    const value = parseValue(record.value)
    if (value === undefined) {
      this.skippedRecords++
      return
    }
    switch (key.kind) {
      case RecordKinds.REGISTER:
        if (!this.applyRegister(key.subject, key.version, key.id, value, text)) this.rejected.add(text)
        return
      case RecordKinds.DELETE_VERSION: {
        const entry = this.subjects_.get(key.subject)?.get(key.version)
        if (entry !== undefined) {
          entry.deleted = true
          entry.keys.push(text)
          this.versionByKey.set(text, entry)
        }
        return
      }
      case RecordKinds.CONFIG: {
        const level = parseCompatibilityLevel(value.compatibilityLevel)
        if (level === undefined) this.skippedRecords++
        else if (key.subject === null) this.globalLevel_ = level
        else this.subjectLevels.set(key.subject, level)
        return
      }
      case RecordKinds.ID_FLOOR:
        if (typeof value.maxId === 'number' && Number.isInteger(value.maxId)) this.maxId = Math.max(this.maxId, value.maxId)
        return
      case RecordKinds.NOOP:
        return
    }
  }

  private applyRegister(subject: string, version: number, id: number, value: Record<string, unknown>, key: string): boolean {
    if (typeof value.schema !== 'string' || (value.schemaType !== undefined && value.schemaType !== 'AVRO')) return false
    const versions = this.subjects_.get(subject)
    if (versions?.has(version) === true) return false
    let parsed: { canonical: string; type: avro.Type }
    try {
      parsed = parseAvroSchema(value.schema)
    } catch {
      return false
    }
    const known = this.schemas.get(id)
    const idOfSchema = this.idByCanonical.get(parsed.canonical)
    if (known !== undefined && known.canonical !== parsed.canonical) return false
    if (idOfSchema !== undefined && idOfSchema !== id) return false
    if (known === undefined && id <= this.maxId) return false
    for (const v of versions?.values() ?? []) {
      if (!v.deleted && v.id === id) return false
    }
    if (known === undefined) {
      this.schemas.set(id, { id, canonical: parsed.canonical, type: parsed.type, refs: 1 })
      this.idByCanonical.set(parsed.canonical, id)
    } else {
      known.refs++
    }
    this.maxId = Math.max(this.maxId, id)
    const entry: MutableVersion = { subject, version, id, deleted: false, keys: [key] }
    const map = versions ?? new Map<number, MutableVersion>()
    map.set(version, entry)
    this.subjects_.set(subject, map)
    this.versionByKey.set(key, entry)
    return true
  }

  private applyTombstone(kind: string, key: string): void {
    if (kind === RecordKinds.CONFIG) {
      const parsed = JSON.parse(key) as { subject: string | null }
      if (parsed.subject === null) this.globalLevel_ = undefined
      else this.subjectLevels.delete(parsed.subject)
      return
    }
    this.rejected.delete(key)
    const entry = this.versionByKey.get(key)
    if (entry === undefined) return
    this.versionByKey.delete(key)
    // Only the REGISTER tombstone removes the version; a DELETE_VERSION tombstone just forgets its key.
    if (entry.keys[0] !== key) return
    for (const k of entry.keys) this.versionByKey.delete(k)
    const versions = this.subjects_.get(entry.subject)
    versions?.delete(entry.version)
    if (versions?.size === 0) this.subjects_.delete(entry.subject)
    const schema = this.schemas.get(entry.id)
    if (schema !== undefined && --schema.refs === 0) {
      this.schemas.delete(entry.id)
      this.idByCanonical.delete(schema.canonical)
    }
  }

  /** What became of the REGISTER record with key text `key`. */
  outcome(key: string): RegisterOutcome {
    if (this.versionByKey.has(key)) return 'accepted'
    return this.rejected.has(key) ? 'rejected' : 'unseen'
  }

  /** Keys of rejected REGISTER records still in the topic (to tombstone). */
  rejectedKeys(): string[] {
    return [...this.rejected]
  }

  /** Record keys a permanent delete of `subject` `version` must tombstone (DELETE_VERSION keys first). */
  keysOf(subject: string, version: number): string[] {
    const keys = this.subjects_.get(subject)?.get(version)?.keys ?? []
    return [...keys.slice(1), ...keys.slice(0, 1)]
  }

  schema(id: number): SchemaEntry | undefined {
    return this.schemas.get(id)
  }

  idOf(canonical: string): number | undefined {
    return this.idByCanonical.get(canonical)
  }

  /** The next id to assign: one above every id ever assigned. */
  nextId(): number {
    return this.maxId + 1
  }

  /** The next version of `subject`: one above every version it holds, soft-deleted or not. */
  nextVersion(subject: string): number {
    let max = 0
    for (const v of this.subjects_.get(subject)?.keys() ?? []) max = Math.max(max, v)
    return max + 1
  }

  /** Subjects with a live version (or any version, with `includeDeleted`), sorted. */
  subjects(includeDeleted: boolean): string[] {
    return [...this.subjects_.keys()].filter((s) => this.versions(s, includeDeleted).length > 0).sort()
  }

  /** Versions of `subject`, oldest first; soft-deleted ones only with `includeDeleted`. */
  versions(subject: string, includeDeleted: boolean): VersionEntry[] {
    const all = [...(this.subjects_.get(subject)?.values() ?? [])].sort((a, b) => a.version - b.version)
    return all.filter((v) => includeDeleted || !v.deleted).map((v) => ({ subject: v.subject, version: v.version, id: v.id, deleted: v.deleted }))
  }

  /** Every version (of any subject) that is the schema `id`. */
  versionsOfId(id: number, includeDeleted: boolean): VersionEntry[] {
    return [...this.subjects_.keys()].sort().flatMap((s) => this.versions(s, includeDeleted).filter((v) => v.id === id))
  }

  /** The subject's own compatibility level, if it has one. */
  subjectLevel(subject: string): CompatibilityLevel | undefined {
    return this.subjectLevels.get(subject)
  }

  /** The global level, if `PUT /config` set one. */
  globalLevel(): CompatibilityLevel | undefined {
    return this.globalLevel_
  }
}
