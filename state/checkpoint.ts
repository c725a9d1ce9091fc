/**
 * The checkpoint file of a task (`<taskStateDir>/.checkpoint`): for each changelog topic-partition,
 * the next offset that the local (persistent) state already reflects. Restore starts there instead
 * of at the beginning. The runtime writes it only after a successful commit, and the write is atomic
 * (temporary file, fsync, rename), so a crash leaves either the old or the new file.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { StateStoreError } from './errors.ts'

export const CHECKPOINT_FILE = '.checkpoint'
const CHECKPOINT_VERSION = 1

/** A changelog position: `offset` is the next offset to read (the last applied offset + 1). */
export interface ChangelogOffset {
  topic: string
  partition: number
  offset: number
}

/** The checkpoint file is present but unreadable or malformed. */
export class CheckpointCorruptError extends StateStoreError {
  constructor(path: string, reason: string, options?: { cause?: unknown }) {
    super('STATE_CHECKPOINT_CORRUPT', `checkpoint ${path} is unusable: ${reason}`, options)
  }
}

/** The offsets in the task's checkpoint, or undefined when there is none. Throws CheckpointCorruptError. */
export function readCheckpoint(taskStateDir: string): ChangelogOffset[] | undefined {
  const path = join(taskStateDir, CHECKPOINT_FILE)
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new CheckpointCorruptError(path, (err as Error).message, { cause: err })
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw new CheckpointCorruptError(path, 'not JSON', { cause: err })
  }
  const doc = parsed as { version?: unknown; offsets?: unknown }
  if (typeof doc !== 'object' || doc === null || doc.version !== CHECKPOINT_VERSION || !Array.isArray(doc.offsets)) {
    throw new CheckpointCorruptError(path, `expected {"version":${CHECKPOINT_VERSION},"offsets":[...]}`)
  }
  return doc.offsets.map((o: unknown, i: number) => {
    const e = o as Partial<ChangelogOffset>
    if (typeof e?.topic !== 'string' || !Number.isSafeInteger(e.partition) || !Number.isSafeInteger(e.offset) || (e.offset as number) < 0) {
      throw new CheckpointCorruptError(path, `entry ${i} is not {topic, partition, offset}`)
    }
    return { topic: e.topic, partition: e.partition as number, offset: e.offset as number }
  })
}

/** Replaces the task's checkpoint atomically. Call only after the commit these offsets belong to. */
export function writeCheckpoint(taskStateDir: string, offsets: ReadonlyArray<ChangelogOffset>): void {
  for (const o of offsets) {
    if (
      typeof o.topic !== 'string' ||
      o.topic === '' ||
      !Number.isSafeInteger(o.partition) ||
      o.partition < 0 ||
      !Number.isSafeInteger(o.offset) ||
      o.offset < 0
    ) {
      throw new StateStoreError(
        'STATE_BAD_CHECKPOINT',
        `checkpoint offsets need a topic and non-negative integer partition and offset, got ${JSON.stringify(o)}`
      )
    }
  }
  const body = JSON.stringify({ version: CHECKPOINT_VERSION, offsets: offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset })) })
  writeFileAtomic(join(taskStateDir, CHECKPOINT_FILE), body)
}

/** Removes the task's checkpoint (the next start then restores from the beginning). */
export function deleteCheckpoint(taskStateDir: string): void {
  rmSync(join(taskStateDir, CHECKPOINT_FILE), { force: true })
}

/** Writes `path` through a temporary file, fsync and rename. */
export function writeFileAtomic(path: string, body: string): void {
  const tmp = `${path}.tmp`
  const fd = openSync(tmp, 'w')
  try {
    writeSync(fd, body)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, path)
}
