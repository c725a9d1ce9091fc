import { randomUUID } from 'node:crypto'

/*
 * Records of the registry's compacted topic (`_schemas`, one partition). Keys and values are UTF-8
 * JSON objects; `kind` says what a record is.
 *
 *   kind            key fields                        value                                  meaning
 *   REGISTER        subject, version, id, uid         {subject, version, id, schemaType,      a version of a subject is the schema
 *                                                      schema}                                with global id `id`
 *   DELETE_VERSION  subject, version, uid             {}                                     soft delete of that version
 *   CONFIG          subject (null = global)           {compatibilityLevel} or null           compatibility level; null removes it
 *   ID_FLOOR        -                                 {maxId}                                highest id ever assigned
 *   NOOP            -                                 {}                                     sync marker (see below)
 *
 * A null value (tombstone) on a REGISTER or DELETE_VERSION key is a permanent delete.
 *
 * Why these keys: REGISTER and DELETE_VERSION keys carry a random `uid`, so no such record is ever
 * superseded by compaction, only removed by its own tombstone. The topic therefore keeps the order in
 * which claims were written, and replaying it in order gives every instance, at any time, the same
 * state: when two instances claim the same version or id concurrently, the first record in the log
 * wins and the later one is rejected by every replayer (see state.ts). CONFIG, ID_FLOOR and NOOP keys
 * are stable because only their latest value matters. NOOP is what an instance writes and waits to
 * read back to know it has seen everything written before (the log end, even with compacted gaps).
 */

/** Record kinds of the registry topic. */
export const RecordKinds = {
  REGISTER: 'REGISTER',
  DELETE_VERSION: 'DELETE_VERSION',
  CONFIG: 'CONFIG',
  ID_FLOOR: 'ID_FLOOR',
  NOOP: 'NOOP'
} as const

/** One record to append: key and value already encoded; `value: null` is a tombstone. */
export interface LogEntry {
  readonly key: Buffer
  readonly value: Buffer | null
}

/** A record read back from the log (a key written by someone else may be missing). */
export interface LogRecord {
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly offset: bigint
}

/** A parsed record key. */
export type RecordKey =
  | { readonly kind: 'REGISTER'; readonly subject: string; readonly version: number; readonly id: number; readonly uid: string }
  | { readonly kind: 'DELETE_VERSION'; readonly subject: string; readonly version: number; readonly uid: string }
  | { readonly kind: 'CONFIG'; readonly subject: string | null }
  | { readonly kind: 'ID_FLOOR' }
  | { readonly kind: 'NOOP' }

/** The value of a REGISTER record. */
export interface RegisterValue {
  readonly subject: string
  readonly version: number
  readonly id: number
  readonly schemaType: string
  readonly schema: string
}

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value), 'utf8')

/** Key text of a record: the identity the state indexes and tombstones name. */
export function keyText(key: RecordKey): string {
  return JSON.stringify(key)
}

/** A REGISTER record; returns its key text too, to ask the state for its outcome. */
export function registerEntry(subject: string, version: number, id: number, schema: string): { entry: LogEntry; key: string } {
  const key = keyText({ kind: RecordKinds.REGISTER, subject, version, id, uid: randomUUID() })
  const value: RegisterValue = { subject, version, id, schemaType: 'AVRO', schema }
  return { key, entry: { key: Buffer.from(key, 'utf8'), value: json(value) } }
}

export function deleteVersionEntry(subject: string, version: number): LogEntry {
  return { key: Buffer.from(keyText({ kind: RecordKinds.DELETE_VERSION, subject, version, uid: randomUUID() }), 'utf8'), value: json({}) }
}

/** Sets (level) or removes (null) the compatibility level of `subject`, or the global one (subject null). */
export function configEntry(subject: string | null, level: string | null): LogEntry {
  return { key: Buffer.from(keyText({ kind: RecordKinds.CONFIG, subject }), 'utf8'), value: level === null ? null : json({ compatibilityLevel: level }) }
}

export function idFloorEntry(maxId: number): LogEntry {
  return { key: Buffer.from(keyText({ kind: RecordKinds.ID_FLOOR }), 'utf8'), value: json({ maxId }) }
}

export function noopEntry(): LogEntry {
  return { key: Buffer.from(keyText({ kind: RecordKinds.NOOP }), 'utf8'), value: json({}) }
}

/** A tombstone for the record with key text `key`. */
export function tombstoneEntry(key: string): LogEntry {
  return { key: Buffer.from(key, 'utf8'), value: null }
}

/** The parsed key, or undefined for a record this registry does not understand (it is skipped). */
export function parseKey(key: Buffer | null): RecordKey | undefined {
  if (key === null) return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(key.toString('utf8'))
  } catch {
    return undefined
  }
  if (parsed === null || typeof parsed !== 'object') return undefined
  const k = parsed as Record<string, unknown>
  const isVersion = typeof k.subject === 'string' && Number.isInteger(k.version) && typeof k.uid === 'string'
  switch (k.kind) {
    case RecordKinds.REGISTER:
      return isVersion && Number.isInteger(k.id) ? (parsed as RecordKey) : undefined
    case RecordKinds.DELETE_VERSION:
      return isVersion ? (parsed as RecordKey) : undefined
    case RecordKinds.CONFIG:
      return typeof k.subject === 'string' || k.subject === null ? (parsed as RecordKey) : undefined
    case RecordKinds.ID_FLOOR:
    case RecordKinds.NOOP:
      return parsed as RecordKey
    default:
      return undefined
  }
}

/** The parsed JSON object of a value, or undefined when it is not one. */
export function parseValue(value: Buffer): Record<string, unknown> | undefined {
  try {
    const parsed = JSON.parse(value.toString('utf8')) as unknown
    return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}
