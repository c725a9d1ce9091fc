import type avro from 'avsc'
import { AvroSchemaError, parseAvroSchema } from '../schemas/index.ts'
import { type CompatibilityLevel, compatibilityProblems, DEFAULT_COMPATIBILITY_LEVEL, type ExistingVersion } from './compatibility.ts'
import {
  incompatibleSchema,
  invalidSchema,
  operationTimeout,
  storeError,
  subjectConfigNotFound,
  subjectNotFound,
  subjectNotSoftDeleted,
  subjectSoftDeleted,
  versionNotFound,
  versionNotSoftDeleted,
  versionSoftDeleted
} from './errors.ts'
import type { RegistryLog } from './log.ts'
import { configEntry, deleteVersionEntry, idFloorEntry, type LogEntry, noopEntry, registerEntry, tombstoneEntry, type LogRecord } from './records.ts'
import { RegistryState, type VersionEntry } from './state.ts'

/** Options of `SchemaStore`. */
export interface SchemaStoreOptions {
  /** Longest wait for the log to show a write or a sync marker, ms. Default 30,000. */
  timeoutMs?: number
  /** Attempts of a registration that loses a concurrent race to another instance. Default 5. */
  maxAttempts?: number
}

/** A version reference: a number, or the latest (live) version. */
export type VersionRef = number | 'latest'

/**
 * The registry's operations over its log. Reads answer from the replayed state without I/O; writes
 * (one at a time per instance) first catch up with the log, decide, append, then wait to read their
 * own records back, which is when they take effect, here and on every other instance alike.
 */
export class SchemaStore {
  readonly state = new RegistryState()
  private readonly log: RegistryLog
  private readonly timeoutMs_: number
  private readonly maxAttempts_: number
  private applied = -1n
  private failure: Error | undefined
  private waiters: Array<{ offset: bigint; resolve: () => void; reject: (e: Error) => void }> = []
  private queue: Promise<unknown> = Promise.resolve()

  constructor(log: RegistryLog, options: SchemaStoreOptions = {}) {
    this.log = log
    this.timeoutMs_ = options.timeoutMs ?? 30_000
    this.maxAttempts_ = options.maxAttempts ?? 5
  }

  /** Replays the whole log; resolves once everything written before the call has been applied. */
  async start(): Promise<void> {
    await this.log.start(
      (r) => this.onRecord(r),
      (e) => this.fail(e)
    )
    await this.catchUp()
  }

  async close(): Promise<void> {
    this.fail(new Error('schema store closed'))
    await this.log.close()
  }

  /** Waits until every record written to the log before this call has been applied here. */
  async catchUp(): Promise<void> {
    await this.waitFor(await this.append([noopEntry()]))
  }

  /** Compatibility level that applies to `subject`: its own, else the global one, else BACKWARD. */
  effectiveLevel(subject: string | null): CompatibilityLevel {
    return (subject === null ? undefined : this.state.subjectLevel(subject)) ?? this.state.globalLevel() ?? DEFAULT_COMPATIBILITY_LEVEL
  }

  /** Canonical text of `schema`; throws 422 (42201) when it is not a valid Avro schema. */
  canonical(schema: string): string {
    return parseSchema(schema).canonical
  }

  /** The version `ref` of `subject`, or a 404 RegistryError saying what is missing. */
  version(subject: string, ref: VersionRef, includeDeleted: boolean): VersionEntry {
    const versions = this.state.versions(subject, includeDeleted)
    if (versions.length === 0) throw subjectNotFound(subject)
    const found = ref === 'latest' ? versions.at(-1) : versions.find((v) => v.version === ref)
    if (found === undefined) throw versionNotFound(ref)
    return found
  }

  /**
   * Registers `schema` under `subject`: returns the id of an identical live version, or checks the
   * subject's compatibility level and appends a new version (reusing the schema's global id if any
   * subject already has it). Throws 422 for an invalid schema and 409 for an incompatible one.
   */
  async register(subject: string, schema: string): Promise<{ id: number; version: number }> {
    const parsed = parseSchema(schema)
    return await this.exclusive(async () => {
      for (let attempt = 1; attempt <= this.maxAttempts_; attempt++) {
        await this.catchUp()
        const live = this.state.versions(subject, false)
        const existingId = this.state.idOf(parsed.canonical)
        const same = live.find((v) => v.id === existingId)
        if (same !== undefined) return { id: same.id, version: same.version }
        const problems = compatibilityProblems(this.effectiveLevel(subject), parsed.type, this.typed(live))
        if (problems.length > 0) throw incompatibleSchema(subject, problems)
        const id = existingId ?? this.state.nextId()
        const version = this.state.nextVersion(subject)
        const { entry, key } = registerEntry(subject, version, id, parsed.canonical)
        await this.write([entry, ...(existingId === undefined ? [idFloorEntry(id)] : [])])
        if (this.state.outcome(key) === 'accepted') return { id, version }
        // Another instance claimed this version or id first: the log says so to everyone; try again.
      }
      throw storeError(`registration under ${subject} lost ${this.maxAttempts_} races with concurrent writers; retry`)
    })
  }

  /**
   * Checks `schema` against `subject` without registering: against version `ref` only, or against
   * every version the subject's level requires when `ref` is undefined. Returns the problems found.
   */
  checkCompatibility(subject: string, ref: VersionRef | undefined, schema: string): string[] {
    const parsed = parseSchema(schema)
    const level = this.effectiveLevel(subject)
    if (ref === undefined) return compatibilityProblems(level, parsed.type, this.typed(this.state.versions(subject, false)))
    const live = this.state.versions(subject, false)
    // Checking against the latest of a subject without versions is trivially compatible, as in Confluent.
    if (ref === 'latest' && live.length === 0) return []
    const target = this.version(subject, ref, false)
    // Against one given version the transitive levels mean the same as their plain forms.
    return compatibilityProblems(level, parsed.type, this.typed([target]))
  }

  /** Sets the compatibility level of `subject`, or the global one when `subject` is null. */
  setLevel(subject: string | null, level: CompatibilityLevel): Promise<void> {
    return this.exclusive(async () => {
      await this.write([configEntry(subject, level)])
    })
  }

  /** Removes the subject's own level (it then follows the global one); returns the removed level. */
  deleteLevel(subject: string): Promise<CompatibilityLevel> {
    return this.exclusive(async () => {
      await this.catchUp()
      const level = this.state.subjectLevel(subject)
      if (level === undefined) throw subjectConfigNotFound(subject)
      await this.write([configEntry(subject, null)])
      return level
    })
  }

  /**
   * Deletes `subject`: soft (its versions are hidden and skipped by compatibility checks, ids keep
   * resolving) or, once soft-deleted, permanently (its records are tombstoned, its config removed).
   * Returns the deleted version numbers.
   */
  deleteSubject(subject: string, permanent: boolean): Promise<number[]> {
    return this.exclusive(async () => {
      await this.catchUp()
      const all = this.state.versions(subject, true)
      if (all.length === 0) throw subjectNotFound(subject)
      const live = all.filter((v) => !v.deleted)
      if (!permanent) {
        if (live.length === 0) throw subjectSoftDeleted(subject)
        await this.write(live.map((v) => deleteVersionEntry(subject, v.version)))
        return live.map((v) => v.version)
      }
      if (live.length > 0) throw subjectNotSoftDeleted(subject)
      const tombstones = all.flatMap((v) => this.state.keysOf(subject, v.version)).map(tombstoneEntry)
      const config = this.state.subjectLevel(subject) === undefined ? [] : [configEntry(subject, null)]
      await this.write([...tombstones, ...config])
      return all.map((v) => v.version)
    })
  }

  /** Deletes one version, soft or (once soft-deleted) permanently; returns its number. */
  deleteVersion(subject: string, ref: VersionRef, permanent: boolean): Promise<number> {
    return this.exclusive(async () => {
      await this.catchUp()
      // `latest` means the latest live version for a soft delete, the latest of all for a permanent one;
      // a numbered version is found even when soft-deleted, to answer 40406 rather than 40402.
      const target = ref === 'latest' ? this.version(subject, ref, permanent) : this.version(subject, ref, true)
      if (!permanent) {
        if (target.deleted) throw versionSoftDeleted(subject, target.version)
        await this.write([deleteVersionEntry(subject, target.version)])
      } else {
        if (!target.deleted) throw versionNotSoftDeleted(subject, target.version)
        await this.write(this.state.keysOf(subject, target.version).map(tombstoneEntry))
      }
      return target.version
    })
  }

  private typed(versions: readonly VersionEntry[]): ExistingVersion[] {
    return versions.flatMap((v) => {
      const schema = this.state.schema(v.id)
      return schema === undefined ? [] : [{ version: v.version, type: schema.type }]
    })
  }

  // Appends `entries` after tombstones for rejected claims still in the log, then waits to apply them.
  private async write(entries: readonly LogEntry[]): Promise<void> {
    const garbage = this.state.rejectedKeys().map(tombstoneEntry)
    await this.waitFor(await this.append([...garbage, ...entries]))
  }

  private async append(entries: readonly LogEntry[]): Promise<bigint> {
    if (this.failure !== undefined) throw storeError(this.failure.message, this.failure)
    try {
      return await this.log.append(entries)
    } catch (err) {
      throw storeError(`could not write to the registry topic: ${(err as Error).message}`, err)
    }
  }

  private waitFor(offset: bigint): Promise<void> {
    if (this.applied >= offset) return Promise.resolve()
    if (this.failure !== undefined) return Promise.reject(storeError(this.failure.message, this.failure))
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter)
        reject(operationTimeout(`the registry topic did not show offset ${offset} within ${this.timeoutMs_} ms (applied up to ${this.applied})`))
      }, this.timeoutMs_)
      const waiter = {
        offset,
        resolve: () => {
          clearTimeout(timer)
          resolve()
        },
        reject: (e: Error) => {
          clearTimeout(timer)
          reject(e)
        }
      }
      this.waiters.push(waiter)
    })
  }

  private onRecord(record: LogRecord): void {
    this.state.apply(record)
    this.applied = record.offset
    if (this.waiters.length === 0) return
    const ready = this.waiters.filter((w) => w.offset <= record.offset)
    this.waiters = this.waiters.filter((w) => w.offset > record.offset)
    for (const w of ready) w.resolve()
  }

  private fail(error: Error): void {
    this.failure ??= error
    const waiters = this.waiters
    this.waiters = []
    for (const w of waiters) w.reject(storeError(error.message, error))
  }

  // One write at a time per instance: decisions are made on a state no local write can change.
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work)
    this.queue = run.catch(() => undefined)
    return run
  }
}

function parseSchema(schema: string): { canonical: string; type: avro.Type } {
  try {
    return parseAvroSchema(schema)
  } catch (err) {
    if (err instanceof AvroSchemaError) throw invalidSchema(err.message, err)
    throw err
  }
}
